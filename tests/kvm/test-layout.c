/*
 * tests/kvm/test-layout.c - the KVM engine's guest memory layout: node bases
 * and alignment gaps, vCPU stacks, the MMIO window, placing the payload
 * image and the free ranges it leaves, and every refusal with its path.
 */
#include "hv-test.h"
#include "kvm/layout.h"

#include <hpcvirt/guest.h>

#define KiB(n) ((uint64_t)(n) << 10)
#define MiB(n) ((uint64_t)(n) << 20)
#define GiB(n) ((uint64_t)(n) << 30)
#define TiB(n) ((uint64_t)(n) << 40)

#define STACK  HV_GUEST_STACK_BYTES

static hv_kvm_node_request req(uint64_t bytes, uint32_t vcpus, uint64_t page)
{
    hv_kvm_node_request r = {.bytes = bytes, .vcpu_count = vcpus, .page_bytes = page};

    r.host_node = -1;
    return r;
}

static void assert_error_path(const char *path)
{
    assert_string_equal(hv_error_path(hv_error_last()), path);
}

/* 2 x 1 GiB, 2 MiB pages, 2 + 2 vCPUs: the example of docs/guest-abi.md. */
static void test_two_nodes(void **state)
{
    hv_kvm_node_request nodes[2] = {req(GiB(1), 2, MiB(2)), req(GiB(1), 2, MiB(2))};
    hv_kvm_layout l;

    nodes[0].host_node = 0;
    nodes[1].host_node = 1;
    assert_hv_ok(hv_kvm_layout_init(&l, nodes, 2));
    assert_int_equal(l.node_count, 2);
    assert_int_equal(l.vcpu_count, 4);
    assert_true(l.memory_bytes == GiB(2));
    assert_true(l.ram_end == GiB(2));
    assert_true(l.mmio_base == GiB(2));
    assert_true(l.mmio_bytes == GiB(1));
    assert_true(l.image_base == 0 && l.image_end == 0);

    assert_true(l.nodes[0].base == 0);
    assert_true(l.nodes[0].bytes == GiB(1));
    assert_int_equal(l.nodes[0].first_vcpu, 0);
    assert_int_equal(l.nodes[0].vcpu_count, 2);
    assert_true(l.nodes[0].page_bytes == MiB(2));
    assert_int_equal(l.nodes[0].host_node, 0);
    assert_true(l.nodes[0].stacks_base == UINT64_C(0x3ffe0000));
    assert_true(l.nodes[1].base == GiB(1));
    assert_int_equal(l.nodes[1].first_vcpu, 2);
    assert_int_equal(l.nodes[1].vcpu_count, 2);
    assert_int_equal(l.nodes[1].host_node, 1);
    assert_true(l.nodes[1].stacks_base == UINT64_C(0x7ffe0000));
    assert_true(l.nodes[0].free_base == 0 && l.nodes[0].free_bytes == 0);

    /* vCPU first_vcpu + k: [end - (k+1) * STACK, end - k * STACK), rsp = top - 8 */
    assert_true(hv_kvm_layout_stack_top(&l, 0) == UINT64_C(0x3ffffff8));
    assert_true(hv_kvm_layout_stack_top(&l, 1) == UINT64_C(0x3ffefff8));
    assert_true(hv_kvm_layout_stack_top(&l, 2) == UINT64_C(0x7ffffff8));
    assert_true(hv_kvm_layout_stack_top(&l, 3) == UINT64_C(0x7ffefff8));
    assert_true(hv_kvm_layout_stack_top(&l, 4) == 0);
    assert_true(hv_kvm_layout_stack_top(NULL, 0) == 0);
    for (uint32_t v = 0; v < 4; v++) {
        uint64_t top = hv_kvm_layout_stack_top(&l, v);
        int node = hv_kvm_layout_node_of(&l, top + 8 - STACK, STACK);

        assert_true((top + 8) % 16 == 0);
        assert_int_equal(node, v / 2);
        assert_true(top + 8 - STACK >= l.nodes[node].stacks_base);
    }

    /* the image 0x400000-0x401234 and the free ranges it leaves */
    assert_hv_ok(hv_kvm_layout_place_image(&l, 0x400000, 0x401234));
    assert_true(l.image_base == 0x400000);
    assert_true(l.image_end == 0x402000);
    assert_true(l.nodes[0].free_base == 0x402000);
    assert_true(l.nodes[0].free_bytes == UINT64_C(0x3ffe0000) - 0x402000);
    assert_true(l.nodes[1].free_base == GiB(1));
    assert_true(l.nodes[1].free_bytes == UINT64_C(0x3ffe0000));
}

