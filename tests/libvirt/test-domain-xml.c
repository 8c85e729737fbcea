/*
 * tests/libvirt/test-domain-xml.c - plans as libvirt domain XML: plans made
 * on the fixture hosts, the XML parsed back with libxml2 and checked with
 * XPath for exact values (memory, vCPUs, cells, distances, numatune, huge
 * pages, pinning, firmware, topology, the 64-bit PCI hole, physical-address
 * width, host devices, vGPUs, SR-IOV VFs, virtio-net, IOMMU, console,
 * network), every document validated against libvirt's own schema where it
 * is installed, the findings of a conversion (what the XML leaves out), and
 * the refusals (plans with errors, catalogue-only devices, pvrdma, bad
 * options and arguments).
 */
#include "libvirt-test.h"

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <unistd.h>

#define SCHEMA_DEFAULT "/usr/share/libvirt/schemas/domain.rng"

static xmlRelaxNGPtr schema;
static bool schema_tried;

/* The generated XML parsed back, with an XPath context. */
typedef struct dom {
    char *text;
    xmlDocPtr doc;
    xmlXPathContextPtr ctx;
} dom;

static void validate(const dom *d)
{
    const char *path = getenv("HV_LIBVIRT_DOMAIN_RNG");
    xmlRelaxNGValidCtxtPtr valid;

    if (!schema_tried) {
        schema_tried = true;
        if (!path)
            path = SCHEMA_DEFAULT;
        if (access(path, R_OK) == 0) {
            xmlRelaxNGParserCtxtPtr parser = xmlRelaxNGNewParserCtxt(path);

            schema = xmlRelaxNGParse(parser);
            xmlRelaxNGFreeParserCtxt(parser);
            assert_non_null(schema);
        } else {
            print_message("note: %s not found: documents are not validated\n", path);
        }
    }
    if (!schema)
        return;
    valid = xmlRelaxNGNewValidCtxt(schema);
    if (xmlRelaxNGValidateDoc(valid, d->doc) != 0)
        print_error("not valid for libvirt's domain schema:\n%s\n", d->text);
    assert_int_equal(xmlRelaxNGValidateDoc(valid, d->doc), 0);
    xmlRelaxNGFreeValidCtxt(valid);
}

static dom *to_dom(const hv_plan *plan, const hv_libvirt_xml_options *opts)
{
    dom *d = calloc(1, sizeof(*d));

    assert_non_null(d);
    assert_hv_ok(hv_plan_to_libvirt_xml(plan, opts, &d->text));
    assert_non_null(d->text);
    d->doc = xmlReadMemory(d->text, (int)strlen(d->text), "domain.xml", NULL, XML_PARSE_NONET);
    assert_non_null(d->doc);
    d->ctx = xmlXPathNewContext(d->doc);
    assert_non_null(d->ctx);
    assert_int_equal(
        xmlXPathRegisterNs(d->ctx, BAD_CAST "hv", BAD_CAST "https://hpcvirt.org/xmlns/plan/1"), 0);
    validate(d);
    return d;
}

static void dom_free(dom *d)
{
    xmlXPathFreeContext(d->ctx);
    xmlFreeDoc(d->doc);
    hv_free(d->text);
    free(d);
}

static xmlXPathObjectPtr eval(const dom *d, const char *wrap, const char *fmt, va_list ap)
    HV_PRINTF(3, 0);
static xmlXPathObjectPtr eval(const dom *d, const char *wrap, const char *fmt, va_list ap)
{
    char inner[512], expr[600];
    xmlXPathObjectPtr r;

    vsnprintf(inner, sizeof(inner), fmt, ap);
    snprintf(expr, sizeof(expr), "%s(%s)", wrap, inner);
    r = xmlXPathEvalExpression(BAD_CAST expr, d->ctx);
    if (!r)
        print_error("bad XPath %s\n", expr);
    assert_non_null(r);
    return r;
}

/* string(EXPR) */
static char *xstr(const dom *d, const char *fmt, ...) HV_PRINTF(2, 3);
static char *xstr(const dom *d, const char *fmt, ...)
{
    static char buf[4][1 << 16];
    static int which;
    xmlXPathObjectPtr r;
    xmlChar *s;
    va_list ap;

    va_start(ap, fmt);
    r = eval(d, "string", fmt, ap);
    va_end(ap);
    s = xmlXPathCastToString(r);
    which = (which + 1) % 4;
    snprintf(buf[which], sizeof(buf[which]), "%s", (const char *)s);
    xmlFree(s);
    xmlXPathFreeObject(r);
    return buf[which];
}

/* count(EXPR) */
static int xcount(const dom *d, const char *fmt, ...) HV_PRINTF(2, 3);
static int xcount(const dom *d, const char *fmt, ...)
{
    xmlXPathObjectPtr r;
    double n;
    va_list ap;

    va_start(ap, fmt);
    r = eval(d, "count", fmt, ap);
    va_end(ap);
    n = xmlXPathCastToNumber(r);
    xmlXPathFreeObject(r);
    return (int)n;
}

static hv_libvirt_xml_options xml_options(void)
{
    hv_libvirt_xml_options opts;

    assert_hv_ok(hv_libvirt_xml_options_init(&opts, HV_LIBVIRT_XML_OPTIONS_VERSION));
    return opts;
}

/* ---- the examples ---------------------------------------------------------- */

