/*
 * kvm/uart.c - an 8250-family UART as a 16550A (pure: the state is the
 * caller's struct, every access returns what it means). It owns the register
 * semantics (the divisor latch behind DLAB, IIR/FCR sharing offset 2, MCR's
 * loopback wiring into MSR), the receive FIFO with its overrun and the four
 * interrupt sources, prioritized as the 16550A does, and the IRQ line they
 * drive through MCR.OUT2; and the state's snapshot bytes (encoded and
 * checked field by field). Registers and bits are named as in the PC16550D
 * data sheet and Linux's include/uapi/linux/serial_reg.h.
 */
#include "kvm/uart.h"
#include "core/error.h"
#include "kvm/state-bytes.h"

#include <string.h>

enum {
    REG_DATA = 0, /* RBR (read), THR (write); DLL with DLAB */
    REG_IER = 1,  /* DLM with DLAB */
    REG_IIR = 2,  /* IIR (read), FCR (write) */
    REG_LCR = 3,
    REG_MCR = 4,
    REG_LSR = 5,
    REG_MSR = 6,
    REG_SCR = 7
};

#define IER_ERBFI    0x01 /* received data available */
#define IER_ETBEI    0x02 /* THR empty */
#define IER_ELSI     0x04 /* receiver line status */
#define IER_EDSSI    0x08 /* modem status */
#define IER_MASK     0x0F

#define IIR_NONE     0x01 /* no interrupt pending */
#define IIR_MSI      0x00
#define IIR_THRI     0x02
#define IIR_RDI      0x04
#define IIR_RLSI     0x06
#define IIR_CTI      0x0C /* character timeout: data below the trigger level */
#define IIR_FIFOS    0xC0 /* both FIFOs enabled (a 16550A; a 16550 said 0x80) */

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define FCR_TRIGGER  0xC0
#define FCR_KEPT     (FCR_ENABLE | FCR_TRIGGER)

#define LCR_DLAB     0x80

#define MCR_DTR      0x01
#define MCR_RTS      0x02
#define MCR_OUT1     0x04
#define MCR_OUT2     0x08
#define MCR_LOOP     0x10
#define MCR_MASK     0x1F

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
#define MSR_DELTA    0x0F

/* ---- derived registers ------------------------------------------------------- */

static bool fifo_on(const hv_kvm_uart *u)
{
    return (u->fcr & FCR_ENABLE) != 0;
}

static size_t rx_capacity(const hv_kvm_uart *u)
{
    return fifo_on(u) ? HV_KVM_UART_FIFO_BYTES : 1;
}

/* FCR bits 6-7: the receive FIFO's interrupt trigger level. */
static unsigned int rx_trigger(const hv_kvm_uart *u)
{
    static const unsigned int levels[4] = {1, 4, 8, 14};

    return levels[(u->fcr & FCR_TRIGGER) >> 6];
}

/*
 * The modem inputs CTS, DSR, RI, DCD: in loopback MCR's RTS, DTR, OUT1 and
 * OUT2; otherwise a line with a terminal that is always there (CTS, DSR,
 * DCD set, no ring), so that an open() waiting for carrier does not wait.
 */
static uint8_t modem_inputs(const hv_kvm_uart *u)
{
    uint8_t m = u->mcr;

    if (!(m & MCR_LOOP))
        return MSR_CTS | MSR_DSR | MSR_DCD;
    return (uint8_t)((m & MCR_RTS ? MSR_CTS : 0) | (m & MCR_DTR ? MSR_DSR : 0) |
                     (m & MCR_OUT1 ? MSR_RI : 0) | (m & MCR_OUT2 ? MSR_DCD : 0));
}

static uint8_t line_status(const hv_kvm_uart *u)
{
    return (uint8_t)((u->rx_count ? LSR_DR : 0) | u->lsr_error | LSR_THRE | LSR_TEMT);
}

/* The highest-priority pending source that IER enables (IIR bits 0-3). */
static uint8_t pending_source(const hv_kvm_uart *u)
{
    if ((u->ier & IER_ELSI) && u->lsr_error)
        return IIR_RLSI;
    if ((u->ier & IER_ERBFI) && u->rx_count)
        return fifo_on(u) && u->rx_count < rx_trigger(u) ? IIR_CTI : IIR_RDI;
    if ((u->ier & IER_ETBEI) && u->thr_pending)
        return IIR_THRI;
    if ((u->ier & IER_EDSSI) && u->msr_delta)
        return IIR_MSI;
    return IIR_NONE;
}

/*
 * The ISA IRQ line: a pending source, gated by OUT2 as on every PC serial
 * port. Loopback forces the OUT2 pin inactive, which takes the line away too.
 */
