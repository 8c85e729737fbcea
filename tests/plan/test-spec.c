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
    assert_error_mentions("libvirt's \"virtio\" is the same");
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

/* A spec whose `key` lists `count` times `item`, after `first` (a JSON fragment or ""). */
static char *spec_with_list(const char *key, const char *first, const char *item, size_t count)
{
    size_t cap = 256 + strlen(first) + count * (strlen(item) + 2), len;
    char *json = malloc(cap);

    assert_non_null(json);
    len =
        (size_t)snprintf(json, cap, "{\"vcpus\": 4, \"memory\": \"4GiB\", \"%s\": [%s", key, first);
    for (size_t i = 0; i < count; i++)
        len += (size_t)snprintf(json + len, cap - len, "%s%s", i || *first ? "," : "", item);
    snprintf(json + len, cap - len, "]}");
    return json;
}

static void assert_spec_refused(const char *json, int code, const char *path)
{
    hv_vm_spec *spec = (hv_vm_spec *)0x1;
    int rc = hv_vm_spec_from_json(json, &spec);

    if (rc != code || strcmp(hv_error_path(hv_error_last()), path) != 0)
        print_error("%.80s: rc %d path '%s' message %s\n", json, rc, hv_error_path(hv_error_last()),
                    hv_error_message(hv_error_last()));
    assert_int_equal(rc, code);
    assert_string_equal(hv_error_path(hv_error_last()), path);
    assert_null(spec);
}

/* Issue 12: values json-c would silently change, or take though JSON has no such thing. */
/* libvirt's name of the NIC model, "virtio", is virtio-net: kept as "virtio-net". */
static void test_nic_model_virtio(void **state)
{
    hv_vm_spec *spec = NULL;
    char *json = NULL;

    assert_hv_ok(hv_vm_spec_new(&spec));
    assert_hv_ok(hv_vm_spec_add_nic(spec, "virtio", 2, 0, 0));
    assert_hv_ok(hv_vm_spec_to_json(spec, 0, &json));
    assert_non_null(strstr(json, "\"model\":\"virtio-net\""));
    assert_null(strstr(json, "\"virtio\""));
    hv_free(json);
    hv_vm_spec_free(spec);
    assert_hv_ok(hv_vm_spec_from_json("{\"vcpus\": 2, \"memory\": \"1GiB\", \"nics\": "
                                      "[{\"model\": \"virtio\"}]}",
                                      &spec));
    assert_hv_ok(hv_vm_spec_to_json(spec, 0, &json));
    assert_non_null(strstr(json, "\"model\":\"virtio-net\""));
    hv_free(json);
    hv_vm_spec_free(spec);
}

/*
 * A syntax error says where once: the message ends with "(line L, column C)" and the path is
 * "line L", which the message already holds (the CLI prints it once).
 */
static void test_syntax_error_location(void **state)
{
    hv_vm_spec *spec = (hv_vm_spec *)0x1;
    const char *message;

    assert_hv_error(hv_vm_spec_from_json("{\"name\": \"x\",\n  \"vcpus\": tru}", &spec),
                    HV_E_PARSE);
    assert_null(spec);
    message = hv_error_message(hv_error_last());
    assert_string_equal(hv_error_path(hv_error_last()), "line 2");
    assert_non_null(strstr(message, " (line 2, column 12)"));
    assert_string_equal(strstr(message, " (line 2, column 12)"), " (line 2, column 12)");
    assert_null(strstr(message, "(line 2, column 12) ("));
}

