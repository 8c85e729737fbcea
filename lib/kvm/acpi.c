/*
 * kvm/acpi.c - the ACPI tables of a Linux guest, generated from a vNUMA
 * machine description (pure: no I/O): RSDP (revision 2) -> XSDT -> FADT
 * (hardware-reduced: its sleep control/status and reset registers are ports;
 * X_DSDT -> a DSDT with COM1 and \_S5), MADT (a local APIC or
 * x2APIC per vCPU, the IOAPIC, IRQ0 -> GSI 2), SRAT (each vCPU's and each RAM
 * range's proximity domain = its vNUMA node) and SLIT (the distances). The
 * machine is checked and every table's size summed before a byte is written;
 * all multi-byte fields are written little-endian byte by byte, so the buffer
 * need not be aligned. docs/linux-guest-acpi.md is the description.
 */
#include "kvm/acpi.h"
#include "core/error.h"
#include "core/format.h"
#include "kvm/virtio-mmio.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <hpcvirt/size.h>

/* ---- table sizes and constants (ACPI 6.3) ---------------------------------- */

#define SDT_HEADER            36
#define RSDP_BYTES            36
#define FADT_BYTES            276 /* revision 6 */
#define MADT_FIXED            (SDT_HEADER + 8)
#define SRAT_FIXED            (SDT_HEADER + 12)
#define SLIT_FIXED            (SDT_HEADER + 8)
#define XSDT_TABLES           4 /* FADT, MADT, SRAT, SLIT (the DSDT hangs off the FADT) */

#define MADT_LAPIC_BYTES      8   /* type 0: Processor Local APIC */
#define MADT_IOAPIC_BYTES     12  /* type 1 */
#define MADT_ISO_BYTES        10  /* type 2: Interrupt Source Override */
#define MADT_LAPIC_NMI_BYTES  6   /* type 4 */
#define MADT_X2APIC_BYTES     16  /* type 9: Processor Local x2APIC */
#define MADT_X2APIC_NMI_BYTES 12  /* type 10 */
#define SRAT_LAPIC_BYTES      16  /* type 0: Processor Local APIC Affinity */
#define SRAT_MEMORY_BYTES     40  /* type 1: Memory Affinity */
#define SRAT_X2APIC_BYTES     24  /* type 2: Processor Local x2APIC Affinity */
#define XAPIC_ID_MAX          254 /* 255 is the xAPIC broadcast id: x2APIC entries above */
#define LOCAL_DISTANCE        10

/* FADT Flags: no fixed-feature power/sleep buttons, hardware-reduced ACPI. */
#define FADT_F_PWR_BUTTON      (UINT32_C(1) << 4)
#define FADT_F_SLP_BUTTON      (UINT32_C(1) << 5)
#define FADT_F_RESET_REG_SUP   (UINT32_C(1) << 10)
#define FADT_F_HW_REDUCED_ACPI (UINT32_C(1) << 20)
/* A Generic Address Structure's address space: system I/O. */
#define GAS_SYSTEM_IO 1
/* FADT IA-PC boot architecture flags: no VGA, no CMOS RTC (and, bit 1 clear, no 8042). */
#define IAPC_VGA_NOT_PRESENT      (1u << 2)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)
/* MADT flags: PC-AT dual 8259s (KVM_CREATE_IRQCHIP has them). */
#define MADT_PCAT_COMPAT 1u
/* MADT/SRAT entry flags: enabled. */
#define ENTRY_ENABLED 1u

static const char OEM_ID[6] = {'H', 'P', 'C', 'V', 'R', 'T'};
static const char CREATOR_ID[4] = {'H', 'P', 'C', 'V'};
static const char HYPERVISOR_ID[8] = {'H', 'P', 'C', 'V', 'I', 'R', 'T', ' '};

/* ---- the APIC id mapping ------------------------------------------------------ */

static uint32_t ceil_log2(uint32_t n)
{
    uint32_t bits = 0;

    while (bits < 32 && (UINT64_C(1) << bits) < n)
        bits++;
    return bits;
}

uint32_t hv_kvm_topology_thread_bits(const hv_kvm_cpu_topology *topology)
{
    return topology ? ceil_log2(topology->threads_per_core) : 0;
}

uint32_t hv_kvm_topology_core_bits(const hv_kvm_cpu_topology *topology)
{
    return topology ? ceil_log2(topology->cores_per_socket) : 0;
}

uint32_t hv_kvm_apic_id(const hv_kvm_cpu_topology *topology, uint32_t vcpu)
{
    uint32_t threads = topology && topology->threads_per_core ? topology->threads_per_core : 1;
    uint32_t cores = topology && topology->cores_per_socket ? topology->cores_per_socket : 1;
    uint32_t tbits = hv_kvm_topology_thread_bits(topology);
    uint32_t cbits = hv_kvm_topology_core_bits(topology);
    uint32_t thread = vcpu % threads;
    uint32_t core = (vcpu / threads) % cores;
    uint64_t socket = (uint64_t)vcpu / threads / cores;

    return (uint32_t)(socket << (cbits + tbits) | (uint64_t)core << tbits | thread);
}

