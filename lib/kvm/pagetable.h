/*
 * kvm/pagetable.h - the identity page tables the engine gives a guest
 * (internal, pure): 4-level, user-accessible, writable, executable; RAM
 * mapped with 1 GiB pages where a whole aligned GiB is RAM and the CPU has
 * them, else 2 MiB pages; the stray-MMIO window mapped uncached.
 */
#ifndef HV_KVM_PAGETABLE_H
#define HV_KVM_PAGETABLE_H

#include "kvm/layout.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Page-table entry bits (the ones the engine sets, and NX which it does not). */
#define HV_PTE_PRESENT  UINT64_C(0x001)
#define HV_PTE_WRITABLE UINT64_C(0x002)
#define HV_PTE_USER     UINT64_C(0x004)
#define HV_PTE_PWT      UINT64_C(0x008) /**< write-through: the MMIO window */
#define HV_PTE_PCD      UINT64_C(0x010) /**< cache disabled: the MMIO window */
#define HV_PTE_PS       UINT64_C(0x080) /**< a 2 MiB or 1 GiB page */
#define HV_PTE_NX       (UINT64_C(1) << 63)

/**
 * Build the tables for `layout` into `buf` (guest physical
 * HV_GUEST_PAGE_TABLES_ADDR, `buf_bytes` long: up to HV_GUEST_LOAD_MIN).
 * Sets *cr3 and *used_bytes. HV_E_RANGE when the tables do not fit (RAM too
 * large for 2 MiB pages: the message says so and that 1 GiB pages help).
 */
int hv_pagetable_build(uint8_t *buf, size_t buf_bytes, const hv_kvm_layout *layout, bool gib_pages,
                       uint64_t *cr3, size_t *used_bytes);

/**
 * Walk the tables in `buf` for a guest virtual address (tests; debugging):
 * the physical address, page size and the leaf entry's flag bits (the low 12
 * and NX), or false when it is not mapped. Output pointers may be NULL.
 */
bool hv_pagetable_translate(const uint8_t *buf, size_t buf_bytes, uint64_t cr3, uint64_t vaddr,
                            uint64_t *paddr, uint64_t *page_bytes, uint64_t *flags);

#endif