static void test_json_values_not_changed(void **state)
{
    /* a NUL character cut the name short: "a" was planned */
    assert_spec_refused("{\"name\": \"a\\u0000b\", \"vcpus\": 4, \"memory\": \"4GiB\"}", HV_E_PARSE,
                        "name");
    assert_error_mentions("NUL character");
    assert_spec_refused(
        "{\"vcpus\": 4, \"memory\": \"4GiB\", \"nics\": [{\"mo\\u0000del\": \"x\"}]}", HV_E_PARSE,
        "nics[0]");
    /* repeated keys: the last one won */
    assert_spec_refused("{\"vcpus\": 4, \"vcpus\": 8, \"memory\": \"4GiB\"}", HV_E_SPEC, "vcpus");
    assert_error_mentions("twice");
    assert_spec_refused("{\"vcpus\": 4, \"memory\": \"4GiB\", \"rdma\": [{\"mtu\": 256, \"mtu\": "
                        "4096}]}",
                        HV_E_SPEC, "rdma[0].mtu");
    assert_spec_refused("{\"vcpus\": 4, \"memory\": \"4GiB\", \"m\\u0065mory\": \"8GiB\"}",
                        HV_E_SPEC, "memory");
    /* NaN and infinities are not JSON numbers: say so, not "not a fractional number" */
    assert_spec_refused("{\"vcpus\": NaN, \"memory\": \"4GiB\"}", HV_E_PARSE, "vcpus");
    assert_error_mentions("NaN is not a number JSON allows");
    assert_spec_refused("{\"vcpus\": 4, \"memory\": Infinity}", HV_E_PARSE, "memory");
    /* JSON text is UTF-8 */
    assert_spec_refused("{\"name\": \"caf\xe9\", \"vcpus\": 4, \"memory\": \"4GiB\"}", HV_E_PARSE,
                        "name");
    assert_spec_refused("{\"name\": \"\\udfff\", \"vcpus\": 4, \"memory\": \"4GiB\"}", HV_E_PARSE,
                        "name");
}

/* What a message quotes from the input never reaches the terminal as it is. */
static void test_messages_quote_safely(void **state)
{
    hv_vm_spec *spec = NULL;
    const char *msg;

    assert_spec_refused(
        "{\"name\": \"\\u001b[2J\\u001b[31mx\", \"vcpus\": 4, \"memory\": \"4GiB\"}", HV_E_SPEC,
        "name");
    msg = hv_error_message(hv_error_last());
    assert_null(strchr(msg, '\x1b'));
    assert_non_null(strstr(msg, "'\\u001b[2J\\u001b[31mx'"));
    assert_spec_refused("{\"vcpus\": 4, \"memory\": \"\\u001b]0;owned\\u0007\"}", HV_E_SPEC,
                        "memory");
    assert_null(strchr(hv_error_message(hv_error_last()), '\x1b'));
    assert_spec_refused("{\"vcpus\": 4, \"memory\": \"4GiB\", \"\\u001bx\": 1}", HV_E_SPEC,
                        "\\u001bx");
    assert_null(strchr(hv_error_message(hv_error_last()), '\x1b'));
    assert_spec_refused("{\"vcpus\": 4, \"memory\": \"4GiB\", \"firmware\": \"\\u009b31m\"}",
                        HV_E_SPEC, "firmware");
    assert_null(strstr(hv_error_message(hv_error_last()), "\xc2\x9b"));

    /* the setters take C strings that JSON never checked */
    assert_hv_ok(hv_vm_spec_new(&spec));
    assert_hv_error(hv_vm_spec_set_name(spec, "caf\xe9\xff"), HV_E_SPEC);
    msg = hv_error_message(hv_error_last());
    assert_null(strchr(msg, '\xff'));
    assert_non_null(strstr(msg, "caf\\xe9\\xff"));
    assert_hv_error(hv_vm_spec_add_accelerator(spec, "0000:41:00.0\x1b[8m", 0, NULL), HV_E_SPEC);
    assert_null(strchr(hv_error_message(hv_error_last()), '\x1b'));
    /* a right-to-left override would hide what the rest of a line says */
    assert_hv_error(hv_vm_spec_add_accelerator_model(spec, "l40s", 1, HV_ACCEL_MODE_VGPU,
                                                     "nvidia-\xe2\x80\xae"
                                                     "1156"),
                    HV_E_SPEC);
    assert_string_equal(hv_error_path(hv_error_last()), "accelerators[0].mdev_type");
    assert_null(strstr(hv_error_message(hv_error_last()), "\xe2\x80\xae"));
    assert_hv_error(hv_vm_spec_add_nic(spec, "e1000\x1b", 1, 0, 0), HV_E_SPEC);
    assert_null(strchr(hv_error_message(hv_error_last()), '\x1b'));
    assert_hv_error(hv_vm_spec_set_profile(spec, "\x1b[5m"), HV_E_SPEC);
    assert_null(strchr(hv_error_message(hv_error_last()), '\x1b'));
    hv_vm_spec_free(spec);
}

