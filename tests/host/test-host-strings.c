/*
 * tests/host/test-host-strings.c - the text a host tree or host document
 * holds (CPU model, driver names, mdev types, RDMA names and states,
 * findings) and the paths built from its names: strings are kept as data
 * but made valid UTF-8, so a discovered host's JSON is valid and reads back
 * the same; findings, which people are shown, are printable whatever they
 * quote; names too long for a fixed buffer never make discovery read a
 * shorter path (a decoy), and a path too long to open is a finding that
 * says so. Trees live under /tmp/hv-tree-* and are removed by each test.
 */
#include "hv-test.h"
#include "hv-tree.h"
#include "core/findings.h"
#include "core/text.h"
#include "host/discover.h"
#include "host/host.h"

#include <errno.h>
#include <fcntl.h>

#define CPU  "sys/devices/system/cpu/"
#define NODE "sys/devices/system/node/"
#define PCI  "sys/devices/pci0000:00/"
#define GPU  "0000:41:00.0"
/* ESC sequences (colour, title, clear screen), a BEL and bytes that are not UTF-8 */
#define HOSTILE "\033[31m\033]0;pwned\007\033[2J\xff\xfe"
#define FFFD    "\xef\xbf\xbd"

static const char cpuinfo[] =
    "processor\t: 0\nvendor_id\t: Evil\033[5m\xc3\nmodel name\t: Evil " HOSTILE " CPU @ 2.40GHz\n"
    "address sizes\t: 46 bits physical, 48 bits virtual\n\n";

/* One CPU, one node of 1 GiB. */
#define BASE_TREE                                                                                  \
    {"proc/cpuinfo", cpuinfo, NULL}, {"proc/meminfo", "MemTotal: 1048576 kB\n", NULL},             \
        {CPU "online", "0\n", NULL}, {NODE "online", "0\n", NULL},                                 \
        {NODE "node0/cpulist", "0\n", NULL},                                                       \
        {NODE "node0/meminfo", "Node 0 MemTotal: 1048576 kB\n", NULL},                             \
    {                                                                                              \
        NODE "node0/distance", "10\n", NULL                                                        \
    }

/* An NVIDIA GPU at `dir` (under PCI), its sys/bus link and its attributes. */
#define GPU_AT(dir)                                                                                \
    {"sys/bus/pci/devices/" GPU, NULL, "../../../devices/pci0000:00/" dir},                        \
        {PCI dir "/vendor", "0x10de\n", NULL}, {PCI dir "/device", "0x20b2\n", NULL},              \
        {PCI dir "/class", "0x030200\n", NULL},                                                    \
    {                                                                                              \
        PCI dir "/numa_node", "0\n", NULL                                                          \
    }

static bool printable(const char *s)
{
    return hv_text_unprintable_at(s, strlen(s)) == strlen(s);
}

static void assert_utf8(const char *s)
{
    if (!hv_utf8_valid(s, strlen(s)))
        fail_msg("not UTF-8: %s", s);
}

/* Every finding of `host` printable. */
static void assert_findings_printable(const hv_host *host)
{
    for (size_t i = 0; i < hv_host_finding_count(host); i++) {
        const hv_finding *f = hv_host_finding_at(host, i);

        if (!printable(hv_finding_code(f)) || !printable(hv_finding_path(f)) ||
            !printable(hv_finding_message(f)))
            fail_msg("finding %zu is not printable: %s", i, hv_finding_message(f));
    }
}

static hv_host *discover(const char *root)
{
    hv_host_discover_options opts = HV_HOST_DISCOVER_OPTIONS_INIT;
    hv_host *host = NULL;

    opts.root = root;
    assert_hv_ok(hv_host_discover(&host, &opts));
    return host;
}

