/*
 * tests/plan/test-spec.c - VM specs: the builder, JSON in both directions
 * (lossless round trip, canonical form), and every bad-input path with the
 * exact field path.
 */
#include "test-hosts.h"

static void test_defaults_and_builder(void **state)
{
    hv_vm_spec *spec = NULL, *back = NULL;
    char *json = NULL, *again = NULL;

    assert_hv_ok(hv_vm_spec_new(&spec));
    assert_string_equal(hv_vm_spec_name(spec), "vm");
    assert_int_equal(hv_vm_spec_vcpus(spec), 1);
    assert_true(hv_vm_spec_memory_bytes(spec) == GiB(1));
    assert_string_equal(hv_vm_spec_profile(spec), "vsphere-6.7");
    assert_hv_ok(hv_vm_spec_set_name(spec, "train-01"));
    assert_hv_ok(hv_vm_spec_set_vcpus(spec, 96));
    assert_hv_ok(hv_vm_spec_set_memory_bytes(spec, TiB(1)));
    assert_hv_ok(hv_vm_spec_set_firmware(spec, HV_FIRMWARE_EFI));
    assert_hv_ok(hv_vm_spec_set_topology(spec, 24, 2));
    assert_hv_ok(hv_vm_spec_set_vnuma_policy(spec, HV_VNUMA_VSPHERE));
    assert_hv_ok(hv_vm_spec_add_vnuma_node(spec, 48, GiB(512)));
    assert_hv_ok(hv_vm_spec_add_vnuma_node(spec, 48, GiB(512)));
    assert_hv_ok(hv_vm_spec_set_prefer_ht(spec, true));
    assert_hv_ok(hv_vm_spec_set_page_size(spec, HV_PAGE_SIZE_1G));
    assert_hv_ok(hv_vm_spec_set_cpu_placement(spec, HV_CPU_PLACEMENT_DEDICATED));
    assert_hv_ok(hv_vm_spec_add_accelerator(spec, "0000:07:00.0", HV_ACCEL_MODE_PASSTHROUGH, NULL));
    assert_hv_ok(
        hv_vm_spec_add_accelerator_model(spec, "l40s", 2, HV_ACCEL_MODE_VGPU, "nvidia-1156"));
    assert_hv_ok(hv_vm_spec_add_nic(spec, "vmxnet3", 8, HV_NIC_RSS_TCP | HV_NIC_RSS_ESP,
                                    HV_NIC_TUNNEL_GENEVE));
    assert_hv_ok(hv_vm_spec_add_rdma(spec, HV_RDMA_INFINIBAND, HV_RDMA_MODE_SRIOV, 4096));
    assert_hv_ok(hv_vm_spec_set_guest_phys_bits(spec, HV_GUEST_PHYS_BITS_HOST));
    assert_hv_ok(hv_vm_spec_set_profile(spec, "kvm-q35"));

    assert_hv_ok(hv_vm_spec_to_json(spec, HV_JSON_PRETTY, &json));
    assert_hv_ok(hv_vm_spec_from_json(json, &back));
    assert_hv_ok(hv_vm_spec_to_json(back, HV_JSON_PRETTY, &again));
    assert_string_equal(json, again);
    assert_non_null(strstr(json, "\"memory\": 1099511627776"));
    assert_non_null(strstr(json, "\"guest_phys_bits\": \"host\""));
    assert_non_null(strstr(json, "\"rss\": [\n        \"tcp\",\n        \"esp\"\n      ]"));
    hv_free(json);
    hv_free(again);
    hv_vm_spec_free(back);
    /* copies are independent */
    assert_hv_ok(hv_vm_spec_copy(spec, &back));
    assert_hv_ok(hv_vm_spec_set_vcpus(back, 2));
    assert_int_equal(hv_vm_spec_vcpus(spec), 96);
    hv_vm_spec_free(back);
    hv_vm_spec_free(spec);
}

