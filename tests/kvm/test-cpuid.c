/*
 * tests/kvm/test-cpuid.c - the CPUID table of one vCPU (lib/kvm/cpuid.c) on
 * synthetic KVM_GET_SUPPORTED_CPUID tables shaped like an Intel host (newer
 * KVM: 0xB and 0x1F zeroed; older KVM: the host's 0xB subleaves, no 0x1F), an
 * old Intel host without 0xB, an AMD Zen host (TOPOEXT, 0x8000001D/1E) and an
 * old AMD host without 0xB or TOPOEXT. For 1x1x1, 2 sockets x 2 cores x 1
 * thread, 1x3x2 and 2x3x2 (APIC ids with gaps), every vCPU's table is read
 * back the way Linux's topology code reads it (topology_common.c,
 * topology_ext.c, topology_amd.c, cacheinfo.c): the APIC id must be
 * hv_kvm_apic_id()'s and the package, core and thread the vCPU's; then the
 * exact leaf values, what is copied unchanged, and every refusal.
 */
#include "hv-test.h"
#include "kvm/cpuid.h"

#define MAX_ENTRIES 64

/* ---- synthetic host tables ----------------------------------------------------- */

#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX

typedef struct host_table {
    const char *name;
    struct kvm_cpuid_entry2 e[MAX_ENTRIES];
    uint32_t n;
} host_table;

static void add(host_table *h, uint32_t function, uint32_t index, uint32_t flags, uint32_t eax,
                uint32_t ebx, uint32_t ecx, uint32_t edx)
{
    struct kvm_cpuid_entry2 *e = &h->e[h->n++];

    assert_true(h->n <= MAX_ENTRIES);
    memset(e, 0, sizeof(*e));
    e->function = function;
    e->index = index;
    e->flags = flags;
    e->eax = eax;
    e->ebx = ebx;
    e->ecx = ecx;
    e->edx = edx;
}

/* Leaf 0 or 0x40000000: the maximum leaf and a 12-byte signature (EBX, EDX, ECX for leaf 0). */
static void add_vendor(host_table *h, uint32_t function, uint32_t max, const char *sig)
{
    uint32_t r[3];

    memcpy(r, sig, 12);
    if (function == 0)
        add(h, 0, 0, 0, max, r[0], r[2], r[1]);
    else
        add(h, function, 0, 0, max, r[0], r[1], r[2]);
}

static void add_kvm_leaves(host_table *h)
{
    add_vendor(h, 0x40000000, 0x40000001, "KVMKVMKVM\0\0\0");
    add(h, 0x40000001, 0, 0, 0x01007AFB, 0, 0, 0);
}

/* Intel leaf 4 as the host has it: L1d, L1i, L2 per core of 2 threads, L3 per 64; 32 cores. */
static void add_intel_caches(host_table *h)
{
    add(h, 4, 0, SIG, 0x7C004121, 0x01C0003F, 0x3F, 0);
    add(h, 4, 1, SIG, 0x7C004122, 0x01C0003F, 0x3F, 0);
    add(h, 4, 2, SIG, 0x7C004143, 0x03C0003F, 0x3FF, 0);
    add(h, 4, 3, SIG, 0x7C0FC163, 0x03C0003F, 0xBFFF, 4);
    add(h, 4, 4, SIG, 0, 0, 0, 0);
}

/* Leaf 1 as KVM reports it: the host's EBX (APIC id 0x3F, 64 logical, CLFLUSH 8), no HTT. */
#define LEAF1_EBX UINT32_C(0x3F400800)

/* A Xeon with newer KVM: max leaf 0x1F, 0xB and 0x1F as one zeroed subleaf. */
static void intel_host(host_table *h)
{
    memset(h, 0, sizeof(*h));
    h->name = "Intel";
    add_vendor(h, 0, 0x1F, "GenuineIntel");
    add(h, 1, 0, 0, 0x000606A6, LEAF1_EBX, 0x76FA3203, 0x0F8BFBFF);
    add_intel_caches(h);
    add(h, 7, 0, SIG, 0, 0xF3BFA7EB, 0x1C405F4E, 0xBC000410);
    add(h, 0xB, 0, SIG, 0, 0, 0, 0x3F);
    add(h, 0xD, 0, SIG, 0x2E7, 0x980, 0xA88, 0);
    add(h, 0xD, 1, SIG, 0xF, 0x980, 0, 0);
    add(h, 0x1F, 0, SIG, 0, 0, 0, 0x3F);
    add_kvm_leaves(h);
    add(h, 0x80000000, 0, 0, 0x80000008, 0, 0, 0);
    add(h, 0x80000001, 0, 0, 0, 0, 0x121, 0x2C100800);
    add(h, 0x80000008, 0, 0, 0x3030, 0, 0, 0);
}

