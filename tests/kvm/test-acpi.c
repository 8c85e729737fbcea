/*
 * tests/kvm/test-acpi.c - the KVM engine's ACPI tables (lib/kvm/acpi.c),
 * read back as a guest would from the RSDP: signatures, lengths, revisions,
 * checksums, every pointer inside the buffer; the MADT's APIC ids, IOAPIC and
 * override; SRAT and SLIT for 1, 2 and 16 vNUMA nodes and with x2APIC ids;
 * the DSDT's AML byte for byte; the APIC id mapping; and every refusal
 * (distances, RAM ranges, counts, a buffer too small) without a byte written.
 * check-acpi-iasl.py has ACPICA's iasl and acpiexec read the same tables.
 */
#include "hv-test.h"
#include "acpi-test.h"

#define BASE HV_KVM_ACPI_BIOS_BASE
#define ROOM (HV_KVM_ACPI_BIOS_END - HV_KVM_ACPI_BIOS_BASE)

static uint8_t buf[ROOM];
static acpi_scenario s;

static void build(const char *name, hv_kvm_acpi_tables *t)
{
    assert_int_equal(acpi_scenario_init(&s, name), 0);
    memset(buf, 0xAA, sizeof(buf));
    assert_hv_ok(hv_kvm_acpi_build(&s.machine, BASE, buf, sizeof(buf), t));
    assert_true(t->bytes > 0 && t->bytes <= sizeof(buf));
}

/* Every table: found from the RSDP, checksummed, inside the buffer, at the address reported. */
static void check_structure(const hv_kvm_acpi_tables *t)
{
    static const struct {
        const char *sig;
        uint8_t revision;
    } want[] = {{"XSDT", 1}, {"FACP", 6}, {"DSDT", 2}, {"APIC", 5}, {"SRAT", 3}, {"SLIT", 1}};
    const uint64_t addr[] = {t->xsdt, t->fadt, t->dsdt, t->madt, t->srat, t->slit};
    const uint8_t *rsdp = acpi_at(buf, t->bytes, BASE, t->rsdp, 36);
    const uint8_t *xsdt;

    assert_true(t->rsdp == BASE);
    assert_non_null(rsdp);
    assert_memory_equal(rsdp, "RSD PTR ", 8);
    assert_int_equal(acpi_sum(rsdp, 20), 0);
    assert_int_equal(acpi_sum(rsdp, 36), 0);
    assert_int_equal(rsdp[15], 2);
    assert_int_equal(acpi_le(rsdp + 16, 4), 0); /* no RSDT */
    assert_int_equal(acpi_le(rsdp + 20, 4), 36);
    assert_true(acpi_le(rsdp + 24, 8) == t->xsdt);

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const uint8_t *tab = acpi_find(buf, t->bytes, BASE, t->rsdp, want[i].sig);

        assert_non_null(tab);
        assert_true(tab == buf + (addr[i] - BASE));
        assert_true(addr[i] % 8 == 0);
        assert_int_equal(tab[8], want[i].revision);
        assert_int_equal(acpi_sum(tab, acpi_le(tab + 4, 4)), 0);
        assert_memory_equal(tab + 10, "HPCVRT", 6);
        assert_memory_equal(tab + 16, "HPCV", 4);
        assert_memory_equal(tab + 20, want[i].sig, 4);
    }
    /* the XSDT: FADT, MADT, SRAT, SLIT; the FADT: X_DSDT, hardware-reduced */
    xsdt = acpi_find(buf, t->bytes, BASE, t->rsdp, "XSDT");
    assert_int_equal(acpi_le(xsdt + 4, 4), 36 + 4 * 8);
    assert_true(acpi_le(xsdt + 36, 8) == t->fadt);
    assert_true(acpi_le(xsdt + 44, 8) == t->madt);
    assert_true(acpi_le(xsdt + 52, 8) == t->srat);
    assert_true(acpi_le(xsdt + 60, 8) == t->slit);
    assert_int_equal(acpi_le(buf + (t->fadt - BASE) + 4, 4), 276);
    assert_true(acpi_le(buf + (t->fadt - BASE) + 140, 8) == t->dsdt);
    assert_int_equal(acpi_le(buf + (t->fadt - BASE) + 40, 4), 0); /* 32-bit DSDT unused */
    /* the sleep control and status registers and the reset register: byte-wide ports */
    {
        const uint8_t *f = buf + (t->fadt - BASE);

        assert_int_equal(f[244], 1); /* system I/O */
        assert_int_equal(acpi_le(f + 248, 8), HV_KVM_ACPI_SLEEP_CONTROL_PORT);
        assert_int_equal(acpi_le(f + 260, 8), HV_KVM_ACPI_SLEEP_STATUS_PORT);
        assert_int_equal(acpi_le(f + 120, 8), HV_KVM_ACPI_RESET_PORT);
        assert_int_equal(f[128], HV_KVM_ACPI_RESET_VALUE);
        assert_true(acpi_le(f + 112, 4) & (1u << 10)); /* RESET_REG_SUP */
    }
    assert_true(acpi_le(buf + (t->fadt - BASE) + 112, 4) & (UINT32_C(1) << 20));
    /* the last table ends at bytes; nothing past it was touched */
    assert_true(t->slit + acpi_le(buf + (t->slit - BASE) + 4, 4) == BASE + t->bytes);
    assert_int_equal(buf[t->bytes], 0xAA);
}