static void test_training_8gpu(void **state)
{
    static const char *const gpu_buses[] = {"0x07", "0x0f", "0x47", "0x4e",
                                            "0x87", "0x90", "0xb7", "0xbd"};
    hv_host *host = hv_test_fixture_host("hosts/dgx-a100-roce");
    hv_plan *plan = example_plan(host, "training-8gpu");
    dom *d = to_dom(plan, NULL);

    assert_string_equal(xstr(d, "/domain/@type"), "kvm");
    assert_string_equal(xstr(d, "/domain/name"), "train-8gpu");
    assert_string_equal(xstr(d, "/domain/description"), "planned by hpcvirt (profile vsphere-6.7)");
    /* what later lookups need, compactly (test-libvirt-driver.c reads it back) */
    assert_string_equal(xstr(d, "/domain/metadata/hv:plan/@version"), "2");
    assert_true(strlen(xstr(d, "/domain/metadata/hv:plan")) < 1024);
    /* 1 TiB in KiB, 96 vCPUs, two cells next to the GPUs */
    assert_string_equal(xstr(d, "/domain/memory/@unit"), "KiB");
    assert_string_equal(xstr(d, "/domain/memory"), "1073741824");
    assert_string_equal(xstr(d, "/domain/vcpu"), "96");
    assert_string_equal(xstr(d, "/domain/vcpu/@placement"), "static");
    assert_int_equal(xcount(d, "/domain/cpu/numa/cell"), 2);
    assert_string_equal(xstr(d, "/domain/cpu/numa/cell[@id='0']/@cpus"), "0-47");
    assert_string_equal(xstr(d, "/domain/cpu/numa/cell[@id='1']/@cpus"), "48-95");
    assert_string_equal(xstr(d, "/domain/cpu/numa/cell[@id='1']/@memory"), "536870912");
    assert_string_equal(xstr(d, "/domain/cpu/numa/cell[@id='1']/@unit"), "KiB");
    assert_string_equal(xstr(d, "/domain/cpu/numa/cell[@id='0']/distances/sibling[@id='0']/@value"),
                        "10");
    assert_string_equal(xstr(d, "/domain/cpu/numa/cell[@id='0']/distances/sibling[@id='1']/@value"),
                        "32");
    assert_string_equal(xstr(d, "/domain/cpu/numa/cell[@id='1']/distances/sibling[@id='0']/@value"),
                        "32");
    assert_int_equal(xcount(d, "//sibling"), 4);
    /* numatune: both host nodes, each cell strictly on its own */
    assert_string_equal(xstr(d, "/domain/numatune/memory/@mode"), "strict");
    assert_string_equal(xstr(d, "/domain/numatune/memory/@nodeset"), "0-1");
    assert_string_equal(xstr(d, "/domain/numatune/memnode[@cellid='0']/@nodeset"), "0");
    assert_string_equal(xstr(d, "/domain/numatune/memnode[@cellid='1']/@nodeset"), "1");
    assert_string_equal(xstr(d, "/domain/numatune/memnode[@cellid='1']/@mode"), "strict");
    /* 4 KiB pages (no huge pages on the fixture): no memoryBacking */
    assert_int_equal(xcount(d, "/domain/memoryBacking"), 0);
    /* dedicated: every vCPU pinned to its own host CPU */
    assert_int_equal(xcount(d, "/domain/cputune/vcpupin"), 96);
    for (unsigned int v = 0; v < 96; v += 13) {
        char want[16];

        snprintf(want, sizeof(want), "%d", hv_plan_vcpu_pin(plan, v));
        assert_string_equal(xstr(d, "/domain/cputune/vcpupin[@vcpu='%u']/@cpuset", v), want);
    }
    assert_string_equal(xstr(d, "/domain/cputune/vcpupin[@vcpu='48']/@cpuset"), "64");
    assert_string_equal(xstr(d, "/domain/cputune/emulatorpin/@cpuset"),
                        hv_plan_emulator_cpus(plan));
    assert_string_equal(xstr(d, "/domain/cputune/emulatorpin/@cpuset"), "48-63,128-191");
    /* EFI (more than 64 vCPUs), ACPI, no Secure Boot */
    assert_string_equal(xstr(d, "/domain/os/@firmware"), "efi");
    assert_string_equal(xstr(d, "/domain/os/type"), "hvm");
    assert_string_equal(xstr(d, "/domain/os/type/@machine"), "q35");
    assert_string_equal(xstr(d, "/domain/os/firmware/feature[@name='secure-boot']/@enabled"), "no");
    assert_string_equal(xstr(d, "/domain/os/firmware/feature[@name='enrolled-keys']/@enabled"),
                        "no");
    assert_int_equal(xcount(d, "/domain/features/acpi"), 1);
    assert_int_equal(xcount(d, "/domain/features/apic"), 1);
    assert_int_equal(xcount(d, "/domain/features/ioapic"), 0);
    /* CPU: host-passthrough, 2 sockets x 48 cores, the host's 48 bits passed through */
    assert_string_equal(xstr(d, "/domain/cpu/@mode"), "host-passthrough");
    assert_string_equal(xstr(d, "/domain/cpu/@check"), "none");
    assert_string_equal(xstr(d, "/domain/cpu/@migratable"), "on");
    assert_string_equal(xstr(d, "/domain/cpu/topology/@sockets"), "2");
    assert_string_equal(xstr(d, "/domain/cpu/topology/@dies"), "1");
    assert_string_equal(xstr(d, "/domain/cpu/topology/@cores"), "48");
    assert_string_equal(xstr(d, "/domain/cpu/topology/@threads"), "1");
    assert_string_equal(xstr(d, "/domain/cpu/maxphysaddr/@mode"), "passthrough");
    assert_int_equal(xcount(d, "/domain/cpu/maxphysaddr/@bits"), 0);
    /* the 2 TiB 64-bit window for 8 x 128 GiB BARs */
    assert_string_equal(xstr(d, "/domain/devices/controller[@model='pcie-root']/@index"), "0");
    assert_string_equal(xstr(d, "/domain/devices/controller[@model='pcie-root']/pcihole64"),
                        "2147483648");
    assert_string_equal(xstr(d, "/domain/devices/controller[@model='pcie-root']/pcihole64/@unit"),
                        "KiB");
    /* the eight GPUs in PCI order, managed VFIO */
    assert_int_equal(xcount(d, "/domain/devices/hostdev"), 8);
    assert_int_equal(xcount(d, "/domain/devices/hostdev[@mode='subsystem' and @type='pci' and "
                               "@managed='yes']"),
                     8);
    for (int i = 0; i < 8; i++) {
        assert_string_equal(xstr(d, "/domain/devices/hostdev[%d]/source/address/@bus", i + 1),
                            gpu_buses[i]);
        assert_string_equal(xstr(d, "/domain/devices/hostdev[%d]/source/address/@domain", i + 1),
                            "0x0000");
        assert_string_equal(xstr(d, "/domain/devices/hostdev[%d]/source/address/@slot", i + 1),
                            "0x00");
        assert_string_equal(xstr(d, "/domain/devices/hostdev[%d]/source/address/@function", i + 1),
                            "0x0");
    }
    /* the SR-IOV RoCE VF 0000:61:00.2 as a hostdev interface */
    assert_int_equal(xcount(d, "/domain/devices/interface[@type='hostdev']"), 1);
    assert_string_equal(xstr(d, "/domain/devices/interface[@type='hostdev']/@managed"), "yes");
    assert_string_equal(xstr(d, "/domain/devices/interface[@type='hostdev']/source/address/@type"),
                        "pci");
    assert_string_equal(
        xstr(d, "/domain/devices/interface[@type='hostdev']/source/address/@domain"), "0x0000");
    assert_string_equal(xstr(d, "/domain/devices/interface[@type='hostdev']/source/address/@bus"),
                        "0x61");
    assert_string_equal(xstr(d, "/domain/devices/interface[@type='hostdev']/source/address/@slot"),
                        "0x00");
    assert_string_equal(
        xstr(d, "/domain/devices/interface[@type='hostdev']/source/address/@function"), "0x2");
    /* user networking: virtio, one queue (no tap backend for multiqueue) */
    assert_string_equal(xstr(d, "/domain/devices/interface[@type='user']/model/@type"), "virtio");
    assert_int_equal(xcount(d, "/domain/devices/interface[@type='user']/driver"), 0);
    /* console on a pty, no balloon, no IOMMU, lifecycle */
    assert_string_equal(xstr(d, "/domain/devices/serial/@type"), "pty");
    assert_string_equal(xstr(d, "/domain/devices/serial/target/@port"), "0");
    assert_string_equal(xstr(d, "/domain/devices/console/@type"), "pty");
    assert_string_equal(xstr(d, "/domain/devices/memballoon/@model"), "none");
    assert_int_equal(xcount(d, "/domain/devices/iommu"), 0);
    assert_string_equal(xstr(d, "/domain/clock/@offset"), "utc");
    assert_string_equal(xstr(d, "/domain/on_poweroff"), "destroy");
    assert_string_equal(xstr(d, "/domain/on_reboot"), "restart");
    assert_string_equal(xstr(d, "/domain/on_crash"), "destroy");
    /* libvirt's element order */
    assert_string_equal(xstr(d, "name(/domain/*[1])"), "name");
    assert_string_equal(xstr(d, "name(/domain/*[4])"), "memory");
    assert_string_equal(xstr(d, "name(/domain/cpu/*[1])"), "topology");
    assert_string_equal(xstr(d, "name(/domain/cpu/*[2])"), "maxphysaddr");
    assert_string_equal(xstr(d, "name(/domain/cpu/*[3])"), "numa");
    assert_string_equal(xstr(d, "name(/domain/devices/*[last()])"), "memballoon");
    assert_string_equal(xstr(d, "name(/domain/os/*[1])"), "type");
    dom_free(d);
    hv_plan_free(plan);
    hv_host_free(host);
}