/* Older KVM on an older Xeon: max leaf 0x16, the host's own 0xB subleaves, no 0x1F. */
static void intel_old_kvm_host(host_table *h)
{
    memset(h, 0, sizeof(*h));
    h->name = "Intel, older KVM";
    add_vendor(h, 0, 0x16, "GenuineIntel");
    add(h, 1, 0, 0, 0x00050654, LEAF1_EBX, 0x76FA3203, 0x0F8BFBFF);
    add_intel_caches(h);
    add(h, 0xB, 0, SIG, 1, 2, 0x100, 0x3F);
    add(h, 0xB, 1, SIG, 6, 56, 0x201, 0x3F);
    add(h, 0xB, 2, SIG, 0, 0, 2, 0x3F);
    add_kvm_leaves(h);
    add(h, 0x80000000, 0, 0, 0x80000008, 0, 0, 0);
    add(h, 0x80000008, 0, 0, 0x3028, 0, 0, 0);
}

/* An Intel host without 0xB (max leaf 0xA): Linux reads leaf 1 and leaf 4 only. */
static void intel_legacy_host(host_table *h)
{
    memset(h, 0, sizeof(*h));
    h->name = "Intel without 0xB";
    add_vendor(h, 0, 0xA, "GenuineIntel");
    add(h, 1, 0, 0, 0x0001067A, LEAF1_EBX, 0x8C0BE3FD, 0x0F8BFBFF);
    add_intel_caches(h);
    add_kvm_leaves(h);
    add(h, 0x80000000, 0, 0, 0x80000008, 0, 0, 0);
    add(h, 0x80000008, 0, 0, 0x3026, 0, 0, 0);
}

#define AMD_TOPOEXT    (UINT32_C(1) << 22)
#define AMD_CMP_LEGACY (UINT32_C(1) << 1)

/* An EPYC (family 0x17) with TOPOEXT: 0xB zeroed, 0x8000001D caches, 0x8000001E. */
static void amd_host(host_table *h)
{
    memset(h, 0, sizeof(*h));
    h->name = "AMD";
    add_vendor(h, 0, 0x10, "AuthenticAMD");
    add(h, 1, 0, 0, 0x00830F10, LEAF1_EBX, 0x76F83203, 0x078BFBFF);
    add(h, 4, 0, SIG, 0, 0, 0, 0); /* AMD has no leaf 4: the null type */
    add(h, 7, 0, SIG, 0, 0x219C91A9, 0x00400004, 0);
    add(h, 0xB, 0, SIG, 0, 0, 0, 0x3F);
    add(h, 0xD, 0, SIG, 0x207, 0x340, 0x380, 0);
    add_kvm_leaves(h);
    add(h, 0x80000000, 0, 0, 0x8000001F, 0, 0, 0);
    add(h, 0x80000001, 0, 0, 0x00830F10, 0, 0x0040F3F3 | AMD_CMP_LEGACY | AMD_TOPOEXT, 0x2FD3FBFF);
    add(h, 0x80000008, 0, 0, 0x3030, 0x0100D205, 0x0000703F, 0);
    add(h, 0x8000001D, 0, SIG, 0x00004121, 0x01C0003F, 0x3F, 0);
    add(h, 0x8000001D, 1, SIG, 0x00004122, 0x01C0003F, 0x3F, 0);
    add(h, 0x8000001D, 2, SIG, 0x00004143, 0x01C0003F, 0x3FF, 2);
    add(h, 0x8000001D, 3, SIG, 0x0003C163, 0x03C0003F, 0x3FFF, 1);
    add(h, 0x8000001D, 4, SIG, 0, 0, 0, 0);
    add(h, 0x8000001E, 0, 0, 0x3F, 0x0000011F, 0x00000003, 0);
}

/* An old Opteron: max leaf 6 (no 0xB), no TOPOEXT, no 0x8000001E: 0x80000008 alone. */
static void amd_old_host(host_table *h)
{
    memset(h, 0, sizeof(*h));
    h->name = "AMD without 0xB and TOPOEXT";
    add_vendor(h, 0, 0x6, "AuthenticAMD");
    add(h, 1, 0, 0, 0x00100F42, LEAF1_EBX, 0x00802009, 0x178BFBFF);
    add_kvm_leaves(h);
    add(h, 0x80000000, 0, 0, 0x8000001A, 0, 0, 0);
    add(h, 0x80000001, 0, 0, 0x00100F42, 0, 0x37FF | AMD_CMP_LEGACY, 0xEFD3FBFF);
    add(h, 0x80000008, 0, 0, 0x3030, 0, 0x3003, 0);
}

typedef void (*host_fn)(host_table *h);
static const host_fn hosts[] = {intel_host, intel_old_kvm_host, intel_legacy_host, amd_host,
                                amd_old_host};
#define HOST_COUNT (sizeof(hosts) / sizeof(hosts[0]))

/* ---- the guest's view ------------------------------------------------------------ */

typedef struct guest_cpu {
    const struct kvm_cpuid_entry2 *e;
    uint32_t n;
} guest_cpu;

typedef struct regs {
    uint32_t eax, ebx, ecx, edx;
} regs;

/* CPUID as KVM answers it from a vCPU's table (0 where no entry matches). */
static regs cpuid(const guest_cpu *cpu, uint32_t function, uint32_t index)
{
    regs r = {0, 0, 0, 0};

    for (uint32_t i = 0; i < cpu->n; i++) {
        const struct kvm_cpuid_entry2 *e = &cpu->e[i];

        if (e->function != function || ((e->flags & SIG) && e->index != index))
            continue;
        r.eax = e->eax;
        r.ebx = e->ebx;
        r.ecx = e->ecx;
        r.edx = e->edx;
        break;
    }
    return r;
}