/* ---- the machine description --------------------------------------------------- */

int hv_kvm_acpi_machine_from_layout(hv_kvm_acpi_machine *machine, const hv_kvm_layout *layout,
                                    const int *distances, const hv_kvm_cpu_topology *topology)
{
    HV_CHECK_ARG(machine, "machine");
    HV_CHECK_ARG(layout, "layout");
    if (layout->node_count == 0 || layout->node_count > HV_KVM_MAX_NODES)
        return hv_error_set(HV_E_INVAL, NULL,
                            "the layout has %zu vNUMA nodes: build it with hv_kvm_layout_init()",
                            layout->node_count);
    memset(machine, 0, sizeof(*machine));
    machine->node_count = layout->node_count;
    machine->vcpu_count = layout->vcpu_count;
    if (topology)
        machine->topology = *topology;
    machine->distances = distances;
    for (size_t i = 0; i < layout->node_count; i++) {
        const hv_kvm_node_layout *n = &layout->nodes[i];
        hv_kvm_acpi_range *r = &machine->ranges[machine->range_count++];

        machine->node_vcpus[i] = n->vcpu_count;
        r->base = n->base;
        r->bytes = n->low_bytes;
        r->node = (uint32_t)i;
        if (n->high_base) { /* its RAM above the 32-bit hole: a second range */
            r = &machine->ranges[machine->range_count++];
            r->base = n->high_base;
            r->bytes = n->bytes - n->low_bytes;
            r->node = (uint32_t)i;
        }
    }
    machine->mmio_base = layout->mmio_base;
    machine->mmio_bytes = layout->mmio_bytes;
    return 0;
}

static bool overlaps(uint64_t a, uint64_t a_bytes, uint64_t b, uint64_t b_bytes)
{
    return a < b + b_bytes && b < a + a_bytes;
}

static int check_distances(const hv_kvm_acpi_machine *m)
{
    size_t n = m->node_count;

    if (!m->distances)
        return hv_error_set(HV_E_INVAL, "vnuma.distances",
                            "no distance matrix for the %zu vNUMA nodes: give %zu x %zu "
                            "distances (hv_plan_vnuma_distance())",
                            n, n, n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            int d = m->distances[i * n + j];

            if (i == j && d != LOCAL_DISTANCE)
                return hv_error_set(HV_E_INVAL, "vnuma.distances",
                                    "the distance from vNUMA node %zu to itself is %d: the "
                                    "SLIT's diagonal must be %d",
                                    i, d, LOCAL_DISTANCE);
            if (i != j && (d < HV_KVM_ACPI_DISTANCE_MIN || d > HV_KVM_ACPI_DISTANCE_MAX))
                return hv_error_set(HV_E_INVAL, "vnuma.distances",
                                    "the distance from vNUMA node %zu to node %zu is %d: "
                                    "distances between two nodes must be %d to %d (Linux "
                                    "ignores a SLIT with another node at distance %d or less)",
                                    i, j, d, HV_KVM_ACPI_DISTANCE_MIN, HV_KVM_ACPI_DISTANCE_MAX,
                                    LOCAL_DISTANCE);
        }
    return 0;
}

