/*
 * guest/payloads/worker.c - the worker payload: every vCPU runs the
 * memory-bound kernel over its share of its own vNUMA node's free memory
 * (at most 64 MiB) and then the compute-bound kernel (guest/kernels), with
 * the full work on a 64 MiB share and proportionally less on a smaller one
 * (hv_kernel_worker_passes/iterations: a small VM runs a short worker), each
 * bracketed by progress markers the host can time:
 *   1 = memory kernel start, 2 = memory kernel end (cold: the buffer's
 *       pages are touched for the first time),
 *   3 = compute kernel start, 4 = compute kernel end,
 *   5 = memory kernel start, 6 = memory kernel end (warm: the same work
 *       again, steady state).
 * Both memory runs must give the same checksum.
 * Each vCPU prints its buffer size and checksums; after a barrier vCPU 0
 * prints "worker done" and exits with 0.
 */
#include "hv_guest.h"
#include "kernels.h"

/* The compute kernel's seed: the same on every vCPU and in native runs. */
#define WORKER_COMPUTE_SEED 1u

static hv_barrier done;

int guest_main(uint32_t vcpu, const hv_guest_boot_info *info)
{
    uint64_t base, bytes, memory, compute, warm, iterations;
    int node = hv_free_share(info, vcpu, 4096, &base, &bytes);
    size_t elements;
    unsigned int passes;

    if (bytes > HV_KERNEL_MEMORY_MAX_BYTES)
        bytes = HV_KERNEL_MEMORY_MAX_BYTES;
    elements = (size_t)(bytes / sizeof(double));
    passes = hv_kernel_worker_passes(elements);
    iterations = hv_kernel_worker_iterations(elements);
    gprintf("vcpu %u: node %d, memory buffer %llu KiB at 0x%llx (%zu doubles), %u passes, "
            "compute %llu iterations\n",
            (unsigned int)vcpu, node, (unsigned long long)(bytes >> 10), (unsigned long long)base,
            elements, passes, (unsigned long long)iterations);

    hv_progress(1);
    memory = hv_kernel_memory((double *)(uintptr_t)base, elements, passes);
    hv_progress(2);
    hv_progress(3);
    compute = hv_kernel_compute(WORKER_COMPUTE_SEED, iterations);
    hv_progress(4);
    hv_progress(5);
    warm = hv_kernel_memory((double *)(uintptr_t)base, elements, passes);
    hv_progress(6);
    if (warm != memory) {
        gprintf("vcpu %u: the memory kernel gave 0x%016llx, then 0x%016llx\n", (unsigned int)vcpu,
                (unsigned long long)memory, (unsigned long long)warm);
        hv_exit(1);
    }

    gprintf("vcpu %u: memory 0x%016llx compute 0x%016llx\n", (unsigned int)vcpu,
            (unsigned long long)memory, (unsigned long long)compute);
    hv_barrier_wait(&done, info->vcpu_count);
    if (vcpu == 0) {
        gprintf("worker done\n");
        hv_exit(0);
    }
    return 0;
}