static uint32_t count_order(uint32_t n)
{
    uint32_t order = 0;

    while ((UINT64_C(1) << order) < n)
        order++;
    return order;
}

/* Linux's topology domains (enum x86_topology_domains). */
enum { SMT_DOM, CORE_DOM, MODULE_DOM, TILE_DOM, DIE_DOM, DIEGRP_DOM, PKG_DOM, MAX_DOM };

typedef struct linux_view {
    uint32_t shift[MAX_DOM], ncpus[MAX_DOM];
    uint32_t initial_apicid;
    uint32_t nproc_shift; /* leaf 1 EBX[23:16], as an order */
    bool id_mismatch;     /* a 0xB/0x1F subleaf with another x2APIC id than subleaf 0 */
    bool unknown_type;
    const char *source; /* which leaf gave the topology */
    uint32_t amd_node_id;
    uint32_t pkg, core, thread; /* from the APIC id, as topo_set_ids() has them */
} linux_view;

static void set_dom(linux_view *v, unsigned int dom, uint32_t shift, uint32_t ncpus)
{
    v->shift[dom] = shift;
    v->ncpus[dom] = ncpus;
    for (dom++; dom < MAX_DOM; dom++) {
        v->shift[dom] = v->shift[dom - 1];
        v->ncpus[dom] = v->ncpus[dom - 1];
    }
}

/* topology_ext.c: parse_topology_leaf() */
static bool parse_leaf(const guest_cpu *cpu, linux_view *v, uint32_t leaf)
{
    static const unsigned int map_0b_1f[7] = {0,        SMT_DOM, CORE_DOM,  MODULE_DOM,
                                              TILE_DOM, DIE_DOM, DIEGRP_DOM};
    static const unsigned int map_80000026[5] = {0, SMT_DOM, CORE_DOM, TILE_DOM, DIE_DOM};
    uint32_t maxtype = leaf == 0xB ? 3 : leaf == 0x1F ? 7 : 5;
    uint32_t subleaf;

    for (subleaf = 0;; subleaf++) {
        regs r = cpuid(cpu, leaf, subleaf);
        uint32_t type = (r.ecx >> 8) & 0xFF;
        unsigned int dom;

        if ((r.ebx & 0xFFFF) == 0 || type == 0)
            break;
        if (type >= maxtype) {
            v->unknown_type = true;
            break;
        }
        dom = leaf == 0x80000026 ? map_80000026[type] : map_0b_1f[type];
        if (dom == SMT_DOM)
            v->initial_apicid = r.edx;
        else if (v->initial_apicid != r.edx)
            v->id_mismatch = true;
        set_dom(v, dom, r.eax & 0x1F, r.ebx & 0xFFFF);
    }
    return subleaf > 0;
}

static bool parse_ext(const guest_cpu *cpu, linux_view *v, uint32_t level, uint32_t ext_level)
{
    if (level >= 0x1F && parse_leaf(cpu, v, 0x1F))
        v->source = "0x1F";
    else if (ext_level >= 0x80000026 && parse_leaf(cpu, v, 0x80000026))
        v->source = "0x80000026";
    else if (level >= 0xB && parse_leaf(cpu, v, 0xB))
        v->source = "0xB";
    else
        return false;
    return true;
}

/* topology_common.c: parse_legacy() */
static void parse_legacy(const guest_cpu *cpu, linux_view *v, uint32_t level)
{
    uint32_t cores = 1, core_shift, smt_shift = 0;

    if (level >= 4) {
        uint32_t eax = cpuid(cpu, 4, 0).eax;

        if (eax & 0x1F)
            cores = (eax >> 26) + 1;
    }
    core_shift = count_order(cores);
    if (cpuid(cpu, 1, 0).edx & (UINT32_C(1) << 28)) {
        assert_true(v->nproc_shift >= core_shift);
        smt_shift = v->nproc_shift - core_shift;
        core_shift += smt_shift;
        cores <<= smt_shift;
    }
    set_dom(v, SMT_DOM, smt_shift, UINT32_C(1) << smt_shift);
    set_dom(v, CORE_DOM, core_shift, cores);
    v->source = "leaf 1 and leaf 4";
}

/* topology_amd.c: cpu_parse_topology_amd() (family 0x17 and later) */
static void parse_amd(const guest_cpu *cpu, linux_view *v, uint32_t level, uint32_t ext_level)
{
    bool topoext = ext_level >= 0x80000001 && (cpuid(cpu, 0x80000001, 0).ecx & AMD_TOPOEXT);
    bool has_topoext = topoext && parse_ext(cpu, v, level, ext_level);
    regs r;

    if (!has_topoext) {
        uint32_t ecx, sft;

        if (ext_level < 0x80000008)
            return;
        ecx = cpuid(cpu, 0x80000008, 0).ecx;
        sft = (ecx >> 12) & 0xF;
        if (!sft)
            sft = count_order((ecx & 0xFF) + 1);
        v->shift[SMT_DOM] = 0;
        v->ncpus[SMT_DOM] = 1;
        set_dom(v, CORE_DOM, sft, (ecx & 0xFF) + 1);
        v->source = "0x80000008";
    }
    if (!topoext)
        return;
    r = cpuid(cpu, 0x8000001E, 0);
    v->initial_apicid = r.eax;
    if (!has_topoext) {
        uint32_t nthreads = ((r.ebx >> 8) & 0xFF) + 1;

        v->shift[SMT_DOM] = count_order(nthreads);
        v->ncpus[SMT_DOM] = nthreads;
    }
    v->amd_node_id = r.ecx & 0xFF;
}