static int check_range(const hv_kvm_acpi_machine *m, size_t r)
{
    static const struct {
        uint64_t base, bytes;
        const char *what;
    } fixed[] = {
        {HV_KVM_IOAPIC_ADDR, 4096, "the IOAPIC"},
        {HV_KVM_LAPIC_ADDR, 4096, "the local APICs"},
    };
    const hv_kvm_acpi_range *a = &m->ranges[r];
    char size[32];

    hv_size_format(a->bytes, size, sizeof(size));
    if (a->node >= m->node_count)
        return hv_error_set(HV_E_INVAL, NULL,
                            "RAM range %zu belongs to vNUMA node %" PRIu32
                            ", but there are %zu nodes",
                            r, a->node, m->node_count);
    if (a->bytes == 0 || a->base + a->bytes < a->base)
        return hv_error_set(HV_E_INVAL, NULL,
                            "RAM range %zu (node %" PRIu32 ", 0x%" PRIx64 ", %s) is empty or "
                            "wraps around the address space",
                            r, a->node, a->base, size);
    for (size_t f = 0; f < sizeof(fixed) / sizeof(fixed[0]); f++)
        if (overlaps(a->base, a->bytes, fixed[f].base, fixed[f].bytes))
            return hv_error_set(HV_E_INVAL, NULL,
                                "RAM range %zu (node %" PRIu32 ", 0x%" PRIx64 ", %s) covers %s "
                                "at 0x%" PRIx64 ": leave a hole in guest RAM below 4 GiB",
                                r, a->node, a->base, size, fixed[f].what, fixed[f].base);
    for (size_t v = 0; v < m->virtio_count && v < HV_KVM_VIRTIO_MAX_DEVICES; v++)
        if (overlaps(a->base, a->bytes, m->virtio[v].base, HV_VIRTIO_MMIO_WINDOW_BYTES))
            return hv_error_set(HV_E_INVAL, NULL,
                                "RAM range %zu (node %" PRIu32 ", 0x%" PRIx64 ", %s) covers "
                                "virtio device %zu's registers at 0x%" PRIx64,
                                r, a->node, a->base, size, v, m->virtio[v].base);
    if (m->mmio_bytes && overlaps(a->base, a->bytes, m->mmio_base, m->mmio_bytes))
        return hv_error_set(HV_E_INVAL, NULL,
                            "RAM range %zu (node %" PRIu32 ", 0x%" PRIx64 ", %s) overlaps the "
                            "MMIO window at 0x%" PRIx64,
                            r, a->node, a->base, size, m->mmio_base);
    for (size_t o = 0; o < r; o++)
        if (overlaps(a->base, a->bytes, m->ranges[o].base, m->ranges[o].bytes))
            return hv_error_set(HV_E_INVAL, NULL,
                                "RAM ranges %zu and %zu overlap (at 0x%" PRIx64 " and 0x%" PRIx64
                                ")",
                                o, r, m->ranges[o].base, a->base);
    return 0;
}

static int check_machine(const hv_kvm_acpi_machine *m)
{
    uint64_t vcpus = 0;

    if (m->node_count == 0 || m->node_count > HV_KVM_MAX_NODES)
        return hv_error_set(HV_E_RANGE, NULL,
                            "%zu vNUMA nodes: the ACPI tables describe 1 to %d nodes",
                            m->node_count, HV_KVM_MAX_NODES);
    if (m->vcpu_count == 0 || m->vcpu_count > HV_KVM_MAX_VCPUS)
        return hv_error_set(HV_E_RANGE, NULL, "%" PRIu32 " vCPUs: the ACPI tables describe 1 to %d",
                            m->vcpu_count, HV_KVM_MAX_VCPUS);
    if (m->range_count == 0 || m->range_count > HV_KVM_ACPI_MAX_RANGES)
        return hv_error_set(HV_E_RANGE, NULL,
                            "%zu RAM ranges: the ACPI tables describe 1 to %d ranges",
                            m->range_count, HV_KVM_ACPI_MAX_RANGES);
    for (size_t i = 0; i < m->node_count; i++)
        vcpus += m->node_vcpus[i];
    if (vcpus != m->vcpu_count)
        return hv_error_set(HV_E_INVAL, NULL,
                            "the vNUMA nodes have %" PRIu64 " vCPUs, the machine %" PRIu32
                            ": they must agree",
                            vcpus, m->vcpu_count);
    if (m->virtio_count > HV_KVM_VIRTIO_MAX_DEVICES)
        return hv_error_set(HV_E_RANGE, NULL,
                            "%zu virtio devices: the ACPI tables describe at most %d",
                            m->virtio_count, HV_KVM_VIRTIO_MAX_DEVICES);
    for (size_t v = 0; v < m->virtio_count; v++)
        if (m->virtio[v].gsi < HV_KVM_VIRTIO_FIRST_GSI || m->virtio[v].gsi >= HV_KVM_IOAPIC_PINS ||
            m->virtio[v].base % HV_VIRTIO_MMIO_WINDOW_BYTES ||
            m->virtio[v].base > UINT32_MAX - HV_VIRTIO_MMIO_WINDOW_BYTES)
            return hv_error_set(HV_E_INVAL, NULL,
                                "virtio device %zu: registers at 0x%" PRIx64 ", GSI %" PRIu32
                                ": give a 4 KiB-aligned base below 4 GiB and a GSI of %d to %d",
                                v, m->virtio[v].base, m->virtio[v].gsi, HV_KVM_VIRTIO_FIRST_GSI,
                                HV_KVM_IOAPIC_PINS - 1);
    for (size_t r = 0; r < m->range_count; r++) {
        int rc = check_range(m, r);

        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < m->node_count; i++) {
        bool has_ram = false;

        for (size_t r = 0; r < m->range_count && !has_ram; r++)
            has_ram = m->ranges[r].node == i;
        if (!has_ram)
            return hv_error_set(HV_E_INVAL, NULL,
                                "vNUMA node %zu has no RAM range: every node needs memory for "
                                "the guest to show it as the plan does",
                                i);
    }
    return check_distances(m);
}