/* Issue 12: lists are refused at their limit, before anything is built from them. */
static void test_json_lists_bounded(void **state)
{
    static const struct {
        const char *key, *bad_first, *item;
        size_t limit;
        const char *path, *mentions;
    } lists[] = {
        {"nics", "{\"queues\": 1000}", "{}", 64, "nics[64]", "at most 64 NICs"},
        {"accelerators", "{\"model\": \"l40s\", \"count\": 0}", "{\"model\": \"l40s\"}", 64,
         "accelerators[64]", "at most 64 accelerators"},
        {"rdma", "{\"mtu\": 9000}", "{}", 64, "rdma[64]", "at most 64 RDMA attachments"},
        {"disks", "{\"path\": \"rel.img\"}", "{\"path\": \"/d.img\", \"read_only\": true}", 60,
         "disks[60]", "60 disks"},
        {"vnuma", "{\"vcpus\": 0, \"memory\": \"1GiB\"}", "{\"vcpus\": 1, \"memory\": \"1GiB\"}",
         64, "vnuma[64]", "at most 64 vNUMA nodes"},
    };

    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        /* one past the limit: refused there, though an earlier entry is bad too */
        char *json =
            spec_with_list(lists[i].key, lists[i].bad_first, lists[i].item, lists[i].limit);

        assert_spec_refused(json, HV_E_SPEC, lists[i].path);
        assert_error_mentions(lists[i].mentions);
        free(json);
        /* 200,000 entries: the same, and still under the size limit for "{}" */
        json = spec_with_list(lists[i].key, "", "{}", 200000);
        assert_spec_refused(json, HV_E_SPEC, lists[i].path);
        free(json);
    }
    assert_spec_refused(
        "{\"vcpus\": 4, \"memory\": \"4GiB\", \"nics\": [{\"rss\": [\"tcp\", \"udp\", "
        "\"esp\", \"tcp\"]}]}",
        HV_E_SPEC, "nics[0].rss[3]");
}

