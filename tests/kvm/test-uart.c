/*
 * tests/kvm/test-uart.c - COM1's 16550A model (lib/kvm/uart.c), driven the
 * way the vCPU loop will drive it: every access through hv_kvm_uart_io(), the
 * IRQ line set only when the effect says it changed, transmitted bytes
 * collected. Linux's 8250 probe (IER and scratch tests, the loopback test,
 * FIFO detection ending at a 16550A) and its THRE startup test, transmit
 * polled and with interrupts, the divisor latch, receiving with the FIFO's
 * interrupts and overrun, loopback, refusals, the state check, and the
 * state's snapshot bytes: a UART restored mid-use behaves as the original,
 * and every corrupted field is refused with the state left as it was.
 */
#include "hv-test.h"
#include "kvm/uart.h"

/* Register offsets and bits, as Linux's serial_reg.h names them: written out
 * here again on purpose, so that the model is checked against Linux's values,
 * not its own. */
#define RX           0
#define TX           0
#define DLL          0
#define IER          1
#define DLM          1
#define IIR          2
#define FCR          2
#define LCR          3
#define MCR          4
#define LSR          5
#define MSR          6
#define SCR          7

#define IER_RDI      0x01
#define IER_THRI     0x02
#define IER_RLSI     0x04
#define IER_MSI      0x08

#define IIR_NO_INT   0x01
#define IIR_MSI      0x00
#define IIR_THRI     0x02
#define IIR_RDI      0x04
#define IIR_RLSI     0x06
#define IIR_RX_TIMEO 0x0C
#define IIR_FIFOS    0xC0

#define FCR_ENABLE   0x01
#define FCR_CLR_RX   0x02
#define FCR_CLR_TX   0x04
#define FCR_TRIG_8   0x80

#define LCR_WLEN8    0x03
#define LCR_DLAB     0x80

#define MCR_DTR      0x01
#define MCR_RTS      0x02
#define MCR_OUT1     0x04
#define MCR_OUT2     0x08
#define MCR_LOOP     0x10

#define LSR_DR       0x01
#define LSR_OE       0x02
#define LSR_THRE     0x20
#define LSR_TEMT     0x40

#define MSR_DCTS     0x01
#define MSR_DDSR     0x02
#define MSR_TERI     0x04
#define MSR_DDCD     0x08
#define MSR_CTS      0x10
#define MSR_DSR      0x20
#define MSR_RI       0x40
#define MSR_DCD      0x80

/* The UART and what its caller keeps: the IRQ line as last set, the console. */
typedef struct machine {
    hv_kvm_uart u;
    bool line;
    unsigned int line_sets; /* KVM_IRQ_LINE calls the caller made */
    char out[256];
    size_t nout;
} machine;

static void apply(machine *m, const hv_kvm_uart_effect *e)
{
    if (e->tx) {
        assert_true(m->nout < sizeof(m->out) - 1);
        m->out[m->nout++] = (char)e->tx_byte;
        m->out[m->nout] = '\0';
    }
    if (e->irq_change) {
        assert_true(e->irq_level != m->line); /* reported only when it changes */
        m->line = e->irq_level;
        m->line_sets++;
    }
    assert_true(m->line == m->u.irq);
    assert_true(hv_kvm_uart_check(&m->u));
}

static void reset(machine *m)
{
    memset(m, 0x5a, sizeof(*m));
    hv_kvm_uart_init(&m->u);
    m->line = false;
    m->line_sets = 0;
    m->nout = 0;
    m->out[0] = '\0';
    assert_true(hv_kvm_uart_check(&m->u));
}

static uint8_t inb(machine *m, uint16_t offset)
{
    hv_kvm_uart_effect e;
    uint8_t byte = 0x5a;

    assert_hv_ok(hv_kvm_uart_io(&m->u, offset, false, &byte, &e));
    assert_false(e.tx);
    apply(m, &e);
    return byte;
}

static void outb(machine *m, uint16_t offset, uint8_t value)
{
    hv_kvm_uart_effect e;

    assert_hv_ok(hv_kvm_uart_io(&m->u, offset, true, &value, &e));
    apply(m, &e);
}

static size_t input(machine *m, const char *text, size_t count)
{
    hv_kvm_uart_effect e;
    size_t taken = hv_kvm_uart_input(&m->u, (const uint8_t *)text, count, &e);

    assert_false(e.tx);
    apply(m, &e);
    return taken;
}