static void test_setter_errors(void **state)
{
    hv_vm_spec *spec = NULL;

    assert_hv_ok(hv_vm_spec_new(&spec));
    assert_hv_error(hv_vm_spec_set_vcpus(spec, 0), HV_E_SPEC);
    assert_string_equal(hv_error_path(hv_error_last()), "vcpus");
    assert_hv_error(hv_vm_spec_set_vcpus(spec, 5000), HV_E_SPEC);
    assert_hv_error(hv_vm_spec_set_memory_bytes(spec, 1000), HV_E_SPEC);
    assert_hv_error(hv_vm_spec_set_memory_bytes(spec, MiB(1) + 1), HV_E_SPEC);
    assert_error_mentions("whole number of MiB");
    assert_hv_error(hv_vm_spec_set_name(spec, "bad name"), HV_E_SPEC);
    assert_hv_error(hv_vm_spec_set_name(spec, ""), HV_E_SPEC);
    assert_hv_error(hv_vm_spec_set_firmware(spec, 7), HV_E_SPEC);
    assert_hv_error(hv_vm_spec_set_page_size(spec, -1), HV_E_SPEC);
    assert_hv_error(hv_vm_spec_set_topology(spec, 0, 9), HV_E_SPEC);
    assert_hv_error(hv_vm_spec_add_accelerator(spec, "0000:41:00", 0, NULL), HV_E_SPEC);
    assert_string_equal(hv_error_path(hv_error_last()), "accelerators[0].pci_address");
    assert_hv_error(hv_vm_spec_add_accelerator(spec, "0000:4B:00.0", 0, NULL), HV_E_SPEC);
    assert_error_mentions("lowercase");
    assert_hv_error(hv_vm_spec_add_accelerator(spec, "0000:41:00.0", HV_ACCEL_MODE_VGPU, NULL),
                    HV_E_SPEC);
    assert_string_equal(hv_error_path(hv_error_last()), "accelerators[0].mdev_type");
    assert_hv_error(hv_vm_spec_add_accelerator(spec, "0000:41:00.0", 0, "nvidia-1"), HV_E_SPEC);
    assert_hv_error(hv_vm_spec_add_accelerator_model(spec, "a100-sxm4-80gb", 0, 0, NULL),
                    HV_E_SPEC);
    assert_string_equal(hv_error_path(hv_error_last()), "accelerators[0].count");
    assert_hv_error(hv_vm_spec_add_nic(spec, "e1000", 1, 0, 0), HV_E_SPEC);
    assert_hv_error(hv_vm_spec_add_nic(spec, NULL, 1, 0x80, 0), HV_E_SPEC);
    assert_hv_error(hv_vm_spec_add_rdma(spec, 0, 0, 1500), HV_E_SPEC);
    assert_string_equal(hv_error_path(hv_error_last()), "rdma[0].mtu");
    assert_hv_error(hv_vm_spec_set_guest_phys_bits(spec, 70), HV_E_SPEC);
    assert_hv_error(hv_vm_spec_set_guest_phys_bits(spec, 31), HV_E_SPEC);
    assert_hv_error(hv_vm_spec_set_profile(spec, "vsphere-5.5"), HV_E_SPEC);
    assert_error_mentions("kvm-q35");
    assert_hv_error(hv_vm_spec_set_vcpus(NULL, 1), HV_E_INVAL);
    assert_hv_error(hv_vm_spec_new(NULL), HV_E_INVAL);
    /* nothing was added by the failed calls */
    {
        char *json = NULL;

        assert_hv_ok(hv_vm_spec_to_json(spec, 0, &json));
        assert_non_null(strstr(json, "\"accelerators\":[]"));
        assert_non_null(strstr(json, "\"nics\":[]"));
        hv_free(json);
    }
    hv_vm_spec_free(spec);
}

