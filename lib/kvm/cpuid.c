/*
 * kvm/cpuid.c - the CPUID table of one vCPU (pure: no ioctls): KVM's
 * supported CPUID with the leaves that describe the CPU topology (0x1, 0x4,
 * 0xB, 0x1F, and AMD's 0x80000001, 0x80000008, 0x8000001D, 0x8000001E,
 * 0x80000026) set from the plan's threads per core and cores per socket, so
 * that they agree with hv_kvm_apic_id() and with the MADT and SRAT. Every
 * field is written as Linux's topology code (arch/x86/kernel/cpu/topology*.c,
 * cacheinfo.c) reads it; docs/linux-guest.md ("CPUID") is the description.
 */
#include "kvm/cpuid.h"
#include "core/error.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#define LEAF_BASIC_MAX    UINT32_C(0x00000000)
#define LEAF_FEATURES     UINT32_C(0x00000001)
#define LEAF_CACHE        UINT32_C(0x00000004)
#define LEAF_TOPOLOGY     UINT32_C(0x0000000B)
#define LEAF_TOPOLOGY_V2  UINT32_C(0x0000001F)
#define LEAF_EXT_MAX      UINT32_C(0x80000000)
#define LEAF_EXT_FEAT     UINT32_C(0x80000001)
#define LEAF_AMD_SIZES    UINT32_C(0x80000008)
#define LEAF_AMD_CACHE    UINT32_C(0x8000001D)
#define LEAF_AMD_TOPO     UINT32_C(0x8000001E)
#define LEAF_AMD_TOPO_V2  UINT32_C(0x80000026)

#define F1_EDX_HTT        (UINT32_C(1) << 28)
#define F1_ECX_HYPERVISOR (UINT32_C(1) << 31)
#define EXT_ECX_CMP_LEG   (UINT32_C(1) << 1)

/* Topology level types of 0xB/0x1F (and Linux's reading of 0x80000026). */
#define LEVEL_INVALID 0
#define LEVEL_SMT     1
#define LEVEL_CORE    2

/* What CPUID can describe: 0x8000001E EBX[15:8] and 0xB EBX[15:0]. */
#define MAX_THREADS_PER_CORE 256
#define MAX_LOGICAL_PER_PKG  0xFFFF

/* Everything the leaves need to know about one vCPU. */
typedef struct vcpu_topo {
    uint32_t threads, cores;        /* per core, per socket (>= 1) */
    uint32_t thread_bits, pkg_bits; /* APIC id shifts: to the core, to the socket */
    uint32_t apic_id, core, node;
    bool amd; /* AuthenticAMD or HygonGenuine: the AMD leaves */
} vcpu_topo;

static uint32_t min32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* The entry for (function, index 0) or the first of `function`, NULL when absent. */
static const struct kvm_cpuid_entry2 *find_leaf(const struct kvm_cpuid_entry2 *e, uint32_t n,
                                                uint32_t function)
{
    const struct kvm_cpuid_entry2 *first = NULL;

    for (uint32_t i = 0; i < n; i++) {
        if (e[i].function != function)
            continue;
        if (e[i].index == 0)
            return &e[i];
        if (!first)
            first = &e[i];
    }
    return first;
}

static bool is_amd(const struct kvm_cpuid_entry2 *leaf0)
{
    char vendor[12];

    if (!leaf0)
        return false;
    memcpy(vendor, &leaf0->ebx, 4);
    memcpy(vendor + 4, &leaf0->edx, 4);
    memcpy(vendor + 8, &leaf0->ecx, 4);
    return memcmp(vendor, "AuthenticAMD", 12) == 0 || memcmp(vendor, "HygonGenuine", 12) == 0;
}

/* The topology leaves written here in full: KVM's subleaves of them are dropped. */
static const uint32_t topology_leaves[] = {LEAF_TOPOLOGY, LEAF_TOPOLOGY_V2, LEAF_AMD_TOPO_V2};

static bool is_topology_leaf(uint32_t function)
{
    for (size_t i = 0; i < sizeof(topology_leaves) / sizeof(topology_leaves[0]); i++)
        if (function == topology_leaves[i])
            return true;
    return false;
}