/*
 * The SRAT, node by node: its vCPUs in order (APIC id, proximity domain),
 * then its RAM ranges; so the domains never go down (Linux numbers nodes in
 * the order it meets their domains).
 */
static void check_srat(const hv_kvm_acpi_tables *t)
{
    const hv_kvm_acpi_machine *m = &s.machine;
    const uint8_t *srat = buf + (t->srat - BASE);
    size_t len = acpi_le(srat + 4, 4), o = 48;
    uint32_t vcpu = 0, node = 0, left = m->node_vcpus[0], last_domain = 0;
    size_t order[HV_KVM_ACPI_MAX_RANGES], ranges = 0, next = 0;

    for (uint32_t n = 0; n < m->node_count; n++)
        for (size_t r = 0; r < m->range_count; r++)
            if (m->ranges[r].node == n)
                order[ranges++] = r;
    assert_int_equal(ranges, m->range_count);
    assert_int_equal(acpi_le(srat + 36, 4), 1);
    while (o < len) {
        const uint8_t *e = srat + o;
        uint32_t domain;

        assert_true(e[1] > 0 && o + e[1] <= len);
        if (e[0] == 0 || e[0] == 2) {
            uint32_t id;

            while (left == 0)
                left = m->node_vcpus[++node];
            left--;
            if (e[0] == 0) {
                assert_int_equal(e[1], 16);
                id = e[3];
                domain = (uint32_t)(e[2] | acpi_le(e + 9, 3) << 8);
                assert_int_equal(acpi_le(e + 4, 4), 1);
            } else {
                assert_int_equal(e[1], 24);
                id = (uint32_t)acpi_le(e + 8, 4);
                domain = (uint32_t)acpi_le(e + 4, 4);
                assert_int_equal(acpi_le(e + 12, 4), 1);
            }
            assert_int_equal(id, hv_kvm_apic_id(&m->topology, vcpu));
            assert_true((id > 254) == (e[0] == 2));
            assert_int_equal(domain, node);
            vcpu++;
        } else {
            const hv_kvm_acpi_range *r;

            assert_int_equal(e[0], 1);
            assert_int_equal(e[1], 40);
            assert_true(next < ranges);
            r = &m->ranges[order[next++]];
            domain = (uint32_t)acpi_le(e + 2, 4);
            assert_int_equal(domain, r->node);
            assert_true(acpi_le(e + 8, 8) == r->base);
            assert_true(acpi_le(e + 16, 8) == r->bytes);
            assert_int_equal(acpi_le(e + 28, 4), 1);
        }
        assert_true(domain >= last_domain);
        last_domain = domain;
        o += e[1];
    }
    assert_int_equal(o, len);
    assert_int_equal(vcpu, m->vcpu_count);
    assert_int_equal(next, m->range_count);
}

static void check_slit(const hv_kvm_acpi_tables *t)
{
    const uint8_t *slit = buf + (t->slit - BASE);
    size_t n = s.machine.node_count;

    assert_int_equal(acpi_le(slit + 4, 4), 44 + n * n);
    assert_true(acpi_le(slit + 36, 8) == n);
    for (size_t i = 0; i < n * n; i++)
        assert_int_equal(slit[44 + i], s.distances[i]);
}

