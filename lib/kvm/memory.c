/*
 * kvm/memory.c - guest RAM: a reserved address range per vNUMA node,
 * backed by a memfd of its own (hugetlb or 4 KiB + THP request, bound to
 * its host node before first touch) or by a copy-on-write view of a
 * template or snapshot file; KVM memory slots; freezing RAM into a
 * template for instant clones; reports of the backing the kernel really
 * gave (mempolicy, smaps).
 */
#include "kvm/memory.h"
#include "core/error.h"
#include "core/format.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif

#define GiB (UINT64_C(1) << 30)
#define MiB (UINT64_C(1) << 20)

/*
 * Guest memory is written by the guest through KVM, where ThreadSanitizer
 * sees nothing: instrumenting these reads checks nothing and, over a whole
 * guest under emulation, made a migration's first round minutes long.
 */
__attribute__((no_sanitize("thread"))) bool hv_kvm_page_is_zero(const uint8_t *p, uint64_t bytes)
{
    const uint64_t *w = (const uint64_t *)(const void *)p;

    for (uint64_t i = 0; i < bytes / 8; i++)
        if (w[i])
            return false;
    return true;
}

static int pwrite_all(int fd, const uint8_t *buf, uint64_t bytes, uint64_t offset)
{
    while (bytes) {
        ssize_t n = pwrite(fd, buf, bytes > (UINT64_C(1) << 30) ? (UINT64_C(1) << 30) : bytes,
                           (off_t)offset);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        bytes -= (uint64_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

/* Whether fd is a hugetlbfs file (then st->st_blksize is its page size). */
static bool fstatfs_huge(int fd, struct stat *st)
{
    struct statfs fs;

    return fstatfs(fd, &fs) == 0 && fs.f_type == HUGETLBFS_MAGIC && fstat(fd, st) == 0;
}

static unsigned int log2_u64(uint64_t v)
{
    unsigned int n = 0;

    while (v > 1) {
        v >>= 1;
        n++;
    }
    return n;
}

/* Bind the current mapping to the host node (before anything touches it). */
static int bind_to_node(hv_kvm_ram *ram)
{
    unsigned long mask[16] = {0}; /* up to 1024 nodes */

    ram->bound = false;
    if (ram->host_node < 0)
        return 0;
    if ((size_t)ram->host_node >= sizeof(mask) * 8)
        return hv_error_set(HV_E_RANGE, NULL,
                            "host node %d is beyond the %zu nodes mbind() is given", ram->host_node,
                            sizeof(mask) * 8);
    mask[ram->host_node / (8 * sizeof(long))] |= 1UL << (ram->host_node % (8 * sizeof(long)));
    if (mbind(ram->host, ram->bytes, MPOL_BIND, mask, sizeof(mask) * 8, 0) < 0)
        return hv_error_set(HV_E_IO, NULL,
                            "binding guest memory to host node %d failed: %s (is the node "
                            "online and in this process's cpuset?)",
                            ram->host_node, strerror(errno));
    ram->bound = true;
    return 0;
}

int hv_kvm_ram_init(hv_kvm_ram *ram, const char *vm_name, uint32_t slot, uint64_t guest_base,
                    uint64_t bytes, uint64_t page_bytes, int host_node)
{
    memset(ram, 0, sizeof(*ram));
    ram->fd = -1;
    ram->guest_base = guest_base;
    ram->bytes = bytes;
    ram->low_bytes = bytes;
    ram->planned_page_bytes = page_bytes > 4096 ? page_bytes : 4096;
    ram->page_bytes = ram->planned_page_bytes;
    ram->host_node = host_node;
    ram->slot = slot;
    hv_format(ram->name, sizeof(ram->name), "hpcvirt:%s:node%u", vm_name, slot);
    return 0;
}

int hv_kvm_ram_reserve(hv_kvm_ram *ram)
{
    uint64_t align = ram->planned_page_bytes > MiB * 2 ? ram->planned_page_bytes : MiB * 2;
    void *res;

    ram->reserved_bytes = ram->bytes + align;
    res = mmap(NULL, ram->reserved_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
               -1, 0);
    if (res == MAP_FAILED)
        return hv_error_set(HV_E_NOMEM, NULL,
                            "reserving %" PRIu64 " bytes of address space for %s failed: %s",
                            ram->bytes, ram->name, strerror(errno));
    ram->reservation = res;
    ram->host = (uint8_t *)(((uintptr_t)res + align - 1) & ~(uintptr_t)(align - 1));
    return 0;
}

/* Put a new mapping of fd at ram->host, replacing what was there. */
/* What a host with too few huge pages is told, for `what` of ram. */
static int huge_pages_short(const hv_kvm_ram *ram, const char *what, uint64_t pages)
{
    char node[48] = "";

    if (ram->host_node >= 0)
        hv_format(node, sizeof(node), " on host node %d", ram->host_node);
    return hv_error_set(
        HV_E_NOMEM, NULL,
        "the host has too few free %s huge pages for %s of %s (%" PRIu64 " needed%s): reserve "
        "more (vm.nr_hugepages or /sys/devices/system/node/nodeN/hugepages) or plan with "
        "page_size \"4k\"",
        ram->page_bytes == GiB ? "1 GiB" : "2 MiB", what, ram->name, pages, node);
}

/*
 * Fault [offset, offset + bytes) of hugetlb-backed RAM in now (for writing or
 * reading), so that a pool that runs short is an error here instead of a
 * SIGBUS when the engine itself touches the memory. 4 KiB RAM: nothing to do.
 */
static int populate(hv_kvm_ram *ram, uint64_t offset, uint64_t bytes, bool write, const char *what)
{
    uint64_t start, end;

    if (ram->page_bytes <= 4096 || bytes == 0)
        return 0;
    if (offset > ram->bytes || bytes > ram->bytes - offset)
        return hv_error_set(HV_E_INTERNAL, NULL, "%s is outside %s", what, ram->name);
    start = offset & ~(ram->page_bytes - 1);
    end = (offset + bytes + ram->page_bytes - 1) & ~(ram->page_bytes - 1);
    if (end > ram->bytes)
        end = ram->bytes;
    if (madvise(ram->host + start, end - start, write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) ==
        0)
        return 0;
    if (errno == ENOMEM || errno == EFAULT || errno == EHWPOISON)
        return huge_pages_short(ram, what, (end - start) / ram->page_bytes);
    if (errno == EINVAL) /* a kernel before 5.14: the first touch takes them */
        return 0;
    return hv_error_set(HV_E_IO, NULL, "faulting in %s of %s failed: %s", what, ram->name,
                        strerror(errno));
}

int hv_kvm_ram_prepare_access(hv_kvm_ram *ram, uint64_t offset, uint64_t bytes, bool write,
                              const char *what)
{
    return populate(ram, offset, bytes, write, what);
}

int hv_kvm_ram_back_fresh(hv_kvm_ram *ram)
{
    unsigned int flags = MFD_CLOEXEC;
    int fd, rc;
    void *p;

    if (!ram->host && (rc = hv_kvm_ram_reserve(ram)) < 0)
        return rc;
    if (ram->planned_page_bytes > 4096)
        flags |= MFD_HUGETLB | (log2_u64(ram->planned_page_bytes) << MFD_HUGE_SHIFT);
    fd = memfd_create(ram->name, flags);
    if (fd < 0)
        return hv_error_set(
            HV_E_IO, NULL, "memfd_create for %s failed: %s%s", ram->name, strerror(errno),
            ram->planned_page_bytes > 4096 ? " (does this kernel have hugetlbfs?)" : "");
    if (ftruncate(fd, (off_t)ram->bytes) < 0) {
        rc = hv_error_set(HV_E_NOMEM, NULL, "sizing %s (%" PRIu64 " bytes) failed: %s", ram->name,
                          ram->bytes, strerror(errno));
        close(fd);
        return rc;
    }
    /* hugetlb pages are reserved here: a short pool fails now, not at first touch */
    p = mmap(ram->host, ram->bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
    if (p == MAP_FAILED) {
        int err = errno;

        close(fd);
        mmap(ram->host, ram->bytes, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
        ram->kind = HV_KVM_RAM_NONE;
        if (ram->planned_page_bytes > 4096 && err == ENOMEM) {
            ram->page_bytes = ram->planned_page_bytes;
            return huge_pages_short(ram, "guest memory", ram->bytes / ram->planned_page_bytes);
        }
        return hv_error_set(HV_E_NOMEM, NULL, "mapping %s failed: %s", ram->name, strerror(err));
    }
    if (ram->fd >= 0)
        close(ram->fd);
    ram->fd = fd;
    ram->fd_offset = 0;
    ram->kind = HV_KVM_RAM_FRESH;
    ram->page_bytes = ram->planned_page_bytes;
    ram->diverged = false;
    if ((rc = bind_to_node(ram)) < 0)
        return rc;
    /* hugetlb pages come from the pool of the node bound to: the reservation above
     * counts every node's pages, so take them now, where a short node is an error
     * and not a SIGBUS at first touch */
    if (ram->page_bytes > 4096 && (rc = populate(ram, 0, ram->bytes, true, "guest memory")) < 0)
        return rc;
    /* shmem THP follows /sys/kernel/mm/transparent_hugepage/shmem_enabled:
     * asked for here, reported as the kernel grants it (hv_kvm_ram_info) */
    ram->thp_requested =
        ram->page_bytes == 4096 && madvise(ram->host, ram->bytes, MADV_HUGEPAGE) == 0;
    return 0;
}

int hv_kvm_ram_back_private(hv_kvm_ram *ram, int fd, uint64_t offset)
{
    int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    uint64_t view_page_bytes = 4096;
    struct stat st;
    void *p;

    if (own < 0)
        return hv_error_set(HV_E_IO, NULL, "duplicating the descriptor behind %s failed: %s",
                            ram->name, strerror(errno));
    /* a view of a hugetlb file is backed by its huge pages, and the kernel reserves
     * the view's whole size in the pool for the pages it may copy on write */
    if (fstatfs_huge(own, &st))
        view_page_bytes = (uint64_t)st.st_blksize;
    /* a new VM (a clone, a restore) maps its view anywhere, nothing unmapped, so the
     * other VMs' MMU notifiers are not called - that keeps cloning O(1) in the number
     * of VMs alive; RAM that has an address keeps it (its KVM slot points there) */
    p = mmap(ram->host, ram->bytes, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | (ram->host ? MAP_FIXED : 0), own, (off_t)offset);
    if (p == MAP_FAILED) {
        int err = errno;

        close(own);
        if (ram->host) {
            /* keep the range reserved */
            mmap(ram->host, ram->bytes, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
            ram->kind = HV_KVM_RAM_NONE;
        }
        ram->page_bytes = view_page_bytes;
        if (view_page_bytes > 4096 && err == ENOMEM)
            return huge_pages_short(ram, "a copy-on-write view (its whole size is reserved)",
                                    ram->bytes / view_page_bytes);
        return hv_error_set(HV_E_NOMEM, NULL, "mapping %s (a copy-on-write view) failed: %s",
                            ram->name, strerror(err));
    }
    if (!ram->host) {
        ram->reservation = ram->host = p;
        ram->reserved_bytes = ram->bytes;
    }
    if (ram->fd >= 0)
        close(ram->fd);
    ram->fd = own;
    ram->fd_offset = offset;
    ram->kind = HV_KVM_RAM_PRIVATE;
    ram->page_bytes = view_page_bytes;
    ram->diverged = false;
    ram->thp_requested = false;
    return bind_to_node(ram);
}

int hv_kvm_ram_freeze(hv_kvm_ram *ram, int *fd, uint64_t *offset)
{
    int rc;

    if (ram->kind == HV_KVM_RAM_FRESH) {
        /* its memfd becomes the template: the RAM itself only views it from now on */
        int own = ram->fd;

        ram->fd = -1;
        rc = hv_kvm_ram_back_private(ram, own, 0);
        close(own);
        if (rc < 0)
            return rc;
    } else if (ram->kind == HV_KVM_RAM_PRIVATE && ram->diverged) {
        /* its pages differ from the file it views: copy them into a new template */
        char name[112];
        int copy;
        uint64_t done = 0;

        if ((rc = populate(ram, 0, ram->bytes, false, "the memory to copy into a template")) < 0)
            return rc;
        /* hugetlbfs files cannot be written with pwrite(): the copy has 4 KiB pages */
        hv_format(name, sizeof(name), "%s:template", ram->name);
        copy = memfd_create(name, MFD_CLOEXEC);
        if (copy < 0)
            return hv_error_set(HV_E_IO, NULL, "memfd_create for a template of %s failed: %s",
                                ram->name, strerror(errno));
        if (ftruncate(copy, (off_t)ram->bytes) < 0) {
            close(copy);
            return hv_error_set(HV_E_NOMEM, NULL, "sizing a template of %s failed: %s", ram->name,
                                strerror(errno));
        }
        while (done < ram->bytes) {
            uint64_t page = 4096, run = 0;

            /* zero pages stay holes */
            while (done + run < ram->bytes && !hv_kvm_page_is_zero(ram->host + done + run, page))
                run += page;
            if (run) {
                if (pwrite_all(copy, ram->host + done, run, done) < 0) {
                    close(copy);
                    return hv_error_set(HV_E_IO, NULL, "copying %s into a template failed: %s",
                                        ram->name, strerror(errno));
                }
                done += run;
            } else {
                done += page;
            }
        }
        rc = hv_kvm_ram_back_private(ram, copy, 0);
        close(copy);
        if (rc < 0)
            return rc;
    } else if (ram->kind != HV_KVM_RAM_PRIVATE) {
        return hv_error_set(HV_E_STATE, NULL, "%s has no memory to clone", ram->name);
    }
    *fd = ram->fd;
    *offset = ram->fd_offset;
    return 0;
}

void hv_kvm_ram_split(hv_kvm_ram *ram, uint64_t low_bytes, uint64_t high_base)
{
    ram->low_bytes = low_bytes;
    ram->high_base = high_base;
}

static int register_slot(const hv_kvm_ram *ram, int vm_fd, uint32_t slot, uint64_t guest,
                         uint64_t offset, uint64_t bytes)
{
    struct kvm_userspace_memory_region region = {
        .slot = slot,
        .flags = ram->dirty_log ? KVM_MEM_LOG_DIRTY_PAGES : 0,
        .guest_phys_addr = guest,
        .memory_size = bytes,
        .userspace_addr = (uint64_t)(uintptr_t)(ram->host + offset),
    };

    if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return hv_error_set(HV_E_IO, NULL,
                            "registering guest memory slot %u (%" PRIu64 " bytes at 0x%" PRIx64
                            "%s) with KVM failed: %s",
                            slot, bytes, guest, ram->dirty_log ? ", logging dirty pages" : "",
                            strerror(errno));
    return 0;
}

int hv_kvm_ram_register(hv_kvm_ram *ram, int vm_fd)
{
    int rc = register_slot(ram, vm_fd, ram->slot, ram->guest_base, 0, ram->low_bytes);

    if (rc == 0 && ram->high_base)
        rc = register_slot(ram, vm_fd, ram->slot + HV_KVM_HIGH_SLOT_OFFSET, ram->high_base,
                           ram->low_bytes, ram->bytes - ram->low_bytes);
    if (rc < 0)
        return rc;
    ram->registered = true;
    return 0;
}

void hv_kvm_ram_next_data(const hv_kvm_ram *ram, uint64_t offset, uint64_t *start, uint64_t *end)
{
    off_t data, hole;

    *start = offset < ram->bytes ? offset : ram->bytes;
    *end = ram->bytes;
    if (ram->kind != HV_KVM_RAM_FRESH || ram->fd < 0 || *start == ram->bytes)
        return;
    data = lseek(ram->fd, (off_t)offset, SEEK_DATA);
    if (data < 0) {
        if (errno == ENXIO) /* nothing but holes from offset to the end */
            *start = ram->bytes;
        return; /* else the file cannot say: all of it may be data */
    }
    hole = lseek(ram->fd, data, SEEK_HOLE);
    *start = (uint64_t)data & ~UINT64_C(4095);
    if (*start >= ram->bytes) {
        *start = ram->bytes;
        return;
    }
    if (*start < offset)
        *start = offset;
    if (hole > data && (uint64_t)hole < ram->bytes)
        *end = ((uint64_t)hole + 4095) & ~UINT64_C(4095);
}

int hv_kvm_ram_dirty_log(hv_kvm_ram *ram, int vm_fd, bool on)
{
    bool was = ram->dirty_log;
    int rc;

    if (was == on)
        return 0;
    ram->dirty_log = on;
    if ((rc = hv_kvm_ram_register(ram, vm_fd)) < 0)
        ram->dirty_log = was;
    return rc;
}

int hv_kvm_ram_dirty_pages(hv_kvm_ram *ram, int vm_fd, bool manual_protect, uint64_t *bitmap)
{
    struct kvm_dirty_log log = {.slot = ram->slot};
    uint64_t pages = ram->bytes / 4096;

    log.dirty_bitmap = bitmap;
    if (ioctl(vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
        return hv_error_set(HV_E_IO, NULL,
                            "reading the dirty pages of %s (KVM_GET_DIRTY_LOG) failed: %s",
                            ram->name, strerror(errno));
    if (manual_protect) {
        /* write-protect them again before their contents are read: a write after
         * this is in the next round's log */
        struct kvm_clear_dirty_log clear = {.slot = ram->slot, .first_page = 0};

        clear.num_pages = (uint32_t)pages;
        clear.dirty_bitmap = bitmap;
        if (ioctl(vm_fd, KVM_CLEAR_DIRTY_LOG, &clear) < 0)
            return hv_error_set(HV_E_IO, NULL,
                                "re-protecting the dirty pages of %s (KVM_CLEAR_DIRTY_LOG) failed: "
                                "%s",
                                ram->name, strerror(errno));
    }
    return 0;
}

void hv_kvm_ram_destroy(hv_kvm_ram *ram)
{
    if (ram->reservation)
        munmap(ram->reservation, ram->reserved_bytes);
    if (ram->fd >= 0)
        close(ram->fd);
    ram->reservation = ram->host = NULL;
    ram->fd = -1;
    ram->kind = HV_KVM_RAM_NONE;
}

/* Sum the "KEY: N kB" lines of the smaps entry that starts at `start`. */
static void smaps_of(const void *start, uint64_t *huge_bytes, uint64_t *rss_bytes)
{
    char line[256], head[32];
    FILE *f = fopen("/proc/self/smaps", "re");
    bool inside = false;

    *huge_bytes = 0;
    *rss_bytes = 0;
    if (!f)
        return;
    hv_format(head, sizeof(head), "%lx-", (unsigned long)(uintptr_t)start);
    while (fgets(line, sizeof(line), f)) {
        unsigned long long kb;

        if (strchr(line, '-') && strchr(line, ' ') && strchr(line, '-') < strchr(line, ' ') &&
            line[0] != ' ') {
            /* a mapping's first line: "start-end perms ..." */
            if (inside)
                break;
            inside = strncmp(line, head, strlen(head)) == 0;
            continue;
        }
        if (!inside)
            continue;
        if (sscanf(line, "Rss: %llu kB", &kb) == 1 ||
            sscanf(line, "Shared_Hugetlb: %llu kB", &kb) == 1 ||
            sscanf(line, "Private_Hugetlb: %llu kB", &kb) == 1)
            *rss_bytes += kb * 1024;
        else if (sscanf(line, "ShmemPmdMapped: %llu kB", &kb) == 1 ||
                 sscanf(line, "FilePmdMapped: %llu kB", &kb) == 1)
            *huge_bytes += kb * 1024;
    }
    fclose(f);
}

/*
 * Where the kernel has put the resident pages of the mapping that starts at
 * `start`, from its /proc/self/numa_maps line ("ADDR POLICY ... N0=PAGES
 * N1=PAGES ... kernelpagesize_kB=KB"): bytes on `node`, bytes elsewhere.
 */
static void numa_maps_of(const void *start, int node, uint64_t *on_node, uint64_t *elsewhere)
{
    char line[1024], head[32];
    FILE *f = fopen("/proc/self/numa_maps", "re");

    *on_node = *elsewhere = 0;
    if (!f)
        return;
    hv_format(head, sizeof(head), "%lx ", (unsigned long)(uintptr_t)start);
    while (fgets(line, sizeof(line), f)) {
        unsigned long long pages[64] = {0}, page_kb = 4;
        char *save = NULL;

        if (strncmp(line, head, strlen(head)) != 0)
            continue;
        for (char *tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
            unsigned int n;
            unsigned long long count;

            if (sscanf(tok, "N%u=%llu", &n, &count) == 2 && n < 64)
                pages[n] = count;
            else
                sscanf(tok, "kernelpagesize_kB=%llu", &page_kb);
        }
        for (int n = 0; n < 64; n++) {
            if (n == node)
                *on_node += pages[n] * page_kb * 1024;
            else
                *elsewhere += pages[n] * page_kb * 1024;
        }
        break;
    }
    fclose(f);
}

int hv_kvm_ram_info(const hv_kvm_ram *ram, hv_vm_memory_info *info)
{
    int mode = -1;
    unsigned long mask[16] = {0};
    uint64_t huge = 0, rss = 0;

    info->guest_base = ram->guest_base;
    info->bytes = ram->bytes;
    info->page_bytes = ram->page_bytes;
    info->thp_requested = ram->thp_requested;
    /* what the kernel says now, not what was asked */
    info->bound = get_mempolicy(&mode, mask, sizeof(mask) * 8, ram->host, MPOL_F_ADDR) == 0 &&
                  mode == MPOL_BIND;
    info->host_node = info->bound ? ram->host_node : -1;
    smaps_of(ram->host, &huge, &rss);
    info->thp_bytes = ram->page_bytes == 4096 ? huge : 0;
    info->resident_bytes = rss;
    if (info->version >= 2)
        numa_maps_of(ram->host, ram->host_node, &info->host_node_bytes, &info->other_node_bytes);
    return 0;
}