static void test_genomics_shared(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/vsphere-max");
    hv_plan *plan = example_plan(host, "genomics-128vcpu-6tb");
    dom *d = to_dom(plan, NULL);

    assert_string_equal(xstr(d, "/domain/memory"), "6425673728"); /* 6128 GiB */
    assert_string_equal(xstr(d, "/domain/vcpu"), "128");
    assert_int_equal(xcount(d, "/domain/cpu/numa/cell"), 8);
    assert_string_equal(xstr(d, "/domain/cpu/numa/cell[@id='7']/@cpus"), "112-127");
    assert_string_equal(xstr(d, "/domain/cpu/numa/cell[@id='7']/@memory"), "803209216");
    assert_int_equal(xcount(d, "//cell/distances/sibling"), 64);
    for (size_t i = 0; i < 8; i++)
        for (size_t j = 0; j < 8; j++) {
            char want[8];

            snprintf(want, sizeof(want), "%d", hv_plan_vnuma_distance(plan, i, j));
            assert_string_equal(
                xstr(d, "/domain/cpu/numa/cell[@id='%zu']/distances/sibling[@id='%zu']/@value", i,
                     j),
                want);
        }
    /* shared placement: each vCPU floats over its node's host CPUs */
    assert_int_equal(xcount(d, "/domain/cputune/vcpupin"), 128);
    for (size_t i = 0; i < 8; i++) {
        const hv_plan_vnode *n = hv_plan_vnuma_node_at(plan, i);
        char nodeset[16];

        assert_string_equal(xstr(d, "/domain/cputune/vcpupin[@vcpu='%zu']/@cpuset", i * 16 + 5),
                            hv_plan_vnode_host_cpus(n));
        snprintf(nodeset, sizeof(nodeset), "%d", hv_plan_vnode_host_node(n));
        assert_string_equal(xstr(d, "/domain/numatune/memnode[@cellid='%zu']/@nodeset", i),
                            nodeset);
    }
    assert_string_equal(xstr(d, "/domain/cputune/vcpupin[@vcpu='0']/@cpuset"), "0-17,288-305");
    assert_string_equal(xstr(d, "/domain/cputune/emulatorpin/@cpuset"), "0-143,288-431");
    assert_string_equal(xstr(d, "/domain/numatune/memory/@nodeset"), "0-7");
    assert_int_equal(xcount(d, "/domain/numatune/memnode"), 8);
    assert_string_equal(xstr(d, "/domain/os/@firmware"), "efi");
    assert_string_equal(xstr(d, "/domain/cpu/topology/@sockets"), "8");
    assert_string_equal(xstr(d, "/domain/cpu/topology/@cores"), "16");
    assert_string_equal(xstr(d, "/domain/cpu/topology/@threads"), "1");
    /* 6 TiB of RAM needs 43 bits: the host's 46 are passed through */
    assert_string_equal(xstr(d, "/domain/cpu/maxphysaddr/@mode"), "passthrough");
    /* no passed-through BARs: no 64-bit window to size */
    assert_int_equal(xcount(d, "//pcihole64"), 0);
    assert_int_equal(xcount(d, "/domain/devices/hostdev"), 0);
    dom_free(d);
    hv_plan_free(plan);
    hv_host_free(host);
}

