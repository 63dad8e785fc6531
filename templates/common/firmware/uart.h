/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The transport to the host: the board's UART (each board's driver: CMSDK APB, STM32 USART,
 * nRF UART). Received bytes are taken by the receive interrupt into the shared ring of
 * uart_ring.c; when the ring is full the byte stays in the UART, which holds further input back
 * (QEMU stops reading from the host; real silicon would overrun), and the next mtvm_uart_read
 * pulls it in. Transmission polls the UART's transmit flag.
 */
#ifndef MTVM_UART_H_
#define MTVM_UART_H_

#include <stddef.h>
#include <stdint.h>

void mtvm_uart_init(void);

/* Copies up to capacity received bytes into out without waiting; returns how many. */
size_t mtvm_uart_read(uint8_t* out, size_t capacity);

/* Sleeps (wfi) until at least one received byte is waiting. */
void mtvm_uart_wait_readable(void);

/* Sends all len bytes; returns len (matches mtvm_write_fn_t with a NULL context). */
int32_t mtvm_uart_write(void* ctx, const uint8_t* data, size_t len);

/* Bytes the receive interrupt could not take because the ring was full (for diagnostics). */
uint32_t mtvm_uart_ring_full_events(void);

/* The receive interrupt; the vector table points IRQ MTVM_UART_RX_IRQ here. */
void mtvm_uart_rx_irq_handler(void);

#endif /* MTVM_UART_H_ */
