/* SPDX-License-Identifier: Apache-2.0 */
/* CMSDK APB UART driver (ARM DDI 0479 register map), receive on interrupt into a ring buffer. */
#include "uart.h"

#include "board.h"
#include "cortex_m.h"

#define UART_DATA MTVM_REG32(MTVM_UART_BASE + 0x00u)
#define UART_STATE MTVM_REG32(MTVM_UART_BASE + 0x04u)
#define UART_CTRL MTVM_REG32(MTVM_UART_BASE + 0x08u)
#define UART_INTCLEAR MTVM_REG32(MTVM_UART_BASE + 0x0Cu)
#define UART_BAUDDIV MTVM_REG32(MTVM_UART_BASE + 0x10u)

#define STATE_TX_FULL (1u << 0)
#define STATE_RX_FULL (1u << 1)
#define CTRL_TX_EN (1u << 0)
#define CTRL_RX_EN (1u << 1)
#define CTRL_RX_INT_EN (1u << 3)
#define INT_RX (1u << 1)
#define INT_ALL 0xFu

/* A power of two, so that the free-running indices wrap correctly. */
#ifndef MTVM_UART_RING_BYTES
#define MTVM_UART_RING_BYTES 2048u
#endif
#if (MTVM_UART_RING_BYTES & (MTVM_UART_RING_BYTES - 1u)) != 0
#error "MTVM_UART_RING_BYTES must be a power of two"
#endif

static volatile uint8_t g_ring[MTVM_UART_RING_BYTES];
static volatile uint32_t g_head; /* written by the interrupt only */
static volatile uint32_t g_tail; /* written by the main loop only */
static volatile uint32_t g_ring_full_events;

/* Moves bytes from the UART into the ring while both have some; called with interrupts masked
 * or from the interrupt itself. */
static void drain_uart_into_ring(void) {
  while ((UART_STATE & STATE_RX_FULL) != 0u) {
    uint32_t head = g_head;
    if (head - g_tail >= MTVM_UART_RING_BYTES) {
      g_ring_full_events++;
      return; /* leave the byte in the UART: it holds the sender back */
    }
    g_ring[head % MTVM_UART_RING_BYTES] = (uint8_t)UART_DATA;
    g_head = head + 1u;
  }
}

void mtvm_uart_init(void) {
  uint32_t divider = MTVM_SYSCLK_HZ / MTVM_UART_BAUD;
  UART_CTRL = 0u;
  /* The hardware needs a divider of at least 16 (QEMU only logs a guest error below that). */
  UART_BAUDDIV = divider < 16u ? 16u : divider;
  UART_INTCLEAR = INT_ALL;
  g_head = 0u;
  g_tail = 0u;
  UART_CTRL = CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_INT_EN;
  /* Reading DATA after enabling the receiver matters under QEMU: it stops offering host input
   * while the receiver is off and only asks again on a DATA read, so bytes the host sent before
   * this point would otherwise sit unread. A byte already received is kept, not dropped. */
  if ((UART_STATE & STATE_RX_FULL) != 0u) {
    drain_uart_into_ring();
  } else {
    (void)UART_DATA;
  }
  mtvm_irq_enable(MTVM_UART_RX_IRQ);
}

void mtvm_uart_rx_irq_handler(void) {
  /* Clear first: a byte arriving after the drain raises the interrupt again. */
  UART_INTCLEAR = INT_RX;
  drain_uart_into_ring();
}

size_t mtvm_uart_read(uint8_t* out, size_t capacity) {
  size_t n = 0;
  uint32_t primask;
  while (n < capacity && g_tail != g_head) {
    out[n++] = g_ring[g_tail % MTVM_UART_RING_BYTES];
    g_tail = g_tail + 1u;
  }
  /* A byte the interrupt left behind (ring was full) raises no new interrupt: fetch it here. */
  primask = mtvm_irq_save();
  drain_uart_into_ring();
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

int32_t mtvm_uart_write(void* ctx, const uint8_t* data, size_t len) {
  size_t i;
  (void)ctx;
  for (i = 0; i < len; i++) {
    while ((UART_STATE & STATE_TX_FULL) != 0u) {
    }
    UART_DATA = data[i];
  }
  return (int32_t)len;
}

uint32_t mtvm_uart_ring_full_events(void) { return g_ring_full_events; }