static void test_fpga_hugepages(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/hugepages-2node");
    hv_plan *plan = example_plan(host, "fpga-inference");
    dom *d = to_dom(plan, NULL);

    /* 32 GiB on 1 GiB pages in one cell, on the FPGA's node 1 */
    assert_int_equal(xcount(d, "/domain/memoryBacking/hugepages/page"), 1);
    assert_string_equal(xstr(d, "/domain/memoryBacking/hugepages/page/@size"), "1048576");
    assert_string_equal(xstr(d, "/domain/memoryBacking/hugepages/page/@unit"), "KiB");
    assert_string_equal(xstr(d, "/domain/memoryBacking/hugepages/page/@nodeset"), "0");
    assert_string_equal(xstr(d, "/domain/numatune/memnode[@cellid='0']/@nodeset"), "1");
    assert_int_equal(xcount(d, "/domain/cpu/numa/cell"), 1);
    assert_int_equal(xcount(d, "//distances"), 0);
    assert_string_equal(xstr(d, "/domain/devices/hostdev/source/address/@bus"), "0x65");
    assert_string_equal(xstr(d, "/domain/os/@firmware"), "efi");
    /* dedicated vCPUs on the FPGA's node */
    for (unsigned int v = 0; v < 16; v++) {
        char want[16];

        snprintf(want, sizeof(want), "%d", hv_plan_vcpu_pin(plan, v));
        assert_string_equal(xstr(d, "/domain/cputune/vcpupin[@vcpu='%u']/@cpuset", v), want);
    }
    assert_string_equal(xstr(d, "/domain/cputune/emulatorpin/@cpuset"),
                        hv_plan_emulator_cpus(plan));
    dom_free(d);
    hv_plan_free(plan);
    hv_host_free(host);
}

static void test_vgpu(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/hugepages-2node");
    hv_plan *plan = example_plan(host, "vgpu-workstation"), *other;
    dom *d = to_dom(plan, NULL), *d2, *d3;
    char uuid[64];

    assert_int_equal(xcount(d, "/domain/devices/hostdev"), 1);
    assert_string_equal(xstr(d, "/domain/devices/hostdev/@mode"), "subsystem");
    assert_string_equal(xstr(d, "/domain/devices/hostdev/@type"), "mdev");
    assert_string_equal(xstr(d, "/domain/devices/hostdev/@model"), "vfio-pci");
    assert_string_equal(xstr(d, "/domain/devices/hostdev/@managed"), "no");
    snprintf(uuid, sizeof(uuid), "%s", xstr(d, "/domain/devices/hostdev/source/address/@uuid"));
    assert_int_equal(strlen(uuid), 36);
    assert_int_equal(uuid[14], '5'); /* name-based, SHA-1 */
    assert_true(strchr("89ab", uuid[19]) != NULL);
    /* no 64-bit window: the vGPU's BARs are emulated */
    assert_int_equal(xcount(d, "//pcihole64"), 0);
    /* 2 MiB pages */
    assert_string_equal(xstr(d, "/domain/memoryBacking/hugepages/page/@size"), "2048");
    assert_string_equal(xstr(d, "/domain/memoryBacking/hugepages/page/@nodeset"), "0");
    /* the same plan gives the same UUID; another VM name another one */
    d2 = to_dom(plan, NULL);
    assert_string_equal(d->text, d2->text);
    other = test_plan(host, "{\"name\": \"vgpu-ws2\", \"vcpus\": 8, \"memory\": \"8GiB\", "
                            "\"accelerators\": [{\"pci_address\": \"0000:4b:00.0\", \"mode\": "
                            "\"vgpu\", \"mdev_type\": \"nvidia-1156\"}]}");
    d3 = to_dom(other, NULL);
    assert_string_not_equal(xstr(d3, "/domain/devices/hostdev/source/address/@uuid"), uuid);
    dom_free(d);
    dom_free(d2);
    dom_free(d3);
    hv_plan_free(other);
    hv_plan_free(plan);
    hv_host_free(host);
}

/* ---- more layouts ---------------------------------------------------------- */

static void test_hugepages_two_cells(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/hugepages-2node");
    hv_plan *plan =
        test_plan(host, "{\"name\": \"two\", \"vcpus\": 16, \"memory\": \"16GiB\", "
                        "\"vnuma\": [{\"vcpus\": 8, \"memory\": \"8GiB\"}, "
                        "{\"vcpus\": 8, \"memory\": \"8GiB\"}], \"page_size\": \"1g\"}");
    dom *d = to_dom(plan, NULL);

    assert_int_equal(xcount(d, "/domain/memoryBacking/hugepages/page"), 1);
    assert_string_equal(xstr(d, "/domain/memoryBacking/hugepages/page/@size"), "1048576");
    assert_string_equal(xstr(d, "/domain/memoryBacking/hugepages/page/@nodeset"), "0-1");
    assert_string_equal(xstr(d, "/domain/cpu/numa/cell[@id='1']/@memory"), "8388608");
    assert_string_equal(xstr(d, "/domain/cpu/numa/cell[@id='0']/distances/sibling[@id='1']/@value"),
                        "11");
    assert_string_equal(xstr(d, "/domain/numatune/memory/@nodeset"), "0-1");
    /* BIOS: a plain <os> */
    assert_int_equal(xcount(d, "/domain/os/@firmware"), 0);
    assert_int_equal(xcount(d, "/domain/os/firmware"), 0);
    assert_string_equal(xstr(d, "/domain/os/type/@arch"), "x86_64");
    /* shared: the emulator floats over both nodes' CPUs */
    assert_string_equal(xstr(d, "/domain/cputune/emulatorpin/@cpuset"), "0-63");
    /* 16 GiB, no BARs: the VMM's default width */
    assert_int_equal(xcount(d, "/domain/cpu/maxphysaddr"), 0);
    dom_free(d);
    hv_plan_free(plan);
    hv_host_free(host);
}

static void test_maxphysaddr_emulate(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/hugepages-2node");
    hv_plan *plan = test_plan(host, "{\"name\": \"e44\", \"vcpus\": 4, \"memory\": \"8GiB\", "
                                    "\"guest_phys_bits\": 44}");
    dom *d = to_dom(plan, NULL);

    assert_string_equal(xstr(d, "/domain/cpu/maxphysaddr/@mode"), "emulate");
    assert_string_equal(xstr(d, "/domain/cpu/maxphysaddr/@bits"), "44");
    dom_free(d);
    hv_plan_free(plan);
    hv_host_free(host);
}

