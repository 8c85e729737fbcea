/*
 * guest/kernels/kernels.h - the benchmark kernels the worker payload runs in
 * the guest and the engine's benchmark compiles natively from the same file
 * (guest/kernels/kernels.c): pure functions with no library or runtime
 * calls, whose checksums do not depend on the compiler, its flags or FMA
 * contraction, so a guest run and a native run of the same work must agree.
 */
#ifndef HV_GUEST_KERNELS_H
#define HV_GUEST_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/** The most memory the memory kernel is given per vCPU (64 MiB). */
#define HV_KERNEL_MEMORY_MAX_BYTES ((size_t)64 << 20)
/**
 * The memory kernel's fixed amount of work: triad element updates in all
 * passes together (each reads two doubles and writes one, 24 bytes). With
 * the full 64 MiB buffer that is 2796202 elements per array and 96 passes.
 */
#define HV_KERNEL_MEMORY_WORK ((uint64_t)268435392)
/** The compute kernel's fixed amount of work, in iterations. */
#define HV_KERNEL_COMPUTE_ITERATIONS ((uint64_t)12000000)

/**
 * Memory-bound: buf holds `elements` doubles, used as three arrays a, b, c
 * of elements / 3 each (the rest is unused). Fills b and c, then runs
 * `passes` STREAM-triad passes a[i] = b[i] + s * c[i] with s = pass + 1,
 * and returns a checksum of a. Every value is an integer below 2^53, so
 * every operation is exact and the checksum is the same however it is
 * compiled. The initial contents of buf do not matter.
 */
uint64_t hv_kernel_memory(double *buf, size_t elements, unsigned int passes);

/**
 * The passes that make the memory kernel do HV_KERNEL_MEMORY_WORK element
 * updates on a buffer of `elements` doubles (at least 1).
 */
unsigned int hv_kernel_memory_passes(size_t elements);

/**
 * The worker's work on a buffer of `elements` doubles (at most
 * HV_KERNEL_MEMORY_MAX_BYTES of them): the full 64 MiB buffer gets the
 * full work - hv_kernel_memory_passes() of it (96) and
 * HV_KERNEL_COMPUTE_ITERATIONS - and a smaller buffer the same passes and
 * proportionally fewer iterations, so the whole run shrinks with the VM: a
 * test can run a short worker in a small VM, and the benchmark runs the
 * full one in a large VM.
 */
unsigned int hv_kernel_worker_passes(size_t elements);
uint64_t hv_kernel_worker_iterations(size_t elements);

/**
 * Compute-bound, no memory traffic: `iterations` steps of two serial
 * dependency chains, an integer xorshift-multiply mixer and a
 * double-precision polynomial (Horner) evaluated modulo a prime below 2^26,
 * each step exact in double precision. Returns a checksum of both chains.
 */
uint64_t hv_kernel_compute(uint64_t seed, uint64_t iterations);

#endif
