/*
 * kvm/bootinfo.h - the boot-info block handed to a guest at entry
 * (internal, pure; the format is hpcvirt/guest.h, docs/guest-abi.md).
 */
#ifndef HV_KVM_BOOTINFO_H
#define HV_KVM_BOOTINFO_H

#include "kvm/layout.h"

#include <stddef.h>
#include <stdint.h>

/** Write the block for `layout` into dst (HV_E_RANGE when it does not fit). */
int hv_bootinfo_write(void *dst, size_t dst_bytes, const hv_kvm_layout *layout, uint64_t clone_id,
                      uint64_t generation, size_t *written);

#endif