/* The MADT: a local APIC (x2APIC above 254) per vCPU, the IOAPIC, IRQ0 -> GSI 2, LINT1 NMI. */
static void check_madt(const hv_kvm_acpi_tables *t)
{
    const uint8_t *madt = buf + (t->madt - BASE);
    size_t len = acpi_le(madt + 4, 4), o = 44;
    uint32_t vcpu = 0;
    int ioapic = 0, iso = 0, nmi = 0, x2nmi = 0;

    assert_true(acpi_le(madt + 36, 4) == HV_KVM_LAPIC_ADDR);
    assert_int_equal(acpi_le(madt + 40, 4), 1); /* PCAT_COMPAT */
    while (o < len) {
        const uint8_t *e = madt + o;
        uint32_t id = hv_kvm_apic_id(&s.machine.topology, vcpu);

        assert_true(e[1] > 0 && o + e[1] <= len);
        switch (e[0]) {
        case 0:
            assert_int_equal(e[1], 8);
            assert_int_equal(e[2], vcpu);
            assert_int_equal(e[3], id);
            assert_true(id <= 254);
            assert_int_equal(acpi_le(e + 4, 4), 1);
            vcpu++;
            break;
        case 9:
            assert_int_equal(e[1], 16);
            assert_int_equal(acpi_le(e + 4, 4), id);
            assert_true(id > 254);
            assert_int_equal(acpi_le(e + 8, 4), 1);
            assert_int_equal(acpi_le(e + 12, 4), vcpu);
            vcpu++;
            break;
        case 1:
            assert_int_equal(e[1], 12);
            assert_int_equal(e[2], HV_KVM_IOAPIC_ID);
            assert_true(acpi_le(e + 4, 4) == HV_KVM_IOAPIC_ADDR);
            assert_int_equal(acpi_le(e + 8, 4), 0);
            ioapic++;
            break;
        case 2:
            assert_int_equal(e[1], 10);
            assert_int_equal(e[2], 0); /* ISA */
            assert_int_equal(e[3], 0); /* IRQ 0 */
            assert_int_equal(acpi_le(e + 4, 4), 2);
            iso++;
            break;
        case 4:
            assert_int_equal(e[1], 6);
            assert_int_equal(e[2], 0xFF);
            assert_int_equal(e[5], 1);
            nmi++;
            break;
        case 10:
            assert_int_equal(e[1], 12);
            assert_true(acpi_le(e + 4, 4) == UINT32_C(0xFFFFFFFF));
            x2nmi++;
            break;
        default:
            fail_msg("MADT entry of type %u", e[0]);
        }
        o += e[1];
    }
    assert_int_equal(o, len);
    assert_int_equal(vcpu, s.machine.vcpu_count);
    assert_int_equal(ioapic, 1);
    assert_int_equal(iso, 1);
    assert_int_equal(nmi, 1);
    assert_int_equal(x2nmi, hv_kvm_apic_id(&s.machine.topology, vcpu - 1) > 254 ? 1 : 0);
}

static void check_all(const char *name)
{
    hv_kvm_acpi_tables t;

    build(name, &t);
    check_structure(&t);
    check_madt(&t);
    check_srat(&t);
    check_slit(&t);
}

static void test_one_node(void **state)
{
    hv_kvm_acpi_tables t;

    (void)state;
    check_all("1node");
    build("1node", &t);
    /* the SLIT of one node: [10]; one memory range [0, 1 GiB) */
    assert_int_equal(buf[t.slit - BASE + 44], 10);
    assert_true(s.machine.range_count == 1 && s.machine.ranges[0].bytes == ACPI_GiB(1));
}

static void test_two_nodes(void **state)
{
    hv_kvm_acpi_tables t;
    const uint8_t *srat;

    (void)state;
    check_all("2node");
    build("2node", &t);
    /* node 0: vCPUs 0, 1, RAM 0-1 GiB; node 1: vCPUs 2, 3, RAM 1-2 GiB */
    srat = buf + (t.srat - BASE);
    for (int v = 0; v < 4; v++) {
        const uint8_t *e = srat + 48 + 16 * v + (v >= 2 ? 40 : 0);

        assert_int_equal(e[0], 0);
        assert_int_equal(e[2], v / 2);
        assert_int_equal(e[3], v);
    }
    assert_int_equal(srat[48 + 32], 1);
    assert_true(acpi_le(srat + 48 + 32 + 8, 8) == 0);
    assert_int_equal(srat[48 + 32 + 40 + 32], 1);
    assert_true(acpi_le(srat + 48 + 32 + 40 + 32 + 2, 4) == 1);
    assert_true(acpi_le(srat + 48 + 32 + 40 + 32 + 8, 8) == ACPI_GiB(1));
    assert_memory_equal(buf + (t.slit - BASE) + 44, "\x0a\x15\x15\x0a", 4);
}