/* 0xB when the maximum basic leaf reaches it; 0x1F and 0x80000026 only where KVM has them. */
static bool wants_topology_leaf(const struct kvm_cpuid_entry2 *e, uint32_t n, uint32_t function)
{
    const struct kvm_cpuid_entry2 *max =
        find_leaf(e, n, function & LEAF_EXT_MAX ? LEAF_EXT_MAX : LEAF_BASIC_MAX);

    if (!max || max->eax < function)
        return false;
    return function == LEAF_TOPOLOGY || find_leaf(e, n, function) != NULL;
}

static int check_args(const hv_kvm_cpu_topology *topology, uint32_t vcpu, uint32_t node,
                      vcpu_topo *t)
{
    uint64_t logical;

    t->threads = topology && topology->threads_per_core ? topology->threads_per_core : 1;
    t->cores = topology && topology->cores_per_socket ? topology->cores_per_socket : 1;
    logical = (uint64_t)t->threads * t->cores;
    if (t->threads > MAX_THREADS_PER_CORE)
        return hv_error_set(HV_E_INVAL, NULL,
                            "%" PRIu32 " threads per core: CPUID describes at most %d (leaf "
                            "0x8000001E): give the plan fewer threads per core",
                            t->threads, MAX_THREADS_PER_CORE);
    if (logical > MAX_LOGICAL_PER_PKG)
        return hv_error_set(HV_E_INVAL, NULL,
                            "%" PRIu32 " cores of %" PRIu32 " threads per socket: CPUID leaf "
                            "0xB describes at most %d logical processors per socket: give the "
                            "plan fewer cores per socket (more sockets)",
                            t->cores, t->threads, MAX_LOGICAL_PER_PKG);
    if (vcpu >= HV_KVM_MAX_VCPUS)
        return hv_error_set(HV_E_INVAL, NULL,
                            "vCPU %" PRIu32 ": the built-in engine runs vCPUs 0 to %d", vcpu,
                            HV_KVM_MAX_VCPUS - 1);
    if (node >= HV_KVM_MAX_NODES)
        return hv_error_set(HV_E_INVAL, NULL,
                            "vNUMA node %" PRIu32 " of vCPU %" PRIu32 ": the built-in engine has "
                            "nodes 0 to %d",
                            node, vcpu, HV_KVM_MAX_NODES - 1);
    t->thread_bits = hv_kvm_topology_thread_bits(topology);
    t->pkg_bits = t->thread_bits + hv_kvm_topology_core_bits(topology);
    t->apic_id = hv_kvm_apic_id(topology, vcpu);
    t->core = (vcpu / t->threads) % t->cores;
    t->node = node;
    return 0;
}

/*
 * The logical processors sharing a cache, less 1, as leaf 0x4 and 0x8000001D
 * EAX[25:14] give them: the APIC id span of a core for L1 and L2, of a package
 * beyond. Linux shifts the APIC id right by the order of this + 1 for the
 * cache's id (and AMD's shared_cpu_map takes the aligned block of ids), so it
 * is the power-of-two span, not the count: ids have gaps when threads or cores
 * are no power of two.
 */
static uint32_t cache_sharing(const vcpu_topo *t, uint32_t eax)
{
    uint32_t level = (eax >> 5) & 0x7;
    uint32_t bits = level <= 2 ? t->thread_bits : t->pkg_bits;

    return min32((UINT32_C(1) << bits) - 1, 0xFFF);
}

static void set_leaf_1(struct kvm_cpuid_entry2 *e, const vcpu_topo *t)
{
    uint32_t span = min32(UINT32_C(1) << t->pkg_bits, 0xFF);

    e->ebx = (e->ebx & 0xFFFF) | span << 16 | (t->apic_id & 0xFF) << 24;
    if ((uint64_t)t->threads * t->cores > 1)
        e->edx |= F1_EDX_HTT;
    else
        e->edx &= ~F1_EDX_HTT;
    e->ecx |= F1_ECX_HYPERVISOR;
}

static void set_cache_leaf(struct kvm_cpuid_entry2 *e, const vcpu_topo *t, bool cores_field)
{
    uint32_t core_ids = min32((UINT32_C(1) << (t->pkg_bits - t->thread_bits)) - 1, 0x3F);

    if ((e->eax & 0x1F) == 0)
        return; /* the null cache type ends the list */
    e->eax = (e->eax & ~(UINT32_C(0xFFF) << 14)) | cache_sharing(t, e->eax) << 14;
    if (cores_field)
        e->eax = (e->eax & 0x03FFFFFF) | core_ids << 26;
}

