/*
 * guest/kernels/kernels.c - the worker's memory-bound and compute-bound
 * kernels (kernels.h). Built twice: into the guest payload (freestanding)
 * and natively by the engine's benchmark and tests/guest/test-kernels.c.
 * No library calls, no runtime calls, nothing that depends on the host:
 * every double holds an integer below 2^53, so rounding never happens and
 * FMA contraction or vectorization cannot change a result.
 */
#include "kernels.h"

/* FNV-1a over 64-bit words, finished with a final avalanche. */
#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME  UINT64_C(0x100000001b3)

static uint64_t fnv_word(uint64_t h, uint64_t word)
{
    return (h ^ word) * FNV_PRIME;
}

static uint64_t avalanche(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

uint64_t hv_kernel_memory(double *buf, size_t elements, unsigned int passes)
{
    size_t n = elements / 3;
    double *a = buf, *b = buf + n, *c = buf + 2 * n;
    uint64_t h = fnv_word(fnv_word(FNV_OFFSET, n), passes);

    /* b < 2^20 and c < 2^16, s <= 2^32: s * c + b < 2^53, exact */
    for (size_t i = 0; i < n; i++) {
        a[i] = 0.0;
        b[i] = (double)(i & 0xfffff);
        c[i] = (double)((i ^ (i >> 7)) & 0xffff);
    }
    for (unsigned int p = 0; p < passes; p++) {
        double s = (double)p + 1.0;

        for (size_t i = 0; i < n; i++)
            a[i] = b[i] + s * c[i];
        /* every pass is done: keep a compiler from merging or skipping passes */
        __asm__ volatile("" : : "r"(a) : "memory");
    }
    for (size_t i = 0; i < n; i++)
        h = fnv_word(h, (uint64_t)a[i]);
    return avalanche(h);
}

unsigned int hv_kernel_memory_passes(size_t elements)
{
    uint64_t n = elements / 3;
    uint64_t passes;

    if (n == 0)
        return 1;
    passes = HV_KERNEL_MEMORY_WORK / n;
    if (passes < 1)
        passes = 1;
    if (passes > UINT32_MAX)
        passes = UINT32_MAX;
    return (unsigned int)passes;
}

#define MAX_ELEMENTS (HV_KERNEL_MEMORY_MAX_BYTES / sizeof(double))

unsigned int hv_kernel_worker_passes(size_t elements)
{
    (void)elements;
    return hv_kernel_memory_passes(MAX_ELEMENTS);
}

uint64_t hv_kernel_worker_iterations(size_t elements)
{
    uint64_t iterations;

    if (elements >= MAX_ELEMENTS)
        return HV_KERNEL_COMPUTE_ITERATIONS;
    iterations = HV_KERNEL_COMPUTE_ITERATIONS / MAX_ELEMENTS * elements +
                 HV_KERNEL_COMPUTE_ITERATIONS % MAX_ELEMENTS * elements / MAX_ELEMENTS;
    return iterations ? iterations : 1;
}

/* The largest prime below 2^26: products of two residues stay below 2^52. */
#define POLY_PRIME 67108859.0

/* t mod POLY_PRIME for an integer 0 <= t < 2^53, exactly. */
static double reduce(double t)
{
    /* q may be one off either way (t * inverse rounds); q * P is exact */
    double q = (double)(int64_t)(t * (1.0 / POLY_PRIME));
    double r = t - q * POLY_PRIME;

    if (r < 0.0)
        r += POLY_PRIME;
    else if (r >= POLY_PRIME)
        r -= POLY_PRIME;
    return r;
}

uint64_t hv_kernel_compute(uint64_t seed, uint64_t iterations)
{
    uint64_t x = seed ^ UINT64_C(0x9e3779b97f4a7c15);
    uint64_t acc = 0;
    double y = (double)(seed % 67108859u);

    if (x == 0)
        x = 1; /* xorshift never leaves 0 */
    for (uint64_t it = 0; it < iterations; it++) {
        double c0, t;

        /* integer chain: xorshift64* */
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        acc += x * UINT64_C(0x2545f4914f6cdd1d);

        /* double chain: y = 3y^3 + 5y^2 + 7y + c0 (mod P) by Horner, c0 from x */
        c0 = (double)(x & 0xffff);
        t = reduce(3.0 * y + 5.0);
        t = reduce(t * y + 7.0);
        y = reduce(t * y + c0);
    }
    return avalanche(acc ^ (uint64_t)y * UINT64_C(0x9e3779b97f4a7c15));
}