/* to_json -> from_json -> to_json gives the same bytes, all of them UTF-8. */
static void assert_round_trip(const hv_host *host)
{
    char *first = NULL, *second = NULL;
    hv_host *back = NULL;

    assert_hv_ok(hv_host_to_json(host, HV_JSON_PRETTY, &first));
    assert_utf8(first);
    assert_hv_ok(hv_host_from_json(first, &back));
    assert_hv_ok(hv_host_to_json(back, HV_JSON_PRETTY, &second));
    assert_string_equal(first, second);
    hv_free(first);
    hv_free(second);
    hv_host_free(back);
}

/* ---- strings from a tree ------------------------------------------------------------- */

static void test_tree_strings_are_utf8_data(void **state)
{
    static const hv_tree_entry tree[] = {
        BASE_TREE,
        GPU_AT(GPU),
        {PCI GPU "/driver", NULL,
         "../../../bus/pci/drivers/nv\033[2J\xff"
         "dia"},
        {PCI GPU "/mdev_supported_types/nvidia-\033[0m63/name", "GRID \033[1mA100\xff\n", NULL},
        {PCI GPU "/mdev_supported_types/nvidia-\033[0m63/available_instances", "4\n", NULL},
        {PCI GPU "/current_link_speed", "16.0 GT/s\x80 PCIe\n", NULL},
        {"sys/class/infiniband/mlx5_\033[31m\xff", NULL, "../../devices/ib/mlx5_\033[31m\xff"},
        {"sys/devices/ib/mlx5_\033[31m\xff/fw_ver",
         "20.\xc0\xaf"
         "1\n",
         NULL},
        {"sys/devices/ib/mlx5_\033[31m\xff/ports/1/state", "4: ACT\033[5mIVE\xff\n", NULL},
        {"sys/devices/ib/mlx5_\033[31m\xff/ports/1/rate", "200 Gb/sec\xf5\n", NULL},
    };
    const char *root = HV_TREE_CREATE(tree);
    const hv_accelerator *acc;
    const hv_rdma_device *dev;
    hv_host *host;

    (void)state;
    assert_non_null(root);
    host = discover(root);
    /* kept as data: the control characters stay, bytes that are not UTF-8 are U+FFFD */
    assert_string_equal(hv_host_cpu_model(host),
                        "Evil \033[31m\033]0;pwned\007\033[2J" FFFD FFFD " CPU @ 2.40GHz");
    assert_string_equal(hv_host_cpu_vendor(host), "Evil\033[5m" FFFD);
    assert_int_equal(hv_host_accelerator_count(host), 1);
    acc = hv_host_accelerator_at(host, 0);
    assert_string_equal(hv_accelerator_driver(acc), "nv\033[2J" FFFD "dia");
    assert_string_equal(hv_accelerator_link_speed(acc), "16.0 GT/s" FFFD " PCIe");
    assert_int_equal(hv_accelerator_mdev_type_count(acc), 1);
    assert_string_equal(hv_accelerator_mdev_type_id(acc, 0), "nvidia-\033[0m63");
    assert_string_equal(hv_accelerator_mdev_type_name(acc, 0), "GRID \033[1mA100" FFFD);
    assert_int_equal(hv_host_rdma_count(host), 1);
    dev = hv_host_rdma_at(host, 0);
    assert_string_equal(hv_rdma_device_name(dev), "mlx5_\033[31m" FFFD);
    assert_string_equal(hv_rdma_device_fw_version(dev), "20." FFFD FFFD "1");
    assert_int_equal(hv_rdma_device_port_count(dev), 1);
    assert_string_equal(hv_rdma_port_state(hv_rdma_device_port_at(dev, 0)), "ACT\033[5mIVE" FFFD);
    assert_string_equal(hv_rdma_port_rate(hv_rdma_device_port_at(dev, 0)), "200 Gb/sec" FFFD);
    assert_findings_printable(host);
    assert_round_trip(host);
    hv_host_free(host);
    hv_tree_remove(root);
}

