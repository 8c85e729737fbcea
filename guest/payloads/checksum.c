/*
 * guest/payloads/checksum.c - a short deterministic computation on every
 * vCPU, for tests that run many VMs at once (and so, under software
 * emulation, cannot afford the worker's seconds of work per vCPU): each
 * vCPU runs the memory kernel over 1 MiB of its own share of its node's
 * free memory (4 passes) and the compute kernel for 200,000 iterations
 * seeded with its index + 1, prints
 *   "vcpu V: D doubles, P passes, N iterations, seed S: memory 0x... compute 0x..."
 * (everything a host needs to compute the same checksums natively), and
 * after a barrier vCPU 0 exits with 0.
 */
#include "hv_guest.h"
#include "kernels.h"

#define CHECKSUM_BYTES      ((uint64_t)1 << 20)
#define CHECKSUM_PASSES     4u
#define CHECKSUM_ITERATIONS ((uint64_t)200000)

static hv_barrier done;

int guest_main(uint32_t vcpu, const hv_guest_boot_info *info)
{
    uint64_t base, bytes, memory, compute;
    size_t elements;

    if (hv_free_share(info, vcpu, 4096, &base, &bytes) < 0 || bytes == 0) {
        gprintf("vcpu %u: no free memory of its own\n", (unsigned int)vcpu);
        hv_exit(101);
    }
    if (bytes > CHECKSUM_BYTES)
        bytes = CHECKSUM_BYTES;
    elements = (size_t)(bytes / sizeof(double));
    memory = hv_kernel_memory((double *)(uintptr_t)base, elements, CHECKSUM_PASSES);
    compute = hv_kernel_compute(vcpu + 1, CHECKSUM_ITERATIONS);
    gprintf("vcpu %u: %zu doubles, %u passes, %llu iterations, seed %u: memory 0x%016llx "
            "compute 0x%016llx\n",
            (unsigned int)vcpu, elements, CHECKSUM_PASSES, (unsigned long long)CHECKSUM_ITERATIONS,
            (unsigned int)vcpu + 1, (unsigned long long)memory, (unsigned long long)compute);
    hv_barrier_wait(&done, info->vcpu_count);
    if (vcpu == 0)
        hv_exit(0);
    return 0;
}