/* ---- writing ------------------------------------------------------------------------ */

static void put8(uint8_t *p, size_t off, uint64_t v)
{
    p[off] = (uint8_t)v;
}

static void put16(uint8_t *p, size_t off, uint64_t v)
{
    for (int i = 0; i < 2; i++)
        p[off + i] = (uint8_t)(v >> (8 * i));
}

static void put32(uint8_t *p, size_t off, uint64_t v)
{
    for (int i = 0; i < 4; i++)
        p[off + i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[off + i] = (uint8_t)(v >> (8 * i));
}

static uint8_t checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;

    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return (uint8_t)(0x100 - sum);
}

/* The standard header; the checksum (byte 9) is set by finish_sdt(). */
static void put_header(uint8_t *t, const char sig[4], size_t len, uint8_t revision)
{
    memcpy(t, sig, 4);
    put32(t, 4, len);
    put8(t, 8, revision);
    put8(t, 9, 0);
    memcpy(t + 10, OEM_ID, 6);
    memcpy(t + 16, CREATOR_ID, 4); /* OEM table id: "HPCV" + the signature */
    memcpy(t + 20, sig, 4);
    put32(t, 24, 1); /* OEM revision */
    memcpy(t + 28, CREATOR_ID, 4);
    put32(t, 32, 1); /* creator revision */
}

static void finish_sdt(uint8_t *t, size_t len)
{
    t[9] = checksum(t, len);
}

/*
 * The DSDT's AML (ACPI 6.3 section 20), by hand:
 *
 *   Scope (\_SB) {
 *     Device (COM1) {
 *       Name (_HID, EisaId ("PNP0501"))     // 16550A-compatible UART
 *       Name (_UID, One)
 *       Name (_CRS, ResourceTemplate () {
 *         IO (Decode16, 0x03F8, 0x03F8, 0x01, 0x08)
 *         IRQNoFlags () {4}
 *       })
 *     }
 *     Device (VIO0) {                      // one per virtio-mmio device: VIO0 .. VIO7
 *       Name (_HID, "LNRO0005")             // what Linux's virtio_mmio driver matches
 *       Name (_UID, 0)
 *       Name (_CRS, ResourceTemplate () {
 *         Memory32Fixed (ReadWrite, 0xFEB00000, 0x200)
 *         Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) {16}
 *       })
 *     }
 *   }
 *   Name (\_S5, Package (2) {5, 0})      // S5 (soft off): SLP_TYP 5
 */
#define AML_SCOPE_OP     0x10
#define AML_NAME_OP      0x08
#define AML_BUFFER_OP    0x11
#define AML_BYTE_PFX     0x0A
#define AML_DWORD_PFX    0x0C
#define AML_ONE_OP       0x01
#define AML_EXT_PFX      0x5B
#define AML_DEVICE_OP    0x82
#define AML_ROOT_CHAR    0x5C
#define AML_PACKAGE_OP   0x12
#define AML_ZERO_OP      0x00
#define AML_STRING_PFX   0x0D
#define AML_MAX_BYTES    1024
#define EISA_PNP0501     UINT32_C(0x0105D041) /* "PNP" compressed to 0x41D0, product 0x0501 */
#define RES_IO           0x47                 /* small item 0x08, 7 bytes */
#define RES_IRQ_NOFLAG   0x22                 /* small item 0x04, 2 bytes */
#define RES_END          0x79                 /* small item 0x0F, 1 byte */
#define RES_MEMORY32     0x86                 /* large item 0x06: Memory32Fixed, 9 bytes */
#define RES_EXT_IRQ      0x89                 /* large item 0x09: Extended Interrupt */
#define EXT_IRQ_CONSUMER 0x01                 /* ResourceConsumer, Level, ActiveHigh, Exclusive */
#define VIRTIO_MMIO_HID  "LNRO0005"           /* what Linux's virtio_mmio driver matches */
#define COM1_LO          (HV_KVM_COM1_PORT & 0xFF)
#define COM1_HI          (HV_KVM_COM1_PORT >> 8)

/* AML being built; `full` when something did not fit (then nothing more is added). */
typedef struct aml {
    uint8_t b[AML_MAX_BYTES];
    size_t n;
    bool full;
} aml;

static void aml_bytes(aml *a, const void *p, size_t len)
{
    if (a->full || len > AML_MAX_BYTES - a->n) {
        a->full = true;
        return;
    }
    memcpy(a->b + a->n, p, len);
    a->n += len;
}

static void aml_byte(aml *a, uint8_t v)
{
    aml_bytes(a, &v, 1);
}

static void aml_name(aml *a, const char seg[4])
{
    aml_byte(a, AML_NAME_OP);
    aml_bytes(a, seg, 4);
}