/* A root that is not UTF-8 is kept as U+FFFD too: the JSON names it. */
static void test_root_not_utf8(void **state)
{
    static const hv_tree_entry tree[] = {BASE_TREE};
    const char *made = HV_TREE_CREATE(tree);
    char root[PATH_MAX + 8] = "", want[PATH_MAX + 8] = "";
    hv_host *host;

    (void)state;
    assert_non_null(made);
    strcat(strcat(root, made), "-\xff");
    assert_int_equal(rename(made, root), 0);
    host = discover(root);
    strcat(strcat(want, made), "-" FFFD);
    assert_string_equal(hv_host_root(host), want);
    assert_round_trip(host);
    hv_host_free(host);
    assert_int_equal(rename(root, made), 0);
    hv_tree_remove(made);
}

/* ---- strings from a document --------------------------------------------------------- */

/* A host document with one CPU and one node, the CPU model `model` (JSON text). */
#define DOC_WITH_MODEL(model)                                                                      \
    "{\"cpus\": {\"model\": \"" model "\", \"list\": [{\"id\": 0, \"package\": 0, \"core\": 0, "   \
    "\"node\": 0}]}, \"numa_nodes\": [{\"id\": 0, \"cpus\": \"0\", \"memory_bytes\": 1073741824, " \
    "\"free_bytes\": 0, \"distances\": [10]}]"
#define DOC_HEAD DOC_WITH_MODEL("\\u001b[31mRed")

static void test_document_findings_printable(void **state)
{
    static const char doc[] =
        DOC_HEAD ", \"findings\": [{\"severity\": \"warning\", \"code\": \"x.\\u001b[2J\", "
                 "\"path\": \"a\\u009bb\", \"message\": \"m\\u001b]0;t\\u0007 \\\\ \\u202e!\"}, "
                 "{\"severity\": \"info\", \"code\": \"y\", \"path\": \"\", "
                 "\"message\": \"plain \\\\u001b text\"}]}";
    hv_host *host = NULL;
    const hv_finding *f;

    (void)state;
    assert_hv_ok(hv_host_from_json(doc, &host));
    /* the model is data: JSON carries its ESC escaped, the getter gives it as it is */
    assert_string_equal(hv_host_cpu_model(host), "\033[31mRed");
    assert_int_equal(hv_host_finding_count(host), 2);
    f = hv_host_finding_at(host, 0);
    assert_string_equal(hv_finding_code(f), "x.\\u001b[2J");
    assert_string_equal(hv_finding_path(f), "a\\u009bb");
    assert_string_equal(hv_finding_message(f), "m\\u001b]0;t\\u0007 \\\\ \\u202e!");
    /* printable text is kept as it is, whatever it looks like */
    assert_string_equal(hv_finding_message(hv_host_finding_at(host, 1)), "plain \\u001b text");
    assert_findings_printable(host);
    assert_round_trip(host);
    hv_host_free(host);
}

/* A plan's finding that quotes a host's text is printable too. */
static void test_plan_finding_quoting_host_text(void **state)
{
    static const char doc[] =
        DOC_HEAD ", \"accelerators\": [{\"pci_address\": \"" GPU "\", \"vendor_id\": \"10de\", "
                 "\"device_id\": \"ffff\", \"kind\": \"gpu\", \"model\": \"\\u001b[31mGPU\"}]}";
    static const char spec_json[] =
        "{\"name\": \"t\", \"vcpus\": 1, \"memory\": \"512MiB\", \"accelerators\": "
        "[{\"pci_address\": \"" GPU "\", \"mode\": \"vgpu\", \"mdev_type\": \"nope\"}]}";
    hv_host *host = NULL;
    hv_vm_spec *spec = NULL;
    hv_plan *plan = NULL;
    char *json = NULL;
    bool seen = false;

    (void)state;
    assert_hv_ok(hv_host_from_json(doc, &host));
    assert_hv_ok(hv_vm_spec_from_json(spec_json, &spec));
    assert_hv_ok(hv_plan_create(host, spec, NULL, &plan));
    for (size_t i = 0; i < hv_plan_finding_count(plan); i++) {
        const hv_finding *f = hv_plan_finding_at(plan, i);

        assert_true(printable(hv_finding_message(f)));
        seen |= strstr(hv_finding_message(f), "\\u001b[31mGPU") != NULL;
    }
    assert_true(seen);
    assert_hv_ok(hv_plan_to_json(plan, HV_JSON_COMPACT, &json));
    assert_utf8(json);
    hv_free(json);
    hv_plan_free(plan);
    hv_vm_spec_free(spec);
    hv_host_free(host);
}