static void test_node_of(void **state)
{
    hv_kvm_node_request nodes[2] = {req(MiB(6), 1, KiB(4)), req(GiB(1), 1, GiB(1))};
    hv_kvm_layout l;

    assert_hv_ok(hv_kvm_layout_init(&l, nodes, 2));
    assert_int_equal(hv_kvm_layout_node_of(&l, 0, 1), 0);
    assert_int_equal(hv_kvm_layout_node_of(&l, 0, MiB(6)), 0);
    assert_int_equal(hv_kvm_layout_node_of(&l, 0, MiB(6) + 1), -1);
    assert_int_equal(hv_kvm_layout_node_of(&l, MiB(6) - 1, 1), 0);
    assert_int_equal(hv_kvm_layout_node_of(&l, MiB(6) - 1, 0), 0);
    assert_int_equal(hv_kvm_layout_node_of(&l, MiB(6), 1), -1); /* the gap */
    assert_int_equal(hv_kvm_layout_node_of(&l, MiB(6), 0), -1);
    assert_int_equal(hv_kvm_layout_node_of(&l, GiB(1) - 1, 2), -1);
    assert_int_equal(hv_kvm_layout_node_of(&l, GiB(1), GiB(1)), 1);
    assert_int_equal(hv_kvm_layout_node_of(&l, GiB(2) - 1, 1), 1);
    assert_int_equal(hv_kvm_layout_node_of(&l, GiB(2), 1), -1);
    assert_int_equal(hv_kvm_layout_node_of(&l, GiB(1) + 5, UINT64_MAX), -1);
    assert_int_equal(hv_kvm_layout_node_of(&l, UINT64_MAX, 1), -1);
    assert_int_equal(hv_kvm_layout_node_of(&l, UINT64_MAX - 1, 2), -1);
    assert_int_equal(hv_kvm_layout_node_of(NULL, 0, 1), -1);
}

/* Each base is aligned to its node's page size: gaps between nodes. */
static void test_alignment_gaps(void **state)
{
    hv_kvm_layout l;

    {
        hv_kvm_node_request nodes[2] = {req(MiB(6), 2, MiB(2)), req(GiB(1), 2, GiB(1))};

        assert_hv_ok(hv_kvm_layout_init(&l, nodes, 2));
        assert_true(l.nodes[0].base == 0);
        assert_true(l.nodes[1].base == GiB(1));
        assert_true(l.memory_bytes == GiB(1) + MiB(6));
        assert_true(l.ram_end == GiB(2));
        assert_true(l.mmio_base == GiB(2));
        assert_true(l.nodes[0].stacks_base == MiB(6) - 2 * STACK);
        assert_true(l.nodes[1].stacks_base == GiB(2) - 2 * STACK);
    }
    {
        /* 4 KiB pages still start on 2 MiB (HV_KVM_RAM_ALIGN) */
        hv_kvm_node_request nodes[3] = {req(MiB(4), 1, KiB(4)), req(MiB(2), 1, KiB(4)),
                                        req(MiB(2), 3, MiB(2))};

        assert_hv_ok(hv_kvm_layout_init(&l, nodes, 3));
        assert_true(l.nodes[1].base == MiB(4));
        assert_true(l.nodes[2].base == MiB(6));
        assert_int_equal(l.nodes[2].first_vcpu, 2);
        assert_int_equal(l.vcpu_count, 5);
        assert_true(l.ram_end == MiB(8));
        assert_true(l.memory_bytes == MiB(8));
        assert_true(l.mmio_base == GiB(1));
        assert_true(hv_kvm_layout_stack_top(&l, 4) == MiB(8) - 2 * STACK - 8);
    }
    {
        hv_kvm_node_request nodes[3] = {req(MiB(4), 1, KiB(4)), req(GiB(2), 1, GiB(1)),
                                        req(MiB(2), 1, MiB(2))};

        assert_hv_ok(hv_kvm_layout_init(&l, nodes, 3));
        assert_true(l.nodes[1].base == GiB(1));
        assert_true(l.nodes[2].base == GiB(3));
        assert_true(l.ram_end == GiB(3) + MiB(2));
        assert_true(l.memory_bytes == GiB(2) + MiB(6));
        assert_true(l.mmio_base == GiB(4));
        assert_true(l.mmio_bytes == GiB(1));
    }
}

