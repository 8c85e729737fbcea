/*
 * libvirt/domain-xml.c - plans as libvirt domain XML (libvirt 9.0 schema,
 * elements in libvirt's own order): vCPUs with their pinning, vNUMA cells
 * with distances and numatune, huge pages per cell, firmware, direct kernel
 * boot (the spec's boot source), CPU topology and physical-address width,
 * q35's 64-bit PCI hole, host devices (GPUs, FPGAs, vGPUs, SR-IOV and whole
 * RDMA NICs), disks, virtio-net, the serial console and, as metadata, what
 * later lookups need (libvirt/metadata.h). Built with libxml2's tree API.
 * What of the plan the XML cannot carry is said in findings
 * (opts->findings): without a network, NICs get user-mode networking, which
 * has one queue, so their queues and RSS are left out.
 *
 * vGPUs are <hostdev type='mdev'> naming the mdev instance by a UUID derived
 * from the VM name and the device's index in the plan (mdev_uuid()): the
 * instance of the plan's mdev type with that UUID must exist on the parent
 * GPU before the VM starts; hpcvirt does not create it (mdevctl, libvirt's
 * node-device API or echo UUID >
 * /sys/bus/pci/devices/PARENT/mdev_supported_types/TYPE/create do).
 *
 * Paravirtual RDMA is refused (HV_E_UNSUPPORTED): libvirt 9.0 has no element
 * for it, and although the schema accepts it through <qemu:commandline>,
 * QEMU's pvrdma device needs memory-backend-ram with share=on for all guest
 * RAM, which libvirt never creates (shared memory becomes memory-backend-file
 * or -memfd, which QEMU rejects), plus a vmxnet3 at function 0 of its slot
 * and an rdmacm-mux socket. The built-in engine has no device model either,
 * so no backend realizes pvrdma: the message points to "sr-iov" and
 * "passthrough", which become <interface type='hostdev'> and <hostdev>.
 * Plans needing interrupt remapping with EIM (more than 255 vCPUs) are
 * refused for domain type "qemu": QEMU 7.2 allows eim=on only with KVM's
 * split irqchip.
 */
#include "libvirt/metadata.h"
#include "libvirt/options.h"
#include "plan/plan.h"
#include "core/alloc.h"
#include "core/cpuset.h"
#include "core/error.h"
#include "core/findings.h"
#include "core/text.h"

#include <glib.h>
#include <libxml/tree.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* SHA-1 name-based (RFC 4122 version 5) UUIDs of vGPU instances live in this namespace. */
static const unsigned char mdev_uuid_namespace[16] = {
    0x40, 0x7c, 0x40, 0x88, 0xea, 0x21, 0x4a, 0x41, 0x8f, 0x36, 0x62, 0xb0, 0x99, 0x1d, 0x5b, 0x40};

/* ---- a tree builder that remembers the first allocation failure ---------- */

typedef struct builder {
    xmlDocPtr doc;
    bool failed;
} builder;

static xmlNodePtr add(builder *b, xmlNodePtr parent, const char *name, const char *text)
{
    xmlNodePtr node = NULL;

    if (parent)
        node = xmlNewTextChild(parent, NULL, BAD_CAST name, BAD_CAST text);
    if (!node)
        b->failed = true;
    return node;
}

static void set(builder *b, xmlNodePtr node, const char *name, const char *value)
{
    if (!node || !value || !xmlNewProp(node, BAD_CAST name, BAD_CAST value))
        b->failed = true;
}

static void setf(builder *b, xmlNodePtr node, const char *name, const char *fmt, ...)
    HV_PRINTF(4, 5);
static void setf(builder *b, xmlNodePtr node, const char *name, const char *fmt, ...)
{
    char buf[128];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    set(b, node, name, buf);
}

static xmlNodePtr add_u64(builder *b, xmlNodePtr parent, const char *name, uint64_t value)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)value);
    return add(b, parent, name, buf);
}

static uint64_t kib(uint64_t bytes)
{
    return bytes / 1024 + (bytes % 1024 != 0);
}