/* A profile name from the options is quoted escaped in the error. */
static void test_profile_quoted(void **state)
{
    hv_host_discover_options dopts = HV_HOST_DISCOVER_OPTIONS_INIT;
    hv_plan_options popts = HV_PLAN_OPTIONS_INIT;
    hv_host *host = NULL;
    hv_vm_spec *spec = NULL;
    hv_plan *plan = NULL;

    (void)state;
    dopts.root = hv_test_fixture("hosts/hugepages-2node");
    dopts.profile = "\033[31mx\xff";
    assert_hv_error(hv_host_discover(&host, &dopts), HV_E_NOTFOUND);
    assert_true(printable(hv_error_message(hv_error_last())));
    assert_error_mentions("'\\u001b[31mx\\xff'");
    dopts.profile = NULL;
    assert_hv_ok(hv_host_discover(&host, &dopts));
    assert_hv_ok(
        hv_vm_spec_from_json("{\"name\": \"t\", \"vcpus\": 1, \"memory\": \"1GiB\"}", &spec));
    popts.profile = "\033]0;x\007";
    assert_hv_error(hv_plan_create(host, spec, &popts, &plan), HV_E_NOTFOUND);
    assert_true(printable(hv_error_message(hv_error_last())));
    assert_error_mentions("'\\u001b]0;x\\u0007'");
    hv_vm_spec_free(spec);
    hv_host_free(host);
}

/* Text cut to fit is cut between characters: still UTF-8, nothing escaped. */
static void test_cut_between_characters(void **state)
{
    char model[400] = "", doc[1024];
    hv_findings list = {0};
    hv_host *host = NULL;

    (void)state;
    for (int i = 0; i < 130; i++) /* 325 bytes of "€é", far beyond the 127 a model keeps */
        strcat(model, i % 2 ? "\xc3\xa9" : "\xe2\x82\xac");
    snprintf(doc, sizeof(doc), DOC_WITH_MODEL("%s") "}", model);
    assert_hv_ok(hv_host_from_json(doc, &host));
    assert_utf8(hv_host_cpu_model(host));
    assert_true(strlen(hv_host_cpu_model(host)) >= 124);
    assert_round_trip(host);
    hv_host_free(host);
    /* a finding's message is cut at 1023 bytes */
    assert_hv_ok(
        hv_findings_add(&list, HV_SEVERITY_INFO, "c", "", "x%s%s%s%s", model, model, model, model));
    assert_utf8(list.items[0].message);
    assert_null(strchr(list.items[0].message, '\\'));
    assert_true(strlen(list.items[0].message) >= 1020);
    hv_findings_clear(&list);
}

/* ---- paths longer than a fixed buffer ------------------------------------------------ */

/* 255 and 217 bytes: PCI + these + "/" GPU is 509 bytes, the attribute paths 511 and more. */
#define LONG_A                                                                                     \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"  \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"  \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define LONG_B                                                                                     \
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"  \
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"  \
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define LONG_DIR LONG_A "/" LONG_B "/" GPU

/*
 * A device directory whose attribute paths pass 512 bytes, and beside its
 * attributes the files their paths would be cut to ("v" for vendor...)
 * saying another device: what is read is the device's own.
 */