/* The smallest node 0: the engine's 2 MiB, one page of image, its stacks. */
static void test_node0_minimum(void **state)
{
    hv_kvm_node_request one = req(MiB(4), 31, KiB(4));
    hv_kvm_layout l;

    assert_hv_ok(hv_kvm_layout_init(&l, &one, 1));
    assert_true(l.nodes[0].stacks_base == MiB(4) - 31 * STACK);
    assert_true(l.nodes[0].stacks_base >= HV_GUEST_LOAD_MIN + KiB(4));
    /* the image may end exactly where the stacks start */
    assert_hv_ok(hv_kvm_layout_place_image(&l, HV_GUEST_LOAD_MIN, l.nodes[0].stacks_base - 1));
    assert_true(l.image_end == l.nodes[0].stacks_base);
    assert_true(l.nodes[0].free_bytes == 0);

    one.vcpu_count = 32;
    assert_hv_error(hv_kvm_layout_init(&l, &one, 1), HV_E_RANGE);
    assert_error_mentions("vNUMA node 0 has 4 MiB, too little for the engine's first 2 MiB");
    assert_error_mentions("32 vCPUs' stacks (64 KiB each): give it more memory");
    assert_error_path("vnuma[0]");

    one = req(MiB(2), 1, MiB(2));
    assert_hv_error(hv_kvm_layout_init(&l, &one, 1), HV_E_RANGE);
    assert_error_mentions("its 1 vCPU's stack (64 KiB each)");
}

static void test_other_node_stacks(void **state)
{
    hv_kvm_node_request nodes[2] = {req(MiB(4), 1, MiB(2)), req(MiB(2), 64, MiB(2))};
    hv_kvm_layout l;

    assert_hv_error(hv_kvm_layout_init(&l, nodes, 2), HV_E_RANGE);
    assert_error_mentions("vNUMA node 1 has 2 MiB, too little for its 64 vCPUs' stacks (64 KiB "
                          "each): give it more memory");
    assert_error_path("vnuma[1]");
    assert_int_equal(l.node_count, 0);

    /* exactly full of stacks: no free memory, but valid */
    nodes[1].vcpu_count = 32;
    assert_hv_ok(hv_kvm_layout_init(&l, nodes, 2));
    assert_true(l.nodes[1].stacks_base == l.nodes[1].base);
    assert_hv_ok(hv_kvm_layout_place_image(&l, 0x200000, 0x200001));
    assert_true(l.nodes[1].free_base == MiB(4));
    assert_true(l.nodes[1].free_bytes == 0);
}