static void test_json_errors(void **state)
{
    static const struct {
        const char *json;
        int code;
        const char *path;
    } cases[] = {
        {"{", HV_E_PARSE, "line 1"},
        {"[]", HV_E_SPEC, ""},
        {"{\"vcpus\": 4}", HV_E_SPEC, "memory"},
        {"{\"memory\": \"4GiB\"}", HV_E_SPEC, "vcpus"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"bogus\": 1}", HV_E_SPEC, "bogus"},
        {"{\"vcpus\": \"4\", \"memory\": \"4GiB\"}", HV_E_SPEC, "vcpus"},
        {"{\"vcpus\": 4.5, \"memory\": \"4GiB\"}", HV_E_SPEC, "vcpus"},
        {"{\"vcpus\": -4, \"memory\": \"4GiB\"}", HV_E_SPEC, "vcpus"},
        {"{\"vcpus\": 99999999999999999999999, \"memory\": \"4GiB\"}", HV_E_SPEC, "vcpus"},
        {"{\"vcpus\": 4, \"memory\": 99999999999999999999999}", HV_E_SPEC, "memory"},
        {"{\"vcpus\": 4, \"memory\": -1}", HV_E_SPEC, "memory"},
        {"{\"vcpus\": 4, \"memory\": \"lots\"}", HV_E_SPEC, "memory"},
        {"{\"vcpus\": 4, \"memory\": \"1.3\"}", HV_E_SPEC, "memory"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"firmware\": \"uefi\"}", HV_E_SPEC, "firmware"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"prefer_ht\": 1}", HV_E_SPEC, "prefer_ht"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"vnuma\": \"yes\"}", HV_E_SPEC, "vnuma"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"vnuma\": []}", HV_E_SPEC, "vnuma"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"vnuma\": [{\"vcpus\": 0, \"memory\": \"1GiB\"}]}",
         HV_E_SPEC, "vnuma[0].vcpus"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"vnuma\": [{\"vcpus\": 2, \"memory\": \"1GiB\"}, "
         "{\"vcpus\": 2}]}",
         HV_E_SPEC, "vnuma[1].memory"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"vnuma\": [{\"vcpus\": 2, \"memory\": \"1GiB\", "
         "\"node\": 3}]}",
         HV_E_SPEC, "vnuma[0].node"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"accelerators\": {}}", HV_E_SPEC, "accelerators"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"accelerators\": [{\"model\": \"a100-sxm4-80gb\"}, "
         "{\"model\": \"l40s\", \"count\": -1}]}",
         HV_E_SPEC, "accelerators[1].count"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"accelerators\": [{\"model\": \"l40s\", \"count\": "
         "0}]}",
         HV_E_SPEC, "accelerators[0].count"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"accelerators\": [{\"pci_address\": "
         "\"0000:07:00.0\", \"model\": \"l40s\"}]}",
         HV_E_SPEC, "accelerators[0]"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"accelerators\": [{\"pci_address\": "
         "\"0000:07:00.0\", \"count\": 2}]}",
         HV_E_SPEC, "accelerators[0].count"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"accelerators\": [{}]}", HV_E_SPEC,
         "accelerators[0]"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"accelerators\": [{\"model\": \"l40s\", "
         "\"bogus\": true}]}",
         HV_E_SPEC, "accelerators[0].bogus"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"accelerators\": [{\"model\": \"l40s\", \"mode\": "
         "\"sriov\"}]}",
         HV_E_SPEC, "accelerators[0].mode"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"nics\": [{\"rss\": [\"tcp\", \"sctp\"]}]}",
         HV_E_SPEC, "nics[0].rss[1]"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"nics\": [{\"rss\": [\"tcp\", \"tcp\"]}]}",
         HV_E_SPEC, "nics[0].rss[1]"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"nics\": [{\"queues\": 1000}]}", HV_E_SPEC,
         "nics[0].queues"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"nics\": [{\"tunnel_offloads\": [\"gre\"]}]}",
         HV_E_SPEC, "nics[0].tunnel_offloads[0]"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"rdma\": [{\"protocol\": \"iwarp\"}]}", HV_E_SPEC,
         "rdma[0].protocol"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"rdma\": [{\"mtu\": 9000}]}", HV_E_SPEC,
         "rdma[0].mtu"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"guest_phys_bits\": 70}", HV_E_SPEC,
         "guest_phys_bits"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"guest_phys_bits\": \"max\"}", HV_E_SPEC,
         "guest_phys_bits"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"profile\": \"esxi\"}", HV_E_SPEC, "profile"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\", \"name\": \"a/b\"}", HV_E_SPEC, "name"},
        {"{\"vcpus\": 4, \"memory\": \"4GiB\"} trailing", HV_E_PARSE, "line 1"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hv_vm_spec *spec = (hv_vm_spec *)0x1;
        int rc = hv_vm_spec_from_json(cases[i].json, &spec);

        if (rc != cases[i].code || strcmp(hv_error_path(hv_error_last()), cases[i].path) != 0)
            print_error("case %zu %s: rc %d path '%s' message %s\n", i, cases[i].json, rc,
                        hv_error_path(hv_error_last()), hv_error_message(hv_error_last()));
        assert_int_equal(rc, cases[i].code);
        assert_string_equal(hv_error_path(hv_error_last()), cases[i].path);
        assert_null(spec);
    }
}

static void test_json_forms(void **state)
{
    hv_vm_spec *a = test_spec("{\"vcpus\": 8, \"memory\": \"1.5TiB\"}");
    hv_vm_spec *b = test_spec("{\"vcpus\": 8, \"memory\": 1649267441664, \"vnuma\": \"auto\", "
                              "\"guest_phys_bits\": \"auto\"}");
    char *ja = NULL, *jb = NULL;

    assert_true(hv_vm_spec_memory_bytes(a) == UINT64_C(1649267441664));
    assert_hv_ok(hv_vm_spec_to_json(a, 0, &ja));
    assert_hv_ok(hv_vm_spec_to_json(b, 0, &jb));
    assert_string_equal(ja, jb);
    hv_free(ja);
    hv_free(jb);
    hv_vm_spec_free(a);
    hv_vm_spec_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_builder),
        cmocka_unit_test(test_setter_errors),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_json_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
