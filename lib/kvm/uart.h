/*
 * kvm/uart.h - COM1 of a Linux guest: an 8250-family UART that identifies as
 * a 16550A (internal, pure: no ioctls, no I/O, no globals). It owns the
 * registers, the receive FIFO and the interrupt sources, and says what each
 * access means for the VM: a byte sent on the line (for the console) and the
 * level of the IRQ line when that changes. The vCPU loop routes port I/O at
 * HV_KVM_COM1_PORT + 0..7 here, serializes the calls (one UART, many vCPUs),
 * and sets ISA IRQ HV_KVM_COM1_IRQ with KVM_IRQ_LINE. Transmitting takes no
 * time: THR is always empty. docs/linux-guest.md, "Serial port (COM1)",
 * describes what a guest sees.
 */
#ifndef HV_KVM_UART_H
#define HV_KVM_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The registers occupy 8 consecutive ports: offsets 0..7 from the base. */
#define HV_KVM_UART_REGISTERS 8
/** The receive FIFO of a 16550A; with the FIFO off (FCR bit 0 clear) it holds one byte. */
#define HV_KVM_UART_FIFO_BYTES 16
/** The divisor latch after a reset: 12, 9600 baud (a PC BIOS's choice; Linux sets its own). */
#define HV_KVM_UART_RESET_DIVISOR 12

/**
 * The whole device state: plain values, no pointers, so a snapshot can save
 * it field by field and a restore can put it back (hv_kvm_uart_check() says
 * whether restored values are consistent). Registers the guest only reads
 * (IIR, LSR, MSR) are computed from these.
 */
typedef struct hv_kvm_uart {
    uint8_t ier;       /**< IER: bits 0-3 (ERBFI, ETBEI, ELSI, EDSSI); 4-7 read 0 */
    uint8_t lcr;       /**< LCR as written (bit 7: DLAB) */
    uint8_t mcr;       /**< MCR: bits 0-4 (DTR, RTS, OUT1, OUT2, LOOP) */
    uint8_t scr;       /**< SCR: the scratch register */
    uint8_t fcr;       /**< FCR: FIFO enable (bit 0), receive trigger (bits 6-7); else 0 */
    uint8_t dll, dlm;  /**< the divisor latch (DLAB set), stored only: no baud rate is kept */
    uint8_t lsr_error; /**< LSR bit 1 (OE: input was dropped) until LSR is read */
    uint8_t msr_delta; /**< MSR bits 0-3 (DCTS, DDSR, TERI, DDCD) until MSR is read */
    bool thr_pending;  /**< the THR-empty interrupt is pending (reported with IER.ETBEI) */
    bool irq;          /**< the IRQ line's level as last reported to the caller */
    uint8_t rx_head;   /**< the oldest received byte: rx[rx_head] */
    uint8_t rx_count;  /**< bytes in rx, 0 .. HV_KVM_UART_FIFO_BYTES */
    uint8_t rx[HV_KVM_UART_FIFO_BYTES]; /**< the receive FIFO, a ring */
    uint64_t rx_dropped; /**< input bytes dropped since the reset: the FIFO was full */
} hv_kvm_uart;

/** What the caller does after an access or input. */
typedef struct hv_kvm_uart_effect {
    bool tx; /**< tx_byte went out on the line: pass it to the console */
    uint8_t tx_byte;
    bool irq_change; /**< set the IRQ line to irq_level (it differs from the last report) */
    bool irq_level;
} hv_kvm_uart_effect;

/** The state after a reset: FIFO off, no interrupt enabled, IRQ line low, nothing received. */
void hv_kvm_uart_init(hv_kvm_uart *u);

/**
 * One byte-wide access to register `offset` (0..7; a wider access is split by
 * the caller, byte i going to offset + i): `out` writes *byte, otherwise the
 * register's value is stored in *byte. `effect` (zeroed first) says what to
 * do. HV_E_RANGE for an offset above 7, HV_E_INVAL for a NULL pointer;
 * nothing changes then.
 */
int hv_kvm_uart_io(hv_kvm_uart *u, uint16_t offset, bool out, uint8_t *byte,
                   hv_kvm_uart_effect *effect);

/**
 * Bytes from the host for the guest to read: as many as the receive FIFO
 * has room for are queued (hv_kvm_uart_input_room()); the rest are dropped,
 * counted in rx_dropped and reported to the guest as an overrun (LSR.OE),
 * as on a line nobody reads fast enough. While MCR.LOOP is set the receiver
 * hears only the transmitter: everything is dropped and counted, with no
 * overrun. Returns the bytes queued; `effect` (zeroed first) carries an IRQ
 * change. A caller that must lose nothing offers at most the room.
 */
size_t hv_kvm_uart_input(hv_kvm_uart *u, const uint8_t *bytes, size_t count,
                         hv_kvm_uart_effect *effect);

/** How many bytes hv_kvm_uart_input() takes now without dropping any. */
size_t hv_kvm_uart_input_room(const hv_kvm_uart *u);

/** Whether a state (restored from a snapshot) is one the model can be in. */
bool hv_kvm_uart_check(const hv_kvm_uart *u);

/** The size of the UART's state in a snapshot (docs/snapshot-devices.md, "UART"). */
#define HV_KVM_UART_STATE_BYTES 44

/**
 * The UART's state as a snapshot's bytes: a fixed little-endian layout,
 * "UART" version 1 (docs/snapshot-devices.md).
 */
void hv_kvm_uart_state_encode(const hv_kvm_uart *u, uint8_t out[HV_KVM_UART_STATE_BYTES]);

/**
 * Decode and check a state hv_kvm_uart_state_encode() wrote: its size, magic
 * and version, each register's reserved bits, rx_head and rx_count inside
 * the FIFO (one byte while the FIFO is off), and an IRQ line at the level
 * its sources make. HV_E_SNAPSHOT saying which field is wrong; *u is
 * unchanged on failure.
 */
int hv_kvm_uart_state_decode(hv_kvm_uart *u, const void *data, size_t bytes);

#endif