static bool irq_level(const hv_kvm_uart *u)
{
    return pending_source(u) != IIR_NONE && (u->mcr & (MCR_OUT2 | MCR_LOOP)) == MCR_OUT2;
}

static void update_irq(hv_kvm_uart *u, hv_kvm_uart_effect *effect)
{
    bool level = irq_level(u);

    if (level == u->irq)
        return;
    u->irq = level;
    effect->irq_change = true;
    effect->irq_level = level;
}

/* ---- the receive FIFO -------------------------------------------------------- */

static void rx_clear(hv_kvm_uart *u)
{
    u->rx_head = 0;
    u->rx_count = 0;
}

/* Queue a byte that reached the receiver; a full FIFO overruns. */
static void rx_push(hv_kvm_uart *u, uint8_t byte)
{
    if (u->rx_count >= rx_capacity(u)) {
        u->lsr_error |= LSR_OE;
        u->rx_dropped++;
        return;
    }
    u->rx[(u->rx_head + u->rx_count) % HV_KVM_UART_FIFO_BYTES] = byte;
    u->rx_count++;
}

static uint8_t rx_pop(hv_kvm_uart *u)
{
    uint8_t byte;

    if (!u->rx_count)
        return 0;
    byte = u->rx[u->rx_head];
    u->rx_head = (uint8_t)((u->rx_head + 1) % HV_KVM_UART_FIFO_BYTES);
    u->rx_count--;
    return byte;
}

/* ---- writes ------------------------------------------------------------------ */

static void write_thr(hv_kvm_uart *u, uint8_t byte, hv_kvm_uart_effect *effect)
{
    if (u->mcr & MCR_LOOP) {
        rx_push(u, byte); /* the transmitter feeds the receiver */
    } else {
        effect->tx = true;
        effect->tx_byte = byte;
    }
    u->thr_pending = true; /* sent at once: THR is empty again */
}

static void write_ier(hv_kvm_uart *u, uint8_t value)
{
    uint8_t old = u->ier;

    u->ier = value & IER_MASK;
    /* Enabling the THR-empty interrupt raises it at once (THR is always
     * empty); Linux's startup test relies on that, every time it enables it. */
    if ((old ^ u->ier) & IER_ETBEI)
        u->thr_pending = (u->ier & IER_ETBEI) != 0;
}

static void write_fcr(hv_kvm_uart *u, uint8_t value)
{
    /* Without the enable bit the other bits are not taken; switching the
     * FIFOs on or off empties them. The transmitter keeps nothing to clear
     * (FCR_CLEAR_TX). */
    uint8_t fcr = value & FCR_ENABLE ? (uint8_t)(value & FCR_KEPT) : 0;

    if (((fcr ^ u->fcr) & FCR_ENABLE) || ((fcr & FCR_ENABLE) && (value & FCR_CLEAR_RX)))
        rx_clear(u);
    u->fcr = fcr;
}

static void write_mcr(hv_kvm_uart *u, uint8_t value)
{
    uint8_t before = modem_inputs(u), after, changed;

    u->mcr = value & MCR_MASK;
    after = modem_inputs(u);
    changed = before ^ after;
    if (changed & MSR_CTS)
        u->msr_delta |= MSR_DCTS;
    if (changed & MSR_DSR)
        u->msr_delta |= MSR_DDSR;
    if ((before & MSR_RI) && !(after & MSR_RI))
        u->msr_delta |= MSR_TERI; /* the trailing edge of a ring */
    if (changed & MSR_DCD)
        u->msr_delta |= MSR_DDCD;
}

static void write_register(hv_kvm_uart *u, uint16_t offset, uint8_t value,
                           hv_kvm_uart_effect *effect)
{
    bool dlab = (u->lcr & LCR_DLAB) != 0;

    switch (offset) {
    case REG_DATA:
        if (dlab)
            u->dll = value;
        else
            write_thr(u, value, effect);
        break;
    case REG_IER:
        if (dlab)
            u->dlm = value;
        else
            write_ier(u, value);
        break;
    case REG_IIR:
        write_fcr(u, value);
        break;
    case REG_LCR:
        u->lcr = value;
        break;
    case REG_MCR:
        write_mcr(u, value);
        break;
    case REG_SCR:
        u->scr = value;
        break;
    default: /* LSR and MSR: writes are ignored */
        break;
    }
}

/* ---- reads ------------------------------------------------------------------- */