static void test_nic_queues_and_network(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/dgx-a100-roce");
    hv_plan *plan = test_plan(host, "{\"name\": \"mpi\", \"vcpus\": 32, \"memory\": \"128GiB\", "
                                    "\"threads_per_core\": 2, \"cpu_placement\": \"dedicated\", "
                                    "\"prefer_ht\": true, \"nics\": [{\"model\": \"virtio-net\", "
                                    "\"queues\": 8, \"rss\": [\"tcp\", \"udp\"]}, {\"model\": "
                                    "\"virtio-net\", \"queues\": 1}]}");
    hv_libvirt_xml_options opts = xml_options();
    dom *d;

    opts.network = "hpc-fabric";
    d = to_dom(plan, &opts);
    assert_int_equal(xcount(d, "/domain/devices/interface[@type='network']"), 2);
    assert_string_equal(xstr(d, "/domain/devices/interface[1]/source/@network"), "hpc-fabric");
    assert_string_equal(xstr(d, "/domain/devices/interface[1]/model/@type"), "virtio");
    assert_string_equal(xstr(d, "/domain/devices/interface[1]/driver/@name"), "vhost");
    assert_string_equal(xstr(d, "/domain/devices/interface[1]/driver/@queues"), "8");
    assert_string_equal(xstr(d, "/domain/devices/interface[1]/driver/@rss"), "on");
    assert_string_equal(xstr(d, "/domain/devices/interface[1]/driver/@rss_hash_report"), "on");
    /* one queue: vhost, no multiqueue, no RSS */
    assert_string_equal(xstr(d, "/domain/devices/interface[2]/driver/@name"), "vhost");
    assert_int_equal(xcount(d, "/domain/devices/interface[2]/driver/@queues"), 0);
    assert_int_equal(xcount(d, "/domain/devices/interface[2]/driver/@rss"), 0);
    /* SMT pairs pinned together, the topology says so */
    assert_string_equal(xstr(d, "/domain/cpu/topology/@threads"), "2");
    assert_string_equal(xstr(d, "/domain/cpu/topology/@cores"), "16");
    assert_int_equal(hv_plan_vcpu_pin(plan, 1), hv_plan_vcpu_pin(plan, 0) + 128);
    for (unsigned int v = 0; v < 32; v++) {
        char want[16];

        snprintf(want, sizeof(want), "%d", hv_plan_vcpu_pin(plan, v));
        assert_string_equal(xstr(d, "/domain/cputune/vcpupin[@vcpu='%u']/@cpuset", v), want);
    }
    assert_string_equal(xstr(d, "/domain/cputune/emulatorpin/@cpuset"),
                        hv_plan_emulator_cpus(plan));
    dom_free(d);
    /* user networking: no multiqueue (libvirt refuses it for type 'user') */
    d = to_dom(plan, NULL);
    assert_int_equal(xcount(d, "/domain/devices/interface[@type='user']"), 2);
    assert_int_equal(xcount(d, "/domain/devices/interface/source"), 0);
    assert_int_equal(xcount(d, "/domain/devices/interface/driver"), 0);
    dom_free(d);
    hv_plan_free(plan);
    hv_host_free(host);
}

/* One finding of `list` at `index`: a warning xml.nic.user-networking at `path` saying `what`. */
static void assert_user_networking(const hv_finding_list *list, size_t index, const char *path,
                                   const char *what)
{
    const hv_finding *f = hv_finding_list_at(list, index);

    assert_non_null(f);
    assert_int_equal(hv_finding_severity(f), HV_SEVERITY_WARNING);
    assert_string_equal(hv_finding_code(f), "xml.nic.user-networking");
    assert_string_equal(hv_finding_path(f), path);
    assert_non_null(strstr(hv_finding_message(f), what));
    assert_non_null(strstr(hv_finding_message(f), "user-mode networking, which has one queue"));
}

/*
 * What the XML leaves out of the plan comes back as findings (opts->findings, version 2): without
 * a network, one warning per NIC whose queues (and RSS) user-mode networking drops; none with a
 * network; none asked for, none made (NULL, or version 1 options that lack the field).
 */
static void test_findings_of_the_conversion(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/hugepages-2node");
    hv_plan *plan = test_plan(host, "{\"name\": \"nics\", \"vcpus\": 4, \"memory\": \"2GiB\", "
                                    "\"nics\": [{\"model\": \"virtio\", \"queues\": 4, \"rss\": "
                                    "[\"tcp\"]}, {\"queues\": 1}, {\"queues\": 2}]}");
    hv_plan *bad;
    hv_libvirt_xml_options opts = xml_options();
    hv_finding_list *findings = (hv_finding_list *)&opts, *unset = (hv_finding_list *)&opts;
    char *xml = NULL, *without = NULL;

    opts.findings = &findings;
    assert_hv_ok(hv_plan_to_libvirt_xml(plan, &opts, &xml));
    assert_int_equal(hv_finding_list_count(findings), 2);
    assert_user_networking(findings, 0, "nics[0]", "its 4 queues and RSS are left out");
    assert_user_networking(findings, 1, "nics[2]", "its 2 queues are left out");
    assert_null(hv_finding_list_at(findings, 2));
    hv_finding_list_free(findings);
    /* the same XML as without asking */
    assert_hv_ok(hv_plan_to_libvirt_xml(plan, NULL, &without));
    assert_string_equal(xml, without);
    hv_free(xml);
    hv_free(without);

    /* with a network nothing is left out: an empty list */
    opts.network = "default";
    findings = unset;
    assert_hv_ok(hv_plan_to_libvirt_xml(plan, &opts, &xml));
    assert_non_null(findings);
    assert_int_equal(hv_finding_list_count(findings), 0);
    assert_null(hv_finding_list_at(findings, 0));
    hv_finding_list_free(findings);
    hv_free(xml);

    /* version 1 options have no `findings`: the field's place is not read or written */
    assert_hv_ok(hv_libvirt_xml_options_init(&opts, 1));
    assert_int_equal(opts.version, 1);
    assert_ptr_equal(opts.findings, &findings); /* init cleared version 1's fields only */
    findings = unset;
    assert_hv_ok(hv_plan_to_libvirt_xml(plan, &opts, &xml));
    assert_ptr_equal(findings, unset);
    hv_free(xml);

    /* a failed conversion leaves NULL where they were asked for (nothing to free) */
    bad = test_plan(host, "{\"name\": \"big\", \"vcpus\": 500, \"memory\": \"2GiB\", "
                          "\"nics\": [{\"queues\": 4}]}");
    assert_false(hv_plan_ok(bad));
    opts = xml_options();
    opts.findings = &findings;
    assert_hv_error(hv_plan_to_libvirt_xml(bad, &opts, &xml), HV_E_PLAN);
    assert_null(findings);
    assert_null(xml);
    findings = unset;
    opts.network = "a/b";
    assert_hv_error(hv_plan_to_libvirt_xml(plan, &opts, &xml), HV_E_INVAL);
    assert_null(findings);

    /* a NULL list is an empty one */
    assert_int_equal(hv_finding_list_count(NULL), 0);
    assert_null(hv_finding_list_at(NULL, 0));
    hv_finding_list_free(NULL);
    hv_plan_free(bad);
    hv_plan_free(plan);
    hv_host_free(host);
}