/* A UART's state as Linux's startup leaves it: 8N1, DTR, RTS, OUT2. */
static void linux_open(machine *m)
{
    outb(m, LCR, LCR_WLEN8);
    outb(m, MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
    (void)inb(m, MSR); /* the deltas of the new modem control */
}

static void test_reset(void **state)
{
    machine m;

    reset(&m);
    assert_int_equal(inb(&m, IER), 0);
    assert_int_equal(inb(&m, IIR), IIR_NO_INT);
    assert_int_equal(inb(&m, LCR), 0);
    assert_int_equal(inb(&m, MCR), 0);
    assert_int_equal(inb(&m, LSR), LSR_THRE | LSR_TEMT);
    assert_int_equal(inb(&m, MSR), MSR_DCD | MSR_DSR | MSR_CTS);
    assert_int_equal(inb(&m, SCR), 0);
    assert_int_equal(inb(&m, RX), 0); /* nothing received */
    outb(&m, LCR, LCR_DLAB);
    assert_int_equal(inb(&m, DLL), HV_KVM_UART_RESET_DIVISOR);
    assert_int_equal(inb(&m, DLM), 0);
    assert_false(m.line);
    assert_int_equal(m.line_sets, 0);
    assert_int_equal(hv_kvm_uart_input_room(&m.u), 1); /* FIFO off: the holding register */
    assert_int_equal(m.u.rx_dropped, 0);
}

/*
 * drivers/tty/serial/8250/8250_port.c: autoconfig() and autoconfig_16550a(),
 * access for access, then the reset at its end; autoconfig_8250()'s scratch
 * register test; and serial8250_do_startup()'s test that THRE is reasserted.
 */
static void test_linux_probe(void **state)
{
    machine m;
    uint8_t scratch, scratch2, scratch3, save_mcr, save_lcr, status1, status2, iersave;
    uint8_t iir1, iir;

    reset(&m);
    /* the IER existence test */
    scratch = inb(&m, IER);
    outb(&m, IER, 0);
    scratch2 = inb(&m, IER) & 0x0F;
    outb(&m, IER, 0x0F);
    scratch3 = inb(&m, IER) & 0x0F;
    outb(&m, IER, scratch);
    assert_int_equal(scratch2, 0);
    assert_int_equal(scratch3, 0x0F);

    /* the loopback test: RTS -> CTS, OUT2 -> DCD */
    save_mcr = inb(&m, MCR);
    save_lcr = inb(&m, LCR);
    outb(&m, MCR, MCR_LOOP | 0x0A);
    status1 = inb(&m, MSR) & 0xF0;
    outb(&m, MCR, save_mcr);
    assert_int_equal(status1, MSR_DCD | MSR_CTS);

    /* the FIFO: EFR cleared (a 16550A's FCR under LCR 0xBF), then IIR's top bits */
    outb(&m, LCR, 0xBF);
    outb(&m, FCR, 0);
    outb(&m, LCR, 0);
    outb(&m, FCR, FCR_ENABLE);
    scratch = inb(&m, IIR);
    assert_int_equal(scratch >> 6, 3); /* autoconfig_16550a() */

    /* no EFR behind LCR 0x80 (ST16C650V1) nor 0xBF (ST16C650V2): offset 2 reads IIR */
    outb(&m, LCR, 0x80);
    assert_int_not_equal(inb(&m, IIR), 0);
    outb(&m, LCR, 0xBF);
    assert_int_not_equal(inb(&m, IIR), 0);
    /* no National SuperIO: its EXCR1 would follow MCR.LOOP */
    outb(&m, LCR, 0);
    status1 = inb(&m, MCR);
    outb(&m, LCR, 0xE0);
    status2 = inb(&m, 0x02);
    assert_int_equal((status2 ^ status1) & MCR_LOOP, 0);
    outb(&m, LCR, 0);
    outb(&m, MCR, status1 ^ MCR_LOOP);
    outb(&m, LCR, 0xE0);
    status2 = inb(&m, 0x02);
    outb(&m, LCR, 0);
    outb(&m, MCR, status1);
    assert_int_equal((status2 ^ status1) & MCR_LOOP, 0);
    /* no TI16750: IIR bit 5 (64-byte FIFO) never sets, with or without DLAB */
    outb(&m, LCR, 0);
    outb(&m, FCR, FCR_ENABLE | 0x20);
    status1 = inb(&m, IIR) & 0xE0;
    outb(&m, FCR, FCR_ENABLE);
    outb(&m, LCR, 0x80);
    outb(&m, FCR, FCR_ENABLE | 0x20);
    status2 = inb(&m, IIR) & 0xE0;
    outb(&m, FCR, FCR_ENABLE);
    outb(&m, LCR, 0);
    assert_int_equal(status1, IIR_FIFOS);
    assert_int_equal(status2, IIR_FIFOS);
    /* no XScale: IER bit 6 (UUE) does not stick */
    iersave = inb(&m, IER);
    outb(&m, IER, iersave & ~0x40);
    assert_int_equal(inb(&m, IER) & 0x40, 0);
    outb(&m, IER, iersave | 0x40);
    assert_int_equal(inb(&m, IER) & 0x40, 0);
    outb(&m, IER, iersave);

    /* the reset that ends autoconfig(): serial8250_clear_fifos(), RX read, IER 0 */
    outb(&m, LCR, save_lcr);
    outb(&m, MCR, save_mcr);
    outb(&m, FCR, FCR_ENABLE);
    outb(&m, FCR, FCR_ENABLE | FCR_CLR_RX | FCR_CLR_TX);
    outb(&m, FCR, 0);
    (void)inb(&m, RX);
    outb(&m, IER, 0);

    /* autoconfig_8250()'s scratch register test (a 16450 has SCR too) */
    status1 = inb(&m, SCR);
    outb(&m, SCR, 0xA5);
    status2 = inb(&m, SCR);
    outb(&m, SCR, 0x5A);
    scratch = inb(&m, SCR);
    outb(&m, SCR, status1);
    assert_int_equal(status2, 0xA5);
    assert_int_equal(scratch, 0x5A);
    assert_int_equal(inb(&m, SCR), status1);

    /* Nothing was sent, and with OUT2 clear the IRQ line never rose. */
    assert_int_equal(m.nout, 0);
    assert_int_equal(m.line_sets, 0);

    /* serial8250_do_startup(): clear, LCR 8N1, OUT2, then THRE must be reasserted */
    outb(&m, FCR, FCR_ENABLE);
    outb(&m, FCR, FCR_ENABLE | FCR_CLR_RX | FCR_CLR_TX);
    outb(&m, FCR, 0);
    (void)inb(&m, LSR);
    (void)inb(&m, RX);
    (void)inb(&m, IIR);
    (void)inb(&m, MSR);
    assert_int_not_equal(inb(&m, LSR), 0xFF);
    linux_open(&m);
    outb(&m, IER, IER_THRI);
    assert_true(m.line);
    iir1 = inb(&m, IIR);
    assert_false(m.line);
    outb(&m, IER, 0);
    outb(&m, IER, IER_THRI);
    assert_true(m.line);
    iir = inb(&m, IIR);
    outb(&m, IER, 0);
    assert_int_equal(iir1, IIR_THRI);
    assert_int_equal(iir, IIR_THRI); /* no UART_BUG_THRE */
    assert_false(m.line);
    assert_int_equal(m.line_sets, 4);
}

/* The console's way (serial8250_console_putchar): IER 0, poll LSR.THRE, write THR. */
static void test_transmit_polled(void **state)
{
    const char *text = "Linux version 6.1\r\n";
    machine m;

    reset(&m);
    linux_open(&m);
    outb(&m, FCR, FCR_ENABLE | FCR_TRIG_8);
    for (const char *p = text; *p; p++) {
        assert_int_equal(inb(&m, LSR) & LSR_THRE, LSR_THRE);
        outb(&m, TX, (uint8_t)*p);
    }
    assert_int_equal(inb(&m, LSR), LSR_THRE | LSR_TEMT); /* both empty: sent at once */
    assert_string_equal(m.out, text);
    assert_int_equal(m.line_sets, 0);
    assert_int_equal(inb(&m, IIR), IIR_FIFOS | IIR_NO_INT);
}

static void test_transmit_interrupts(void **state)
{
    machine m;

    reset(&m);
    linux_open(&m);
    outb(&m, FCR, FCR_ENABLE | FCR_TRIG_8);
    /* enabling THR-empty raises the line; reading IIR (THRI reported) lowers it */
    outb(&m, IER, IER_RDI | IER_RLSI | IER_THRI);
    assert_true(m.line);
    assert_int_equal(inb(&m, IIR), IIR_FIFOS | IIR_THRI);
    assert_false(m.line);
    assert_int_equal(inb(&m, IIR), IIR_FIFOS | IIR_NO_INT);
    /* every byte written empties THR again at once: the line rises */
    outb(&m, TX, 'o');
    assert_true(m.line);
    outb(&m, TX, 'k'); /* still pending: no second call */
    assert_true(m.line);
    assert_int_equal(m.line_sets, 3);
    assert_string_equal(m.out, "ok");
    assert_int_equal(inb(&m, IIR), IIR_FIFOS | IIR_THRI);
    assert_false(m.line);
    /* disabling THR-empty while it is pending withdraws it (__stop_tx) */
    outb(&m, TX, '!');
    assert_true(m.line);
    outb(&m, IER, IER_RDI | IER_RLSI);
    assert_false(m.line);
    assert_int_equal(inb(&m, IIR), IIR_FIFOS | IIR_NO_INT);
    /* reading IIR while another source is reported leaves THR-empty pending */
    outb(&m, IER, IER_RDI | IER_RLSI | IER_THRI);
    assert_int_equal(input(&m, "a", 1), 1);
    assert_int_equal(inb(&m, IIR), IIR_FIFOS | IIR_RX_TIMEO);
    assert_true(m.line);
    assert_int_equal(inb(&m, RX), 'a');
    assert_int_equal(inb(&m, IIR), IIR_FIFOS | IIR_THRI);
    assert_false(m.line);

    /* OUT2 gates the line: pending but not raised, raised when OUT2 is set */
    outb(&m, MCR, MCR_DTR | MCR_RTS);
    outb(&m, IER, 0);
    outb(&m, IER, IER_THRI);
    assert_false(m.line);
    assert_int_equal(inb(&m, IIR), IIR_FIFOS | IIR_THRI);
    outb(&m, TX, '?');
    assert_false(m.line);
    outb(&m, MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
    assert_true(m.line);
    /* loopback takes the OUT2 pin, and the line, away */
    outb(&m, MCR, MCR_DTR | MCR_RTS | MCR_OUT2 | MCR_LOOP);
    assert_false(m.line);
    outb(&m, MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
    assert_true(m.line);
    assert_string_equal(m.out, "ok!?");
}

/* serial8250_do_set_termios(): LCR with DLAB, DLL and DLM, LCR without. */
static void test_divisor_latch(void **state)
{
    machine m;

    reset(&m);
    linux_open(&m);
    outb(&m, IER, IER_RDI);
    outb(&m, LCR, LCR_WLEN8 | LCR_DLAB);
    outb(&m, DLL, 0x01); /* 115200 baud */
    outb(&m, DLM, 0x00);
    assert_int_equal(inb(&m, DLL), 0x01);
    assert_int_equal(inb(&m, DLM), 0x00);
    outb(&m, DLM, 0x04);
    assert_int_equal(inb(&m, DLM), 0x04);
    assert_int_equal(m.nout, 0);        /* DLL is not THR */
    assert_int_equal(m.u.ier, IER_RDI); /* DLM is not IER */
    assert_int_equal(input(&m, "z", 1), 1);
    assert_int_equal(inb(&m, DLL), 0x01); /* nor RBR: the byte stays */
    assert_int_equal(inb(&m, LSR) & LSR_DR, LSR_DR);
    assert_int_equal(inb(&m, LCR), LCR_WLEN8 | LCR_DLAB);
    /* offset 2 is still IIR and FCR */
    outb(&m, FCR, FCR_ENABLE);
    assert_int_equal(inb(&m, IIR) & IIR_FIFOS, IIR_FIFOS);

    outb(&m, LCR, LCR_WLEN8);
    assert_int_equal(inb(&m, IER), IER_RDI);
    assert_int_equal(inb(&m, RX), 0); /* the FIFO switch emptied the receiver */
    outb(&m, TX, 'T');
    assert_string_equal(m.out, "T");
    outb(&m, LCR, LCR_WLEN8 | LCR_DLAB);
    assert_int_equal(inb(&m, DLL), 0x01);
    assert_int_equal(inb(&m, DLM), 0x04);
}

static void test_receive(void **state)
{
    machine m;

    reset(&m);
    linux_open(&m);
    outb(&m, FCR, FCR_ENABLE | FCR_TRIG_8);
    assert_int_equal(hv_kvm_uart_input_room(&m.u), HV_KVM_UART_FIFO_BYTES);

    /* received data without its interrupt enabled: DR only */
    assert_int_equal(input(&m, "abc", 3), 3);
    assert_false(m.line);
    assert_int_equal(inb(&m, LSR), LSR_DR | LSR_THRE | LSR_TEMT);
    assert_int_equal(inb(&m, IIR), IIR_FIFOS | IIR_NO_INT);
    assert_int_equal(hv_kvm_uart_input_room(&m.u), HV_KVM_UART_FIFO_BYTES - 3);
    /* enabled: below the trigger level a character timeout, at it received data */
    outb(&m, IER, IER_RDI | IER_RLSI);
    assert_true(m.line);
    assert_int_equal(inb(&m, IIR), IIR_FIFOS | IIR_RX_TIMEO);
    assert_int_equal(input(&m, "defgh", 5), 5);
    assert_int_equal(inb(&m, IIR), IIR_FIFOS | IIR_RDI);
    assert_int_equal(inb(&m, RX), 'a');
    assert_int_equal(inb(&m, IIR), IIR_FIFOS | IIR_RX_TIMEO);
    assert_true(m.line);
    /* serial8250_rx_chars(): read while LSR.DR */
    for (const char *p = "bcdefgh"; *p; p++) {
        assert_int_equal(inb(&m, LSR) & LSR_DR, LSR_DR);
        assert_int_equal(inb(&m, RX), *p);
    }
    assert_false(m.line);
    assert_int_equal(inb(&m, LSR), LSR_THRE | LSR_TEMT);
    assert_int_equal(inb(&m, IIR), IIR_FIFOS | IIR_NO_INT);
    assert_int_equal(m.line_sets, 2);

    /* the ring wraps */
    for (int round = 0; round < 5; round++) {
        assert_int_equal(input(&m, "0123456789", 10), 10);
        for (const char *p = "0123456789"; *p; p++)
            assert_int_equal(inb(&m, RX), *p);
    }
    /* FCR's receiver reset empties it and lowers the line */
    assert_int_equal(input(&m, "xyz", 3), 3);
    assert_true(m.line);
    outb(&m, FCR, FCR_ENABLE | FCR_TRIG_8 | FCR_CLR_RX);
    assert_false(m.line);
    assert_int_equal(inb(&m, LSR) & LSR_DR, 0);
    /* switching the FIFO off empties it; then one byte is held at a time */
    assert_int_equal(input(&m, "xyz", 3), 3);
    outb(&m, FCR, 0);
    assert_false(m.line);
    assert_int_equal(inb(&m, LSR) & LSR_DR, 0);
    assert_int_equal(inb(&m, IIR), IIR_NO_INT);
    assert_int_equal(hv_kvm_uart_input_room(&m.u), 1);
    assert_int_equal(input(&m, "p", 1), 1);
    assert_true(m.line);
    assert_int_equal(inb(&m, IIR), IIR_RDI); /* no timeout without FIFO */
    /* without the enable bit FCR's other bits are not taken: the byte stays */
    outb(&m, FCR, FCR_CLR_RX | FCR_TRIG_8);
    assert_int_equal(m.u.fcr, 0);
    assert_int_equal(inb(&m, RX), 'p');
    assert_false(m.line);
    assert_int_equal(m.u.rx_dropped, 0);
}

static void test_overrun(void **state)
{
    char bytes[HV_KVM_UART_FIFO_BYTES + 4];
    machine m;

    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (char)('A' + i);
    reset(&m);
    linux_open(&m);
    outb(&m, FCR, FCR_ENABLE | FCR_TRIG_8);
    outb(&m, IER, IER_RDI | IER_RLSI);

    assert_int_equal(input(&m, bytes, sizeof(bytes)), HV_KVM_UART_FIFO_BYTES);
    assert_int_equal(m.u.rx_dropped, 4);
    assert_int_equal(hv_kvm_uart_input_room(&m.u), 0);
    assert_int_equal(input(&m, "!", 1), 0);
    assert_int_equal(m.u.rx_dropped, 5);
    /* the overrun is a line status interrupt, above received data; reading LSR clears it */
    assert_true(m.line);
    assert_int_equal(inb(&m, IIR), IIR_FIFOS | IIR_RLSI);
    assert_int_equal(inb(&m, LSR), LSR_OE | LSR_DR | LSR_THRE | LSR_TEMT);
    assert_int_equal(inb(&m, LSR), LSR_DR | LSR_THRE | LSR_TEMT);
    assert_int_equal(inb(&m, IIR), IIR_FIFOS | IIR_RDI);
    /* the first 16 bytes, in order: the dropped ones are the late ones */
    for (size_t i = 0; i < HV_KVM_UART_FIFO_BYTES; i++)
        assert_int_equal(inb(&m, RX), bytes[i]);
    assert_int_equal(inb(&m, RX), 0); /* empty */
    assert_false(m.line);
    assert_int_equal(hv_kvm_uart_input_room(&m.u), HV_KVM_UART_FIFO_BYTES);

    /* without the FIFO the second byte overruns */
    outb(&m, FCR, 0);
    assert_int_equal(input(&m, "xy", 2), 1);
    assert_int_equal(m.u.rx_dropped, 6);
    assert_int_equal(inb(&m, IIR), IIR_RLSI);
    assert_int_equal(inb(&m, LSR), LSR_OE | LSR_DR | LSR_THRE | LSR_TEMT);
    assert_int_equal(inb(&m, RX), 'x');
    assert_false(m.line);
}

static void test_loopback(void **state)
{
    static const struct {
        uint8_t mcr, msr;
    } wiring[] = {{MCR_RTS, MSR_CTS}, {MCR_DTR, MSR_DSR}, {MCR_OUT1, MSR_RI}, {MCR_OUT2, MSR_DCD}};
    machine m;

    reset(&m);
    linux_open(&m);
    /* each modem control output reaches its input, with its delta bit */
    outb(&m, MCR, MCR_LOOP);
    assert_int_equal(inb(&m, MSR), MSR_DDCD | MSR_DDSR | MSR_DCTS);
    for (size_t i = 0; i < sizeof(wiring) / sizeof(wiring[0]); i++) {
        outb(&m, MCR, MCR_LOOP | wiring[i].mcr);
        assert_int_equal(inb(&m, MSR) & 0xF0, wiring[i].msr);
        outb(&m, MCR, MCR_LOOP);
        assert_int_equal(inb(&m, MSR) & 0xF0, 0);
    }
    outb(&m, MCR, MCR_LOOP | MCR_OUT1);
    outb(&m, MCR, MCR_LOOP);
    assert_int_equal(inb(&m, MSR), MSR_TERI); /* a ring's trailing edge */

    /* the transmitter feeds the receiver; the host's bytes go nowhere */
    outb(&m, FCR, FCR_ENABLE);
    outb(&m, TX, 'L');
    outb(&m, TX, 'B');
    assert_int_equal(m.nout, 0);
    assert_int_equal(hv_kvm_uart_input_room(&m.u), 0);
    assert_int_equal(input(&m, "host", 4), 0);
    assert_int_equal(m.u.rx_dropped, 4);
    assert_int_equal(inb(&m, LSR), LSR_DR | LSR_THRE | LSR_TEMT); /* no overrun */
    outb(&m, IER, IER_RDI);
    assert_int_equal(inb(&m, IIR), IIR_FIFOS | IIR_RDI); /* trigger level 1 */
    assert_false(m.line);                                /* loopback disconnects the IRQ */
    assert_int_equal(inb(&m, RX), 'L');
    assert_int_equal(inb(&m, RX), 'B');
    /* a second byte without the FIFO overruns, as input from the line would */
    outb(&m, FCR, 0);
    outb(&m, TX, 'x');
    outb(&m, TX, 'y');
    assert_int_equal(m.u.rx_dropped, 5);
    assert_int_equal(inb(&m, LSR), LSR_OE | LSR_DR | LSR_THRE | LSR_TEMT);
    assert_int_equal(inb(&m, RX), 'x');
    assert_int_equal(m.nout, 0);
    outb(&m, FCR, FCR_ENABLE);

    /* out of loopback: the modem status interrupt reports the inputs' change */
    outb(&m, IER, IER_MSI);
    outb(&m, MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
    assert_true(m.line);
    assert_int_equal(inb(&m, IIR), IIR_FIFOS | IIR_MSI);
    assert_int_equal(inb(&m, MSR), MSR_DCD | MSR_DSR | MSR_CTS | MSR_DDCD | MSR_DDSR | MSR_DCTS);
    assert_false(m.line);
    assert_int_equal(inb(&m, MSR), MSR_DCD | MSR_DSR | MSR_CTS);
    assert_int_equal(inb(&m, IIR), IIR_FIFOS | IIR_NO_INT);
    /* MCR bits 5-7 and IER bits 4-7 read 0; LSR and MSR ignore writes */
    outb(&m, MCR, 0xE0 | MCR_OUT2);
    assert_int_equal(inb(&m, MCR), MCR_OUT2);
    outb(&m, IER, 0xF0);
    assert_int_equal(inb(&m, IER), 0);
    outb(&m, LSR, 0xFF);
    outb(&m, MSR, 0xFF);
    assert_int_equal(inb(&m, LSR), LSR_THRE | LSR_TEMT);
    assert_int_equal(inb(&m, MSR), MSR_DCD | MSR_DSR | MSR_CTS);
}

static void test_refusals(void **state)
{
    static const uint16_t offsets[] = {8, 9, 0x3F8, 0xFFFF};
    machine m;
    hv_kvm_uart before;
    hv_kvm_uart_effect e;
    uint8_t byte;

    reset(&m);
    linux_open(&m);
    outb(&m, IER, IER_THRI); /* something pending */
    before = m.u;
    for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
        for (int out = 0; out < 2; out++) {
            byte = 0xA5;
            memset(&e, 0x5a, sizeof(e));
            assert_hv_error(hv_kvm_uart_io(&m.u, offsets[i], out, &byte, &e), HV_E_RANGE);
            assert_error_mentions("UART register offset");
            assert_int_equal(byte, 0xA5);
            assert_false(e.tx);
            assert_false(e.irq_change);
            assert_memory_equal(&m.u, &before, sizeof(before));
        }
    }
    assert_hv_error(hv_kvm_uart_io(NULL, 0, true, &byte, &e), HV_E_INVAL);
    assert_hv_error(hv_kvm_uart_io(&m.u, 0, true, NULL, &e), HV_E_INVAL);
    assert_hv_error(hv_kvm_uart_io(&m.u, 0, true, &byte, NULL), HV_E_INVAL);
    assert_memory_equal(&m.u, &before, sizeof(before));
    assert_int_equal(m.nout, 0);
    /* no input is no change */
    assert_int_equal(input(&m, NULL, 0), 0);
    assert_memory_equal(&m.u, &before, sizeof(before));
}

/* hv_kvm_uart_check(): what a restore from a snapshot must refuse. */
static void test_check(void **state)
{
    machine m;
    hv_kvm_uart u;

    reset(&m);
    linux_open(&m);
    outb(&m, FCR, FCR_ENABLE);
    outb(&m, IER, IER_RDI);
    assert_int_equal(input(&m, "abc", 3), 3);
    assert_true(m.u.irq);
    assert_true(hv_kvm_uart_check(&m.u));

#define REFUSED(change)                                                                            \
    do {                                                                                           \
        u = m.u;                                                                                   \
        change;                                                                                    \
        assert_false(hv_kvm_uart_check(&u));                                                       \
    } while (0)
    REFUSED(u.ier |= 0x10);
    REFUSED(u.mcr |= 0x20);
    REFUSED(u.fcr |= 0x08);
    REFUSED(u.lsr_error = 0x80);
    REFUSED(u.msr_delta = 0x10);
    REFUSED(u.rx_head = HV_KVM_UART_FIFO_BYTES);
    REFUSED(u.rx_count = HV_KVM_UART_FIFO_BYTES + 1);
    REFUSED(u.fcr = 0);          /* three bytes held without a FIFO */
    REFUSED(u.irq = false);      /* the line must be what its sources make it */
    REFUSED(u.mcr &= ~MCR_OUT2); /* ...and OUT2 */
#undef REFUSED
    u = m.u;
    u.rx_head = HV_KVM_UART_FIFO_BYTES - 1; /* anywhere in the ring */
    u.rx_count = HV_KVM_UART_FIFO_BYTES;
    assert_true(hv_kvm_uart_check(&u));
}

/* ---- the snapshot's bytes ------------------------------------------------- */

/*
 * A UART mid-use: 8N1 at a set divisor, the scratch register written, the
 * FIFO on at trigger 8 holding bytes that wrap around the ring's end, an
 * overrun not yet read, modem deltas pending, received-data and line-status
 * interrupts enabled with OUT2: the line is high.
 */
static void mid_use(machine *m)
{
    char bytes[HV_KVM_UART_FIFO_BYTES + 3];

    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (char)('a' + i);
    reset(m);
    outb(m, LCR, LCR_DLAB);
    outb(m, DLL, 0x01);
    outb(m, DLM, 0x02);
    linux_open(m);
    outb(m, SCR, 0x5c);
    outb(m, FCR, FCR_ENABLE | FCR_TRIG_8);
    outb(m, IER, IER_RDI | IER_RLSI | IER_MSI);
    assert_int_equal(input(m, bytes, 11), 11);
    for (int i = 0; i < 11; i++)
        assert_int_equal(inb(m, RX), 'a' + i);
    assert_int_equal(input(m, bytes, sizeof(bytes)), HV_KVM_UART_FIFO_BYTES); /* overrun */
    for (int i = 0; i < 4; i++)
        assert_int_equal(inb(m, RX), 'a' + i);
    outb(m, MCR, MCR_DTR | MCR_OUT2); /* RTS off: a CTS delta in loopback only, DTR kept */
    outb(m, MCR, MCR_DTR | MCR_RTS | MCR_OUT2 | MCR_OUT1);
    assert_true(m->u.rx_head + m->u.rx_count > HV_KVM_UART_FIFO_BYTES); /* it wraps */
    assert_int_equal(m->u.lsr_error, LSR_OE);
    assert_true(m->line);
}

/* One access on both UARTs: the same value read, the same effect. */
static void both(machine *a, machine *b, uint16_t offset, bool out, uint8_t value)
{
    if (out) {
        outb(a, offset, value);
        outb(b, offset, value);
    } else {
        assert_int_equal(inb(a, offset), inb(b, offset));
    }
    assert_int_equal(a->line, b->line);
    assert_int_equal(a->line_sets, b->line_sets);
    assert_string_equal(a->out, b->out);
}

/* An access the guest makes: a read (`out` false) or a write of `value`. */
typedef struct guest_access {
    uint16_t offset;
    bool out;
    uint8_t value;
} guest_access;

/* The same accesses on both UARTs. */
static void replay(machine *a, machine *b, const guest_access *steps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        both(a, b, steps[i].offset, steps[i].out, steps[i].value);
}

static void test_state_round_trip(void **state)
{
    /* the registers read back, interrupts enabled and acknowledged, a byte sent, the divisor */
    static const guest_access first[] = {
        {IIR, false, 0},
        {LSR, false, 0},
        {LSR, false, 0},
        {MSR, false, 0},
        {MSR, false, 0},
        {LCR, false, 0},
        {MCR, false, 0},
        {SCR, false, 0},
        {IER, false, 0},
        {RX, false, 0},
        {IIR, false, 0},
        {IER, true, IER_RDI | IER_THRI},
        {IIR, false, 0},
        {IIR, false, 0},
        {TX, true, 'Z'},
        {IIR, false, 0},
        {LCR, true, LCR_DLAB | LCR_WLEN8},
        {DLL, false, 0},
        {DLM, false, 0},
        {LCR, true, LCR_WLEN8},
    };
    /* (the FIFO read empty between them) then the line status, loopback, modem status */
    static const guest_access then[] = {
        {LSR, false, 0},
        {IIR, false, 0},
        {MCR, true, MCR_LOOP},
        {TX, true, 'L'},
        {RX, false, 0},
        {MSR, false, 0},
        {MCR, true, MCR_DTR | MCR_RTS | MCR_OUT2},
    };
    static const guest_access read_rx = {RX, false, 0};
    uint8_t blob[HV_KVM_UART_STATE_BYTES], again[HV_KVM_UART_STATE_BYTES];
    machine a, b;

    (void)state;
    mid_use(&a);
    hv_kvm_uart_state_encode(&a.u, blob);
    assert_int_equal(memcmp(blob, "UART\1\0\0\0", 8), 0);
    reset(&b);
    assert_hv_ok(hv_kvm_uart_state_decode(&b.u, blob, sizeof(blob)));
    assert_true(hv_kvm_uart_check(&b.u));
    /* the caller sets its line where the restored UART says */
    b.line = b.u.irq;
    b.line_sets = a.line_sets;
    assert_true(b.line);
    hv_kvm_uart_state_encode(&b.u, again);
    assert_memory_equal(blob, again, sizeof(blob));
    assert_int_equal(b.u.rx_dropped, 3);

    replay(&a, &b, first, sizeof(first) / sizeof(first[0]));
    for (int i = 0; i < 13; i++) /* the FIFO's 11 bytes, and reads of an empty one */
        replay(&a, &b, &read_rx, 1);
    replay(&a, &b, then, sizeof(then) / sizeof(then[0]));
    assert_string_equal(b.out, "Z");
    assert_int_equal(input(&a, "tail", 4), input(&b, "tail", 4));
    for (int i = 0; i < 6; i++)
        both(&a, &b, i % 2 ? IIR : RX, false, 0);
    assert_int_equal(a.u.rx_dropped, b.u.rx_dropped);
}

/* Each field out of range, and blobs of the wrong size, magic or version. */
static void test_state_refused(void **state)
{
    static const struct {
        size_t offset;
        uint8_t value;
        const char *mentions;
    } fields[] = {
        {0, 'V', "magic"},
        {4, 2, "version 2"},
        {7, 1, "version"},
        {8, 0x10, "IER"},
        {10, 0x20, "MCR"},
        {12, 0x08, "FCR"},
        {12, 0x00, "rx_count"},
        {15, 0x80, "LSR"},
        {16, 0x10, "MSR"},
        {17, 0x04, "flags"},
        {17, 0x00, "IRQ line is low"},
        {18, 16, "rx_head"},
        {18, 0xFF, "rx_head"},
        {19, 17, "rx_count"},
        {19, 0xFF, "rx_count"},
    };
    static const size_t sizes[] = {0, 7, 8, HV_KVM_UART_STATE_BYTES - 1,
                                   HV_KVM_UART_STATE_BYTES + 1};
    uint8_t blob[HV_KVM_UART_STATE_BYTES + 1], bad[HV_KVM_UART_STATE_BYTES + 1];
    machine a, b;
    hv_kvm_uart before;

    (void)state;
    mid_use(&a);
    hv_kvm_uart_state_encode(&a.u, blob);
    blob[HV_KVM_UART_STATE_BYTES] = 0;
    mid_use(&b);
    assert_hv_ok(hv_kvm_uart_io(&b.u, SCR, true, &(uint8_t){0x11}, &(hv_kvm_uart_effect){0}));
    before = b.u;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        memcpy(bad, blob, sizeof(bad));
        bad[fields[i].offset] = fields[i].value;
        assert_hv_error(hv_kvm_uart_state_decode(&b.u, bad, HV_KVM_UART_STATE_BYTES),
                        HV_E_SNAPSHOT);
        assert_error_mentions(fields[i].mentions);
        assert_memory_equal(&b.u, &before, sizeof(before));
    }
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        assert_hv_error(hv_kvm_uart_state_decode(&b.u, blob, sizes[i]), HV_E_SNAPSHOT);
        assert_error_mentions("bytes");
        assert_memory_equal(&b.u, &before, sizeof(before));
    }
    /* the line high without an enabled source: IER off with the flag kept */
    memcpy(bad, blob, sizeof(bad));
    bad[8] = 0;
    assert_hv_error(hv_kvm_uart_state_decode(&b.u, bad, HV_KVM_UART_STATE_BYTES), HV_E_SNAPSHOT);
    assert_error_mentions("IRQ line is high");
    assert_hv_error(hv_kvm_uart_state_decode(&b.u, NULL, 0), HV_E_INVAL);
    assert_memory_equal(&b.u, &before, sizeof(before));
    /* and the untouched blob is taken */
    assert_hv_ok(hv_kvm_uart_state_decode(&b.u, blob, HV_KVM_UART_STATE_BYTES));
    assert_int_equal(b.u.scr, 0x5c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_linux_probe),
        cmocka_unit_test(test_transmit_polled),
        cmocka_unit_test(test_transmit_interrupts),
        cmocka_unit_test(test_divisor_latch),
        cmocka_unit_test(test_receive),
        cmocka_unit_test(test_overrun),
        cmocka_unit_test(test_loopback),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_state_round_trip),
        cmocka_unit_test(test_state_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