static void test_long_device_path_reads_its_own_files(void **state)
{
    static const hv_tree_entry tree[] = {
        BASE_TREE,
        GPU_AT(LONG_DIR),
        {PCI LONG_DIR "/driver", NULL, "../../../../../bus/pci/drivers/nvidia"},
        {PCI LONG_DIR "/v", "0x8086\n", NULL},
        {PCI LONG_DIR "/d", "0x1572\n", NULL},
        {PCI LONG_DIR "/c", "0x020000\n", NULL},
        {PCI LONG_DIR "/n", "7\n", NULL},
    };
    const char *root;
    const hv_accelerator *acc;
    hv_host *host;

    (void)state;
    assert_int_equal(strlen(PCI LONG_DIR), 509);
    root = HV_TREE_CREATE(tree);
    assert_non_null(root);
    host = discover(root);
    assert_int_equal(hv_host_accelerator_count(host), 1);
    acc = hv_host_accelerator_at(host, 0);
    assert_int_equal(hv_accelerator_vendor_id(acc), 0x10de);
    assert_int_equal(hv_accelerator_device_id(acc), 0x20b2);
    assert_int_equal(hv_accelerator_numa_node(acc), 0);
    assert_string_equal(hv_accelerator_driver(acc), "nvidia");
    hv_host_free(host);
    hv_tree_remove(root);
}

/* A CPU directory whose name is long ("cpu000...01"): its own online file says offline. */
static void test_long_cpu_name_reads_its_own_file(void **state)
{
    char offline[320];
    hv_tree_entry tree[] = {
        {"proc/cpuinfo", cpuinfo, NULL},
        {"proc/meminfo", "MemTotal: 1048576 kB\n", NULL},
        {CPU "cpu0/online", "1\n", NULL},
        {offline, "0\n", NULL},
    };
    const char *root;
    hv_host *host;

    (void)state;
    /* CPU 1 as "cpu" and 250 digits: a path of 283 bytes */
    snprintf(offline, sizeof(offline), CPU "cpu%0250d/online", 1);
    root = HV_TREE_CREATE(tree);
    assert_non_null(root);
    host = discover(root);
    assert_int_equal(hv_host_cpu_count(host), 1);
    hv_host_free(host);
    hv_tree_remove(root);
}

/*
 * A huge page directory named with leading zeros ("hugepages-000...2048kB",
 * which the kernel never writes) is not a pool: its paths would pass the
 * space they are built in, and the file they would be cut to is a decoy.
 */
static void test_long_hugepage_name_is_not_a_pool(void **state)
{
    char name[300], decoy[300], total[320], free_pages[320];
    hv_tree_entry tree[] = {
        BASE_TREE, {total, "5\n", NULL}, {free_pages, "5\n", NULL}, {decoy, "999\n", NULL}};
    const char *root;
    hv_host *host;
    uint64_t count = 0;

    (void)state;
    snprintf(name, sizeof(name), NODE "node0/hugepages/hugepages-%0200d", 2048);
    snprintf(total, sizeof(total), "%skB/nr_hugepages", name);
    snprintf(free_pages, sizeof(free_pages), "%skB/free_hugepages", name);
    /* where a 192-byte buffer cuts the pool's paths */
    snprintf(decoy, sizeof(decoy), "%.191s", total);
    root = HV_TREE_CREATE(tree);
    assert_non_null(root);
    host = discover(root);
    assert_int_equal(hv_host_node_count(host), 1);
    assert_int_equal(hv_host_node_hugepages(hv_host_node_at(host, 0), 2 << 20, &count, NULL),
                     HV_E_NOTFOUND);
    hv_host_free(host);
    hv_tree_remove(root);
}