/* PkgLength (20.2.4) of a package whose contents after it take `body` bytes. */
static size_t pkg_length(uint8_t out[4], size_t body)
{
    size_t total;

    if (body + 1 < 0x40) {
        out[0] = (uint8_t)(body + 1);
        return 1;
    }
    for (size_t extra = 1; extra <= 3; extra++) {
        total = body + 1 + extra;
        if (total < ((size_t)1 << (4 + 8 * extra))) {
            out[0] = (uint8_t)((extra << 6) | (total & 0x0F));
            for (size_t i = 1; i <= extra; i++)
                out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
            return 1 + extra;
        }
    }
    return 0; /* not reached: AML_MAX_BYTES is far below 2^28 */
}

/* Wrap `inner` (the contents) as op [op2] PkgLength contents into `out`. */
static void aml_package(aml *out, uint8_t op, int op2, const aml *inner)
{
    uint8_t len[4];
    size_t n = pkg_length(len, inner->n);

    out->full |= inner->full || n == 0;
    aml_byte(out, op);
    if (op2 >= 0)
        aml_byte(out, (uint8_t)op2);
    aml_bytes(out, len, n);
    aml_bytes(out, inner->b, inner->n);
}

/* Name (_HID, "LNRO0005"), Name (_UID, index) and _CRS of virtio-mmio device `v`, as Device (VIOn).
 */
static void aml_virtio_device(aml *body, const hv_kvm_acpi_machine *m, size_t v)
{
    uint8_t crs[] = {
        /* Memory32Fixed (ReadWrite, base, HV_VIRTIO_MMIO_USED_BYTES): tag, length 9, RW */
        RES_MEMORY32, 9, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
        /* Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) {gsi}: length 6 */
        RES_EXT_IRQ, 6, 0, EXT_IRQ_CONSUMER, 1, 0, 0, 0, 0, RES_END, 0x00};
    aml buffer = {.n = 0}, device = {.n = 0};
    char name[5];

    put32(crs, 4, (uint32_t)m->virtio[v].base);
    put32(crs, 8, HV_VIRTIO_MMIO_USED_BYTES);
    put32(crs, 17, m->virtio[v].gsi);
    aml_byte(&buffer, AML_BYTE_PFX);
    aml_byte(&buffer, (uint8_t)sizeof(crs));
    aml_bytes(&buffer, crs, sizeof(crs));
    hv_format(name, sizeof(name), "VIO%zu", v); /* v < 8: one digit */
    aml_bytes(&device, name, 4);
    aml_name(&device, "_HID");
    aml_byte(&device, AML_STRING_PFX);
    aml_bytes(&device, VIRTIO_MMIO_HID, sizeof(VIRTIO_MMIO_HID)); /* with its NUL */
    aml_name(&device, "_UID");
    aml_byte(&device, AML_BYTE_PFX);
    aml_byte(&device, (uint8_t)v);
    aml_name(&device, "_CRS");
    aml_package(&device, AML_BUFFER_OP, -1, &buffer);
    aml_package(body, AML_EXT_PFX, AML_DEVICE_OP, &device);
}

static void build_dsdt_aml(aml *scope, const hv_kvm_acpi_machine *m)
{
    const uint8_t crs[] = {
        /* IO (Decode16, 0x3F8, 0x3F8, 1, 8): tag, decode, min, max, alignment, length */
        RES_IO, 0x01, COM1_LO, COM1_HI, COM1_LO, COM1_HI, 0x01, 0x08,
        /* IRQNoFlags () {4}: tag, IRQ mask */
        RES_IRQ_NOFLAG, (uint8_t)(1u << HV_KVM_COM1_IRQ), 0x00,
        /* end tag, checksum 0 ("treat as correct") */
        RES_END, 0x00};
    aml buffer = {.n = 0}, device = {.n = 0}, body = {.n = 0}; /* .full: false */
    uint8_t hid[5] = {AML_DWORD_PFX};
    aml sleep = {.n = 0};

    put32(hid, 1, EISA_PNP0501);
    /* Buffer (13) { ... } */
    aml_byte(&buffer, AML_BYTE_PFX);
    aml_byte(&buffer, (uint8_t)sizeof(crs));
    aml_bytes(&buffer, crs, sizeof(crs));

    aml_bytes(&device, "COM1", 4);
    aml_name(&device, "_HID");
    aml_bytes(&device, hid, sizeof(hid));
    aml_name(&device, "_UID");
    aml_byte(&device, AML_ONE_OP);
    aml_name(&device, "_CRS");
    aml_package(&device, AML_BUFFER_OP, -1, &buffer);

    aml_byte(&body, AML_ROOT_CHAR);
    aml_bytes(&body, "_SB_", 4);
    aml_package(&body, AML_EXT_PFX, AML_DEVICE_OP, &device);
    for (size_t v = 0; v < m->virtio_count; v++)
        aml_virtio_device(&body, m, v);

    scope->n = 0;
    scope->full = false;
    aml_package(scope, AML_SCOPE_OP, -1, &body);

    /* Name (\_S5, Package (2) {5, 0}): what Linux writes to the sleep control register */
    aml_byte(&sleep, 2); /* NumElements */
    aml_byte(&sleep, AML_BYTE_PFX);
    aml_byte(&sleep, HV_KVM_ACPI_SLP_TYP_S5);
    aml_byte(&sleep, AML_ZERO_OP);
    aml_byte(scope, AML_NAME_OP);
    aml_byte(scope, AML_ROOT_CHAR);
    aml_bytes(scope, "_S5_", 4);
    aml_package(scope, AML_PACKAGE_OP, -1, &sleep);
}