static void test_disks(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/hugepages-2node");
    char json[8192];
    size_t len;
    hv_plan *plan = test_plan(
        host, "{\"name\": \"st\", \"vcpus\": 2, \"memory\": \"2GiB\", \"disks\": ["
              "{\"path\": \"/img/root.qcow2\", \"format\": \"qcow2\", \"serial\": \"R-1.a+b c\"}, "
              "{\"path\": \"/img/data.img\", \"bus\": \"scsi\"}, "
              "{\"path\": \"/img/tools.img\", \"bus\": \"sata\", \"read_only\": true}, "
              "{\"path\": \"/img/b & c.img\", \"size\": \"1GiB\"}]}");
    dom *d = to_dom(plan, NULL);

    assert_int_equal(xcount(d, "/domain/devices/disk[@type='file'][@device='disk']"), 4);
    assert_string_equal(xstr(d, "/domain/devices/disk[1]/driver/@name"), "qemu");
    assert_string_equal(xstr(d, "/domain/devices/disk[1]/driver/@type"), "qcow2");
    assert_string_equal(xstr(d, "/domain/devices/disk[1]/source/@file"), "/img/root.qcow2");
    assert_string_equal(xstr(d, "/domain/devices/disk[1]/target/@dev"), "vda");
    assert_string_equal(xstr(d, "/domain/devices/disk[1]/target/@bus"), "virtio");
    assert_string_equal(xstr(d, "/domain/devices/disk[1]/serial"), "R-1.a+b c");
    assert_int_equal(xcount(d, "/domain/devices/disk[1]/readonly"), 0);
    assert_string_equal(xstr(d, "/domain/devices/disk[2]/driver/@type"), "raw");
    assert_string_equal(xstr(d, "/domain/devices/disk[2]/target/@dev"), "sda");
    assert_string_equal(xstr(d, "/domain/devices/disk[2]/target/@bus"), "scsi");
    assert_int_equal(xcount(d, "/domain/devices/disk[2]/serial"), 0);
    /* SCSI and SATA disks share the sd names, as libvirt does */
    assert_string_equal(xstr(d, "/domain/devices/disk[3]/target/@dev"), "sdb");
    assert_string_equal(xstr(d, "/domain/devices/disk[3]/target/@bus"), "sata");
    assert_int_equal(xcount(d, "/domain/devices/disk[3]/readonly"), 1);
    assert_string_equal(xstr(d, "/domain/devices/disk[4]/source/@file"), "/img/b & c.img");
    assert_string_equal(xstr(d, "/domain/devices/disk[4]/target/@dev"), "vdb");
    /* a virtio-scsi controller for the SCSI disk */
    assert_int_equal(xcount(d, "/domain/devices/controller[@type='scsi'][@model='virtio-scsi']"),
                     1);
    dom_free(d);
    hv_plan_free(plan);

    /* 60 disks: the names go on past vdz as libvirt's do (vdaa..) */
    len = (size_t)snprintf(json, sizeof(json),
                           "{\"name\": \"many\", \"vcpus\": 2, \"memory\": \"2GiB\", \"disks\": [");
    for (int i = 0; i < 60; i++)
        len += (size_t)snprintf(json + len, sizeof(json) - len, "%s{\"path\": \"/img/%d.img\"}",
                                i ? ", " : "", i);
    snprintf(json + len, sizeof(json) - len, "]}");
    plan = test_plan(host, json);
    d = to_dom(plan, NULL);
    assert_int_equal(xcount(d, "/domain/devices/disk"), 60);
    assert_int_equal(xcount(d, "/domain/devices/controller[@type='scsi']"), 0);
    assert_string_equal(xstr(d, "/domain/devices/disk[26]/target/@dev"), "vdz");
    assert_string_equal(xstr(d, "/domain/devices/disk[27]/target/@dev"), "vdaa");
    assert_string_equal(xstr(d, "/domain/devices/disk[60]/target/@dev"), "vdbh");
    dom_free(d);
    hv_plan_free(plan);
    hv_host_free(host);
}

/* Issue 15: the spec's boot source is libvirt's direct kernel boot. */
static void test_direct_kernel_boot(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/hugepages-2node");
    hv_plan *plan = test_plan(
        host, "{\"name\": \"linux\", \"vcpus\": 2, \"memory\": \"2GiB\", \"boot\": {"
              "\"kernel\": \"/boot/vmlinuz-6.1\", \"initrd\": \"/boot/initrd & more.img\", "
              "\"cmdline\": \"console=ttyS0 root=/dev/vda ro dyndbg=\\\"file <a> +p\\\"\"}, "
              "\"disks\": [{\"path\": \"/img/root.img\", \"read_only\": true}]}");
    dom *d = to_dom(plan, NULL);

    assert_int_equal(xcount(d, "/domain/os/kernel"), 1);
    assert_string_equal(xstr(d, "/domain/os/kernel"), "/boot/vmlinuz-6.1");
    assert_string_equal(xstr(d, "/domain/os/initrd"), "/boot/initrd & more.img");
    assert_string_equal(xstr(d, "/domain/os/cmdline"),
                        "console=ttyS0 root=/dev/vda ro dyndbg=\"file <a> +p\"");
    assert_string_equal(xstr(d, "/domain/os/type"), "hvm");
    assert_int_equal(xcount(d, "/domain/os/boot"), 0);
    assert_int_equal(xcount(d, "/domain/devices/disk[1]/readonly"), 1);
    assert_string_equal(xstr(d, "/domain/devices/disk[1]/target/@dev"), "vda");
    dom_free(d);
    hv_plan_free(plan);

    /* a kernel alone; with EFI firmware (QEMU boots it through OVMF) */
    plan = test_plan(host, "{\"name\": \"linux\", \"vcpus\": 2, \"memory\": \"2GiB\", "
                           "\"firmware\": \"efi\", \"boot\": {\"kernel\": \"/k\"}}");
    d = to_dom(plan, NULL);
    assert_string_equal(xstr(d, "/domain/os/kernel"), "/k");
    assert_int_equal(xcount(d, "/domain/os/initrd"), 0);
    assert_int_equal(xcount(d, "/domain/os/cmdline"), 0);
    assert_string_equal(xstr(d, "/domain/os/@firmware"), "efi");
    dom_free(d);
    hv_plan_free(plan);

    /* none: no kernel */
    plan = test_plan(host, "{\"name\": \"plain\", \"vcpus\": 2, \"memory\": \"2GiB\"}");
    d = to_dom(plan, NULL);
    assert_int_equal(xcount(d, "/domain/os/kernel | /domain/os/initrd | /domain/os/cmdline"), 0);
    dom_free(d);
    hv_plan_free(plan);
    hv_host_free(host);
}