static void test_sixteen_nodes(void **state)
{
    hv_kvm_acpi_tables t;

    (void)state;
    check_all("16node");
    build("16node", &t);
    assert_int_equal(acpi_le(buf + (t.slit - BASE) + 4, 4), 44 + 256);
    assert_int_equal(buf[t.slit - BASE + 44 + 1], 12);       /* node 0 -> 1: same quad */
    assert_int_equal(buf[t.slit - BASE + 44 + 15], 32);      /* node 0 -> 15: 3 quads away */
    assert_int_equal(buf[t.slit - BASE + 44 + 15 * 16], 32); /* node 15 -> 0 */
}

static void test_x2apic(void **state)
{
    hv_kvm_acpi_tables t;

    (void)state;
    check_all("x2apic");
    build("x2apic", &t);
    /* vCPU 159: socket 7, core 9, thread 1 -> 7 << 5 | 9 << 1 | 1; vCPU 160 starts socket 8 */
    assert_int_equal(hv_kvm_apic_id(&s.machine.topology, 159), 7 * 32 + 19);
    assert_int_equal(hv_kvm_apic_id(&s.machine.topology, 160), 256);
}

static void test_apic_ids(void **state)
{
    hv_kvm_cpu_topology pow2 = {2, 8}, odd = {2, 3}, none = {0, 0};

    (void)state;
    for (uint32_t v = 0; v < 64; v++) {
        assert_int_equal(hv_kvm_apic_id(&pow2, v), v);
        assert_int_equal(hv_kvm_apic_id(&none, v), v);
        assert_int_equal(hv_kvm_apic_id(NULL, v), v);
    }
    /* 3 cores x 2 threads: thread bit 0, cores bits 1-2, sockets from bit 3 */
    assert_int_equal(hv_kvm_topology_thread_bits(&odd), 1);
    assert_int_equal(hv_kvm_topology_core_bits(&odd), 2);
    assert_int_equal(hv_kvm_apic_id(&odd, 0), 0);
    assert_int_equal(hv_kvm_apic_id(&odd, 1), 1);
    assert_int_equal(hv_kvm_apic_id(&odd, 2), 2);
    assert_int_equal(hv_kvm_apic_id(&odd, 5), 5);
    assert_int_equal(hv_kvm_apic_id(&odd, 6), 8);
    assert_int_equal(hv_kvm_apic_id(&odd, 13), 17);
    assert_int_equal(hv_kvm_topology_thread_bits(&none), 0);
    assert_int_equal(hv_kvm_topology_core_bits(NULL), 0);
}

/* The DSDT's AML, byte for byte (docs/linux-guest-acpi.md decodes it). */
static void test_dsdt_aml(void **state)
{
    static const uint8_t aml[] = {
        0x10, 0x33, 0x5C, '_',  'S',  'B',  '_',                    /* Scope (\_SB) */
        0x5B, 0x82, 0x2B, 'C',  'O',  'M',  '1',                    /* Device (COM1) */
        0x08, '_',  'H',  'I',  'D',  0x0C, 0x41, 0xD0, 0x05, 0x01, /* EisaId PNP0501 */
        0x08, '_',  'U',  'I',  'D',  0x01,                         /* One */
        0x08, '_',  'C',  'R',  'S',  0x11, 0x10, 0x0A, 0x0D,       /* Buffer (13) */
        0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01, 0x08,             /* IO 0x3F8, 8 ports */
        0x22, 0x10, 0x00,                                           /* IRQNoFlags {4} */
        0x79, 0x00,                                                 /* end tag */
        0x08, 0x5C, '_',  'S',  '5',  '_',                          /* Name (\_S5, */
        0x12, 0x05, 0x02, 0x0A, 0x05, 0x00,                         /* Package {5, 0}) */
    };
    hv_kvm_acpi_tables t;
    const uint8_t *dsdt;

    (void)state;
    build("1node", &t);
    dsdt = buf + (t.dsdt - BASE);
    assert_int_equal(acpi_le(dsdt + 4, 4), 36 + sizeof(aml));
    assert_memory_equal(dsdt + 36, aml, sizeof(aml));
}