/* "0000:41:00.0" into its parts; false when it is not a PCI address. */
static bool parse_pci(const char *text, unsigned int *domain, unsigned int *bus, unsigned int *slot,
                      unsigned int *function)
{
    int end = 0;

    return sscanf(text, "%4x:%2x:%2x.%1x%n", domain, bus, slot, function, &end) == 4 &&
           text[end] == '\0' && *slot < 32 && *function < 8;
}

static void set_pci_address(builder *b, xmlNodePtr address, const char *pci, bool with_type)
{
    unsigned int domain = 0, bus = 0, slot = 0, function = 0;

    parse_pci(pci, &domain, &bus, &slot, &function); /* checked before building */
    if (with_type)
        set(b, address, "type", "pci");
    setf(b, address, "domain", "0x%04x", domain);
    setf(b, address, "bus", "0x%02x", bus);
    setf(b, address, "slot", "0x%02x", slot);
    setf(b, address, "function", "0x%x", function);
}

/* The vGPU instance's UUID: version 5 over "VM-NAME/DEVICE-INDEX". */
static void mdev_uuid(const char *vm_name, size_t index, char out[37])
{
    GChecksum *sha1 = g_checksum_new(G_CHECKSUM_SHA1);
    unsigned char digest[20];
    gsize len = sizeof(digest);
    char name[HV_SPEC_MAX_NAME + 32];

    snprintf(name, sizeof(name), "%s/%zu", vm_name, index);
    g_checksum_update(sha1, mdev_uuid_namespace, sizeof(mdev_uuid_namespace));
    g_checksum_update(sha1, (const guchar *)name, strlen(name));
    g_checksum_get_digest(sha1, digest, &len);
    g_checksum_free(sha1);
    digest[6] = (unsigned char)((digest[6] & 0x0f) | 0x50);
    digest[8] = (unsigned char)((digest[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
             digest[8], digest[9], digest[10], digest[11], digest[12], digest[13], digest[14],
             digest[15]);
}

/* ---- checks ---------------------------------------------------------------- */

/* Whether `text` is printable UTF-8: XML 1.0 has no control characters, and libvirt reads names. */
static bool printable(const char *text)
{
    size_t len = strlen(text);

    return hv_text_unprintable_at(text, len) == len;
}

static int check_options(const hv_libvirt_xml_options *opts)
{
    char quoted[512]; /* room for a path whole, unless it is huge */

    if (!opts)
        return 0;
    if (opts->domain_type && strcmp(opts->domain_type, "kvm") != 0 &&
        strcmp(opts->domain_type, "qemu") != 0)
        return hv_error_set(HV_E_INVAL, NULL,
                            "hv_plan_to_libvirt_xml: opts->domain_type '%s' is not a domain "
                            "type: use \"kvm\" (hardware virtualization) or \"qemu\" (software "
                            "emulation)",
                            hv_quote(quoted, sizeof(quoted), opts->domain_type));
    if (opts->network &&
        (!*opts->network || strchr(opts->network, '/') || !printable(opts->network)))
        return hv_error_set(HV_E_INVAL, NULL,
                            "hv_plan_to_libvirt_xml: opts->network '%s' is not a libvirt "
                            "network name (non-empty, printable UTF-8, no '/')",
                            hv_quote(quoted, sizeof(quoted), opts->network));
    if (opts->console_log &&
        (opts->console_log[0] != '/' || !opts->console_log[1] || !printable(opts->console_log)))
        return hv_error_set(HV_E_INVAL, NULL,
                            "hv_plan_to_libvirt_xml: opts->console_log '%s' must be an absolute "
                            "file path in printable UTF-8 (libvirt resolves it on the host "
                            "running the VM)",
                            hv_quote(quoted, sizeof(quoted), opts->console_log));
    return 0;
}

/*
 * Why a plan cannot become a domain: errors, devices without a host function,
 * pvrdma, more than 255 vCPUs under TCG.
 */
static int check_plan(const hv_plan *plan, bool kvm)
{
    if (!plan->ok) {
        const struct hv_finding *f = hv_findings_first(&plan->findings, HV_SEVERITY_ERROR);

        return hv_error_set(HV_E_PLAN, f && f->path && *f->path ? f->path : NULL,
                            "the plan has errors and cannot become a libvirt domain: %s%s%s%s: "
                            "%s",
                            f ? f->code : "plan", f && f->path && *f->path ? " (at " : "",
                            f && f->path ? f->path : "", f && f->path && *f->path ? ")" : "",
                            f ? f->message : "see the plan's findings");
    }
    if (plan->needs_iommu_eim && !kvm)
        return hv_error_set(HV_E_UNSUPPORTED, "vcpus",
                            "%u vCPUs need x2APIC interrupt remapping (an Intel IOMMU with "
                            "eim=on), which QEMU allows only with KVM's split irqchip: use "
                            "domain type \"kvm\", or at most 255 vCPUs under software emulation",
                            plan->spec->vcpus);
    for (size_t i = 0; i < plan->ndevices; i++) {
        const struct hv_plan_device *d = &plan->devices[i];
        unsigned int dom, bus, slot, fn;
        char quoted[HV_QUOTE_SIZE]; /* names and addresses come from the host's description */

        if (d->type == HV_PLAN_DEVICE_NIC)
            continue;
        if (d->type == HV_PLAN_DEVICE_RDMA && d->mode == HV_RDMA_MODE_PVRDMA)
            return hv_error_set(
                HV_E_UNSUPPORTED, d->spec_path,
                "%s: paravirtual RDMA (pvrdma) cannot be expressed as a libvirt 9.0 domain: "
                "libvirt has no element for it, and QEMU's pvrdma device needs all guest RAM in "
                "memory-backend-ram with share=on (libvirt backs shared memory with "
                "memory-backend-file or -memfd, which pvrdma rejects), a vmxnet3 NIC at "
                "function 0 of its PCI slot and an rdmacm-mux socket. No hpcvirt backend realizes "
                "pvrdma (the built-in engine has no device model): use mode \"sr-iov\" (a virtual "
                "function of the RDMA NIC) or \"passthrough\" (the whole NIC), which the libvirt "
                "backend realizes",
                d->spec_path);
        if (!d->pci_address[0])
            return hv_error_set(
                HV_E_PLAN, d->spec_path,
                "%s (%s) is not assigned to a host PCI function (it was budgeted from the "
                "catalogue, or the host does not list the VF): the plan cannot become a "
                "libvirt domain on this host; plan on the host that has the device",
                d->spec_path,
                hv_quote(quoted, sizeof(quoted), d->model[0] ? d->model : d->rdma_name));
        if (!parse_pci(d->pci_address, &dom, &bus, &slot, &fn))
            return hv_error_set(HV_E_PLAN, d->spec_path,
                                "%s: '%s' is not a PCI address (DDDD:BB:SS.F)", d->spec_path,
                                hv_quote(quoted, sizeof(quoted), d->pci_address));
    }
    return 0;
}

/* ---- the domain, element by element -------------------------------------- */

typedef struct domain_ctx {
    builder b;
    const hv_plan *plan;
    bool kvm;
    const char *network;
    const char *console_log;
    hv_findings findings; /* what of the plan the XML leaves out (opts->findings) */
} domain_ctx;

/* <hpcvirt:plan version="2">{compact JSON}</hpcvirt:plan> (libvirt/metadata.h) */
static void add_metadata(domain_ctx *c, xmlNodePtr domain)
{
    builder *b = &c->b;
    char *text = hv_libvirt_metadata_text(c->plan);
    xmlNodePtr meta = add(b, domain, "metadata", NULL), node;
    xmlNsPtr ns;

    if (!text) {
        b->failed = true;
        return;
    }
    node = add(b, meta, "plan", text);
    ns = node ? xmlNewNs(node, BAD_CAST HV_LIBVIRT_PLAN_NS, BAD_CAST HV_LIBVIRT_PLAN_PREFIX) : NULL;
    if (ns)
        xmlSetNs(node, ns);
    else
        b->failed = true;
    setf(b, node, "version", "%d", HV_LIBVIRT_METADATA_VERSION);
    free(text);
}

static void add_memory_backing(domain_ctx *c, xmlNodePtr domain)
{
    builder *b = &c->b;
    const hv_plan *plan = c->plan;
    xmlNodePtr hugepages = NULL;

    /* one <page> per huge page size, naming the cells it backs (ascending sizes) */
    for (uint64_t last = 4096;;) {
        uint64_t size = 0;
        hv_cpuset cells = HV_CPUSET_EMPTY;
        char *text;
        xmlNodePtr page;

        for (size_t i = 0; i < plan->nvnodes; i++)
            if (plan->vnodes[i].page_bytes > last && (!size || plan->vnodes[i].page_bytes < size))
                size = plan->vnodes[i].page_bytes;
        if (!size)
            break;
        for (size_t i = 0; i < plan->nvnodes; i++)
            if (plan->vnodes[i].page_bytes == size && hv_cpuset_add(&cells, (unsigned int)i) < 0)
                b->failed = true;
        if (!hugepages)
            hugepages = add(b, add(b, domain, "memoryBacking", NULL), "hugepages", NULL);
        page = add(b, hugepages, "page", NULL);
        setf(b, page, "size", "%llu", (unsigned long long)(size / 1024));
        set(b, page, "unit", "KiB");
        text = hv_cpuset_format(&cells);
        set(b, page, "nodeset", text);
        free(text);
        hv_cpuset_clear(&cells);
        last = size;
    }
}

static void add_cputune(domain_ctx *c, xmlNodePtr domain)
{
    builder *b = &c->b;
    const hv_plan *plan = c->plan;
    bool dedicated = plan->spec->cpu_placement == HV_CPU_PLACEMENT_DEDICATED && plan->vcpu_pins;
    xmlNodePtr cputune = add(b, domain, "cputune", NULL);
    hv_cpuset all = HV_CPUSET_EMPTY;
    char *emulator = NULL;

    for (size_t i = 0; i < plan->nvnodes; i++) {
        const struct hv_plan_vnode *vn = &plan->vnodes[i];

        for (unsigned int v = vn->vcpu_first; v < vn->vcpu_first + vn->vcpu_count; v++) {
            xmlNodePtr pin;
            char cpu[16];
            const char *cpuset = vn->host_cpus_text;

            if (dedicated && plan->vcpu_pins[v] >= 0) {
                snprintf(cpu, sizeof(cpu), "%d", plan->vcpu_pins[v]);
                cpuset = cpu;
            }
            if (!cpuset || !*cpuset)
                continue;
            pin = add(b, cputune, "vcpupin", NULL);
            setf(b, pin, "vcpu", "%u", v);
            set(b, pin, "cpuset", cpuset);
        }
        HV_CPUSET_FOREACH(cpu, &vn->host_cpus)
        {
            if (hv_cpuset_add(&all, (unsigned int)cpu) < 0)
                b->failed = true;
        }
    }
    if (dedicated && plan->emulator_cpus_text && *plan->emulator_cpus_text)
        emulator = hv_strdup(plan->emulator_cpus_text);
    else
        emulator = hv_cpuset_format(&all);
    if (!emulator)
        b->failed = true;
    else if (*emulator)
        set(b, add(b, cputune, "emulatorpin", NULL), "cpuset", emulator);
    free(emulator);
    hv_cpuset_clear(&all);
}

static void add_numatune(domain_ctx *c, xmlNodePtr domain)
{
    builder *b = &c->b;
    const hv_plan *plan = c->plan;
    hv_cpuset nodes = HV_CPUSET_EMPTY;
    xmlNodePtr numatune, memory;
    char *text;

    for (size_t i = 0; i < plan->nvnodes; i++)
        if (plan->vnodes[i].host_node >= 0 &&
            hv_cpuset_add(&nodes, (unsigned int)plan->vnodes[i].host_node) < 0)
            b->failed = true;
    if (hv_cpuset_count(&nodes) == 0)
        return;
    numatune = add(b, domain, "numatune", NULL);
    memory = add(b, numatune, "memory", NULL);
    set(b, memory, "mode", "strict");
    text = hv_cpuset_format(&nodes);
    set(b, memory, "nodeset", text);
    free(text);
    hv_cpuset_clear(&nodes);
    for (size_t i = 0; i < plan->nvnodes; i++) {
        xmlNodePtr memnode;

        if (plan->vnodes[i].host_node < 0)
            continue;
        memnode = add(b, numatune, "memnode", NULL);
        setf(b, memnode, "cellid", "%zu", i);
        set(b, memnode, "mode", "strict");
        setf(b, memnode, "nodeset", "%d", plan->vnodes[i].host_node);
    }
}

static void add_os(domain_ctx *c, xmlNodePtr domain)
{
    builder *b = &c->b;
    xmlNodePtr os = add(b, domain, "os", NULL), type;

    if (c->plan->firmware == HV_FIRMWARE_EFI)
        set(b, os, "firmware", "efi");
    type = add(b, os, "type", "hvm");
    set(b, type, "arch", "x86_64");
    set(b, type, "machine", "q35");
    if (c->plan->firmware == HV_FIRMWARE_EFI) {
        /* plain OVMF: no Microsoft keys enrolled, no Secure Boot */
        xmlNodePtr fw = add(b, os, "firmware", NULL), f;

        f = add(b, fw, "feature", NULL);
        set(b, f, "enabled", "no");
        set(b, f, "name", "enrolled-keys");
        f = add(b, fw, "feature", NULL);
        set(b, f, "enabled", "no");
        set(b, f, "name", "secure-boot");
    }
    /* the spec's boot source: libvirt's direct kernel boot (QEMU's -kernel, -initrd, -append) */
    if (hv_vm_spec_boot_kernel(c->plan->spec)) {
        const hv_vm_spec *spec = c->plan->spec;

        add(b, os, "kernel", hv_vm_spec_boot_kernel(spec));
        if (hv_vm_spec_boot_initrd(spec))
            add(b, os, "initrd", hv_vm_spec_boot_initrd(spec));
        if (hv_vm_spec_boot_cmdline(spec))
            add(b, os, "cmdline", hv_vm_spec_boot_cmdline(spec));
    }
}

static void add_features(domain_ctx *c, xmlNodePtr domain)
{
    builder *b = &c->b;
    xmlNodePtr features = add(b, domain, "features", NULL);

    add(b, features, "acpi", NULL);
    add(b, features, "apic", NULL);
    /* interrupt remapping (the IOMMU's EIM) needs the split irqchip */
    if (c->plan->needs_iommu_eim)
        set(b, add(b, features, "ioapic", NULL), "driver", "qemu");
}

static void add_cpu(domain_ctx *c, xmlNodePtr domain)
{
    builder *b = &c->b;
    const hv_plan *plan = c->plan;
    xmlNodePtr cpu = add(b, domain, "cpu", NULL), topo, numa;

    /* host-passthrough needs KVM; TCG runs QEMU's "max" model instead */
    set(b, cpu, "mode", c->kvm ? "host-passthrough" : "maximum");
    set(b, cpu, "check", "none");
    set(b, cpu, "migratable", "on");
    topo = add(b, cpu, "topology", NULL);
    setf(b, topo, "sockets", "%u", plan->sockets);
    set(b, topo, "dies", "1");
    setf(b, topo, "cores", "%u", plan->cores_per_socket);
    setf(b, topo, "threads", "%u", plan->threads_per_core);
    if (plan->guest_phys_bits_passthrough && (c->kvm || !plan->host_phys_bits)) {
        set(b, add(b, cpu, "maxphysaddr", NULL), "mode", "passthrough");
    } else if (plan->guest_phys_bits_passthrough || plan->guest_phys_bits) {
        /* under TCG the host's width is emulated */
        xmlNodePtr m = add(b, cpu, "maxphysaddr", NULL);

        set(b, m, "mode", "emulate");
        setf(b, m, "bits", "%u",
             plan->guest_phys_bits_passthrough ? plan->host_phys_bits : plan->guest_phys_bits);
    }
    numa = add(b, cpu, "numa", NULL);
    for (size_t i = 0; i < plan->nvnodes; i++) {
        const struct hv_plan_vnode *vn = &plan->vnodes[i];
        xmlNodePtr cell = add(b, numa, "cell", NULL);

        setf(b, cell, "id", "%zu", i);
        set(b, cell, "cpus", vn->vcpus_text);
        setf(b, cell, "memory", "%llu", (unsigned long long)kib(vn->memory_bytes));
        set(b, cell, "unit", "KiB");
        if (plan->nvnodes > 1) {
            xmlNodePtr distances = add(b, cell, "distances", NULL);

            for (size_t j = 0; j < plan->nvnodes; j++) {
                xmlNodePtr sibling = add(b, distances, "sibling", NULL);

                setf(b, sibling, "id", "%zu", j);
                setf(b, sibling, "value", "%d", plan->distances[i * plan->nvnodes + j]);
            }
        }
    }
}

static void add_pci_hostdev(domain_ctx *c, xmlNodePtr devices, const char *pci)
{
    builder *b = &c->b;
    xmlNodePtr hostdev = add(b, devices, "hostdev", NULL);

    set(b, hostdev, "mode", "subsystem");
    set(b, hostdev, "type", "pci");
    set(b, hostdev, "managed", "yes");
    set_pci_address(b, add(b, add(b, hostdev, "source", NULL), "address", NULL), pci, false);
}

static void add_mdev_hostdev(domain_ctx *c, xmlNodePtr devices, size_t index)
{
    builder *b = &c->b;
    xmlNodePtr hostdev = add(b, devices, "hostdev", NULL);
    char uuid[37];

    mdev_uuid(c->plan->spec->name, index, uuid);
    set(b, hostdev, "mode", "subsystem");
    set(b, hostdev, "type", "mdev");
    set(b, hostdev, "model", "vfio-pci");
    set(b, hostdev, "managed", "no");
    set(b, add(b, add(b, hostdev, "source", NULL), "address", NULL), "uuid", uuid);
}

static void add_nic(domain_ctx *c, xmlNodePtr devices, const struct hv_plan_device *d)
{
    builder *b = &c->b;
    xmlNodePtr iface = add(b, devices, "interface", NULL);

    if (c->network) {
        set(b, iface, "type", "network");
        set(b, add(b, iface, "source", NULL), "network", c->network);
    } else {
        set(b, iface, "type", "user");
    }
    set(b, add(b, iface, "model", NULL), "type", "virtio");
    /* vhost-net, multiqueue and RSS need a tap backend: user-mode networking has one queue */
    if (!c->network && d->queues >= 2 &&
        hv_findings_add(&c->findings, HV_SEVERITY_WARNING, "xml.nic.user-networking", d->spec_path,
                        "without a network the NIC has user-mode networking, which has one "
                        "queue: its %u queues%s are left out of the domain XML; name a libvirt "
                        "network (\"default\", for one) to keep them",
                        d->queues, d->rss_flags ? " and RSS" : "") < 0)
        b->failed = true;
    if (c->network) {
        xmlNodePtr driver = add(b, iface, "driver", NULL);

        set(b, driver, "name", "vhost");
        if (d->queues >= 2) {
            setf(b, driver, "queues", "%u", d->queues);
            if (d->rss_flags) {
                set(b, driver, "rss", "on");
                set(b, driver, "rss_hash_report", "on");
            }
        }
    }
}

static void add_sriov_interface(domain_ctx *c, xmlNodePtr devices, const char *pci)
{
    builder *b = &c->b;
    xmlNodePtr iface = add(b, devices, "interface", NULL);

    set(b, iface, "type", "hostdev");
    set(b, iface, "managed", "yes");
    set_pci_address(b, add(b, add(b, iface, "source", NULL), "address", NULL), pci, true);
}

/* libvirt's target name for the index'th disk of a prefix: vda..vdz, vdaa.. */
static void disk_target(char *out, size_t size, const char *prefix, size_t index)
{
    char letters[8];
    size_t n = sizeof(letters) - 1;

    letters[n] = '\0';
    do {
        letters[--n] = (char)('a' + index % 26);
        index = index / 26;
    } while (index-- > 0 && n > 0);
    snprintf(out, size, "%s%s", prefix, &letters[n]);
}

static void add_disks(domain_ctx *c, xmlNodePtr devices)
{
    builder *b = &c->b;
    const hv_vm_spec *spec = c->plan->spec;
    size_t nvd = 0, nsd = 0;

    for (size_t i = 0; i < spec->ndisks; i++) {
        const hv_spec_disk *d = &spec->disks[i];
        xmlNodePtr disk = add(b, devices, "disk", NULL), driver, target;
        char dev[16];

        set(b, disk, "type", "file");
        set(b, disk, "device", "disk");
        driver = add(b, disk, "driver", NULL);
        set(b, driver, "name", "qemu");
        set(b, driver, "type", hv_spec_disk_format_name(d->format));
        set(b, add(b, disk, "source", NULL), "file", d->path);
        target = add(b, disk, "target", NULL);
        if (d->bus == HV_DISK_BUS_VIRTIO)
            disk_target(dev, sizeof(dev), "vd", nvd++);
        else
            disk_target(dev, sizeof(dev), "sd", nsd++);
        set(b, target, "dev", dev);
        set(b, target, "bus", hv_spec_disk_bus_name(d->bus));
        if (d->read_only)
            add(b, disk, "readonly", NULL);
        if (d->serial[0])
            add(b, disk, "serial", d->serial);
    }
}

static void add_console(domain_ctx *c, xmlNodePtr devices)
{
    builder *b = &c->b;
    const char *kinds[] = {"serial", "console"};

    for (size_t k = 0; k < 2; k++) {
        xmlNodePtr dev = add(b, devices, kinds[k], NULL), target;

        set(b, dev, "type", c->console_log ? "file" : "pty");
        if (c->console_log)
            set(b, add(b, dev, "source", NULL), "path", c->console_log);
        target = add(b, dev, "target", NULL);
        if (k == 1)
            set(b, target, "type", "serial");
        set(b, target, "port", "0");
    }
}

static void add_devices(domain_ctx *c, xmlNodePtr domain)
{
    builder *b = &c->b;
    const hv_plan *plan = c->plan;
    xmlNodePtr devices = add(b, domain, "devices", NULL), root;

    add_disks(c, devices);
    root = add(b, devices, "controller", NULL);
    set(b, root, "type", "pci");
    set(b, root, "index", "0");
    set(b, root, "model", "pcie-root");
    if (plan->window_bytes) {
        xmlNodePtr hole = add_u64(b, root, "pcihole64", kib(plan->window_bytes));

        set(b, hole, "unit", "KiB");
    }
    for (size_t i = 0; i < plan->spec->ndisks; i++)
        if (plan->spec->disks[i].bus == HV_DISK_BUS_SCSI) {
            xmlNodePtr scsi = add(b, devices, "controller", NULL);

            set(b, scsi, "type", "scsi");
            set(b, scsi, "index", "0");
            set(b, scsi, "model", "virtio-scsi");
            break;
        }
    /* libvirt's order: interfaces, serial, console, hostdevs, memballoon, iommu */
    for (size_t i = 0; i < plan->ndevices; i++) {
        const struct hv_plan_device *d = &plan->devices[i];

        if (d->type == HV_PLAN_DEVICE_RDMA && d->mode == HV_RDMA_MODE_SRIOV)
            add_sriov_interface(c, devices, d->pci_address);
    }
    for (size_t i = 0; i < plan->ndevices; i++)
        if (plan->devices[i].type == HV_PLAN_DEVICE_NIC)
            add_nic(c, devices, &plan->devices[i]);
    add_console(c, devices);
    for (size_t i = 0; i < plan->ndevices; i++) {
        const struct hv_plan_device *d = &plan->devices[i];

        if (d->type == HV_PLAN_DEVICE_ACCELERATOR && d->mode == HV_ACCEL_MODE_VGPU)
            add_mdev_hostdev(c, devices, i);
        else if (d->type == HV_PLAN_DEVICE_ACCELERATOR ||
                 (d->type == HV_PLAN_DEVICE_RDMA && d->mode == HV_RDMA_MODE_PASSTHROUGH))
            add_pci_hostdev(c, devices, d->pci_address);
    }
    set(b, add(b, devices, "memballoon", NULL), "model", "none");
    if (plan->needs_iommu_eim) {
        xmlNodePtr iommu = add(b, devices, "iommu", NULL), driver;

        set(b, iommu, "model", "intel");
        driver = add(b, iommu, "driver", NULL);
        set(b, driver, "intremap", "on");
        set(b, driver, "eim", "on");
    }
}

static void build_domain(domain_ctx *c, xmlNodePtr domain)
{
    builder *b = &c->b;
    const hv_plan *plan = c->plan;
    char text[128];

    set(b, domain, "type", c->kvm ? "kvm" : "qemu");
    add(b, domain, "name", plan->spec->name);
    snprintf(text, sizeof(text), "planned by hpcvirt (profile %s)", plan->profile->name);
    add(b, domain, "description", text);
    add_metadata(c, domain);
    set(b, add_u64(b, domain, "memory", kib(plan->spec->memory_bytes)), "unit", "KiB");
    add_memory_backing(c, domain);
    snprintf(text, sizeof(text), "%u", plan->spec->vcpus);
    set(b, add(b, domain, "vcpu", text), "placement", "static");
    add_cputune(c, domain);
    add_numatune(c, domain);
    add_os(c, domain);
    add_features(c, domain);
    add_cpu(c, domain);
    set(b, add(b, domain, "clock", NULL), "offset", "utc");
    add(b, domain, "on_poweroff", "destroy");
    add(b, domain, "on_reboot", "restart");
    add(b, domain, "on_crash", "destroy");
    add_devices(c, domain);
}

/* The domain's XML text in *xml (hv_free()), its findings in c->findings; 0 or HV_E_NOMEM. */
static int write_domain(domain_ctx *c, char **xml)
{
    xmlNodePtr domain;
    xmlChar *text = NULL;
    int len = 0;

    c->b.doc = xmlNewDoc(BAD_CAST "1.0");
    domain = c->b.doc ? xmlNewDocNode(c->b.doc, NULL, BAD_CAST "domain", NULL) : NULL;
    if (!domain) {
        xmlFreeDoc(c->b.doc);
        return hv_error_nomem();
    }
    xmlDocSetRootElement(c->b.doc, domain);
    build_domain(c, domain);
    if (!c->b.failed)
        xmlDocDumpFormatMemory(c->b.doc, &text, &len, 1);
    xmlFreeDoc(c->b.doc);
    if (c->b.failed || !text) {
        xmlFree(text);
        return hv_error_nomem();
    }
    *xml = hv_strndup((const char *)text, (size_t)len);
    xmlFree(text);
    return *xml ? 0 : HV_E_NOMEM;
}

int hv_plan_to_libvirt_xml(const hv_plan *plan, const hv_libvirt_xml_options *opts, char **xml)
{
    domain_ctx c = {0};
    hv_finding_list **findings;
    int rc;

    HV_CHECK_ARG(xml, "xml");
    *xml = NULL;
    HV_CHECK_ARG(plan, "plan");
    if ((rc = hv_options_check(opts, HV_LIBVIRT_XML_OPTIONS_VERSION, true, __func__, "opts")) < 0)
        return rc;
    findings = hv_libvirt_xml_findings_out(opts);
    if ((rc = check_options(opts)) < 0)
        return rc;
    c.kvm = !opts || !opts->domain_type || strcmp(opts->domain_type, "kvm") == 0;
    if ((rc = check_plan(plan, c.kvm)) < 0)
        return rc;
    c.plan = plan;
    c.network = opts ? opts->network : NULL;
    c.console_log = opts ? opts->console_log : NULL;

    rc = write_domain(&c, xml);
    if (rc == 0 && findings && !(*findings = hv_finding_list_take(&c.findings)))
        rc = HV_E_NOMEM;
    if (rc < 0) {
        hv_free(*xml);
        *xml = NULL;
    }
    hv_findings_clear(&c.findings);
    return rc;
}
