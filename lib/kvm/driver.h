/*
 * kvm/driver.h - the built-in engine's backend table (registered by
 * backend/registry.c as "kvm", URI kvm:///).
 */
#ifndef HV_KVM_DRIVER_H
#define HV_KVM_DRIVER_H

#include <hpcvirt/backend.h>

extern const hv_backend hv_kvm_backend;

#endif