static uint8_t read_iir(hv_kvm_uart *u)
{
    uint8_t source = pending_source(u);

    if (source == IIR_THRI)
        u->thr_pending = false; /* reading IIR acknowledges THR-empty */
    return (uint8_t)(source | (fifo_on(u) ? IIR_FIFOS : 0));
}

static uint8_t read_register(hv_kvm_uart *u, uint16_t offset)
{
    bool dlab = (u->lcr & LCR_DLAB) != 0;
    uint8_t value;

    switch (offset) {
    case REG_DATA:
        return dlab ? u->dll : rx_pop(u);
    case REG_IER:
        return dlab ? u->dlm : u->ier;
    case REG_IIR:
        return read_iir(u);
    case REG_LCR:
        return u->lcr;
    case REG_MCR:
        return u->mcr;
    case REG_LSR:
        value = line_status(u);
        u->lsr_error = 0;
        return value;
    case REG_MSR:
        value = (uint8_t)(modem_inputs(u) | u->msr_delta);
        u->msr_delta = 0;
        return value;
    default:
        return u->scr;
    }
}

/* ---- the interface ----------------------------------------------------------- */

void hv_kvm_uart_init(hv_kvm_uart *u)
{
    memset(u, 0, sizeof(*u));
    u->dll = HV_KVM_UART_RESET_DIVISOR & 0xFF;
    u->dlm = HV_KVM_UART_RESET_DIVISOR >> 8;
}

int hv_kvm_uart_io(hv_kvm_uart *u, uint16_t offset, bool out, uint8_t *byte,
                   hv_kvm_uart_effect *effect)
{
    if (!u || !byte || !effect)
        return hv_error_null_arg(__func__, !u ? "u" : !byte ? "byte" : "effect");
    memset(effect, 0, sizeof(*effect));
    if (offset >= HV_KVM_UART_REGISTERS)
        return hv_error_set(HV_E_RANGE, NULL, "UART register offset %u: the registers are 0..%d",
                            (unsigned int)offset, HV_KVM_UART_REGISTERS - 1);
    if (out)
        write_register(u, offset, *byte, effect);
    else
        *byte = read_register(u, offset);
    update_irq(u, effect);
    return 0;
}

size_t hv_kvm_uart_input_room(const hv_kvm_uart *u)
{
    if (u->mcr & MCR_LOOP)
        return 0;
    return rx_capacity(u) - u->rx_count;
}

size_t hv_kvm_uart_input(hv_kvm_uart *u, const uint8_t *bytes, size_t count,
                         hv_kvm_uart_effect *effect)
{
    size_t taken = 0;

    memset(effect, 0, sizeof(*effect));
    if (u->mcr & MCR_LOOP) {
        u->rx_dropped += count; /* the receiver listens to the transmitter only */
        return 0;
    }
    while (taken < count && u->rx_count < rx_capacity(u))
        rx_push(u, bytes[taken++]);
    if (taken < count) { /* an overrun: the rest is lost */
        u->lsr_error |= LSR_OE;
        u->rx_dropped += count - taken;
    }
    update_irq(u, effect);
    return taken;
}

bool hv_kvm_uart_check(const hv_kvm_uart *u)
{
    return (u->ier & ~IER_MASK) == 0 && (u->mcr & ~MCR_MASK) == 0 && (u->fcr & ~FCR_KEPT) == 0 &&
           (u->lsr_error & ~LSR_OE) == 0 && (u->msr_delta & ~MSR_DELTA) == 0 &&
           u->rx_head < HV_KVM_UART_FIFO_BYTES && u->rx_count <= rx_capacity(u) &&
           u->irq == irq_level(u);
}

/* ---- the snapshot's bytes (docs/snapshot-devices.md, "UART") ---------------- */

#define STATE_VERSION 1u

enum {
    S_IER = 8,
    S_LCR = 9,
    S_MCR = 10,
    S_SCR = 11,
    S_FCR = 12,
    S_DLL = 13,
    S_DLM = 14,
    S_LSR_ERROR = 15,
    S_MSR_DELTA = 16,
    S_FLAGS = 17,
    S_RX_HEAD = 18,
    S_RX_COUNT = 19,
    S_RX = 20,
    S_RX_DROPPED = S_RX + HV_KVM_UART_FIFO_BYTES,
    S_END = S_RX_DROPPED + 8
};

#define FLAG_THR_PENDING 0x01
#define FLAG_IRQ         0x02

_Static_assert(S_END == HV_KVM_UART_STATE_BYTES, "HV_KVM_UART_STATE_BYTES is the layout's size");

