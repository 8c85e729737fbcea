/*
 * kvm/memory.c - guest RAM as memfds: hugetlb or 4 KiB (+THP request),
 * NUMA binding before first touch, KVM memory slots, and reports of the
 * backing the kernel really gave (mempolicy, smaps).
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
#include <sys/mman.h>
#include <unistd.h>

#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif

#define GiB (UINT64_C(1) << 30)
#define MiB (UINT64_C(1) << 20)

static unsigned int log2_u64(uint64_t v)
{
    unsigned int n = 0;

    while (v > 1) {
        v >>= 1;
        n++;
    }
    return n;
}

static int bind_to_node(hv_kvm_ram *ram)
{
    unsigned long mask[16] = {0}; /* up to 1024 nodes */

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

int hv_kvm_ram_create(hv_kvm_ram *ram, const char *vm_name, uint32_t slot, uint64_t guest_base,
                      uint64_t bytes, uint64_t page_bytes, int host_node)
{
    char name[96];
    unsigned int flags = MFD_CLOEXEC;
    int rc;

    memset(ram, 0, sizeof(*ram));
    ram->fd = -1;
    ram->guest_base = guest_base;
    ram->bytes = bytes;
    ram->page_bytes = page_bytes > 4096 ? page_bytes : 4096;
    ram->host_node = host_node;
    ram->slot = slot;
    if (ram->page_bytes > 4096)
        flags |= MFD_HUGETLB | (log2_u64(ram->page_bytes) << MFD_HUGE_SHIFT);
    hv_format(name, sizeof(name), "hpcvirt:%s:node%u", vm_name, slot);
    ram->fd = memfd_create(name, flags);
    if (ram->fd < 0) {
        rc = hv_error_set(HV_E_IO, NULL, "memfd_create for %s's guest memory failed: %s%s", vm_name,
                          strerror(errno),
                          ram->page_bytes > 4096 ? " (does this kernel have hugetlbfs?)" : "");
        return rc;
    }
    if (ftruncate(ram->fd, (off_t)bytes) < 0) {
        rc = hv_error_set(HV_E_NOMEM, NULL,
                          "sizing %s's guest memory (%" PRIu64 " bytes) failed: %s", vm_name, bytes,
                          strerror(errno));
        hv_kvm_ram_destroy(ram);
        return rc;
    }
    /* hugetlb pages are reserved here: a short pool fails now, not at first touch */
    ram->host = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, ram->fd, 0);
    if (ram->host == MAP_FAILED) {
        int err = errno;

        ram->host = NULL;
        if (ram->page_bytes > 4096 && err == ENOMEM)
            rc = hv_error_set(HV_E_NOMEM, NULL,
                              "the host has too few free %s huge pages for vNUMA node %u of %s "
                              "(%" PRIu64 " needed%s%d): reserve more (vm.nr_hugepages or "
                              "/sys/devices/system/node/nodeN/hugepages) or plan with page_size "
                              "\"4k\"",
                              ram->page_bytes == GiB ? "1 GiB" : "2 MiB", slot, vm_name,
                              bytes / ram->page_bytes, host_node >= 0 ? " on host node " : "",
                              host_node);
        else
            rc = hv_error_set(HV_E_NOMEM, NULL, "mapping %s's guest memory failed: %s", vm_name,
                              strerror(err));
        hv_kvm_ram_destroy(ram);
        return rc;
    }
    if ((rc = bind_to_node(ram)) < 0) {
        hv_kvm_ram_destroy(ram);
        return rc;
    }
    if (ram->page_bytes == 4096) {
        /* shmem THP follows /sys/kernel/mm/transparent_hugepage/shmem_enabled:
         * asked for here, reported as the kernel grants it (hv_kvm_ram_info) */
        ram->thp_requested = madvise(ram->host, bytes, MADV_HUGEPAGE) == 0;
    }
    return 0;
}

int hv_kvm_ram_register(hv_kvm_ram *ram, int vm_fd)
{
    struct kvm_userspace_memory_region region = {
        .slot = ram->slot,
        .guest_phys_addr = ram->guest_base,
        .memory_size = ram->bytes,
        .userspace_addr = (uint64_t)(uintptr_t)ram->host,
    };

    if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return hv_error_set(HV_E_IO, NULL,
                            "registering guest memory slot %u (%" PRIu64 " bytes at 0x%" PRIx64
                            ") with KVM failed: %s",
                            ram->slot, ram->bytes, ram->guest_base, strerror(errno));
    ram->registered = true;
    return 0;
}

int hv_kvm_ram_reset(hv_kvm_ram *ram)
{
    if (fallocate(ram->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)ram->bytes) < 0)
        return hv_error_set(HV_E_IO, NULL, "clearing guest memory slot %u failed: %s", ram->slot,
                            strerror(errno));
    return 0;
}

void hv_kvm_ram_destroy(hv_kvm_ram *ram)
{
    if (ram->host)
        munmap(ram->host, ram->bytes);
    if (ram->fd >= 0)
        close(ram->fd);
    ram->host = NULL;
    ram->fd = -1;
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
    return 0;
}