static bool vendor_is(const guest_cpu *cpu, const char *name)
{
    regs r = cpuid(cpu, 0, 0);
    char vendor[12];

    memcpy(vendor, &r.ebx, 4);
    memcpy(vendor + 4, &r.edx, 4);
    memcpy(vendor + 8, &r.ecx, 4);
    return memcmp(vendor, name, 12) == 0;
}

/* parse_topology() and topo_set_ids(), with `apicid` the local APIC's id (KVM's vcpu_id). */
static linux_view linux_reads(const guest_cpu *cpu, uint32_t apicid)
{
    linux_view v;
    uint32_t level = cpuid(cpu, 0, 0).eax;
    uint32_t ext_level = cpuid(cpu, 0x80000000, 0).eax;
    regs r1 = cpuid(cpu, 1, 0);
    uint32_t pkg_mask;

    memset(&v, 0, sizeof(v));
    if (ext_level < 0x80000000)
        ext_level = 0;
    set_dom(&v, SMT_DOM, 0, 1);
    set_dom(&v, CORE_DOM, 0, 1);
    v.source = "none";
    v.initial_apicid = r1.ebx >> 24;
    v.nproc_shift = count_order((r1.ebx >> 16) & 0xFF);
    if (vendor_is(cpu, "AuthenticAMD"))
        parse_amd(cpu, &v, level, ext_level);
    else if (!parse_ext(cpu, &v, level, ext_level))
        parse_legacy(cpu, &v, level);
    pkg_mask = (UINT32_C(1) << v.shift[PKG_DOM]) - 1;
    v.pkg = apicid >> v.shift[PKG_DOM];
    v.core = (apicid & pkg_mask) >> v.shift[SMT_DOM];
    v.thread = apicid & ((UINT32_C(1) << v.shift[SMT_DOM]) - 1);
    return v;
}

/* ---- building a vCPU's table ------------------------------------------------------ */

typedef struct topo {
    uint32_t sockets, cores, threads;
} topo;

static const topo topologies[] = {{1, 1, 1}, {2, 2, 1}, {1, 3, 2}, {2, 3, 2}};
#define TOPO_COUNT (sizeof(topologies) / sizeof(topologies[0]))

static hv_kvm_cpu_topology kvm_topology(const topo *t)
{
    hv_kvm_cpu_topology k = {.threads_per_core = t->threads, .cores_per_socket = t->cores};

    return k;
}

static struct kvm_cpuid_entry2 out[MAX_ENTRIES + HV_KVM_CPUID_EXTRA];

static guest_cpu build(const host_table *h, const hv_kvm_cpu_topology *k, uint32_t vcpu,
                       uint32_t node)
{
    guest_cpu cpu = {out, 0};

    memset(out, 0xAA, sizeof(out));
    assert_hv_ok(hv_kvm_cpuid_for_vcpu(h->e, h->n, k, vcpu, node, out, sizeof(out) / sizeof(out[0]),
                                       &cpu.n));
    assert_true(cpu.n <= h->n + HV_KVM_CPUID_EXTRA);
    return cpu;
}

/* Each (function, index) once: KVM takes the first match, so a duplicate would hide. */
static void check_unique(const guest_cpu *cpu)
{
    for (uint32_t i = 0; i < cpu->n; i++)
        for (uint32_t j = i + 1; j < cpu->n; j++)
            if (cpu->e[i].function == cpu->e[j].function)
                assert_true((cpu->e[i].flags & SIG) && (cpu->e[j].flags & SIG) &&
                            cpu->e[i].index != cpu->e[j].index);
}

/* ---- Linux reads the plan's topology -------------------------------------------- */