/* mkdir -p of `rel` under `dirfd`, one component at a time (it may pass PATH_MAX). */
static int mkdirs_at(int dirfd, const char *rel)
{
    char name[NAME_MAX + 1];
    int fd = dup(dirfd);

    while (fd >= 0 && *rel) {
        size_t len = strcspn(rel, "/");
        int next;

        memcpy(name, rel, len);
        name[len] = '\0';
        if (mkdirat(fd, name, 0755) < 0 && errno != EEXIST)
            return -1;
        next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(fd);
        fd = next;
        rel += len + (rel[len] == '/');
    }
    return fd;
}

static void write_at(int dirfd, const char *name, const char *text)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/*
 * A device whose directory is more than PATH_MAX bytes down: the kernel's
 * resolver refuses the path, and the finding says it is too long; the
 * portable walk reads it. Neither reads anything else.
 */
static void test_path_too_long_is_a_finding(void **state)
{
    static const hv_tree_entry tree[] = {BASE_TREE};
    const char *root = HV_TREE_CREATE(tree);
    char deep[PATH_MAX + 512] = "", target[PATH_MAX + 512] = "../../../devices/pci0000:00/";
    int rootfd, fd;

    (void)state;
    assert_non_null(root);
    /* 4067 bytes: the link's target (28 more) fits a link, the attributes' paths do not */
    for (int i = 0; i < 15; i++)
        strcat(strcat(deep, LONG_A), "/");
    strcat(strcat(deep, LONG_A + 255 - 214), "/" GPU);
    assert_int_equal(strlen(deep), 4067);
    rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(rootfd >= 0);
    fd = mkdirs_at(rootfd, PCI);
    assert_true(fd >= 0);
    close(fd);
    fd = mkdirs_at(rootfd, "sys/bus/pci/devices");
    assert_true(fd >= 0);
    strcat(target, deep);
    assert_int_equal(symlinkat(target, fd, GPU), 0);
    close(fd);
    {
        char rel[PATH_MAX + 512] = PCI;

        fd = mkdirs_at(rootfd, strcat(rel, deep));
    }
    assert_true(fd >= 0);
    write_at(fd, "vendor", "0x10de\n");
    write_at(fd, "device", "0x20b2\n");
    write_at(fd, "class", "0x030200\n");
    close(fd);
    for (int walk = 0; walk < 2; walk++) {
        hv_sysfs fs;
        hv_host *host = NULL;

        assert_hv_ok(hv_sysfs_open(&fs, root));
        if (walk)
            fs.resolver = HV_INROOT_WALK;
        assert_hv_ok(hv_host_discover_fs(&host, &fs, "vsphere-6.7", 0));
        if (fs.resolver == HV_INROOT_WALK) {
            assert_int_equal(hv_host_accelerator_count(host), 1);
            assert_int_equal(hv_accelerator_vendor_id(hv_host_accelerator_at(host, 0)), 0x10de);
        } else {
            bool said = false;

            assert_int_equal(hv_host_accelerator_count(host), 0);
            for (size_t i = 0; i < hv_host_finding_count(host); i++)
                said |= strstr(hv_finding_message(hv_host_finding_at(host, i)),
                               "the path is too long") != NULL;
            assert_true(said);
        }
        hv_host_free(host);
        hv_sysfs_close(&fs);
    }
    close(rootfd);
    /* nftw would pass PATH_MAX: rm removes it one directory at a time */
    {
        char cmd[PATH_MAX + 16] = "rm -rf '";

        strcat(strcat(cmd, root), "'");
        assert_int_equal(system(cmd), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_strings_are_utf8_data),
        cmocka_unit_test(test_root_not_utf8),
        cmocka_unit_test(test_document_findings_printable),
        cmocka_unit_test(test_plan_finding_quoting_host_text),
        cmocka_unit_test(test_profile_quoted),
        cmocka_unit_test(test_cut_between_characters),
        cmocka_unit_test(test_long_device_path_reads_its_own_files),
        cmocka_unit_test(test_long_cpu_name_reads_its_own_file),
        cmocka_unit_test(test_long_hugepage_name_is_not_a_pool),
        cmocka_unit_test(test_path_too_long_is_a_finding),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