static void expect_refused(int code, const char *mentions);

/* Virtio-mmio devices in the DSDT: Device (VIOn) each, _HID "LNRO0005", registers and GSI. */
static void test_dsdt_virtio_devices(void **state)
{
    static const uint8_t vio1[] = {
        0x5B, 0x82, 0x3B, 'V',  'I',  'O',  '1',                   /* Device (VIO1) */
        0x08, '_',  'H',  'I',  'D',  0x0D, 'L',  'N',  'R',  'O', /* Name (_HID, "LNRO */
        '0',  '0',  '0',  '5',  0x00,                              /* 0005") */
        0x08, '_',  'U',  'I',  'D',  0x0A, 0x01,                  /* Name (_UID, 1) */
        0x08, '_',  'C',  'R',  'S',  0x11, 0x1A, 0x0A, 0x17,      /* Buffer (23) */
        0x86, 0x09, 0x00, 0x01, 0x00, 0x10, 0xB0, 0xFE,            /* Memory32Fixed RW base */
        0x00, 0x02, 0x00, 0x00,                                    /* length 0x200 */
        0x89, 0x06, 0x00, 0x01, 0x01, 0x11, 0x00, 0x00, 0x00,      /* Interrupt, level, high: 17 */
        0x79, 0x00,                                                /* end tag */
    };
    /* Scope (\_SB): 172 bytes of contents now, a two-byte PkgLength */
    static const uint8_t scope[] = {0x10, 0x4E, 0x0A, 0x5C, '_', 'S', 'B', '_'};
    hv_kvm_acpi_tables t;
    const uint8_t *dsdt;
    size_t len;
    bool found = false;

    (void)state;
    assert_int_equal(acpi_scenario_init(&s, "1node"), 0);
    s.machine.virtio_count = 2;
    for (uint32_t i = 0; i < 2; i++) {
        s.machine.virtio[i].base = HV_KVM_VIRTIO_MMIO_BASE + 0x1000 * i;
        s.machine.virtio[i].gsi = HV_KVM_VIRTIO_FIRST_GSI + i;
    }
    memset(buf, 0xAA, sizeof(buf));
    assert_hv_ok(hv_kvm_acpi_build(&s.machine, BASE, buf, sizeof(buf), &t));
    check_structure(&t);
    dsdt = buf + (t.dsdt - BASE);
    len = acpi_le(dsdt + 4, 4);
    assert_memory_equal(dsdt + 36, scope, sizeof(scope));
    for (size_t i = 36; i + sizeof(vio1) <= len && !found; i++)
        found = memcmp(dsdt + i, vio1, sizeof(vio1)) == 0;
    assert_true(found);

    /* what the tables refuse: too many, a GSI the IOAPIC lacks or an ISA one, RAM over them */
    s.machine.virtio_count = HV_KVM_VIRTIO_MAX_DEVICES + 1;
    expect_refused(HV_E_RANGE, "9 virtio devices");
    s.machine.virtio_count = 2;
    s.machine.virtio[1].gsi = 5;
    expect_refused(HV_E_INVAL, "GSI of 16 to 23");
    s.machine.virtio[1].gsi = HV_KVM_IOAPIC_PINS;
    expect_refused(HV_E_INVAL, "virtio device 1");
    s.machine.virtio[1].gsi = 17;
    s.machine.virtio[1].base = HV_KVM_VIRTIO_MMIO_BASE + 8;
    expect_refused(HV_E_INVAL, "4 KiB-aligned base below 4 GiB");
    s.machine.virtio[1].base = HV_KVM_VIRTIO_MMIO_BASE + 0x1000;
    s.machine.ranges[0].base = ACPI_GiB(3);
    s.machine.ranges[0].bytes = UINT64_C(0xFEB01000) - ACPI_GiB(3);
    expect_refused(HV_E_INVAL, "covers virtio device 0's registers at 0xfeb00000");
}