void hv_kvm_uart_state_encode(const hv_kvm_uart *u, uint8_t out[HV_KVM_UART_STATE_BYTES])
{
    memset(out, 0, HV_KVM_UART_STATE_BYTES);
    hv_state_put_head(out, "UART", STATE_VERSION);
    out[S_IER] = u->ier;
    out[S_LCR] = u->lcr;
    out[S_MCR] = u->mcr;
    out[S_SCR] = u->scr;
    out[S_FCR] = u->fcr;
    out[S_DLL] = u->dll;
    out[S_DLM] = u->dlm;
    out[S_LSR_ERROR] = u->lsr_error;
    out[S_MSR_DELTA] = u->msr_delta;
    out[S_FLAGS] = (uint8_t)((u->thr_pending ? FLAG_THR_PENDING : 0) | (u->irq ? FLAG_IRQ : 0));
    out[S_RX_HEAD] = u->rx_head;
    out[S_RX_COUNT] = u->rx_count;
    memcpy(out + S_RX, u->rx, HV_KVM_UART_FIFO_BYTES);
    hv_state_put(out + S_RX_DROPPED, u->rx_dropped, 8);
}

/* A field of the state that no UART can hold: HV_E_SNAPSHOT, naming it. */
static int bad_field(const char *field, unsigned int value, const char *rule)
{
    return hv_error_set(HV_E_SNAPSHOT, NULL, "UART state: %s 0x%02x: %s: the snapshot is corrupted",
                        field, value, rule);
}

int hv_kvm_uart_state_decode(hv_kvm_uart *u, const void *data, size_t bytes)
{
    const uint8_t *p = data;
    hv_kvm_uart s;
    int rc;

    if (!u || !data)
        return hv_error_null_arg(__func__, !u ? "u" : "data");
    rc = hv_state_check_head(p, bytes, "UART", STATE_VERSION, "UART");
    if (rc < 0)
        return rc;
    if (bytes != HV_KVM_UART_STATE_BYTES)
        return hv_error_set(HV_E_SNAPSHOT, NULL,
                            "UART state: %zu bytes, version 1 has %d: the snapshot is corrupted",
                            bytes, HV_KVM_UART_STATE_BYTES);
    memset(&s, 0, sizeof(s));
    s.ier = p[S_IER];
    s.lcr = p[S_LCR];
    s.mcr = p[S_MCR];
    s.scr = p[S_SCR];
    s.fcr = p[S_FCR];
    s.dll = p[S_DLL];
    s.dlm = p[S_DLM];
    s.lsr_error = p[S_LSR_ERROR];
    s.msr_delta = p[S_MSR_DELTA];
    s.thr_pending = (p[S_FLAGS] & FLAG_THR_PENDING) != 0;
    s.irq = (p[S_FLAGS] & FLAG_IRQ) != 0;
    s.rx_head = p[S_RX_HEAD];
    s.rx_count = p[S_RX_COUNT];
    memcpy(s.rx, p + S_RX, HV_KVM_UART_FIFO_BYTES);
    s.rx_dropped = hv_state_get(p + S_RX_DROPPED, 8);

    if (s.ier & ~IER_MASK)
        return bad_field("IER", s.ier, "bits 4-7 are never set");
    if (s.mcr & ~MCR_MASK)
        return bad_field("MCR", s.mcr, "bits 5-7 are never set");
    if (s.fcr & ~FCR_KEPT)
        return bad_field("FCR", s.fcr, "only bits 0, 6 and 7 are kept");
    if (s.lsr_error & ~LSR_OE)
        return bad_field("the LSR error bits", s.lsr_error, "only OE (0x02) is kept");
    if (s.msr_delta & ~MSR_DELTA)
        return bad_field("the MSR deltas", s.msr_delta, "only bits 0-3 are kept");
    if (p[S_FLAGS] & ~(FLAG_THR_PENDING | FLAG_IRQ))
        return bad_field("the flags", p[S_FLAGS], "only bits 0 and 1 are defined");
    if (s.rx_head >= HV_KVM_UART_FIFO_BYTES)
        return bad_field("rx_head", s.rx_head, "the FIFO has 16 entries");
    if (s.rx_count > rx_capacity(&s))
        return bad_field("rx_count", s.rx_count,
                         fifo_on(&s) ? "the FIFO holds at most 16 bytes"
                                     : "with the FIFO off (FCR bit 0 clear) it holds 1 byte");
    if (s.irq != irq_level(&s))
        return bad_field("the flags", p[S_FLAGS],
                         s.irq ? "the IRQ line is high but no enabled source is pending with OUT2 "
                                 "set"
                               : "the IRQ line is low but an enabled source is pending with OUT2 "
                                 "set");
    *u = s;
    return 0;
}