static void check_vcpu(const host_table *h, const topo *t, uint32_t vcpu)
{
    hv_kvm_cpu_topology k = kvm_topology(t);
    guest_cpu cpu = build(h, &k, vcpu, vcpu % 2);
    uint32_t apic = hv_kvm_apic_id(&k, vcpu);
    linux_view v = linux_reads(&cpu, apic);
    uint32_t socket = vcpu / (t->threads * t->cores);
    uint32_t core = (vcpu / t->threads) % t->cores;
    uint32_t thread = vcpu % t->threads;
    bool amd_old = cpuid(&cpu, 0, 0).eax < 0xB && vendor_is(&cpu, "AuthenticAMD");

    check_unique(&cpu);
    assert_true(cpuid(&cpu, 1, 0).ecx & (UINT32_C(1) << 31)); /* hypervisor */
    if (v.initial_apicid != apic || v.pkg != socket || v.id_mismatch || v.unknown_type ||
        (!amd_old && (v.core != core || v.thread != thread)))
        fail_msg("%s, %ux%ux%u, vCPU %u (APIC id %u): Linux reads APIC id %u from %s, package "
                 "%u core %u thread %u; want package %u core %u thread %u%s%s",
                 h->name, t->sockets, t->cores, t->threads, vcpu, apic, v.initial_apicid, v.source,
                 v.pkg, v.core, v.thread, socket, core, thread,
                 v.id_mismatch ? " (x2APIC ids differ between subleaves)" : "",
                 v.unknown_type ? " (an unknown level type)" : "");
    if (amd_old) {
        /* 0x80000008 alone tells Linux the logical processors of a package, not the threads */
        assert_int_equal(v.ncpus[PKG_DOM], t->threads * t->cores);
        assert_int_equal(v.core, apic & ((1u << v.shift[PKG_DOM]) - 1));
        return;
    }
    assert_int_equal(v.shift[SMT_DOM], hv_kvm_topology_thread_bits(&k));
    assert_int_equal(v.shift[PKG_DOM],
                     hv_kvm_topology_thread_bits(&k) + hv_kvm_topology_core_bits(&k));
    if (strcmp(v.source, "leaf 1 and leaf 4") != 0) {
        /* the counts of 0xB/0x1F (legacy leaves only give the power-of-two spans) */
        assert_int_equal(v.ncpus[SMT_DOM], t->threads);
        assert_int_equal(v.ncpus[PKG_DOM], t->threads * t->cores);
    }
    if (vendor_is(&cpu, "AuthenticAMD")) {
        /* kernels before 6.9 took the core id and the threads from 0x8000001E EBX */
        regs r = cpuid(&cpu, 0x8000001E, 0);

        assert_int_equal(r.ebx & 0xFF, core);
        assert_int_equal(((r.ebx >> 8) & 0xFF) + 1, t->threads);
        assert_int_equal(v.amd_node_id, vcpu % 2);
    }
}

static void test_linux_reads_the_topology(void **state)
{
    (void)state;
    for (size_t hi = 0; hi < HOST_COUNT; hi++) {
        host_table h;

        hosts[hi](&h);
        for (size_t ti = 0; ti < TOPO_COUNT; ti++) {
            const topo *t = &topologies[ti];

            for (uint32_t v = 0; v < t->sockets * t->cores * t->threads; v++)
                check_vcpu(&h, t, v);
        }
    }
}

/* Which leaf Linux takes the topology from, host by host. */
static void test_linux_source(void **state)
{
    static const char *const want[HOST_COUNT] = {"0x1F", "0xB", "leaf 1 and leaf 4", "0xB",
                                                 "0x80000008"};
    hv_kvm_cpu_topology k = {.threads_per_core = 2, .cores_per_socket = 3};

    (void)state;
    for (size_t hi = 0; hi < HOST_COUNT; hi++) {
        host_table h;
        guest_cpu cpu;

        hosts[hi](&h);
        cpu = build(&h, &k, 5, 0);
        assert_string_equal(linux_reads(&cpu, 5).source, want[hi]);
    }
}

/*
 * The caches as Linux's cacheinfo groups them: leaf 4 (Intel) and 0x8000001D
 * (AMD) give the sharing count; CPUs share a cache when their APIC ids agree
 * above its order (Intel) or lie in the same aligned block (AMD's L3). L1 and
 * L2 go with the core, L3 with the package.
 */
static void test_cache_sharing(void **state)
{
    static const struct {
        host_fn host;
        uint32_t leaf;
    } cases[] = {{intel_host, 4}, {amd_host, 0x8000001D}};
    const topo *t = &topologies[3]; /* 2x3x2: ids 0-5 and 8-13 */
    hv_kvm_cpu_topology k = kvm_topology(t);
    uint32_t vcpus = t->sockets * t->cores * t->threads;

    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        host_table h;

        cases[c].host(&h);
        for (uint32_t sub = 0; sub < 4; sub++) {
            uint32_t id[16], level = 0;

            for (uint32_t v = 0; v < vcpus; v++) {
                guest_cpu cpu = build(&h, &k, v, 0);
                regs r = cpuid(&cpu, cases[c].leaf, sub);
                uint32_t sharing = ((r.eax >> 14) & 0xFFF) + 1;

                level = (r.eax >> 5) & 7;
                assert_true(r.eax & 0x1F);
                id[v] = hv_kvm_apic_id(&k, v) / sharing;
                assert_int_equal(id[v], hv_kvm_apic_id(&k, v) >> count_order(sharing));
                if (cases[c].leaf == 4) /* cores per package, addressable: 4 */
                    assert_int_equal(r.eax >> 26, 3);
                else
                    assert_int_equal(r.eax >> 26, 0);
            }
            for (uint32_t a = 0; a < vcpus; a++)
                for (uint32_t b = 0; b < vcpus; b++) {
                    bool same_socket = a / 6 == b / 6;
                    bool same_core = a / 2 == b / 2;

                    assert_int_equal(id[a] == id[b], level <= 2 ? same_core : same_socket);
                }
        }
        /* the null cache type is left as it is */
        {
            guest_cpu cpu = build(&h, &k, 1, 0);

            assert_int_equal(cpuid(&cpu, cases[c].leaf, 4).eax, 0);
        }
    }
}

