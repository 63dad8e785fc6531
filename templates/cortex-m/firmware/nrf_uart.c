/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Nordic nRF51 and nRF52 boards (microbit under QEMU, nrf52840dk): the UART0 driver behind uart.h
 * and device time from TIMER0. Both families have the same (legacy, non-DMA) UART0 at 0x40002000
 * and the same TIMER0 at 0x40008000, so one file serves both; the board gives the pins.
 *
 * UART: 8N1 at MTVM_UART_BAUD, no flow control. Received bytes are taken by the RXDRDY interrupt
 * into a ring buffer. With the ring full the interrupt is disabled and the byte stays in the
 * UART's receive FIFO (QEMU then stops reading from the host); mtvm_uart_read enables it again.
 *
 * Time: TIMER0 as a 32-bit timer at 1 MHz (16 MHz / 2^4), extended to 64 bits by noticing wraps
 * (every 71 minutes) on each reading. QEMU models it; the nRF51 has no SysTick and no DWT.
 */
#include <stdint.h>

#include "board.h"
#include "cortex_m.h"
#include "platform_cortex_m.h"
#include "uart.h"
#include "uart_ring.h"

#if !defined(MTVM_UART_TX_PIN) || !defined(MTVM_UART_RX_PIN)
#error "MTVM_UART_TX_PIN and MTVM_UART_RX_PIN come from board.mk"
#endif

#define UART_TASKS_STARTRX MTVM_REG32(MTVM_UART_BASE + 0x000u)
#define UART_TASKS_STARTTX MTVM_REG32(MTVM_UART_BASE + 0x008u)
#define UART_EVENTS_RXDRDY MTVM_REG32(MTVM_UART_BASE + 0x108u)
#define UART_EVENTS_TXDRDY MTVM_REG32(MTVM_UART_BASE + 0x11Cu)
#define UART_EVENTS_ERROR MTVM_REG32(MTVM_UART_BASE + 0x124u)
#define UART_INTENSET MTVM_REG32(MTVM_UART_BASE + 0x304u)
#define UART_INTENCLR MTVM_REG32(MTVM_UART_BASE + 0x308u)
#define UART_ERRORSRC MTVM_REG32(MTVM_UART_BASE + 0x480u)
#define UART_ENABLE MTVM_REG32(MTVM_UART_BASE + 0x500u)
#define UART_PSELRTS MTVM_REG32(MTVM_UART_BASE + 0x508u)
#define UART_PSELTXD MTVM_REG32(MTVM_UART_BASE + 0x50Cu)
#define UART_PSELCTS MTVM_REG32(MTVM_UART_BASE + 0x510u)
#define UART_PSELRXD MTVM_REG32(MTVM_UART_BASE + 0x514u)
#define UART_RXD MTVM_REG32(MTVM_UART_BASE + 0x518u)
#define UART_TXD MTVM_REG32(MTVM_UART_BASE + 0x51Cu)
#define UART_BAUDRATE MTVM_REG32(MTVM_UART_BASE + 0x524u)
#define UART_CONFIG MTVM_REG32(MTVM_UART_BASE + 0x56Cu)
#define UART_INT_RXDRDY (1u << 2)
#define UART_ENABLE_UART 4u
#define PSEL_DISCONNECTED 0xFFFFFFFFu

#define TIMER0_BASE 0x40008000u
#define TIMER0_TASKS_START MTVM_REG32(TIMER0_BASE + 0x000u)
#define TIMER0_TASKS_STOP MTVM_REG32(TIMER0_BASE + 0x004u)
#define TIMER0_TASKS_CLEAR MTVM_REG32(TIMER0_BASE + 0x00Cu)
#define TIMER0_TASKS_CAPTURE0 MTVM_REG32(TIMER0_BASE + 0x040u)
#define TIMER0_MODE MTVM_REG32(TIMER0_BASE + 0x504u)
#define TIMER0_BITMODE MTVM_REG32(TIMER0_BASE + 0x508u)
#define TIMER0_PRESCALER MTVM_REG32(TIMER0_BASE + 0x510u)
#define TIMER0_CC0 MTVM_REG32(TIMER0_BASE + 0x540u)
#define TIMER_BITMODE_32 3u
#define TIMER_PRESCALER_1MHZ 4u
#define TIMER_HZ 1000000u