static void set_amd_leaf(struct kvm_cpuid_entry2 *e, const vcpu_topo *t)
{
    uint32_t logical = t->threads * t->cores;

    switch (e->function) {
    case LEAF_EXT_FEAT:
        if (logical > 1)
            e->ecx |= EXT_ECX_CMP_LEG;
        else
            e->ecx &= ~EXT_ECX_CMP_LEG;
        break;
    case LEAF_AMD_SIZES: /* ECX[7:0] NC, ECX[15:12] ApicIdCoreIdSize */
        e->ecx =
            (e->ecx & ~UINT32_C(0xF0FF)) | min32(logical - 1, 0xFF) | min32(t->pkg_bits, 0xF) << 12;
        break;
    case LEAF_AMD_TOPO: /* EDX reserved; ECX[10:8] nodes per processor - 1: one */
        e->eax = t->apic_id;
        e->ebx = (e->ebx & ~UINT32_C(0xFFFF)) | (t->core & 0xFF) | (t->threads - 1) << 8;
        e->ecx = (e->ecx & ~UINT32_C(0x7FF)) | t->node;
        break;
    default:
        break;
    }
}

static void set_entry(struct kvm_cpuid_entry2 *e, const vcpu_topo *t)
{
    if (e->function == LEAF_FEATURES)
        set_leaf_1(e, t);
    else if (e->function == LEAF_CACHE)
        set_cache_leaf(e, t, true);
    else if (e->function == LEAF_AMD_CACHE)
        set_cache_leaf(e, t, false);
    else if (t->amd)
        set_amd_leaf(e, t);
}

/* Subleaves 0 (SMT), 1 (core) and 2 (invalid) of 0xB, 0x1F or 0x80000026. */
static void write_topology_leaf(struct kvm_cpuid_entry2 *out, uint32_t function, const vcpu_topo *t)
{
    const struct {
        uint32_t shift, processors, type;
    } level[3] = {
        {t->thread_bits, t->threads, LEVEL_SMT},
        {t->pkg_bits, t->threads * t->cores, LEVEL_CORE},
        {0, 0, LEVEL_INVALID},
    };

    for (uint32_t i = 0; i < 3; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        out[i].function = function;
        out[i].index = i;
        out[i].flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
        out[i].eax = level[i].shift;
        out[i].ebx = level[i].processors;
        out[i].ecx = i | level[i].type << 8;
        out[i].edx = t->apic_id;
    }
}

int hv_kvm_cpuid_for_vcpu(const struct kvm_cpuid_entry2 *supported, uint32_t count,
                          const hv_kvm_cpu_topology *topology, uint32_t vcpu, uint32_t node,
                          struct kvm_cpuid_entry2 *out, uint32_t out_max, uint32_t *out_count)
{
    bool wanted[sizeof(topology_leaves) / sizeof(topology_leaves[0])];
    uint64_t need = 0;
    uint32_t n = 0;
    vcpu_topo t = {0};
    int rc;

    HV_CHECK_ARG(supported || count == 0, "supported");
    HV_CHECK_ARG(out || out_max == 0, "out");
    HV_CHECK_ARG(out_count, "out_count");
    if ((rc = check_args(topology, vcpu, node, &t)) < 0)
        return rc;
    t.amd = is_amd(find_leaf(supported, count, LEAF_BASIC_MAX));
    for (uint32_t i = 0; i < count; i++)
        need += !is_topology_leaf(supported[i].function);
    for (size_t l = 0; l < sizeof(wanted) / sizeof(wanted[0]); l++) {
        wanted[l] = wants_topology_leaf(supported, count, topology_leaves[l]);
        need += wanted[l] ? 3 : 0;
    }
    if (need > out_max)
        return hv_error_set(HV_E_RANGE, NULL,
                            "the CPUID table of vCPU %" PRIu32 " has %" PRIu64
                            " entries, the buffer has room for %" PRIu32,
                            vcpu, need, out_max);
    for (uint32_t i = 0; i < count; i++) {
        if (is_topology_leaf(supported[i].function))
            continue;
        out[n] = supported[i];
        set_entry(&out[n++], &t);
    }
    for (size_t l = 0; l < sizeof(wanted) / sizeof(wanted[0]); l++) {
        if (!wanted[l])
            continue;
        write_topology_leaf(&out[n], topology_leaves[l], &t);
        n += 3;
    }
    *out_count = n;
    return 0;
}