static void test_iommu_eim(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/vsphere-max");
    hv_plan *plan = test_plan(host, "{\"name\": \"big\", \"vcpus\": 256, \"memory\": \"64GiB\", "
                                    "\"profile\": \"kvm-q35\"}");
    hv_libvirt_xml_options opts = xml_options();
    dom *d;
    char *xml = (char *)"untouched";

    assert_true(hv_plan_needs_iommu_eim(plan));
    d = to_dom(plan, NULL);
    assert_string_equal(xstr(d, "/domain/vcpu"), "256");
    assert_string_equal(xstr(d, "/domain/features/ioapic/@driver"), "qemu");
    assert_string_equal(xstr(d, "/domain/devices/iommu/@model"), "intel");
    assert_string_equal(xstr(d, "/domain/devices/iommu/driver/@intremap"), "on");
    assert_string_equal(xstr(d, "/domain/devices/iommu/driver/@eim"), "on");
    assert_string_equal(xstr(d, "name(/domain/devices/*[last()])"), "iommu");
    assert_int_equal(xcount(d, "/domain/cpu/numa/cell"), (int)hv_plan_vnuma_node_count(plan));
    dom_free(d);
    /* QEMU allows eim=on only with KVM */
    opts.domain_type = "qemu";
    assert_hv_error(hv_plan_to_libvirt_xml(plan, &opts, &xml), HV_E_UNSUPPORTED);
    assert_null(xml);
    assert_error_mentions("kvm");
    assert_string_equal(hv_error_path(hv_error_last()), "vcpus");
    hv_plan_free(plan);
    hv_host_free(host);
}

static void test_qemu_domain_and_console(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/dgx-a100-roce");
    hv_plan *plan = example_plan(host, "training-8gpu");
    hv_libvirt_xml_options opts = xml_options();
    dom *d;

    opts.domain_type = "qemu";
    opts.console_log = "/var/log/hpcvirt/train-8gpu.log";
    d = to_dom(plan, &opts);
    assert_string_equal(xstr(d, "/domain/@type"), "qemu");
    /* TCG has no host-passthrough: QEMU's max model, the host's width emulated */
    assert_string_equal(xstr(d, "/domain/cpu/@mode"), "maximum");
    assert_string_equal(xstr(d, "/domain/cpu/maxphysaddr/@mode"), "emulate");
    assert_string_equal(xstr(d, "/domain/cpu/maxphysaddr/@bits"), "48");
    assert_string_equal(xstr(d, "/domain/devices/serial/@type"), "file");
    assert_string_equal(xstr(d, "/domain/devices/serial/source/@path"),
                        "/var/log/hpcvirt/train-8gpu.log");
    assert_string_equal(xstr(d, "/domain/devices/serial/target/@port"), "0");
    assert_string_equal(xstr(d, "/domain/devices/console/@type"), "file");
    assert_string_equal(xstr(d, "/domain/devices/console/source/@path"),
                        "/var/log/hpcvirt/train-8gpu.log");
    assert_string_equal(xstr(d, "/domain/devices/console/target/@type"), "serial");
    /* the rest is the same as for KVM */
    assert_string_equal(xstr(d, "/domain/devices/controller/pcihole64"), "2147483648");
    assert_int_equal(xcount(d, "/domain/devices/hostdev"), 8);
    dom_free(d);
    /* explicit "kvm" is the default */
    opts.domain_type = "kvm";
    opts.console_log = NULL;
    d = to_dom(plan, &opts);
    assert_string_equal(xstr(d, "/domain/@type"), "kvm");
    assert_string_equal(xstr(d, "/domain/cpu/@mode"), "host-passthrough");
    dom_free(d);
    hv_plan_free(plan);
    hv_host_free(host);
}

/* ---- refusals ---------------------------------------------------------------- */

static void test_plan_with_errors(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/dgx-a100-roce");
    hv_plan *plan = test_plan(host, "{\"name\": \"bad\", \"vcpus\": 64, \"memory\": \"1TiB\", "
                                    "\"guest_phys_bits\": 40, \"accelerators\": [{\"model\": "
                                    "\"a100-sxm4-80gb\", \"count\": 8}]}");
    char *xml = (char *)"untouched";

    assert_false(hv_plan_ok(plan));
    assert_hv_error(hv_plan_to_libvirt_xml(plan, NULL, &xml), HV_E_PLAN);
    assert_null(xml);
    assert_error_mentions("plan.mmio.phys-bits");
    assert_error_mentions("guest_phys_bits");
    assert_error_mentions("42 physical-address bits");
    assert_string_equal(hv_error_path(hv_error_last()), "guest_phys_bits");
    hv_plan_free(plan);
    hv_host_free(host);
}

static void test_unassigned_devices(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/hugepages-2node");
    hv_plan *plan = test_plan(host, "{\"name\": \"cat\", \"vcpus\": 4, \"memory\": \"8GiB\", "
                                    "\"nics\": [{\"model\": \"virtio-net\"}], \"accelerators\": "
                                    "[{\"model\": \"a100-sxm4-80gb\", \"count\": 1}]}");
    char *xml = NULL;

    /* budgeted from the catalogue: a warning, a valid plan, but no host function */
    assert_true(hv_plan_ok(plan));
    assert_finding(plan, "plan.device.from-catalogue", HV_SEVERITY_WARNING);
    assert_hv_error(hv_plan_to_libvirt_xml(plan, NULL, &xml), HV_E_PLAN);
    assert_null(xml);
    assert_error_mentions("accelerators[0]");
    assert_error_mentions("host PCI function");
    assert_string_equal(hv_error_path(hv_error_last()), "accelerators[0]");
    hv_plan_free(plan);
    hv_host_free(host);
}