/* Where each table goes: offsets from the start of the buffer. */
typedef struct placement {
    size_t rsdp, xsdt, fadt, dsdt, madt, srat, slit, end;
    size_t xsdt_len, dsdt_len, madt_len, srat_len, slit_len;
    bool any_x2apic;
} placement;

static size_t align8(size_t v)
{
    return (v + 7) & ~(size_t)7;
}

static void place(const hv_kvm_acpi_machine *m, size_t aml_len, placement *p)
{
    size_t n = m->node_count;

    memset(p, 0, sizeof(*p));
    p->madt_len = MADT_FIXED + MADT_IOAPIC_BYTES + MADT_ISO_BYTES + MADT_LAPIC_NMI_BYTES;
    p->srat_len = SRAT_FIXED + m->range_count * SRAT_MEMORY_BYTES;
    for (uint32_t v = 0; v < m->vcpu_count; v++) {
        bool x2 = hv_kvm_apic_id(&m->topology, v) > XAPIC_ID_MAX;

        p->madt_len += x2 ? MADT_X2APIC_BYTES : MADT_LAPIC_BYTES;
        p->srat_len += x2 ? SRAT_X2APIC_BYTES : SRAT_LAPIC_BYTES;
        p->any_x2apic |= x2;
    }
    if (p->any_x2apic)
        p->madt_len += MADT_X2APIC_NMI_BYTES;
    p->xsdt_len = SDT_HEADER + 8 * XSDT_TABLES;
    p->dsdt_len = SDT_HEADER + aml_len;
    p->slit_len = SLIT_FIXED + n * n;

    p->rsdp = 0;
    p->xsdt = align8(p->rsdp + RSDP_BYTES);
    p->fadt = align8(p->xsdt + p->xsdt_len);
    p->dsdt = align8(p->fadt + FADT_BYTES);
    p->madt = align8(p->dsdt + p->dsdt_len);
    p->srat = align8(p->madt + p->madt_len);
    p->slit = align8(p->srat + p->srat_len);
    p->end = p->slit + p->slit_len;
}

static void write_rsdp(uint8_t *t, uint64_t xsdt)
{
    memcpy(t, "RSD PTR ", 8);
    memcpy(t + 9, OEM_ID, 6);
    put8(t, 15, 2);  /* revision: ACPI 2.0+ (XSDT) */
    put32(t, 16, 0); /* no RSDT */
    put32(t, 20, RSDP_BYTES);
    put64(t, 24, xsdt);
    t[8] = checksum(t, 20);          /* the ACPI 1.0 part */
    t[32] = checksum(t, RSDP_BYTES); /* the whole structure */
}

static void write_xsdt(uint8_t *t, size_t len, const uint64_t *tables)
{
    put_header(t, "XSDT", len, 1);
    for (size_t i = 0; i < XSDT_TABLES; i++)
        put64(t, SDT_HEADER + 8 * i, tables[i]);
    finish_sdt(t, len);
}

/* A Generic Address Structure: one byte-wide I/O port. */
static void put_port_gas(uint8_t *t, size_t off, uint16_t port)
{
    put8(t, off, GAS_SYSTEM_IO);
    put8(t, off + 1, 8); /* register bit width */
    put8(t, off + 2, 0); /* bit offset */
    put8(t, off + 3, 1); /* access size: byte */
    put64(t, off + 4, port);
}

static void write_fadt(uint8_t *t, uint64_t dsdt)
{
    put_header(t, "FACP", FADT_BYTES, 6);
    /* FIRMWARE_CTRL, DSDT (32-bit), SCI_INT, SMI_CMD, PM blocks: 0 (hardware-reduced) */
    put16(t, 109, IAPC_VGA_NOT_PRESENT | IAPC_CMOS_RTC_NOT_PRESENT);
    put32(t, 112,
          FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON | FADT_F_RESET_REG_SUP | FADT_F_HW_REDUCED_ACPI);
    put_port_gas(t, 116, HV_KVM_ACPI_RESET_PORT);         /* RESET_REG */
    put8(t, 128, HV_KVM_ACPI_RESET_VALUE);                /* RESET_VALUE */
    put8(t, 131, 3);                                      /* FADT minor version: ACPI 6.3 */
    put64(t, 140, dsdt);                                  /* X_DSDT */
    put_port_gas(t, 244, HV_KVM_ACPI_SLEEP_CONTROL_PORT); /* SLEEP_CONTROL_REG */
    put_port_gas(t, 256, HV_KVM_ACPI_SLEEP_STATUS_PORT);  /* SLEEP_STATUS_REG */
    memcpy(t + 268, HYPERVISOR_ID, 8);
    finish_sdt(t, FADT_BYTES);
}