/* ---- exact values ------------------------------------------------------------------ */

static const struct kvm_cpuid_entry2 *entry(const guest_cpu *cpu, uint32_t function, uint32_t index)
{
    for (uint32_t i = 0; i < cpu->n; i++)
        if (cpu->e[i].function == function && cpu->e[i].index == index)
            return &cpu->e[i];
    return NULL;
}

static void check_topology_leaf(const guest_cpu *cpu, uint32_t leaf, uint32_t apic,
                                uint32_t thread_bits, uint32_t threads, uint32_t pkg_bits,
                                uint32_t logical)
{
    const uint32_t want[3][4] = {
        {thread_bits, threads, 0x100, apic},
        {pkg_bits, logical, 0x201, apic},
        {0, 0, 2, apic},
    };
    uint32_t seen = 0;

    for (uint32_t i = 0; i < cpu->n; i++)
        seen += cpu->e[i].function == leaf;
    assert_int_equal(seen, 3);
    for (uint32_t s = 0; s < 3; s++) {
        const struct kvm_cpuid_entry2 *e = entry(cpu, leaf, s);

        assert_non_null(e);
        assert_int_equal(e->flags, SIG);
        assert_int_equal(e->eax, want[s][0]);
        assert_int_equal(e->ebx, want[s][1]);
        assert_int_equal(e->ecx, want[s][2]);
        assert_int_equal(e->edx, want[s][3]);
    }
}

static void test_intel_values(void **state)
{
    hv_kvm_cpu_topology k = {.threads_per_core = 2, .cores_per_socket = 3};
    host_table h;
    guest_cpu cpu;
    const struct kvm_cpuid_entry2 *e;

    (void)state;
    intel_host(&h);
    cpu = build(&h, &k, 7, 1); /* socket 1, core 0, thread 1: APIC id 9 */
    assert_int_equal(hv_kvm_apic_id(&k, 7), 9);
    e = entry(&cpu, 1, 0);
    assert_non_null(e);
    assert_int_equal(e->ebx, (LEAF1_EBX & 0xFFFF) | 8u << 16 | 9u << 24);
    assert_true(e->edx & (1u << 28)); /* HTT */
    assert_true(e->ecx & (1u << 31)); /* hypervisor */
    assert_true(e->ecx & (1u << 21)); /* x2APIC, as KVM reported it */
    assert_int_equal(e->eax, 0x000606A6);
    check_topology_leaf(&cpu, 0xB, 9, 1, 2, 3, 6);
    check_topology_leaf(&cpu, 0x1F, 9, 1, 2, 3, 6);
    /* Intel: 0x80000001 and 0x80000008 as KVM has them */
    assert_int_equal(entry(&cpu, 0x80000001, 0)->ecx, 0x121);
    assert_int_equal(entry(&cpu, 0x80000008, 0)->ecx, 0);

    /* one logical processor per package: no HTT, span 1 */
    k.threads_per_core = 1;
    k.cores_per_socket = 1;
    cpu = build(&h, &k, 3, 0);
    e = entry(&cpu, 1, 0);
    assert_int_equal(e->ebx, (LEAF1_EBX & 0xFFFF) | 1u << 16 | 3u << 24);
    assert_false(e->edx & (1u << 28));
    check_topology_leaf(&cpu, 0xB, 3, 0, 1, 0, 1);
    assert_int_equal(entry(&cpu, 4, 3)->eax >> 26, 0);
}

static void test_amd_values(void **state)
{
    hv_kvm_cpu_topology k = {.threads_per_core = 2, .cores_per_socket = 3};
    host_table h;
    guest_cpu cpu;
    const struct kvm_cpuid_entry2 *e;

    (void)state;
    amd_host(&h);
    cpu = build(&h, &k, 11, 5); /* socket 1, core 2, thread 1: APIC id 13 */
    assert_int_equal(hv_kvm_apic_id(&k, 11), 13);
    check_topology_leaf(&cpu, 0xB, 13, 1, 2, 3, 6);
    assert_null(entry(&cpu, 0x1F, 0));
    e = entry(&cpu, 0x8000001E, 0);
    assert_int_equal(e->eax, 13);
    assert_int_equal(e->ebx, 2u | 1u << 8); /* core 2, two threads */
    assert_int_equal(e->ecx, 5);            /* node 5, one node per processor */
    assert_int_equal(e->edx, 0);
    e = entry(&cpu, 0x80000008, 0);
    assert_int_equal(e->ecx, 5u | 3u << 12); /* NC = 6 - 1, ApicIdCoreIdSize = 3 */
    assert_int_equal(e->eax, 0x3030);
    assert_int_equal(e->ebx, 0x0100D205);
    e = entry(&cpu, 0x80000001, 0);
    assert_true(e->ecx & AMD_CMP_LEGACY);
    assert_true(e->ecx & AMD_TOPOEXT);
    e = entry(&cpu, 1, 0);
    assert_int_equal(e->ebx >> 16, 13u << 8 | 8u);
    assert_true(e->edx & (1u << 28));

    /* 1x1x1: CmpLegacy and HTT cleared, NC 0 */
    k.threads_per_core = 1;
    k.cores_per_socket = 1;
    cpu = build(&h, &k, 0, 0);
    assert_false(entry(&cpu, 0x80000001, 0)->ecx & AMD_CMP_LEGACY);
    assert_false(entry(&cpu, 1, 0)->edx & (1u << 28));
    assert_int_equal(entry(&cpu, 0x80000008, 0)->ecx, 0);
    e = entry(&cpu, 0x8000001E, 0);
    assert_int_equal(e->eax, 0);
    assert_int_equal(e->ebx, 0);
    assert_int_equal(e->ecx, 0);
}

