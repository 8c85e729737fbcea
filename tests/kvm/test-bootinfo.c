/*
 * tests/kvm/test-bootinfo.c - the boot-info block: its ABI (sizes and
 * offsets of hpcvirt/guest.h), every field filled from the layout, the
 * bytes after it untouched, and the refusals.
 */
#include "hv-test.h"
#include "kvm/bootinfo.h"

#include <stddef.h>
#include <hpcvirt/guest.h>

#define MiB(n) ((uint64_t)(n) << 20)
#define GiB(n) ((uint64_t)(n) << 30)

/* The block's layout is ABI: guests compiled against version 1 read these offsets. */
static void test_abi(void **state)
{
    assert_int_equal(sizeof(hv_guest_boot_info), 112);
    assert_int_equal(offsetof(hv_guest_boot_info, magic), 0);
    assert_int_equal(offsetof(hv_guest_boot_info, version), 4);
    assert_int_equal(offsetof(hv_guest_boot_info, header_bytes), 6);
    assert_int_equal(offsetof(hv_guest_boot_info, total_bytes), 8);
    assert_int_equal(offsetof(hv_guest_boot_info, node_bytes), 12);
    assert_int_equal(offsetof(hv_guest_boot_info, vcpu_count), 16);
    assert_int_equal(offsetof(hv_guest_boot_info, node_count), 20);
    assert_int_equal(offsetof(hv_guest_boot_info, memory_bytes), 24);
    assert_int_equal(offsetof(hv_guest_boot_info, mmio_base), 32);
    assert_int_equal(offsetof(hv_guest_boot_info, mmio_bytes), 40);
    assert_int_equal(offsetof(hv_guest_boot_info, image_base), 48);
    assert_int_equal(offsetof(hv_guest_boot_info, image_end), 56);
    assert_int_equal(offsetof(hv_guest_boot_info, clone_id), 64);
    assert_int_equal(offsetof(hv_guest_boot_info, generation), 72);
    assert_int_equal(offsetof(hv_guest_boot_info, clone_index), 80);
    assert_int_equal(offsetof(hv_guest_boot_info, clone_count), 88);
    assert_int_equal(offsetof(hv_guest_boot_info, identity_offset), 96);
    assert_int_equal(offsetof(hv_guest_boot_info, identity_bytes), 100);
    assert_int_equal(offsetof(hv_guest_boot_info, tsc_hz), 104);

    assert_int_equal(sizeof(hv_guest_boot_node), 56);
    assert_int_equal(offsetof(hv_guest_boot_node, base), 0);
    assert_int_equal(offsetof(hv_guest_boot_node, bytes), 8);
    assert_int_equal(offsetof(hv_guest_boot_node, free_base), 16);
    assert_int_equal(offsetof(hv_guest_boot_node, free_bytes), 24);
    assert_int_equal(offsetof(hv_guest_boot_node, first_vcpu), 32);
    assert_int_equal(offsetof(hv_guest_boot_node, vcpu_count), 36);
    assert_int_equal(offsetof(hv_guest_boot_node, page_bytes), 40);
    assert_int_equal(offsetof(hv_guest_boot_node, host_node), 48);
    assert_int_equal(offsetof(hv_guest_boot_node, reserved), 52);

    /* the boot info and the page tables fit below the payload */
    assert_true(HV_GUEST_BOOT_INFO_ADDR + HV_GUEST_BOOT_INFO_MAX_BYTES <=
                HV_GUEST_PAGE_TABLES_ADDR);
    assert_true(sizeof(hv_guest_boot_info) + HV_KVM_MAX_NODES * sizeof(hv_guest_boot_node) <=
                HV_GUEST_BOOT_INFO_MAX_BYTES);
}