static void assert_untouched(void)
{
    for (size_t i = 0; i < sizeof(buf); i++)
        if (buf[i] != 0xAA)
            fail_msg("byte %zu of the buffer was written by a failed call", i);
}

/* Too small a buffer: HV_E_RANGE with the sizes, and not a byte written. */
static void test_buffer_too_small(void **state)
{
    hv_kvm_acpi_tables t;
    size_t need;

    (void)state;
    build("x2apic", &t);
    need = t.bytes;
    for (size_t size = 0; size < need; size += size < 64 ? 1 : 97) {
        memset(buf, 0xAA, sizeof(buf));
        assert_hv_error(hv_kvm_acpi_build(&s.machine, BASE, buf, size, &t), HV_E_RANGE);
        assert_error_mentions("320 vCPUs and 2 vNUMA nodes");
        assert_error_mentions("more than the");
        assert_untouched();
    }
    memset(buf, 0xAA, sizeof(buf));
    assert_hv_ok(hv_kvm_acpi_build(&s.machine, BASE, buf, need, &t));
    assert_int_equal(t.bytes, need);
    assert_int_equal(buf[need], 0xAA);
    /* past the top of the address space */
    memset(buf, 0xAA, sizeof(buf));
    assert_hv_error(hv_kvm_acpi_build(&s.machine, UINT64_MAX - 15, buf, sizeof(buf), &t),
                    HV_E_RANGE);
    assert_untouched();
}

/* The largest machine (64 nodes, 1024 vCPUs, 128 RAM ranges) fits the BIOS area. */
static void test_largest_fits(void **state)
{
    hv_kvm_acpi_machine *m = &s.machine;
    hv_kvm_acpi_tables t;
    size_t n = HV_KVM_MAX_NODES;

    (void)state;
    memset(&s, 0, sizeof(s));
    m->node_count = n;
    m->vcpu_count = HV_KVM_MAX_VCPUS;
    m->range_count = HV_KVM_ACPI_MAX_RANGES;
    m->distances = s.distances;
    for (size_t i = 0; i < n; i++) {
        m->node_vcpus[i] = HV_KVM_MAX_VCPUS / HV_KVM_MAX_NODES;
        for (size_t j = 0; j < n; j++)
            s.distances[i * n + j] = i == j ? 10 : 20 + (int)((i ^ j) % 8);
    }
    for (size_t r = 0; r < HV_KVM_ACPI_MAX_RANGES; r++) {
        m->ranges[r].base = ACPI_GiB(4) + r * ACPI_MiB(16);
        m->ranges[r].bytes = ACPI_MiB(16);
        m->ranges[r].node = (uint32_t)(r / 2);
    }
    memset(buf, 0xAA, sizeof(buf));
    assert_hv_ok(hv_kvm_acpi_build(m, BASE, buf, sizeof(buf), &t));
    assert_true(t.bytes < 64 * 1024);
    check_structure(&t);
    check_madt(&t);
    check_srat(&t);
    check_slit(&t);
}

static void expect_refused(int code, const char *mentions)
{
    hv_kvm_acpi_tables t;

    memset(buf, 0xAA, sizeof(buf));
    assert_hv_error(hv_kvm_acpi_build(&s.machine, BASE, buf, sizeof(buf), &t), code);
    assert_error_mentions(mentions);
    assert_untouched();
}

static void test_bad_distances(void **state)
{
    (void)state;
    assert_int_equal(acpi_scenario_init(&s, "2node"), 0);
    s.distances[0] = 11;
    expect_refused(HV_E_INVAL, "to itself is 11: the SLIT's diagonal must be 10");
    assert_string_equal(hv_error_path(hv_error_last()), "vnuma.distances");
    s.distances[0] = 10;
    s.distances[1] = 10;
    expect_refused(HV_E_INVAL, "from vNUMA node 0 to node 1 is 10");
    s.distances[1] = 255;
    expect_refused(HV_E_INVAL, "must be 11 to 254");
    s.distances[1] = -1;
    expect_refused(HV_E_INVAL, "is -1");
    s.distances[1] = 254;
    s.distances[2] = 11; /* asymmetric distances are allowed */
    memset(buf, 0xAA, sizeof(buf));
    {
        hv_kvm_acpi_tables t;

        assert_hv_ok(hv_kvm_acpi_build(&s.machine, BASE, buf, sizeof(buf), &t));
        assert_memory_equal(buf + (t.slit - BASE) + 44, "\x0a\xfe\x0b\x0a", 4);
    }
    s.machine.distances = NULL;
    expect_refused(HV_E_INVAL, "no distance matrix");
}