static void write_dsdt(uint8_t *t, size_t len, const aml *code)
{
    put_header(t, "DSDT", len, 2); /* revision 2: 64-bit AML integers */
    memcpy(t + SDT_HEADER, code->b, code->n);
    finish_sdt(t, len);
}

static size_t write_madt(uint8_t *t, size_t len, const hv_kvm_acpi_machine *m, bool any_x2apic)
{
    size_t o = MADT_FIXED;

    put_header(t, "APIC", len, 5);
    put32(t, 36, HV_KVM_LAPIC_ADDR);
    put32(t, 40, MADT_PCAT_COMPAT);
    for (uint32_t v = 0; v < m->vcpu_count; v++) {
        uint32_t id = hv_kvm_apic_id(&m->topology, v);

        if (id <= XAPIC_ID_MAX) {
            put8(t, o, 0);
            put8(t, o + 1, MADT_LAPIC_BYTES);
            put8(t, o + 2, v); /* ACPI processor UID (v <= id <= 254) */
            put8(t, o + 3, id);
            put32(t, o + 4, ENTRY_ENABLED);
            o += MADT_LAPIC_BYTES;
        } else {
            put8(t, o, 9);
            put8(t, o + 1, MADT_X2APIC_BYTES);
            put16(t, o + 2, 0);
            put32(t, o + 4, id);
            put32(t, o + 8, ENTRY_ENABLED);
            put32(t, o + 12, v); /* ACPI processor UID */
            o += MADT_X2APIC_BYTES;
        }
    }
    put8(t, o, 1); /* IOAPIC: id, reserved, address, GSI base */
    put8(t, o + 1, MADT_IOAPIC_BYTES);
    put8(t, o + 2, HV_KVM_IOAPIC_ID);
    put8(t, o + 3, 0);
    put32(t, o + 4, HV_KVM_IOAPIC_ADDR);
    put32(t, o + 8, 0);
    o += MADT_IOAPIC_BYTES;
    put8(t, o, 2); /* ISA IRQ 0 (the PIT) -> GSI 2, polarity and trigger of the ISA bus */
    put8(t, o + 1, MADT_ISO_BYTES);
    put8(t, o + 2, 0);
    put8(t, o + 3, 0);
    put32(t, o + 4, 2);
    put16(t, o + 8, 0);
    o += MADT_ISO_BYTES;
    put8(t, o, 4); /* LINT1 of every processor is the NMI */
    put8(t, o + 1, MADT_LAPIC_NMI_BYTES);
    put8(t, o + 2, 0xFF);
    put16(t, o + 3, 0);
    put8(t, o + 5, 1);
    o += MADT_LAPIC_NMI_BYTES;
    if (any_x2apic) {
        put8(t, o, 10);
        put8(t, o + 1, MADT_X2APIC_NMI_BYTES);
        put16(t, o + 2, 0);
        put32(t, o + 4, UINT32_C(0xFFFFFFFF));
        put8(t, o + 8, 1);
        o += MADT_X2APIC_NMI_BYTES;
    }
    finish_sdt(t, len);
    return o;
}

static size_t srat_cpu(uint8_t *t, size_t o, uint32_t node, uint32_t id)
{
    if (id <= XAPIC_ID_MAX) {
        put8(t, o, 0);
        put8(t, o + 1, SRAT_LAPIC_BYTES);
        put8(t, o + 2, node & 0xFF); /* proximity domain [7:0] */
        put8(t, o + 3, id);
        put32(t, o + 4, ENTRY_ENABLED);
        put8(t, o + 8, 0);                  /* local SAPIC EID */
        put8(t, o + 9, (node >> 8) & 0xFF); /* proximity domain [31:8] */
        put16(t, o + 10, node >> 16);
        put32(t, o + 12, 0); /* clock domain */
        return o + SRAT_LAPIC_BYTES;
    }
    put8(t, o, 2);
    put8(t, o + 1, SRAT_X2APIC_BYTES);
    put16(t, o + 2, 0);
    put32(t, o + 4, node);
    put32(t, o + 8, id);
    put32(t, o + 12, ENTRY_ENABLED);
    put32(t, o + 16, 0); /* clock domain */
    put32(t, o + 20, 0);
    return o + SRAT_X2APIC_BYTES;
}