/* Everything but the topology leaves is KVM's, byte for byte, in KVM's order. */
static void test_copied_unchanged(void **state)
{
    static const uint32_t changed[] = {1,          4,          0xB,        0x1F,      0x80000001,
                                       0x80000008, 0x8000001D, 0x8000001E, 0x80000026};
    hv_kvm_cpu_topology k = {.threads_per_core = 2, .cores_per_socket = 4};

    (void)state;
    for (size_t hi = 0; hi < HOST_COUNT; hi++) {
        host_table h;
        guest_cpu cpu;
        uint32_t o = 0;

        hosts[hi](&h);
        cpu = build(&h, &k, 6, 0);
        for (uint32_t i = 0; i < h.n; i++) {
            bool topo_leaf = false;

            for (size_t c = 0; c < sizeof(changed) / sizeof(changed[0]); c++)
                topo_leaf |= h.e[i].function == changed[c];
            if (h.e[i].function == 0xB || h.e[i].function == 0x1F)
                continue; /* replaced */
            assert_int_equal(cpu.e[o].function, h.e[i].function);
            assert_int_equal(cpu.e[o].index, h.e[i].index);
            assert_int_equal(cpu.e[o].flags, h.e[i].flags);
            if (!topo_leaf)
                assert_memory_equal(&cpu.e[o], &h.e[i], sizeof(h.e[i]));
            o++;
        }
        /* then the topology leaves' subleaves, three per leaf */
        assert_int_equal((cpu.n - o) % 3, 0);
        for (; o < cpu.n; o++)
            assert_true(cpu.e[o].function == 0xB || cpu.e[o].function == 0x1F);
    }
}

/* 0xB where the maximum leaf reaches it, 0x1F and 0x80000026 only where KVM has them. */
static void test_which_topology_leaves(void **state)
{
    static const struct {
        host_fn host;
        bool has_b, has_1f;
    } cases[] = {{intel_host, true, true},
                 {intel_old_kvm_host, true, false},
                 {intel_legacy_host, false, false},
                 {amd_host, true, false},
                 {amd_old_host, false, false}};
    hv_kvm_cpu_topology k = {.threads_per_core = 2, .cores_per_socket = 3};

    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        host_table h;
        guest_cpu cpu;
        uint32_t kvm_topo = 0;

        cases[c].host(&h);
        for (uint32_t i = 0; i < h.n; i++)
            kvm_topo += h.e[i].function == 0xB || h.e[i].function == 0x1F;
        cpu = build(&h, &k, 0, 0);
        assert_int_equal(entry(&cpu, 0xB, 0) != NULL, cases[c].has_b);
        assert_int_equal(entry(&cpu, 0x1F, 0) != NULL, cases[c].has_1f);
        assert_int_equal(cpu.n, h.n - kvm_topo + 3 * (cases[c].has_b + (uint32_t)cases[c].has_1f));
    }

    /* a max leaf of 0xB without KVM's 0xB: added; a max leaf below it: KVM's 0xB dropped */
    {
        host_table h;
        guest_cpu cpu;

        intel_legacy_host(&h);
        h.e[0].eax = 0xB;
        cpu = build(&h, &k, 4, 0);
        check_topology_leaf(&cpu, 0xB, 4, 1, 2, 3, 6);
        intel_old_kvm_host(&h);
        h.e[0].eax = 0xA;
        cpu = build(&h, &k, 4, 0);
        assert_null(entry(&cpu, 0xB, 0));
        assert_string_equal(linux_reads(&cpu, 4).source, "leaf 1 and leaf 4");
    }

    /* an AMD host whose KVM reports 0x80000026: rewritten like 0xB, and Linux reads it first */
    {
        host_table h;
        guest_cpu cpu;
        linux_view v;

        amd_host(&h);
        for (uint32_t i = 0; i < h.n; i++)
            if (h.e[i].function == 0x80000000)
                h.e[i].eax = 0x80000026;
        add(&h, 0x80000026, 0, SIG, 0x1, 0x2, 0x100, 0x3F);
        add(&h, 0x80000026, 1, SIG, 0x7, 0x80, 0x201, 0x3F);
        add(&h, 0x80000026, 2, SIG, 0x7, 0x80, 0x302, 0x3F);
        add(&h, 0x80000026, 3, SIG, 0x7, 0x80, 0x403, 0x3F);
        cpu = build(&h, &k, 7, 0);
        check_topology_leaf(&cpu, 0x80000026, 9, 1, 2, 3, 6);
        v = linux_reads(&cpu, 9);
        assert_string_equal(v.source, "0x80000026");
        assert_int_equal(v.pkg, 1);
        assert_int_equal(v.core, 0);
        assert_int_equal(v.thread, 1);
    }
}