static void test_json_document_bounded(void **state)
{
    char *json = spec_with_list("bogus", "", "0", 20000);
    char *big;
    size_t size = (size_t)2 << 20;

    /* values under a key nobody reads: refused at the limit, not after a parse */
    assert_spec_refused(json, HV_E_SPEC, "bogus[16377]");
    assert_error_mentions("more than 16384 values");
    free(json);
    assert_spec_refused("{\"vcpus\": 4, \"memory\": \"4GiB\", \"bogus\": "
                        "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}",
                        HV_E_SPEC, "bogus[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]");
    assert_error_mentions("levels deep");
    /* 2 MiB: more than any spec */
    big = malloc(size + 1);
    assert_non_null(big);
    memset(big, ' ', size);
    memcpy(big, "{\"vcpus\": 4, \"memory\": \"4GiB\"}", 30);
    big[size] = '\0';
    assert_spec_refused(big, HV_E_SPEC, "");
    assert_error_mentions("bytes long");
    free(big);
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

static void test_disks(void **state)
{
    static const struct {
        const char *disk, *path, *mentions;
    } bad[] = {
        {"{}", "disks[0].path", "required"},
        {"{\"path\": 7}", "disks[0].path", NULL},
        {"{\"path\": \"\"}", "disks[0].path", "absolute"},
        {"{\"path\": \"vm.img\"}", "disks[0].path", "absolute"},
        {"{\"path\": \"/images/\"}", "disks[0].path", "directory"},
        {"{\"path\": \"/a\\u001bb\"}", "disks[0].path", "\\u001b"},
        {"{\"path\": \"/a.img\", \"format\": \"vmdk\"}", "disks[0].format", "raw|qcow2"},
        {"{\"path\": \"/a.img\", \"bus\": \"ide\"}", "disks[0].bus", "virtio|scsi|sata"},
        {"{\"path\": \"/a.img\", \"read_only\": \"yes\"}", "disks[0].read_only", NULL},
        {"{\"path\": \"/a.img\", \"serial\": \"123456789012345678901\"}", "disks[0].serial",
         "at most 20"},
        {"{\"path\": \"/a.img\", \"serial\": \"caf\u00e9\"}", "disks[0].serial", "ASCII"},
        {"{\"path\": \"/a.img\", \"serial\": \"a\\tb\"}", "disks[0].serial", NULL},
        {"{\"path\": \"/a.img\", \"serial\": \"<b>&\"}", "disks[0].serial", "libvirt's rule"},
        {"{\"path\": \"/a.img\", \"size\": -1}", "disks[0].size", NULL},
        {"{\"path\": \"/a.img\", \"size\": 1000}", "disks[0].size", "MiB"},
        {"{\"path\": \"/a.img\", \"size\": \"1PiB\"}", "disks[0].size", "64 TiB"},
        {"{\"path\": \"/a.img\", \"size\": \"lots\"}", "disks[0].size", NULL},
        {"{\"path\": \"/a.img\", \"size\": \"1GiB\", \"read_only\": true}", "disks[0].size",
         "read_only"},
        {"{\"path\": \"/a.img\", \"cache\": \"none\"}", "disks[0].cache", "known keys"},
        {"{\"path\": \"/a.img\", \"path\": \"/b.img\"}", "disks[0].path", NULL},
        {"\"/a.img\"", "disks[0]", "object"},
    };
    hv_vm_spec *spec = NULL, *back = NULL;
    char *json = NULL, *again = NULL, long_path[1024 + 2];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[512];

        snprintf(text, sizeof(text), "{\"vcpus\": 2, \"memory\": \"1GiB\", \"disks\": [%s]}",
                 bad[i].disk);
        assert_spec_refused(text, HV_E_SPEC, bad[i].path);
        if (bad[i].mentions)
            assert_error_mentions(bad[i].mentions);
    }
    /* the builder checks the same, and what it cannot get from JSON */
    assert_hv_ok(hv_vm_spec_new(&spec));
    assert_hv_error(hv_vm_spec_add_disk(spec, NULL, 0, 0, false, NULL, 0), HV_E_SPEC);
    assert_hv_error(hv_vm_spec_add_disk(spec, "/a.img", 2, 0, false, NULL, 0), HV_E_SPEC);
    assert_string_equal(hv_error_path(hv_error_last()), "disks[0].format");
    assert_hv_error(hv_vm_spec_add_disk(spec, "/a.img", 0, -1, false, NULL, 0), HV_E_SPEC);
    assert_string_equal(hv_error_path(hv_error_last()), "disks[0].bus");
    memset(long_path, 'a', sizeof(long_path) - 1);
    long_path[0] = '/';
    long_path[sizeof(long_path) - 1] = '\0';
    assert_hv_error(hv_vm_spec_add_disk(spec, long_path, 0, 0, false, NULL, 0), HV_E_SPEC);
    assert_error_mentions("at most 1024");
    long_path[sizeof(long_path) - 2] = '\0';
    assert_hv_ok(hv_vm_spec_add_disk(spec, long_path, 0, 0, false, NULL, 0));
    hv_vm_spec_free(spec);

    /* every field, defaults filled in, lossless round trip */
    spec = test_spec("{\"vcpus\": 2, \"memory\": \"1GiB\", \"disks\": ["
                     "{\"path\": \"/var/lib/images/root.qcow2\", \"format\": \"qcow2\", "
                     "\"bus\": \"scsi\", \"serial\": \"ROOT-0001\"}, "
                     "{\"path\": \"/var/lib/images/scratch.img\", \"size\": \"20GiB\"}, "
                     "{\"path\": \"/iso/tools.img\", \"bus\": \"sata\", \"read_only\": true}]}");
    assert_hv_ok(hv_vm_spec_to_json(spec, HV_JSON_COMPACT, &json));
    assert_non_null(strstr(json, "root.qcow2\",\"format\":\"qcow2\",\"bus\":\"scsi\","
                                 "\"read_only\":false,\"serial\":\"ROOT-0001\",\"size\":0}"));
    assert_non_null(strstr(json, "\"size\":21474836480"));
    assert_hv_ok(hv_vm_spec_from_json(json, &back));
    assert_hv_ok(hv_vm_spec_to_json(back, HV_JSON_COMPACT, &again));
    assert_string_equal(json, again);
    hv_free(json);
    hv_free(again);
    hv_vm_spec_free(back);
    /* a copy keeps them */
    assert_hv_ok(hv_vm_spec_copy(spec, &back));
    assert_hv_ok(hv_vm_spec_to_json(spec, 0, &json));
    assert_hv_ok(hv_vm_spec_to_json(back, 0, &again));
    assert_string_equal(json, again);
    hv_free(json);
    hv_free(again);
    hv_vm_spec_free(back);
    hv_vm_spec_free(spec);
}

