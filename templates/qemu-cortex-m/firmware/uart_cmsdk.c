/* SPDX-License-Identifier: Apache-2.0 */
/* CMSDK APB UART driver (ARM DDI 0479 register map), receive on interrupt into a ring buffer. */
#include "uart.h"
#include "uart_ring.h"

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

/* Receive hooks of the shared ring (uart_ring.c). The receive interrupt is latched and cleared
 * by the handler before it drains, so a byte left in the UART (ring full) raises nothing until
 * mtvm_uart_read takes it: the interrupt never needs masking. */
int mtvm_uart_rx_ready(void) { return (UART_STATE & STATE_RX_FULL) != 0u; }

uint8_t mtvm_uart_rx_take(void) { return (uint8_t)UART_DATA; }

void mtvm_uart_rx_interrupt(int enable) { (void)enable; }

void mtvm_uart_init(void) {
  uint32_t divider = MTVM_SYSCLK_HZ / MTVM_UART_BAUD;
  UART_CTRL = 0u;
  /* The hardware needs a divider of at least 16 (QEMU only logs a guest error below that). */
  UART_BAUDDIV = divider < 16u ? 16u : divider;
  UART_INTCLEAR = INT_ALL;
  mtvm_uart_ring_reset();
  UART_CTRL = CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_INT_EN;
  /* Reading DATA after enabling the receiver matters under QEMU: it stops offering host input
   * while the receiver is off and only asks again on a DATA read, so bytes the host sent before
   * this point would otherwise sit unread. A byte already received is kept, not dropped. */
  if ((UART_STATE & STATE_RX_FULL) != 0u) {
    mtvm_uart_ring_fill();
  } else {
    (void)UART_DATA;
  }
  mtvm_irq_enable(MTVM_UART_RX_IRQ);
}

void mtvm_uart_rx_irq_handler(void) {
  /* Clear first: a byte arriving after the drain raises the interrupt again. */
  UART_INTCLEAR = INT_RX;
  mtvm_uart_ring_fill();
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
