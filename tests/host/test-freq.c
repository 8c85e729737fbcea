/* tests/host/test-freq.c - APERF/MPERF arithmetic with injected counter samples. */
#include "hv-test.h"
#include "host/freq.h"

static void test_compute(void **state)
{
    double ratio, mhz;

    hv_freq_compute(1000, 1000, 3600, 3000, 2400000, &ratio, &mhz); /* 2600/2000 */
    assert_true(ratio > 1.2999 && ratio < 1.3001);
    assert_true(mhz > 3119.9 && mhz < 3120.1);
    hv_freq_compute(0, 0, 500, 1000, 2000000, &ratio, &mhz);
    assert_true(ratio > 0.4999 && ratio < 0.5001);
    assert_true(mhz > 999.9 && mhz < 1000.1);
    /* counters wrap around 2^64 */
    hv_freq_compute(UINT64_MAX - 99, UINT64_MAX - 99, 100, 100, 1000000, &ratio, &mhz);
    assert_true(ratio > 0.9999 && ratio < 1.0001);
    /* idle for the whole interval: MPERF did not move */
    hv_freq_compute(5, 7, 5, 7, 1000000, &ratio, &mhz);
    assert_true(ratio == 0.0 && mhz == 0.0);
    /* unknown base frequency: ratio only */
    hv_freq_compute(0, 0, 150, 100, 0, &ratio, &mhz);
    assert_true(ratio > 1.4999 && ratio < 1.5001);
    assert_true(mhz == 0.0);
}

typedef struct fake {
    int reads[4];
    int opened, closed, waited;
    int fail_open_slot;
} fake;

static const uint64_t fake_aperf[2][4] = {{100, 200, 300, 400}, {1100, 2700, 300, 1400}};
static const uint64_t fake_mperf[2][4] = {{100, 200, 300, 400}, {1100, 2200, 300, 3400}};

static int fake_open(void *ctx, size_t slot, unsigned int cpu)
{
    fake *f = ctx;
    if ((int)slot == f->fail_open_slot)
        return HV_E_UNSUPPORTED;
    f->opened++;
    return 0;
}

static int fake_read(void *ctx, size_t slot, uint64_t *aperf, uint64_t *mperf)
{
    fake *f = ctx;
    int n = f->reads[slot]++;
    *aperf = fake_aperf[n][slot];
    *mperf = fake_mperf[n][slot];
    return 0;
}

static void fake_close(void *ctx, size_t slot)
{
    ((fake *)ctx)->closed++;
}

static void fake_wait(void *ctx, unsigned int ms)
{
    ((fake *)ctx)->waited += (int)ms;
}

static const hv_freq_counter_ops fake_ops = {"fake", fake_open, fake_read, fake_close, fake_wait};

static void test_sample_with_injected_counters(void **state)
{
    static const unsigned int cpus[] = {0, 1, 2, 3};
    fake f = {.fail_open_slot = -1};
    hv_freq_sample *s = NULL;

    assert_hv_ok(hv_freq_sample_with(&fake_ops, &f, cpus, 4, 250, 2000000, &s));
    assert_int_equal(f.opened, 4);
    assert_int_equal(f.closed, 4);
    assert_int_equal(f.waited, 250);
    assert_int_equal(hv_freq_sample_count(s), 4);
    assert_string_equal(hv_freq_sample_source(s), "fake");
    assert_true(hv_freq_sample_ratio(s, 0) > 0.9999 && hv_freq_sample_ratio(s, 0) < 1.0001);
    assert_true(hv_freq_sample_ratio(s, 1) > 1.2499 && hv_freq_sample_ratio(s, 1) < 1.2501);
    assert_true(hv_freq_sample_effective_mhz(s, 1) > 2499.9 &&
                hv_freq_sample_effective_mhz(s, 1) < 2500.1);
    assert_true(hv_freq_sample_ratio(s, 2) == 0.0); /* idle */
    assert_true(hv_freq_sample_ratio(s, 3) > 0.3333 && hv_freq_sample_ratio(s, 3) < 0.3334);
    assert_int_equal(hv_freq_sample_cpu(s, 3), 3);
    assert_true(hv_freq_sample_ratio(s, 9) == 0.0);
    hv_freq_sample_free(s);
}

static void test_sample_open_failure_closes_what_opened(void **state)
{
    static const unsigned int cpus[] = {0, 1, 2, 3};
    fake f = {.fail_open_slot = 2};
    hv_freq_sample *s = NULL;

    assert_int_equal(hv_freq_sample_with(&fake_ops, &f, cpus, 4, 10, 1000000, &s),
                     HV_E_UNSUPPORTED);
    assert_null(s);
    assert_int_equal(f.opened, 2);
    assert_int_equal(f.closed, 2);
}

static void test_live_sampling(void **state)
{
    hv_host *host = NULL;
    hv_host_discover_options opts = HV_HOST_DISCOVER_OPTIONS_INIT;
    hv_freq_sample_options fopts = HV_FREQ_SAMPLE_OPTIONS_INIT;
    hv_freq_sample *s = NULL;
    int rc;

    assert_hv_ok(hv_host_discover(&host, NULL));
    fopts.interval_ms = 20;
    rc = hv_host_sample_frequency(host, &fopts, &s);
    if (rc == HV_E_UNSUPPORTED) {
        /* Here (VMs without APERF/MPERF): an honest refusal that says why. */
        assert_error_mentions("APERF/MPERF");
    } else {
        assert_hv_ok(rc);
        assert_int_equal(hv_freq_sample_count(s), hv_host_cpu_count(host));
        for (size_t i = 0; i < hv_freq_sample_count(s); i++)
            assert_true(hv_freq_sample_ratio(s, i) >= 0.0);
        hv_freq_sample_free(s);
    }
    fopts.interval_ms = 60001;
    assert_hv_error(hv_host_sample_frequency(host, &fopts, &s), HV_E_INVAL);
    fopts.interval_ms = 1;
    fopts.cpulist = "9999";
    assert_hv_error(hv_host_sample_frequency(host, &fopts, &s), HV_E_INVAL);
    fopts.cpulist = "x";
    assert_hv_error(hv_host_sample_frequency(host, &fopts, &s), HV_E_INVAL);
    hv_host_free(host);

    /* A fixture host is not this machine: no live counters to read. */
    opts.root = hv_test_fixture("hosts/epyc-2cpu-vm");
    assert_hv_ok(hv_host_discover(&host, &opts));
    assert_hv_error(hv_host_sample_frequency(host, NULL, &s), HV_E_UNSUPPORTED);
    assert_error_mentions("not discovered from this machine");
    hv_host_free(host);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compute),
        cmocka_unit_test(test_sample_with_injected_counters),
        cmocka_unit_test(test_sample_open_failure_closes_what_opened),
        cmocka_unit_test(test_live_sampling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