static void test_bad_machine(void **state)
{
    hv_kvm_acpi_tables t;

    (void)state;
    assert_int_equal(acpi_scenario_init(&s, "2node"), 0);
    s.machine.node_count = HV_KVM_MAX_NODES + 1;
    expect_refused(HV_E_RANGE, "65 vNUMA nodes");
    s.machine.node_count = 0;
    expect_refused(HV_E_RANGE, "0 vNUMA nodes");

    assert_int_equal(acpi_scenario_init(&s, "2node"), 0);
    s.machine.vcpu_count = HV_KVM_MAX_VCPUS + 1;
    expect_refused(HV_E_RANGE, "1025 vCPUs");
    s.machine.vcpu_count = 5;
    expect_refused(HV_E_INVAL, "the vNUMA nodes have 4 vCPUs, the machine 5");

    assert_int_equal(acpi_scenario_init(&s, "2node"), 0);
    s.machine.ranges[1].node = 2;
    expect_refused(HV_E_INVAL, "belongs to vNUMA node 2, but there are 2 nodes");
    s.machine.ranges[1].node = 0;
    expect_refused(HV_E_INVAL, "vNUMA node 1 has no RAM range");
    s.machine.ranges[1].node = 1;
    s.machine.ranges[1].base = ACPI_MiB(512);
    expect_refused(HV_E_INVAL, "RAM ranges 0 and 1 overlap");
    s.machine.ranges[1].base = ACPI_GiB(3);
    expect_refused(HV_E_INVAL, "covers the IOAPIC at 0xfec00000");
    s.machine.ranges[1].base = UINT64_C(0xFEE00000);
    s.machine.ranges[1].bytes = ACPI_MiB(2);
    expect_refused(HV_E_INVAL, "covers the local APICs at 0xfee00000");
    s.machine.ranges[1].base = s.machine.mmio_base - ACPI_MiB(2);
    s.machine.ranges[1].bytes = ACPI_MiB(4);
    expect_refused(HV_E_INVAL, "overlaps the MMIO window");
    s.machine.ranges[1].bytes = 0;
    expect_refused(HV_E_INVAL, "is empty");
    s.machine.range_count = HV_KVM_ACPI_MAX_RANGES + 1;
    expect_refused(HV_E_RANGE, "129 RAM ranges");

    /* the RSDP must be 16-byte aligned; NULL arguments */
    memset(buf, 0xAA, sizeof(buf));
    assert_hv_error(hv_kvm_acpi_build(&s.machine, BASE + 8, buf, sizeof(buf), &t), HV_E_INVAL);
    assert_error_mentions("16-byte aligned");
    assert_hv_error(hv_kvm_acpi_build(NULL, BASE, buf, sizeof(buf), &t), HV_E_INVAL);
    assert_hv_error(hv_kvm_acpi_build(&s.machine, BASE, NULL, sizeof(buf), &t), HV_E_INVAL);
    assert_hv_error(hv_kvm_acpi_build(&s.machine, BASE, buf, sizeof(buf), NULL), HV_E_INVAL);
    assert_untouched();
}

/*
 * RAM ranges in no particular order, a node with two (a hole below 4 GiB)
 * and a node without vCPUs: the SRAT still goes node by node.
 */
