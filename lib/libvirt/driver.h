/*
 * libvirt/driver.h - the libvirt backend's table (internal): registered by
 * lib/backend for "libvirt:<libvirt URI>" URIs.
 */
#ifndef HV_LIBVIRT_DRIVER_H
#define HV_LIBVIRT_DRIVER_H

#include <hpcvirt/backend.h>

extern const hv_backend hv_libvirt_backend;

/* The libvirt domain behind this backend's VM data (tests inspect it directly). */
struct _virDomain;
struct _virDomain *hv_libvirt_domain(void *vm_data);

#endif
