/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The receive ring every UART driver shares: the driver's receive interrupt calls
 * mtvm_uart_ring_fill, which moves bytes from the UART into a ring buffer while both have some;
 * mtvm_uart_read (uart.h) takes them out. With the ring full the byte stays in the UART, which
 * holds further input back, and the driver's receive interrupt is masked (a level interrupt
 * would fire again at once) until mtvm_uart_read has made room.
 *
 * A driver provides the three hooks below and calls mtvm_uart_ring_reset before enabling its
 * receiver. The ring's size is MTVM_UART_RING_BYTES, a power of two (the board table sets it).
 */
#ifndef MTVM_UART_RING_H_
#define MTVM_UART_RING_H_

#include <stdint.h>

/* A received byte waits in the UART. Clears error conditions that would block reception. */
int mtvm_uart_rx_ready(void);

/* Takes the waiting byte from the UART (clearing its receive flag). */
uint8_t mtvm_uart_rx_take(void);

/* Unmasks (1) or masks (0) the UART's receive interrupt. */
void mtvm_uart_rx_interrupt(int enable);

/* Empties the ring (at init, before the receiver is enabled). */
void mtvm_uart_ring_reset(void);

/* Moves received bytes into the ring while both have some; from the receive interrupt, or with
 * interrupts masked. */
void mtvm_uart_ring_fill(void);

#endif /* MTVM_UART_RING_H_ */
