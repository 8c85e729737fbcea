/*
 * tests/guest/test-kernels.c - the worker payload's benchmark kernels
 * (guest/kernels/kernels.c) compiled natively: deterministic, independent
 * of what the buffer held, and equal to fixed checksums. The expected
 * values come from an independent model of the kernels in Python (IEEE
 * doubles): the guest build and every native build must produce them too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernels.h"

static double *buffer(size_t elements, unsigned char fill)
{
    double *buf = malloc((elements ? elements : 1) * sizeof(double));

    assert_non_null(buf);
    memset(buf, fill, (elements ? elements : 1) * sizeof(double));
    return buf;
}

static uint64_t memory_checksum(size_t elements, unsigned int passes, unsigned char fill)
{
    double *buf = buffer(elements, fill);
    uint64_t sum = hv_kernel_memory(buf, elements, passes);

    free(buf);
    return sum;
}

static void test_memory_expected(void **state)
{
    (void)state;
    assert_int_equal(memory_checksum(0, 1, 0), UINT64_C(0x412ba1049e30032f));
    assert_int_equal(memory_checksum(2, 7, 0), UINT64_C(0x326a36a255c69cda));
    assert_int_equal(memory_checksum(3, 1, 0), UINT64_C(0x9ba73f782bd041b8));
    assert_int_equal(memory_checksum(3000, 3, 0), UINT64_C(0x747212a0322e3978));
    assert_int_equal(memory_checksum(3 * 4096 + 2, 5, 0), UINT64_C(0x76c82d447897d38a));
    assert_int_equal(memory_checksum(3 * 100000, 17, 0), UINT64_C(0xd45a324485fa40a7));
}

/* The initial contents of the buffer (NaNs, garbage) never matter. */
static void test_memory_deterministic(void **state)
{
    (void)state;
    assert_int_equal(memory_checksum(3 * 4096 + 2, 5, 0x00),
                     memory_checksum(3 * 4096 + 2, 5, 0xff));
    assert_int_equal(memory_checksum(3000, 3, 0x7f), memory_checksum(3000, 3, 0xa5));
    assert_int_not_equal(memory_checksum(3000, 3, 0), memory_checksum(3000, 4, 0));
    assert_int_not_equal(memory_checksum(3000, 3, 0), memory_checksum(3003, 3, 0));
}

/* What the triad leaves in a: b[i] + passes * c[i], every value exact. */
static void test_memory_triad(void **state)
{
    size_t n = 5000;
    unsigned int passes = 9;
    double *buf = buffer(3 * n, 0xff);

    (void)state;
    hv_kernel_memory(buf, 3 * n, passes);
    for (size_t i = 0; i < n; i++) {
        double b = (double)(i & 0xfffff), c = (double)((i ^ (i >> 7)) & 0xffff);

        assert_true(buf[n + i] == b);
        assert_true(buf[2 * n + i] == c);
        assert_true(buf[i] == b + (double)passes * c);
    }
    free(buf);
}

/* Many passes (a tiny buffer gets millions) stay exact: s * c + b < 2^53. */
static void test_memory_many_passes(void **state)
{
    size_t n = 200;
    unsigned int passes = 70000;
    double *buf = buffer(3 * n, 0);

    (void)state;
    hv_kernel_memory(buf, 3 * n, passes);
    for (size_t i = 0; i < n; i++) {
        uint64_t b = i & 0xfffff, c = (i ^ (i >> 7)) & 0xffff;

        assert_int_equal((uint64_t)buf[i], b + (uint64_t)passes * c);
    }
    hv_kernel_memory(buf, 3 * n, 0);
    assert_true(buf[n - 1] == 0.0); /* no pass: a stays zeroed */
    free(buf);
}