static void test_pvrdma_unsupported(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/dgx-a100-roce");
    hv_plan *plan = example_plan(host, "mpi-roce");
    char *xml = NULL;

    assert_true(hv_plan_ok(plan));
    assert_hv_error(hv_plan_to_libvirt_xml(plan, NULL, &xml), HV_E_UNSUPPORTED);
    assert_null(xml);
    assert_error_mentions("pvrdma");
    assert_string_equal(hv_error_path(hv_error_last()), "rdma[0]");
    /* it names no backend that would take it: none does (the engine has no devices) */
    assert_null(strstr(hv_error_message(hv_error_last()), "kvm:"));
    assert_error_mentions("No hpcvirt backend realizes pvrdma");
    assert_error_mentions("use mode \"sr-iov\" (a virtual function of the RDMA NIC) or "
                          "\"passthrough\" (the whole NIC), which the libvirt backend realizes");
    hv_plan_free(plan);
    hv_host_free(host);
}

/* What the pvrdma refusal points to: the same VM with the other two RDMA modes. */
static void test_pvrdma_alternatives(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/dgx-a100-roce");
    char *text = example_spec("mpi-roce"), *mode = strstr(text, "\"pvrdma\"");
    char spec[4096];
    hv_plan *plan;
    dom *d;

    assert_non_null(mode);
    *mode = '\0';
    /* a VF of the ConnectX at 0000:61:00.0 */
    snprintf(spec, sizeof(spec), "%s\"sr-iov\"%s", text, mode + strlen("\"pvrdma\""));
    plan = test_plan(host, spec);
    d = to_dom(plan, NULL);
    assert_string_equal(xstr(d, "/domain/devices/interface[@type='hostdev']/source/address/@bus"),
                        "0x61");
    assert_string_equal(
        xstr(d, "/domain/devices/interface[@type='hostdev']/source/address/@function"), "0x2");
    dom_free(d);
    hv_plan_free(plan);
    /* the whole NIC */
    snprintf(spec, sizeof(spec), "%s\"passthrough\"%s", text, mode + strlen("\"pvrdma\""));
    plan = test_plan(host, spec);
    d = to_dom(plan, NULL);
    assert_string_equal(xstr(d, "/domain/devices/hostdev/source/address/@bus"), "0x61");
    assert_string_equal(xstr(d, "/domain/devices/hostdev/source/address/@function"), "0x0");
    dom_free(d);
    hv_plan_free(plan);
    free(text);
    hv_host_free(host);
}

static void test_bad_arguments(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/hugepages-2node");
    hv_plan *plan = test_plan(host, "{\"name\": \"small\", \"vcpus\": 2, \"memory\": \"2GiB\"}");
    hv_libvirt_xml_options opts = xml_options();
    char *xml = NULL;

    assert_hv_error(hv_plan_to_libvirt_xml(NULL, NULL, &xml), HV_E_INVAL);
    assert_error_mentions("plan");
    assert_hv_error(hv_plan_to_libvirt_xml(plan, NULL, NULL), HV_E_INVAL);
    assert_error_mentions("xml");
    opts.domain_type = "xen";
    assert_hv_error(hv_plan_to_libvirt_xml(plan, &opts, &xml), HV_E_INVAL);
    assert_error_mentions("domain_type");
    assert_error_mentions("xen");
    assert_null(xml);
    opts.domain_type = "";
    assert_hv_error(hv_plan_to_libvirt_xml(plan, &opts, &xml), HV_E_INVAL);
    opts = xml_options();
    opts.network = "";
    assert_hv_error(hv_plan_to_libvirt_xml(plan, &opts, &xml), HV_E_INVAL);
    assert_error_mentions("network");
    opts = xml_options();
    opts.console_log = "console.log";
    assert_hv_error(hv_plan_to_libvirt_xml(plan, &opts, &xml), HV_E_INVAL);
    assert_error_mentions("absolute");
    opts = xml_options();
    opts.version = 0;
    assert_hv_error(hv_plan_to_libvirt_xml(plan, &opts, &xml), HV_E_INVAL);
    opts.version = HV_LIBVIRT_XML_OPTIONS_VERSION + 1;
    assert_hv_error(hv_plan_to_libvirt_xml(plan, &opts, &xml), HV_E_INVAL);
    assert_hv_error(hv_libvirt_xml_options_init(NULL, HV_LIBVIRT_XML_OPTIONS_VERSION), HV_E_INVAL);
    assert_hv_error(hv_libvirt_xml_options_init(&opts, 0), HV_E_INVAL);
    assert_hv_error(hv_libvirt_xml_options_init(&opts, HV_LIBVIRT_XML_OPTIONS_VERSION + 1),
                    HV_E_INVAL);
    /* the INIT macro and the init function agree; both are the defaults */
    {
        hv_libvirt_xml_options a = HV_LIBVIRT_XML_OPTIONS_INIT, b = xml_options();
        char *with_defaults = NULL, *with_null = NULL;

        assert_int_equal(a.version, b.version);
        assert_null(b.domain_type);
        assert_null(b.network);
        assert_null(b.console_log);
        assert_hv_ok(hv_plan_to_libvirt_xml(plan, &a, &with_defaults));
        assert_hv_ok(hv_plan_to_libvirt_xml(plan, NULL, &with_null));
        assert_string_equal(with_defaults, with_null);
        hv_free(with_defaults);
        hv_free(with_null);
    }
    hv_plan_free(plan);
    hv_host_free(host);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_training_8gpu),
        cmocka_unit_test(test_genomics_shared),
        cmocka_unit_test(test_fpga_hugepages),
        cmocka_unit_test(test_vgpu),
        cmocka_unit_test(test_hugepages_two_cells),
        cmocka_unit_test(test_maxphysaddr_emulate),
        cmocka_unit_test(test_nic_queues_and_network),
        cmocka_unit_test(test_iommu_eim),
        cmocka_unit_test(test_qemu_domain_and_console),
        cmocka_unit_test(test_plan_with_errors),
        cmocka_unit_test(test_unassigned_devices),
        cmocka_unit_test(test_pvrdma_unsupported),
        cmocka_unit_test(test_pvrdma_alternatives),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_disks),
        cmocka_unit_test(test_findings_of_the_conversion),
        cmocka_unit_test(test_direct_kernel_boot),
    };
    int rc;

    xmlInitParser();
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlRelaxNGFree(schema);
    xmlCleanupParser();
    return rc;
}