static void test_two_nodes(void **state)
{
    hv_kvm_node_request nodes[2] = {
        {.bytes = GiB(1), .vcpu_count = 2, .page_bytes = MiB(2), .host_node = 1},
        {.bytes = GiB(1), .vcpu_count = 3, .page_bytes = GiB(1), .host_node = -1}};
    static uint8_t raw[4097];
    uint8_t *buf = raw + 1; /* unaligned on purpose */
    hv_guest_boot_info info;
    hv_guest_boot_node node[2];
    hv_kvm_layout l;
    size_t written = 0;

    assert_hv_ok(hv_kvm_layout_init(&l, nodes, 2));
    assert_hv_ok(hv_kvm_layout_place_image(&l, 0x400000, 0x401234));
    memset(raw, 0xcc, sizeof(raw));
    assert_hv_ok(hv_bootinfo_write(buf, 4096, &l, 7, 3, &written));
    assert_int_equal(written, 112 + 2 * 56);
    assert_int_equal(buf[written], 0xcc);
    assert_int_equal(raw[0], 0xcc);

    memcpy(&info, buf, sizeof(info));
    memcpy(node, buf + sizeof(info), sizeof(node));
    assert_int_equal(info.magic, HV_GUEST_BOOT_MAGIC);
    assert_memory_equal(buf, "HVBI", 4);
    assert_int_equal(info.version, 1);
    assert_int_equal(info.header_bytes, 112);
    assert_int_equal(info.total_bytes, 224);
    assert_int_equal(info.node_bytes, 56);
    assert_int_equal(info.vcpu_count, 5);
    assert_int_equal(info.node_count, 2);
    assert_true(info.memory_bytes == GiB(2));
    assert_true(info.mmio_base == GiB(2));
    assert_true(info.mmio_bytes == GiB(1));
    assert_true(info.image_base == 0x400000);
    assert_true(info.image_end == 0x402000);
    assert_true(info.clone_id == 7);
    assert_true(info.generation == 3);
    assert_true(info.clone_index == 0);
    assert_true(info.clone_count == 0);
    /* no identity: that is a clone's, written when it is made */
    assert_true(info.identity_offset == 0 && info.identity_bytes == 0);
    assert_true(info.tsc_hz == 0); /* vm.c writes it after the block */

    assert_true(node[0].base == 0);
    assert_true(node[0].bytes == GiB(1));
    assert_true(node[0].free_base == 0x402000);
    assert_true(node[0].free_bytes == GiB(1) - 2 * HV_GUEST_STACK_BYTES - 0x402000);
    assert_int_equal(node[0].first_vcpu, 0);
    assert_int_equal(node[0].vcpu_count, 2);
    assert_true(node[0].page_bytes == MiB(2));
    assert_int_equal(node[0].host_node, 1);
    assert_int_equal(node[0].reserved, 0);
    assert_true(node[1].base == GiB(1));
    assert_true(node[1].bytes == GiB(1));
    assert_true(node[1].free_base == GiB(1));
    assert_true(node[1].free_bytes == GiB(1) - 3 * HV_GUEST_STACK_BYTES);
    assert_int_equal(node[1].first_vcpu, 2);
    assert_int_equal(node[1].vcpu_count, 3);
    assert_true(node[1].page_bytes == GiB(1));
    assert_int_equal(node[1].host_node, -1);
    assert_int_equal(node[1].reserved, 0);

    /* exactly enough room; `written` is optional */
    memset(raw, 0xcc, sizeof(raw));
    assert_hv_ok(hv_bootinfo_write(buf, 224, &l, 0, 0, NULL));
    memcpy(&info, buf, sizeof(info));
    assert_true(info.clone_id == 0 && info.generation == 0);
    assert_int_equal(buf[224], 0xcc);
}

static void test_limits(void **state)
{
    hv_kvm_node_request nodes[HV_KVM_MAX_NODES];
    static uint8_t buf[HV_GUEST_BOOT_INFO_MAX_BYTES + 64];
    hv_guest_boot_info info;
    hv_guest_boot_node last;
    hv_kvm_layout l;
    size_t written = 1;

    for (size_t i = 0; i < HV_KVM_MAX_NODES; i++)
        nodes[i] = (hv_kvm_node_request){
            .bytes = MiB(4), .vcpu_count = 1, .page_bytes = 4096, .host_node = (int)i};
    assert_hv_ok(hv_kvm_layout_init(&l, nodes, HV_KVM_MAX_NODES));
    assert_hv_ok(hv_bootinfo_write(buf, sizeof(buf), &l, 0, 0, &written));
    assert_int_equal(written, 112 + 64 * 56);
    memcpy(&info, buf, sizeof(info));
    assert_int_equal(info.node_count, 64);
    memcpy(&last, buf + 112 + 63 * 56, sizeof(last));
    assert_true(last.base == 63 * MiB(4));
    assert_int_equal(last.first_vcpu, 63);
    assert_int_equal(last.host_node, 63);
    /* no image placed yet: no free ranges, no image */
    assert_true(info.image_base == 0 && info.image_end == 0);
    assert_true(last.free_base == 0 && last.free_bytes == 0);

    written = 1;
    assert_hv_error(hv_bootinfo_write(buf, written - 1 + 112 + 64 * 56 - 1, &l, 0, 0, &written),
                    HV_E_RANGE);
    assert_error_mentions("the boot info for 64 vNUMA nodes takes 3696 bytes, more than the 3695 "
                          "bytes there is room for");
    assert_int_equal(written, 1);
    assert_hv_error(hv_bootinfo_write(buf, 0, &l, 0, 0, &written), HV_E_RANGE);

    /* a layout beyond what the block can hold */
    l.node_count = HV_KVM_MAX_NODES + 1;
    assert_hv_error(hv_bootinfo_write(buf, sizeof(buf), &l, 0, 0, &written), HV_E_INVAL);
    l.node_count = 0;
    assert_hv_error(hv_bootinfo_write(buf, sizeof(buf), &l, 0, 0, &written), HV_E_INVAL);
    assert_error_mentions("hv_kvm_layout_init");
    assert_hv_error(hv_bootinfo_write(NULL, sizeof(buf), &l, 0, 0, &written), HV_E_INVAL);
    assert_hv_error(hv_bootinfo_write(buf, sizeof(buf), NULL, 0, 0, &written), HV_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abi),
        cmocka_unit_test(test_two_nodes),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