/* The BAUDRATE register's value for a rate (nRF51/nRF52 reference manuals); 115200 otherwise. */
static uint32_t baudrate_register(uint32_t baud) {
  switch (baud) {
    case 9600u: return 0x00275000u;
    case 19200u: return 0x004EA000u;
    case 38400u: return 0x009D5000u;
    case 57600u: return 0x00EBF000u;
    case 230400u: return 0x03AFB000u;
    case 460800u: return 0x075F7000u;
    case 921600u: return 0x0EBEDFA4u;
    case 1000000u: return 0x10000000u;
    default: return 0x01D7E000u;
  }
}

void mtvm_board_init(void) {}

uint32_t mtvm_board_sysclk_hz(void) { return MTVM_SYSCLK_HZ; }

/* TIMER0 ------------------------------------------------------------------------------------ */

static uint32_t g_high;
static uint32_t g_last_low;

uint64_t mtvm_platform_ticks(void) {
  uint32_t primask = mtvm_irq_save();
  uint32_t low;
  uint64_t ticks;
  TIMER0_TASKS_CAPTURE0 = 1u;
  low = TIMER0_CC0;
  if (low < g_last_low) {
    g_high++;
  }
  g_last_low = low;
  ticks = ((uint64_t)g_high << 32) | low;
  mtvm_irq_restore(primask);
  return ticks;
}

uint32_t mtvm_platform_timer_hz(void) { return TIMER_HZ; }

void mtvm_platform_timer_init(void) {
  TIMER0_TASKS_STOP = 1u;
  TIMER0_MODE = 0u;
  TIMER0_BITMODE = TIMER_BITMODE_32;
  TIMER0_PRESCALER = TIMER_PRESCALER_1MHZ;
  TIMER0_TASKS_CLEAR = 1u;
  g_high = 0u;
  g_last_low = 0u;
  TIMER0_TASKS_START = 1u;
}

/* The vector table names a SysTick handler; nothing here uses SysTick (the nRF51 has none). */
void mtvm_systick_irq_handler(void) {}

/* UART0 ------------------------------------------------------------------------------------- */

/* Receive hooks of the shared ring (uart_ring.c). */
int mtvm_uart_rx_ready(void) {
  if (UART_EVENTS_ERROR != 0u) {
    UART_EVENTS_ERROR = 0u;
    UART_ERRORSRC = UART_ERRORSRC; /* write 1s to clear */
  }
  return UART_EVENTS_RXDRDY != 0u;
}

uint8_t mtvm_uart_rx_take(void) {
  /* Clear the event before reading RXD: a byte still in the FIFO raises it again. */
  UART_EVENTS_RXDRDY = 0u;
  return (uint8_t)UART_RXD;
}

void mtvm_uart_rx_interrupt(int enable) {
  if (enable) {
    UART_INTENSET = UART_INT_RXDRDY;
  } else {
    UART_INTENCLR = UART_INT_RXDRDY;
  }
}

void mtvm_uart_init(void) {
  UART_ENABLE = 0u;
  UART_PSELRTS = PSEL_DISCONNECTED;
  UART_PSELCTS = PSEL_DISCONNECTED;
  UART_PSELTXD = MTVM_UART_TX_PIN;
  UART_PSELRXD = MTVM_UART_RX_PIN;
  UART_CONFIG = 0u; /* no parity, no flow control */
  UART_BAUDRATE = baudrate_register(MTVM_UART_BAUD);
  mtvm_uart_ring_reset();
  UART_EVENTS_RXDRDY = 0u;
  UART_EVENTS_TXDRDY = 0u;
  UART_EVENTS_ERROR = 0u;
  UART_ENABLE = UART_ENABLE_UART;
  UART_TASKS_STARTRX = 1u;
  UART_TASKS_STARTTX = 1u;
  UART_INTENSET = UART_INT_RXDRDY;
  mtvm_irq_enable(MTVM_UART_RX_IRQ);
}

void mtvm_uart_rx_irq_handler(void) { mtvm_uart_ring_fill(); }

int32_t mtvm_uart_write(void* ctx, const uint8_t* data, size_t len) {
  size_t i;
  (void)ctx;
  for (i = 0; i < len; i++) {
    UART_EVENTS_TXDRDY = 0u;
    UART_TXD = data[i];
    while (UART_EVENTS_TXDRDY == 0u) {
    }
  }
  return (int32_t)len;
}
