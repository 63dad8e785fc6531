/* SPDX-License-Identifier: Apache-2.0 */
/* The receive ring of every UART driver (see uart_ring.h), and the uart.h reading calls over it. */
#include "uart_ring.h"

#include "cortex_m.h"
#include "uart.h"

#ifndef MTVM_UART_RING_BYTES
#define MTVM_UART_RING_BYTES 2048u
#endif
/* A power of two, so that the free-running indices wrap correctly. */
#if (MTVM_UART_RING_BYTES & (MTVM_UART_RING_BYTES - 1u)) != 0
#error "MTVM_UART_RING_BYTES must be a power of two"
#endif

static volatile uint8_t g_ring[MTVM_UART_RING_BYTES];
static volatile uint32_t g_head; /* written by the interrupt only */
static volatile uint32_t g_tail; /* written by the main loop only */
static volatile uint32_t g_ring_full_events;

void mtvm_uart_ring_reset(void) {
  g_head = 0u;
  g_tail = 0u;
}

void mtvm_uart_ring_fill(void) {
  while (mtvm_uart_rx_ready()) {
    uint32_t head = g_head;
    if (head - g_tail >= MTVM_UART_RING_BYTES) {
      g_ring_full_events++;
      mtvm_uart_rx_interrupt(0);
      return; /* the byte stays in the UART: it holds the sender back */
    }
    g_ring[head % MTVM_UART_RING_BYTES] = mtvm_uart_rx_take();
    g_head = head + 1u;
  }
}

size_t mtvm_uart_read(uint8_t* out, size_t capacity) {
  size_t n = 0;
  uint32_t primask;
  while (n < capacity && g_tail != g_head) {
    out[n++] = g_ring[g_tail % MTVM_UART_RING_BYTES];
    g_tail = g_tail + 1u;
  }
  /* A byte the interrupt left behind (the ring was full) raises no new interrupt: fetch it here,
   * and let the interrupt take bytes again once there is room. */
  primask = mtvm_irq_save();
  mtvm_uart_ring_fill();
  if (g_head - g_tail < MTVM_UART_RING_BYTES) {
    mtvm_uart_rx_interrupt(1);
  }
  mtvm_irq_restore(primask);
  return n;
}

void mtvm_uart_wait_readable(void) {
  for (;;) {
    uint32_t primask = mtvm_irq_save();
    if (g_tail != g_head) {
      mtvm_irq_restore(primask);
      return;
    }
    /* Masked, so an interrupt between the check and wfi is not lost: wfi wakes on it pending. */
    mtvm_wfi();
    mtvm_irq_restore(primask);
  }
}

uint32_t mtvm_uart_ring_full_events(void) { return g_ring_full_events; }