static void test_memory_passes(void **state)
{
    (void)state;
    /* the full 64 MiB buffer: 2796202 elements per array, 96 passes */
    assert_int_equal(hv_kernel_memory_passes(HV_KERNEL_MEMORY_MAX_BYTES / sizeof(double)), 96);
    assert_int_equal(hv_kernel_memory_passes(0), 1);
    assert_int_equal(hv_kernel_memory_passes(2), 1);
    assert_int_equal(hv_kernel_memory_passes(3), 268435392u);
    assert_int_equal(hv_kernel_memory_passes(3 * 1024), 262143u);
    /* a bigger buffer than the work: still one pass */
    assert_int_equal(hv_kernel_memory_passes((size_t)3 * 300000000), 1);
}

static void test_worker_work(void **state)
{
    size_t full = HV_KERNEL_MEMORY_MAX_BYTES / sizeof(double);

    (void)state;
    /* the full buffer: the full work */
    assert_int_equal(hv_kernel_worker_passes(full), 96);
    assert_int_equal(hv_kernel_worker_iterations(full), HV_KERNEL_COMPUTE_ITERATIONS);
    assert_int_equal(hv_kernel_worker_iterations(full + 1), HV_KERNEL_COMPUTE_ITERATIONS);
    /* a smaller one: the same passes, iterations in proportion (never none) */
    assert_int_equal(hv_kernel_worker_passes(full / 8), 96);
    assert_int_equal(hv_kernel_worker_iterations(full / 8), HV_KERNEL_COMPUTE_ITERATIONS / 8);
    assert_int_equal(hv_kernel_worker_iterations(full / 2), HV_KERNEL_COMPUTE_ITERATIONS / 2);
    assert_int_equal(hv_kernel_worker_iterations(0), 1);
    assert_int_equal(hv_kernel_worker_iterations(1), 1);
}

static void test_compute_expected(void **state)
{
    (void)state;
    assert_int_equal(hv_kernel_compute(0, 0), UINT64_C(0x0));
    assert_int_equal(hv_kernel_compute(1, 0), UINT64_C(0xe220a8397b1dcdaf));
    assert_int_equal(hv_kernel_compute(1, 1), UINT64_C(0x5ce5b846b4e3a918));
    assert_int_equal(hv_kernel_compute(1, 1000), UINT64_C(0x34047cf6ed423765));
    assert_int_equal(hv_kernel_compute(42, 100000), UINT64_C(0x39c095bc987b367f));
    /* the seed that makes the xorshift state 0 (it starts from 1 instead) */
    assert_int_equal(hv_kernel_compute(UINT64_C(0x9e3779b97f4a7c15), 5000),
                     UINT64_C(0xc7f9b035688c1973));
}

static void test_compute_deterministic(void **state)
{
    (void)state;
    assert_int_equal(hv_kernel_compute(7, 20000), hv_kernel_compute(7, 20000));
    assert_int_not_equal(hv_kernel_compute(7, 20000), hv_kernel_compute(8, 20000));
    assert_int_not_equal(hv_kernel_compute(7, 20000), hv_kernel_compute(7, 20001));
}

/*
 * The worker's full amounts of work, as the guest prints them (seconds
 * natively): the engine's benchmark compares against these. Only run
 * when HV_TEST_SLOW is set.
 */
static void test_full_work(void **state)
{
    size_t elements = HV_KERNEL_MEMORY_MAX_BYTES / sizeof(double);
    double *buf;

    (void)state;
    if (!getenv("HV_TEST_SLOW"))
        skip();
    buf = buffer(elements, 0);
    assert_int_equal(hv_kernel_memory(buf, elements, hv_kernel_memory_passes(elements)),
                     UINT64_C(0xf06f392aeff2d0a1));
    free(buf);
    assert_int_equal(hv_kernel_compute(1, HV_KERNEL_COMPUTE_ITERATIONS),
                     UINT64_C(0xbfdf4486b538b051));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_expected),  cmocka_unit_test(test_memory_deterministic),
        cmocka_unit_test(test_memory_triad),     cmocka_unit_test(test_memory_many_passes),
        cmocka_unit_test(test_memory_passes),    cmocka_unit_test(test_worker_work),
        cmocka_unit_test(test_compute_expected), cmocka_unit_test(test_compute_deterministic),
        cmocka_unit_test(test_full_work),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