static size_t srat_memory(uint8_t *t, size_t o, const hv_kvm_acpi_range *r)
{
    put8(t, o, 1);
    put8(t, o + 1, SRAT_MEMORY_BYTES);
    put32(t, o + 2, r->node);
    put64(t, o + 8, r->base);
    put64(t, o + 16, r->bytes);
    put32(t, o + 28, ENTRY_ENABLED);
    return o + SRAT_MEMORY_BYTES;
}

/*
 * Node by node: its vCPUs, then its RAM ranges. Linux numbers nodes in the
 * order it first meets their proximity domains, so domain n is node n.
 */
static size_t write_srat(uint8_t *t, size_t len, const hv_kvm_acpi_machine *m)
{
    size_t o = SRAT_FIXED;
    uint32_t vcpu = 0;

    put_header(t, "SRAT", len, 3);
    put32(t, 36, 1); /* reserved, 1 for backward compatibility */
    for (uint32_t node = 0; node < m->node_count; node++) {
        for (uint32_t k = 0; k < m->node_vcpus[node]; k++, vcpu++)
            o = srat_cpu(t, o, node, hv_kvm_apic_id(&m->topology, vcpu));
        for (size_t r = 0; r < m->range_count; r++)
            if (m->ranges[r].node == node)
                o = srat_memory(t, o, &m->ranges[r]);
    }
    finish_sdt(t, len);
    return o;
}

static void write_slit(uint8_t *t, size_t len, const hv_kvm_acpi_machine *m)
{
    size_t n = m->node_count;

    put_header(t, "SLIT", len, 1);
    put64(t, 36, n);
    for (size_t i = 0; i < n * n; i++)
        put8(t, SLIT_FIXED + i, (uint8_t)m->distances[i]);
    finish_sdt(t, len);
}

int hv_kvm_acpi_build(const hv_kvm_acpi_machine *machine, uint64_t base, void *buf, size_t size,
                      hv_kvm_acpi_tables *tables)
{
    uint8_t *out = buf;
    aml code;
    placement p;
    uint64_t xsdt_entries[XSDT_TABLES];
    int rc;

    HV_CHECK_ARG(machine, "machine");
    HV_CHECK_ARG(buf, "buf");
    HV_CHECK_ARG(tables, "tables");
    if (base % 16 != 0)
        return hv_error_set(
            HV_E_INVAL, NULL,
            "the ACPI tables' base 0x%" PRIx64 " is not 16-byte aligned: the RSDP must be", base);
    rc = check_machine(machine);
    if (rc < 0)
        return rc;
    build_dsdt_aml(&code, machine);
    if (code.full)
        return hv_error_set(HV_E_INTERNAL, NULL, "the DSDT's AML takes more than %d bytes",
                            AML_MAX_BYTES);
    place(machine, code.n, &p);
    if (p.end > size)
        return hv_error_set(HV_E_RANGE, NULL,
                            "the ACPI tables for %" PRIu32 " vCPUs and %zu vNUMA nodes take %zu "
                            "bytes, more than the %zu bytes there is room for: give them more "
                            "room or use fewer vCPUs or nodes",
                            machine->vcpu_count, machine->node_count, p.end, size);
    if (p.end > UINT64_MAX - base)
        return hv_error_set(HV_E_RANGE, NULL,
                            "the ACPI tables at 0x%" PRIx64 " would end past the top of the "
                            "address space",
                            base);

    memset(tables, 0, sizeof(*tables));
    tables->rsdp = base + p.rsdp;
    tables->xsdt = base + p.xsdt;
    tables->fadt = base + p.fadt;
    tables->dsdt = base + p.dsdt;
    tables->madt = base + p.madt;
    tables->srat = base + p.srat;
    tables->slit = base + p.slit;
    tables->bytes = p.end;
    xsdt_entries[0] = tables->fadt;
    xsdt_entries[1] = tables->madt;
    xsdt_entries[2] = tables->srat;
    xsdt_entries[3] = tables->slit;

    memset(out, 0, p.end);
    write_rsdp(out + p.rsdp, tables->xsdt);
    write_xsdt(out + p.xsdt, p.xsdt_len, xsdt_entries);
    write_fadt(out + p.fadt, tables->dsdt);
    write_dsdt(out + p.dsdt, p.dsdt_len, &code);
    if (write_madt(out + p.madt, p.madt_len, machine, p.any_x2apic) != p.madt_len ||
        write_srat(out + p.srat, p.srat_len, machine) != p.srat_len)
        return hv_error_set(HV_E_INTERNAL, NULL,
                            "the MADT or SRAT came out another size than "
                            "was reserved for it");
    write_slit(out + p.slit, p.slit_len, machine);
    return 0;
}