/* ---- refusals ---------------------------------------------------------------------- */

static void test_buffer_too_small(void **state)
{
    hv_kvm_cpu_topology k = {.threads_per_core = 2, .cores_per_socket = 3};
    struct kvm_cpuid_entry2 buf[MAX_ENTRIES + HV_KVM_CPUID_EXTRA];
    struct kvm_cpuid_entry2 pattern[MAX_ENTRIES + HV_KVM_CPUID_EXTRA];
    host_table h;
    uint32_t n = 12345, need;

    (void)state;
    intel_host(&h);
    need = h.n - 2 + 6; /* KVM's 0xB and 0x1F replaced by three subleaves each */
    memset(buf, 0xAA, sizeof(buf));
    memset(pattern, 0xAA, sizeof(pattern));
    assert_hv_error(hv_kvm_cpuid_for_vcpu(h.e, h.n, &k, 0, 0, buf, need - 1, &n), HV_E_RANGE);
    assert_error_mentions("entries");
    assert_memory_equal(buf, pattern, sizeof(buf));
    assert_int_equal(n, 12345);
    assert_hv_ok(hv_kvm_cpuid_for_vcpu(h.e, h.n, &k, 0, 0, buf, need, &n));
    assert_int_equal(n, need);
    assert_hv_error(hv_kvm_cpuid_for_vcpu(h.e, h.n, &k, 0, 0, NULL, 0, &n), HV_E_RANGE);
}

static void test_bad_arguments(void **state)
{
    hv_kvm_cpu_topology k;
    struct kvm_cpuid_entry2 buf[MAX_ENTRIES + HV_KVM_CPUID_EXTRA];
    struct kvm_cpuid_entry2 pattern[MAX_ENTRIES + HV_KVM_CPUID_EXTRA];
    host_table h;
    uint32_t n = 0;

    (void)state;
    intel_host(&h);
    memset(buf, 0xAA, sizeof(buf));
    memset(pattern, 0xAA, sizeof(pattern));
#define CALL(vcpu, node) hv_kvm_cpuid_for_vcpu(h.e, h.n, &k, vcpu, node, buf, 73, &n)
    k = (hv_kvm_cpu_topology){.threads_per_core = 257, .cores_per_socket = 1};
    assert_hv_error(CALL(0, 0), HV_E_INVAL);
    assert_error_mentions("fewer threads per core");
    k = (hv_kvm_cpu_topology){.threads_per_core = 2, .cores_per_socket = 32768};
    assert_hv_error(CALL(0, 0), HV_E_INVAL);
    assert_error_mentions("fewer cores per socket");
    k = (hv_kvm_cpu_topology){.threads_per_core = 256, .cores_per_socket = 255};
    assert_hv_ok(CALL(0, 0)); /* 65280 logical processors: the most 0xB's EBX holds */
    memset(buf, 0xAA, sizeof(buf));
    k = (hv_kvm_cpu_topology){.threads_per_core = 2, .cores_per_socket = 2};
    assert_hv_error(CALL(HV_KVM_MAX_VCPUS, 0), HV_E_INVAL);
    assert_error_mentions("vCPU 1024");
    assert_hv_error(CALL(0, HV_KVM_MAX_NODES), HV_E_INVAL);
    assert_error_mentions("vNUMA node 64");
    assert_memory_equal(buf, pattern, sizeof(buf));
    assert_hv_error(hv_kvm_cpuid_for_vcpu(h.e, h.n, &k, 0, 0, buf, 73, NULL), HV_E_INVAL);
    assert_hv_error(hv_kvm_cpuid_for_vcpu(NULL, 3, &k, 0, 0, buf, 73, &n), HV_E_INVAL);
    assert_hv_error(hv_kvm_cpuid_for_vcpu(h.e, h.n, &k, 0, 0, NULL, 73, &n), HV_E_INVAL);
#undef CALL
    /* the largest vCPU and node are fine; NULL topology is 1x1 */
    assert_hv_ok(hv_kvm_cpuid_for_vcpu(h.e, h.n, NULL, HV_KVM_MAX_VCPUS - 1, HV_KVM_MAX_NODES - 1,
                                       buf, 73, &n));
    assert_int_equal(entry(&(guest_cpu){buf, n}, 0xB, 1)->edx, HV_KVM_MAX_VCPUS - 1);
    assert_int_equal(entry(&(guest_cpu){buf, n}, 0xB, 1)->ebx, 1);
    /* an empty table is an empty table */
    assert_hv_ok(hv_kvm_cpuid_for_vcpu(NULL, 0, &k, 0, 0, NULL, 0, &n));
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linux_reads_the_topology),
        cmocka_unit_test(test_linux_source),
        cmocka_unit_test(test_cache_sharing),
        cmocka_unit_test(test_intel_values),
        cmocka_unit_test(test_amd_values),
        cmocka_unit_test(test_copied_unchanged),
        cmocka_unit_test(test_which_topology_leaves),
        cmocka_unit_test(test_buffer_too_small),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