/* Issue 15: the boot source, a Linux kernel booted directly. */
#define CMDLINE_MAX 4095 /* bytes of a command line, documented */

static void test_boot(void **state)
{
    static const struct {
        const char *boot, *path, *mentions;
    } bad[] = {
        {"\"/boot/vmlinuz\"", "boot", "object"},
        {"null", "boot", "object"},
        {"{}", "boot.kernel", "required"},
        {"{\"initrd\": \"/boot/initrd.img\"}", "boot.kernel", "required"},
        {"{\"kernel\": 7}", "boot.kernel", "string"},
        {"{\"kernel\": \"\"}", "boot.kernel", "absolute"},
        {"{\"kernel\": \"vmlinuz\"}", "boot.kernel", "absolute"},
        {"{\"kernel\": \"/boot/\"}", "boot.kernel", "directory"},
        {"{\"kernel\": \"/boot/vmlinuz\", \"initrd\": \"initrd.img\"}", "boot.initrd", "absolute"},
        {"{\"kernel\": \"/boot/vmlinuz\", \"initrd\": false}", "boot.initrd", "string"},
        {"{\"kernel\": \"/boot/vmlinuz\", \"cmdline\": [\"quiet\"]}", "boot.cmdline", "string"},
        {"{\"kernel\": \"/boot/vmlinuz\", \"cmdline\": \"a\\nb\"}", "boot.cmdline", "printable"},
        {"{\"kernel\": \"/boot/vmlinuz\", \"root\": \"/dev/vda\"}", "boot.root", "known keys"},
        {"{\"kernel\": \"/a\", \"kernel\": \"/b\"}", "boot.kernel", NULL},
    };
    hv_vm_spec *spec = NULL, *back = NULL;
    char *json = NULL, *again = NULL, long_line[CMDLINE_MAX + 2], text[8192];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "{\"vcpus\": 2, \"memory\": \"1GiB\", \"boot\": %s}",
                 bad[i].boot);
        assert_spec_refused(text, HV_E_SPEC, bad[i].path);
        if (bad[i].mentions)
            assert_error_mentions(bad[i].mentions);
    }
    memset(long_line, 'x', sizeof(long_line) - 1);
    long_line[sizeof(long_line) - 1] = '\0';
    snprintf(text, sizeof(text),
             "{\"vcpus\": 2, \"memory\": \"1GiB\", \"boot\": {\"kernel\": \"/k\", \"cmdline\": "
             "\"%s\"}}",
             long_line);
    assert_spec_refused(text, HV_E_SPEC, "boot.cmdline");
    assert_error_mentions("4096 bytes long: at most 4095");

    /* none by default, and none written */
    assert_hv_ok(hv_vm_spec_new(&spec));
    assert_null(hv_vm_spec_boot_kernel(spec));
    assert_null(hv_vm_spec_boot_initrd(spec));
    assert_null(hv_vm_spec_boot_cmdline(spec));
    assert_hv_ok(hv_vm_spec_to_json(spec, HV_JSON_COMPACT, &json));
    assert_null(strstr(json, "boot"));
    hv_free(json);
    /* a kernel alone */
    assert_hv_ok(hv_vm_spec_set_boot(spec, "/boot/vmlinuz", NULL, ""));
    assert_string_equal(hv_vm_spec_boot_kernel(spec), "/boot/vmlinuz");
    assert_null(hv_vm_spec_boot_initrd(spec));
    assert_null(hv_vm_spec_boot_cmdline(spec));
    /* bad values leave the spec as it was */
    assert_hv_error(hv_vm_spec_set_boot(NULL, "/k", NULL, NULL), HV_E_INVAL);
    assert_error_mentions("spec");
    assert_hv_error(hv_vm_spec_set_boot(spec, "k", NULL, NULL), HV_E_SPEC);
    assert_string_equal(hv_error_path(hv_error_last()), "boot.kernel");
    assert_error_mentions("whole path from /");
    assert_hv_error(hv_vm_spec_set_boot(spec, "/k", "/i/", NULL), HV_E_SPEC);
    assert_string_equal(hv_error_path(hv_error_last()), "boot.initrd");
    assert_error_mentions("directory");
    assert_hv_error(hv_vm_spec_set_boot(spec, "/k", NULL, long_line), HV_E_SPEC);
    assert_string_equal(hv_error_path(hv_error_last()), "boot.cmdline");
    assert_error_mentions("at most 4095");
    assert_hv_error(hv_vm_spec_set_boot(spec, "/k", NULL, "console=ttyS0\x1b[2J"), HV_E_SPEC);
    assert_null(strchr(hv_error_message(hv_error_last()), '\x1b'));
    assert_hv_error(hv_vm_spec_set_boot(spec, NULL, "/boot/initrd.img", NULL), HV_E_SPEC);
    assert_string_equal(hv_error_path(hv_error_last()), "boot.kernel");
    assert_error_mentions("an initrd");
    assert_hv_error(hv_vm_spec_set_boot(spec, NULL, NULL, "quiet"), HV_E_SPEC);
    assert_error_mentions("a command line");
    assert_string_equal(hv_vm_spec_boot_kernel(spec), "/boot/vmlinuz");
    assert_null(hv_vm_spec_boot_initrd(spec));
    /* the longest command line; every part; NULL clears */
    long_line[CMDLINE_MAX] = '\0';
    assert_hv_ok(hv_vm_spec_set_boot(spec, "/k", NULL, long_line));
    assert_int_equal(strlen(hv_vm_spec_boot_cmdline(spec)), CMDLINE_MAX);
    assert_hv_ok(hv_vm_spec_set_boot(spec, "/boot/vmlinuz-6.1", "/boot/initrd.img-6.1",
                                     "console=ttyS0 root=/dev/vda ro quiet"));
    assert_string_equal(hv_vm_spec_boot_kernel(spec), "/boot/vmlinuz-6.1");
    assert_string_equal(hv_vm_spec_boot_initrd(spec), "/boot/initrd.img-6.1");
    assert_string_equal(hv_vm_spec_boot_cmdline(spec), "console=ttyS0 root=/dev/vda ro quiet");
    assert_hv_ok(hv_vm_spec_to_json(spec, HV_JSON_COMPACT, &json));
    assert_non_null(strstr(json, "\"disks\":[],\"boot\":{\"kernel\":\"/boot/vmlinuz-6.1\","
                                 "\"initrd\":\"/boot/initrd.img-6.1\",\"cmdline\":\"console=ttyS0 "
                                 "root=/dev/vda ro quiet\"},\"guest_phys_bits\""));
    /* lossless round trip; a copy keeps it */
    assert_hv_ok(hv_vm_spec_from_json(json, &back));
    assert_hv_ok(hv_vm_spec_to_json(back, HV_JSON_COMPACT, &again));
    assert_string_equal(json, again);
    hv_free(again);
    hv_vm_spec_free(back);
    assert_hv_ok(hv_vm_spec_copy(spec, &back));
    assert_string_equal(hv_vm_spec_boot_initrd(back), "/boot/initrd.img-6.1");
    assert_hv_ok(hv_vm_spec_to_json(back, HV_JSON_COMPACT, &again));
    assert_string_equal(json, again);
    hv_free(again);
    hv_free(json);
    assert_hv_ok(hv_vm_spec_set_boot(spec, NULL, "", NULL));
    assert_null(hv_vm_spec_boot_kernel(spec));
    assert_null(hv_vm_spec_boot_initrd(spec));
    assert_null(hv_vm_spec_boot_cmdline(spec));
    assert_string_equal(hv_vm_spec_boot_cmdline(back), "console=ttyS0 root=/dev/vda ro quiet");
    hv_vm_spec_free(back);
    hv_vm_spec_free(spec);

    /* from JSON: "" is none; the 4095-byte command line is taken */
    spec = test_spec("{\"vcpus\": 2, \"memory\": \"1GiB\", \"boot\": {\"kernel\": \"/k\", "
                     "\"initrd\": \"\", \"cmdline\": \"\"}}");
    assert_string_equal(hv_vm_spec_boot_kernel(spec), "/k");
    assert_null(hv_vm_spec_boot_initrd(spec));
    assert_null(hv_vm_spec_boot_cmdline(spec));
    assert_hv_ok(hv_vm_spec_to_json(spec, HV_JSON_COMPACT, &json));
    assert_non_null(strstr(json, "\"boot\":{\"kernel\":\"/k\",\"initrd\":\"\",\"cmdline\":\"\"}"));
    hv_free(json);
    hv_vm_spec_free(spec);
    snprintf(text, sizeof(text),
             "{\"vcpus\": 2, \"memory\": \"1GiB\", \"boot\": {\"kernel\": \"/k\", \"cmdline\": "
             "\"%s\"}}",
             long_line);
    spec = test_spec(text);
    assert_int_equal(strlen(hv_vm_spec_boot_cmdline(spec)), CMDLINE_MAX);
    hv_vm_spec_free(spec);
    /* getters of NULL */
    assert_null(hv_vm_spec_boot_kernel(NULL));
    assert_null(hv_vm_spec_boot_initrd(NULL));
    assert_null(hv_vm_spec_boot_cmdline(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_builder),
        cmocka_unit_test(test_setter_errors),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_json_forms),
        cmocka_unit_test(test_json_values_not_changed),
        cmocka_unit_test(test_nic_model_virtio),
        cmocka_unit_test(test_syntax_error_location),
        cmocka_unit_test(test_messages_quote_safely),
        cmocka_unit_test(test_json_lists_bounded),
        cmocka_unit_test(test_json_document_bounded),
        cmocka_unit_test(test_disks),
        cmocka_unit_test(test_boot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
