/*
 * tests/kvm/test-ports.c - the guest's port-I/O ABI as decisions: console
 * bytes, exit, vCPU stop and progress values, and a fault with a message for
 * everything else.
 */
#include "hv-test.h"
#include "kvm/ports.h"

#include <hpcvirt/guest.h>

static const uint8_t value_bytes[4] = {0x78, 0x56, 0x34, 0x12};

static void assert_fault(uint16_t port, bool out, unsigned int size, uint32_t count,
                         const char *message)
{
    hv_port_decision d;
    uint8_t data[64] = {0};

    memset(&d, 0x5a, sizeof(d));
    hv_port_decide(port, out, size, count, data, &d);
    if (d.action != HV_PORT_FAULT || strcmp(d.message, message) != 0)
        print_error("port 0x%x: action %d, message \"%s\"\n", port, d.action, d.message);
    assert_int_equal(d.action, HV_PORT_FAULT);
    assert_string_equal(d.message, message);
    assert_int_equal(d.value, 0);
    assert_null(d.data);
    assert_int_equal(d.length, 0);
}

static void test_console(void **state)
{
    const uint8_t text[] = "hello";
    hv_port_decision d;

    memset(&d, 0x5a, sizeof(d));
    hv_port_decide(HV_GUEST_PORT_CONSOLE, true, 1, 1, text, &d);
    assert_int_equal(d.action, HV_PORT_CONSOLE);
    assert_ptr_equal(d.data, text);
    assert_int_equal(d.length, 1);
    assert_string_equal(d.message, "");

    /* rep outsb */
    hv_port_decide(HV_GUEST_PORT_CONSOLE, true, 1, 5, text, &d);
    assert_int_equal(d.action, HV_PORT_CONSOLE);
    assert_ptr_equal(d.data, text);
    assert_int_equal(d.length, 5);

    hv_port_decide(HV_GUEST_PORT_CONSOLE, true, 1, 0, NULL, &d);
    assert_int_equal(d.action, HV_PORT_CONSOLE);
    assert_int_equal(d.length, 0);
}

static void test_values(void **state)
{
    static const struct {
        uint16_t port;
        hv_port_action action;
    } cases[] = {
        {HV_GUEST_PORT_EXIT, HV_PORT_EXIT_VM},
        {HV_GUEST_PORT_VCPU_STOP, HV_PORT_STOP_VCPU},
        {HV_GUEST_PORT_PROGRESS, HV_PORT_PROGRESS},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hv_port_decision d;
        const uint8_t high[4] = {0xff, 0xff, 0xff, 0xff};

        hv_port_decide(cases[i].port, true, 4, 1, value_bytes, &d);
        assert_int_equal(d.action, cases[i].action);
        assert_int_equal(d.value, 0x12345678);
        assert_null(d.data);
        assert_int_equal(d.length, 0);
        assert_string_equal(d.message, "");
        hv_port_decide(cases[i].port, true, 4, 1, high, &d);
        assert_int_equal(d.action, cases[i].action);
        assert_int_equal(d.value, UINT32_MAX);
    }
}

static void test_faults(void **state)
{
    assert_fault(0x60, true, 1, 1,
                 "OUT to port 0x60 (1 byte): not part of the guest ABI (console 0xe9, exit 0xf0, "
                 "vcpu-stop 0xf4, progress 0xf8)");
    assert_fault(0x60, false, 1, 1,
                 "IN from port 0x60 (1 byte): the guest ABI has no input ports (console 0xe9, "
                 "exit 0xf0, vcpu-stop 0xf4, progress 0xf8)");
    assert_fault(HV_GUEST_PORT_CONSOLE, false, 1, 1,
                 "IN from port 0xe9 (1 byte): the guest ABI has no input ports (console 0xe9, "
                 "exit 0xf0, vcpu-stop 0xf4, progress 0xf8)");
    assert_fault(HV_GUEST_PORT_EXIT, false, 4, 1,
                 "IN from port 0xf0 (4 bytes): the guest ABI has no input ports (console 0xe9, "
                 "exit 0xf0, vcpu-stop 0xf4, progress 0xf8)");
    assert_fault(HV_GUEST_PORT_CONSOLE, true, 2, 1,
                 "OUT to port 0xe9 (2 bytes): the console port takes 8-bit writes (outb, rep "
                 "outsb)");
    assert_fault(HV_GUEST_PORT_CONSOLE, true, 4, 3,
                 "OUT to port 0xe9 (4 bytes x 3): the console port takes 8-bit writes (outb, rep "
                 "outsb)");
    assert_fault(HV_GUEST_PORT_EXIT, true, 2, 1,
                 "OUT to port 0xf0 (2 bytes): the exit port takes one 32-bit write at a time "
                 "(outl)");
    assert_fault(HV_GUEST_PORT_EXIT, true, 1, 1,
                 "OUT to port 0xf0 (1 byte): the exit port takes one 32-bit write at a time "
                 "(outl)");
    assert_fault(HV_GUEST_PORT_VCPU_STOP, true, 4, 2,
                 "OUT to port 0xf4 (4 bytes x 2): the vcpu-stop port takes one 32-bit write at a "
                 "time (outl)");
    assert_fault(HV_GUEST_PORT_PROGRESS, true, 4, 0,
                 "OUT to port 0xf8 (4 bytes): the progress port takes one 32-bit write at a time "
                 "(outl)");
    assert_fault(0xf1, true, 4, 1,
                 "OUT to port 0xf1 (4 bytes): not part of the guest ABI (console 0xe9, exit 0xf0, "
                 "vcpu-stop 0xf4, progress 0xf8)");
    assert_fault(0xffff, true, 4, UINT32_MAX,
                 "OUT to port 0xffff (4 bytes x 4294967295): not part of the guest ABI (console "
                 "0xe9, exit 0xf0, vcpu-stop 0xf4, progress 0xf8)");

    /* no data where data is needed */
    {
        hv_port_decision d;

        hv_port_decide(HV_GUEST_PORT_EXIT, true, 4, 1, NULL, &d);
        assert_int_equal(d.action, HV_PORT_FAULT);
        hv_port_decide(HV_GUEST_PORT_CONSOLE, true, 1, 2, NULL, &d);
        assert_int_equal(d.action, HV_PORT_FAULT);
        assert_string_equal(d.message, "OUT to port 0xe9 (1 byte x 2): the access carries no data");
    }
    /* a NULL decision is ignored */
    hv_port_decide(HV_GUEST_PORT_EXIT, true, 4, 1, value_bytes, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_console),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