static void test_request_errors(void **state)
{
    static const struct {
        hv_kvm_node_request second;
        int code;
        const char *path, *text;
    } cases[] = {
        {{MiB(2), 0, MiB(2), -1}, HV_E_INVAL, "vnuma[1]", "vNUMA node 1 has no vCPUs"},
        {{MiB(2), 1, 8192, -1}, HV_E_RANGE, "vnuma[1]", "page size 8192 bytes is not supported"},
        {{MiB(2), 1, 0, -1}, HV_E_RANGE, "vnuma[1]", "page size 0 bytes is not supported"},
        {{0, 1, MiB(2), -1}, HV_E_RANGE, "vnuma[1]", "vNUMA node 1 has no memory"},
        {{MiB(3), 1, MiB(2), -1},
         HV_E_RANGE,
         "vnuma[1]",
         "vNUMA node 1 has 3 MiB of memory, not a multiple of 2 MiB"},
        {{MiB(3), 1, KiB(4), -1}, HV_E_RANGE, "vnuma[1]", "not a multiple of 2 MiB"},
        {{GiB(1) + MiB(512), 1, GiB(1), -1},
         HV_E_RANGE,
         "vnuma[1]",
         "1.5 GiB of memory, not a multiple of its 1 GiB pages"},
        {{TiB(256), 1, MiB(2), -1},
         HV_E_RANGE,
         "vnuma[1]",
         "vNUMA node 1 would end beyond the 256 TiB"},
        {{UINT64_MAX - MiB(2) + 1, 1, MiB(2), -1}, HV_E_RANGE, "vnuma[1]", "would end beyond"},
        {{TiB(256) - GiB(1), 1, GiB(1), -1},
         HV_E_RANGE,
         "vnuma",
         "leaving no room for the 1 GiB MMIO window"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hv_kvm_node_request nodes[2] = {req(MiB(4), 1, MiB(2)), cases[i].second};
        hv_kvm_layout l;
        int rc = hv_kvm_layout_init(&l, nodes, 2);

        if (rc != cases[i].code || !strstr(hv_error_message(hv_error_last()), cases[i].text))
            print_error("case %zu: rc %d: %s\n", i, rc, hv_error_message(hv_error_last()));
        assert_hv_error(rc, cases[i].code);
        assert_error_mentions(cases[i].text);
        assert_error_path(cases[i].path);
        assert_int_equal(l.node_count, 0);
    }

    /* the largest that fits: RAM up to 255 TiB, the MMIO window below 256 TiB */
    {
        hv_kvm_node_request nodes[2] = {req(MiB(4), 1, MiB(2)), req(GiB(1), 1, GiB(1))};
        hv_kvm_layout l;

        nodes[1].bytes = TiB(256) - GiB(1);
        assert_hv_error(hv_kvm_layout_init(&l, nodes, 2), HV_E_RANGE);
        nodes[1].bytes = TiB(256) - GiB(2);
        assert_hv_ok(hv_kvm_layout_init(&l, nodes, 2));
        assert_true(l.mmio_base == TiB(256) - GiB(1));
        assert_true(l.mmio_base + l.mmio_bytes == HV_KVM_ADDR_LIMIT);
    }
}

static void test_count_errors(void **state)
{
    hv_kvm_node_request nodes[HV_KVM_MAX_NODES + 1];
    hv_kvm_layout l;

    for (size_t i = 0; i < HV_KVM_MAX_NODES + 1; i++)
        nodes[i] = req(MiB(4), 16, MiB(2));

    assert_hv_error(hv_kvm_layout_init(&l, nodes, 0), HV_E_INVAL);
    assert_error_mentions("at least one vNUMA node");
    assert_error_path("vnuma");
    assert_hv_error(hv_kvm_layout_init(&l, nodes, HV_KVM_MAX_NODES + 1), HV_E_RANGE);
    assert_error_mentions("65 vNUMA nodes: the KVM engine supports at most 64");
    assert_error_path("vnuma");

    /* 64 nodes x 16 vCPUs = 1024: the most there may be */
    assert_hv_ok(hv_kvm_layout_init(&l, nodes, HV_KVM_MAX_NODES));
    assert_int_equal(l.vcpu_count, HV_KVM_MAX_VCPUS);
    assert_int_equal(l.nodes[63].first_vcpu, 1008);
    assert_true(l.nodes[63].base == MiB(4) * 63);
    assert_true(hv_kvm_layout_stack_top(&l, 1023) == MiB(4) * 64 - 15 * STACK - 8);

    nodes[63].vcpu_count = 17;
    assert_hv_error(hv_kvm_layout_init(&l, nodes, HV_KVM_MAX_NODES), HV_E_RANGE);
    assert_error_mentions("vNUMA nodes 0 to 63 have 1025 vCPUs, more than the 1024 the KVM "
                          "engine supports");
    assert_error_path("vnuma");

    nodes[0] = req(MiB(64), UINT32_MAX, MiB(2));
    assert_hv_error(hv_kvm_layout_init(&l, nodes, 1), HV_E_RANGE);
    assert_error_mentions("vNUMA nodes 0 to 0 have 4294967295 vCPUs");

    assert_hv_error(hv_kvm_layout_init(NULL, nodes, 1), HV_E_INVAL);
    assert_hv_error(hv_kvm_layout_init(&l, NULL, 1), HV_E_INVAL);
}

static void test_place_image_errors(void **state)
{
    hv_kvm_node_request nodes[2] = {req(MiB(8), 2, MiB(2)), req(MiB(8), 2, MiB(2))};
    hv_kvm_layout l, empty;

    assert_hv_ok(hv_kvm_layout_init(&l, nodes, 2));

    assert_hv_error(hv_kvm_layout_place_image(&l, 0x1ff000, 0x300000), HV_E_RANGE);
    assert_error_mentions("the payload starts at 0x1ff000, below 0x200000");
    assert_error_mentions("link it at 0x200000 or above");
    assert_hv_error(hv_kvm_layout_place_image(&l, 0x100, 0x200), HV_E_RANGE);

    assert_hv_error(hv_kvm_layout_place_image(&l, 0x200000, MiB(8) - 2 * STACK + 1), HV_E_RANGE);
    assert_error_mentions("does not fit vNUMA node 0 (8 MiB, its vCPU stacks start at 0x7e0000)");
    assert_error_path("vnuma[0]");
    /* in node 1: not allowed */
    assert_hv_error(hv_kvm_layout_place_image(&l, MiB(8), MiB(9)), HV_E_RANGE);
    assert_hv_error(hv_kvm_layout_place_image(&l, 0x200000, UINT64_MAX), HV_E_RANGE);
    assert_error_mentions("top of the address space");
    assert_hv_error(hv_kvm_layout_place_image(&l, UINT64_MAX - 4095, UINT64_MAX - 4094),
                    HV_E_RANGE);

    assert_hv_error(hv_kvm_layout_place_image(&l, 0x400000, 0x400000), HV_E_INVAL);
    assert_error_mentions("is empty");
    assert_hv_error(hv_kvm_layout_place_image(&l, 0x400000, 0x300000), HV_E_INVAL);
    /* failures leave the layout as it was */
    assert_true(l.image_base == 0 && l.image_end == 0);

    memset(&empty, 0, sizeof(empty));
    assert_hv_error(hv_kvm_layout_place_image(&empty, 0x400000, 0x401000), HV_E_INVAL);
    assert_error_mentions("hv_kvm_layout_init");
    assert_hv_error(hv_kvm_layout_place_image(NULL, 0x400000, 0x401000), HV_E_INVAL);

    /* unaligned ends are rounded outwards */
    assert_hv_ok(hv_kvm_layout_place_image(&l, 0x200fff, 0x201001));
    assert_true(l.image_base == 0x200000 && l.image_end == 0x202000);
    assert_true(l.nodes[0].free_base == 0x202000);
    assert_true(l.nodes[0].free_bytes == MiB(8) - 2 * STACK - 0x202000);
    assert_true(l.nodes[1].free_base == MiB(8));
    assert_true(l.nodes[1].free_bytes == MiB(8) - 2 * STACK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_nodes),         cmocka_unit_test(test_node_of),
        cmocka_unit_test(test_alignment_gaps),    cmocka_unit_test(test_node0_minimum),
        cmocka_unit_test(test_other_node_stacks), cmocka_unit_test(test_request_errors),
        cmocka_unit_test(test_count_errors),      cmocka_unit_test(test_place_image_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
