/*
 * kvm/memory.h - guest RAM (internal). Each vNUMA node's RAM lives at a
 * host address reserved for the VM's whole life (aligned for its page
 * size); what backs it can change underneath, so the KVM memory slot never
 * moves:
 *   - fresh: a memfd of its own, MAP_SHARED (hugetlb 2 MiB / 1 GiB where
 *     the plan asks, else 4 KiB pages with transparent huge pages
 *     requested), bound to the plan's host node with mbind(MPOL_BIND)
 *     before anything touches it;
 *   - private: a copy-on-write view (MAP_PRIVATE) of another file - a
 *     frozen template memfd (instant clones share one) or a snapshot file
 *     (lazy restore). Writes go to pages of its own; the file never changes.
 * A memfd is what suspend (write it), instant clone (map it MAP_PRIVATE)
 * and migration (read it, dirty log) build on.
 */
#ifndef HV_KVM_MEMORY_H
#define HV_KVM_MEMORY_H

#include <hpcvirt/vm.h>

#include <stdbool.h>
#include <stdint.h>

typedef enum hv_kvm_ram_kind {
    HV_KVM_RAM_NONE = 0,
    HV_KVM_RAM_FRESH = 1,  /* its own memfd, shared mapping */
    HV_KVM_RAM_PRIVATE = 2 /* a copy-on-write view of fd at fd_offset */
} hv_kvm_ram_kind;

typedef struct hv_kvm_ram {
    char name[96];        /* the memfd's name, for /proc/PID/maps */
    uint8_t *reservation; /* the reserved address range (munmap'ed at the end) */
    uint64_t reserved_bytes;
    uint8_t *host; /* the RAM: inside the reservation, aligned */
    uint64_t guest_base, bytes;
    /* a node across the 32-bit hole: its first low_bytes at guest_base, the rest at high_base
     * (a second KVM slot, slot + HV_KVM_HIGH_SLOT_OFFSET); else low_bytes == bytes, high_base 0 */
    uint64_t low_bytes, high_base;
    uint64_t planned_page_bytes; /* what a fresh backing uses: 4096, 2 MiB or 1 GiB */
    uint64_t page_bytes;         /* what backs it now (4096 for a private file view) */
    int host_node;               /* -1: not bound */
    bool bound;                  /* mbind(MPOL_BIND) succeeded on the current mapping */
    bool thp_requested;
    uint32_t slot;
    bool registered;
    hv_kvm_ram_kind kind;
    int fd;             /* FRESH: its memfd; PRIVATE: the file viewed (its own descriptor) */
    uint64_t fd_offset; /* PRIVATE: where the view starts in fd */
    bool diverged;      /* PRIVATE: the guest may have written since it was mapped */
    bool dirty_log;     /* registered with KVM_MEM_LOG_DIRTY_PAGES (a migration runs) */
} hv_kvm_ram;

/**
 * Describe the node's RAM; nothing is mapped or backed yet. A fresh backing
 * reserves an aligned range; a private view of a new VM is mapped wherever
 * the kernel puts it. Once mapped, the address stays for the VM's life.
 */
int hv_kvm_ram_init(hv_kvm_ram *ram, const char *vm_name, uint32_t slot, uint64_t guest_base,
                    uint64_t bytes, uint64_t page_bytes, int host_node);
/**
 * Reserve its aligned host address range now (PROT_NONE, nothing backing it),
 * so the KVM slot can be registered before the memory is chosen (clone shells).
 */
int hv_kvm_ram_reserve(hv_kvm_ram *ram);
/**
 * Back it with a fresh, zeroed memfd (the planned page size). HV_E_NOMEM
 * naming the host node and how many huge pages it lacks when hugetlb pages
 * run short: that fails here, never at first touch.
 */
int hv_kvm_ram_back_fresh(hv_kvm_ram *ram);
/** Back it with a copy-on-write view of `fd` from `offset` (the descriptor is duplicated). */
int hv_kvm_ram_back_private(hv_kvm_ram *ram, int fd, uint64_t offset);
/**
 * Before the engine itself reads or writes [offset, offset + bytes) of the
 * RAM (`what` names it in errors): hugetlb pages are faulted in now, so a
 * pool that runs short is HV_E_NOMEM instead of a SIGBUS. 4 KiB RAM: 0.
 */
int hv_kvm_ram_prepare_access(hv_kvm_ram *ram, uint64_t offset, uint64_t bytes, bool write,
                              const char *what);
/** KVM slot numbers of the parts of nodes above the 32-bit hole: node slot + this. */
#define HV_KVM_HIGH_SLOT_OFFSET 256u

/**
 * Split it across the 32-bit hole (a Linux guest's node, kvm/layout.h): the
 * first `low_bytes` at its guest base, the rest at `high_base`. Before it
 * is registered; the host memory stays one run.
 */
void hv_kvm_ram_split(hv_kvm_ram *ram, uint64_t low_bytes, uint64_t high_base);
/**
 * Register it with the VM as KVM memory slot ram->slot (and, split, its part
 * above the hole as slot ram->slot + HV_KVM_HIGH_SLOT_OFFSET). Dirty logging
 * (migration) covers the first slot only: split RAM is a Linux guest's,
 * which is not migrated.
 */
int hv_kvm_ram_register(hv_kvm_ram *ram, int vm_fd);
/**
 * A file holding exactly this RAM's current contents that nobody writes
 * any more, for clones to map: the RAM's own memfd (after which the RAM is
 * a private view of it too), the file it already views when it has not
 * diverged, or else a new memfd its contents are copied into (O(size)).
 * *fd stays owned by the RAM.
 */
int hv_kvm_ram_freeze(hv_kvm_ram *ram, int *fd, uint64_t *offset);
/** Register the slot again with dirty-page logging on or off (migration). */
int hv_kvm_ram_dirty_log(hv_kvm_ram *ram, int vm_fd, bool on);
/**
 * The pages written since the last call (or since logging began) into
 * bitmap[ram->bytes / 4096 / 64], one bit per 4 KiB page; with
 * `manual_protect` (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 enabled on the VM) they
 * are write-protected again here (KVM_CLEAR_DIRTY_LOG), else KVM did it.
 */
int hv_kvm_ram_dirty_pages(hv_kvm_ram *ram, int vm_fd, bool manual_protect, uint64_t *bitmap);
/**
 * The next range [*start, *end) at or after `offset` (4 KiB aligned) that
 * may hold non-zero bytes, page-aligned; *start == ram->bytes when none does.
 * RAM with a memfd of its own asks the file (SEEK_DATA, SEEK_HOLE: a hole was
 * never written and reads as zero; a page swapped out is data), so the holes
 * are skipped without reading - a read of one would allocate it. Any other
 * RAM (a copy-on-write view: its private pages are not the file's) is one
 * range to its end.
 */
void hv_kvm_ram_next_data(const hv_kvm_ram *ram, uint64_t offset, uint64_t *start, uint64_t *end);
/** Whether `bytes` (a multiple of 8) at p are all zero. */
bool hv_kvm_page_is_zero(const uint8_t *p, uint64_t bytes);
/** Unmap and close (the slot dies with the VM fd). */
void hv_kvm_ram_destroy(hv_kvm_ram *ram);
/** Fill a memory report: backing, binding as the kernel reports it, THP and residency. */
int hv_kvm_ram_info(const hv_kvm_ram *ram, hv_vm_memory_info *info);

#endif