static void test_ranges_in_any_order(void **state)
{
    hv_kvm_acpi_machine *m = &s.machine;
    hv_kvm_acpi_tables t;
    const hv_kvm_acpi_range ranges[] = {
        {ACPI_GiB(2), ACPI_MiB(512), 2},
        {0, ACPI_GiB(1), 0},
        {ACPI_GiB(1), ACPI_GiB(1), 1},
        {ACPI_GiB(5), ACPI_MiB(512), 2},
    };

    (void)state;
    memset(&s, 0, sizeof(s));
    m->node_count = 3;
    m->node_vcpus[0] = 2;
    m->node_vcpus[2] = 2;
    m->vcpu_count = 4;
    m->range_count = 4;
    memcpy(m->ranges, ranges, sizeof(ranges));
    m->mmio_base = ACPI_GiB(6);
    m->mmio_bytes = ACPI_GiB(1);
    m->distances = s.distances;
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++)
            s.distances[i * 3 + j] = i == j ? 10 : 20;
    memset(buf, 0xAA, sizeof(buf));
    assert_hv_ok(hv_kvm_acpi_build(m, BASE, buf, sizeof(buf), &t));
    check_structure(&t);
    check_madt(&t);
    check_srat(&t);
    check_slit(&t);
    /* node 0's vCPUs and RAM, node 1's RAM, node 2's vCPUs and two ranges */
    assert_int_equal(acpi_le(buf + (t.srat - BASE) + 4, 4), 48 + 4 * 16 + 4 * 40);
    assert_true(acpi_le(buf + (t.srat - BASE) + 48 + 32 + 8, 8) == 0);
    assert_true(acpi_le(buf + (t.srat - BASE) + 48 + 72 + 8, 8) == ACPI_GiB(1));
    assert_true(acpi_le(buf + (t.srat - BASE) + 48 + 144 + 8, 8) == ACPI_GiB(2));
    assert_true(acpi_le(buf + (t.srat - BASE) + 48 + 184 + 8, 8) == ACPI_GiB(5));
}

/* A node across the 32-bit hole is two RAM ranges of one proximity domain. */
static void test_from_a_layout_with_the_hole(void **state)
{
    hv_kvm_node_request req[2] = {{ACPI_GiB(2), 1, 4096, -1}, {ACPI_GiB(2), 1, 4096, -1}};
    static const int distances[4] = {10, 20, 20, 10};
    hv_kvm_layout layout;
    hv_kvm_acpi_machine m;
    hv_kvm_acpi_tables t;

    (void)state;
    assert_hv_ok(hv_kvm_layout_init_with_hole(&layout, req, 2, ACPI_GiB(3)));
    assert_hv_ok(hv_kvm_acpi_machine_from_layout(&m, &layout, distances, NULL));
    assert_int_equal(m.range_count, 3);
    assert_true(m.ranges[1].base == ACPI_GiB(2) && m.ranges[1].bytes == ACPI_GiB(1));
    assert_true(m.ranges[2].base == ACPI_GiB(4) && m.ranges[2].bytes == ACPI_GiB(1));
    assert_true(m.ranges[1].node == 1 && m.ranges[2].node == 1);
    memset(buf, 0xAA, sizeof(buf));
    assert_hv_ok(hv_kvm_acpi_build(&m, BASE, buf, sizeof(buf), &t));
    check_structure(&t);
}

static void test_from_layout(void **state)
{
    hv_kvm_layout empty;

    (void)state;
    assert_int_equal(acpi_scenario_init(&s, "2node"), 0);
    assert_int_equal(s.machine.node_count, 2);
    assert_int_equal(s.machine.vcpu_count, 4);
    assert_int_equal(s.machine.node_vcpus[0], 2);
    assert_int_equal(s.machine.node_vcpus[1], 2);
    assert_true(s.machine.ranges[1].base == s.layout.nodes[1].base);
    assert_true(s.machine.ranges[1].bytes == s.layout.nodes[1].bytes);
    assert_true(s.machine.mmio_base == s.layout.mmio_base);
    assert_true(s.machine.distances == s.distances);
    memset(&empty, 0, sizeof(empty));
    assert_hv_error(hv_kvm_acpi_machine_from_layout(&s.machine, &empty, s.distances, NULL),
                    HV_E_INVAL);
    assert_error_mentions("hv_kvm_layout_init");
    assert_hv_error(hv_kvm_acpi_machine_from_layout(NULL, &s.layout, s.distances, NULL),
                    HV_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_node),
        cmocka_unit_test(test_two_nodes),
        cmocka_unit_test(test_sixteen_nodes),
        cmocka_unit_test(test_x2apic),
        cmocka_unit_test(test_apic_ids),
        cmocka_unit_test(test_dsdt_aml),
        cmocka_unit_test(test_dsdt_virtio_devices),
        cmocka_unit_test(test_from_a_layout_with_the_hole),
        cmocka_unit_test(test_buffer_too_small),
        cmocka_unit_test(test_bad_distances),
        cmocka_unit_test(test_largest_fits),
        cmocka_unit_test(test_bad_machine),
        cmocka_unit_test(test_ranges_in_any_order),
        cmocka_unit_test(test_from_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
