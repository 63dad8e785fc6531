/* SPDX-License-Identifier: Apache-2.0 */
/*
 * STM32F7 boards (nucleo-f746zg): clocks, the UART pins and the USART driver behind uart.h. The
 * F7's USART has another register layout than the F4's (ISR/ICR/RDR/TDR); QEMU has no F7 machine,
 * so this file is built and linked but has not run anywhere.
 *
 * Clocks: HSE in bypass mode (the 8 MHz the ST-LINK feeds to the Nucleo's OSC_IN) through the PLL
 * to 168 MHz (no over-drive needed), APB1 at 42 MHz. Every wait for a ready bit is bounded: QEMU maps RCC as an
 * unimplemented device that reads 0, and a board without the ST-LINK clock has no HSE, so a wait
 * that runs out keeps the 16 MHz HSI and the firmware goes on at that speed.
 *
 * USART: 8N1 at MTVM_UART_BAUD, oversampling by 16. Received bytes are taken by the RXNE interrupt
 * into a ring buffer. RXNE is a level interrupt, so when the ring is full the interrupt is
 * disabled and the byte stays in the USART (QEMU then stops reading from the host; silicon would
 * overrun if the host kept sending); mtvm_uart_read enables it again once there is room.
 */
#include <stdint.h>

#include "board.h"
#include "cortex_m.h"
#include "platform_cortex_m.h"
#include "uart.h"
#include "uart_ring.h"

#define RCC_BASE 0x40023800u
#define RCC_CR MTVM_REG32(RCC_BASE + 0x00u)
#define RCC_PLLCFGR MTVM_REG32(RCC_BASE + 0x04u)
#define RCC_CFGR MTVM_REG32(RCC_BASE + 0x08u)
#define RCC_AHB1ENR MTVM_REG32(RCC_BASE + 0x30u)
#define RCC_APB1ENR MTVM_REG32(RCC_BASE + 0x40u)
#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_HSEBYP (1u << 18)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_PLLCFGR_SRC_HSE (1u << 22)
#define RCC_CFGR_SW_PLL 2u
#define RCC_CFGR_SWS_MASK (3u << 2)
#define RCC_CFGR_SWS_PLL (2u << 2)
#define RCC_CFGR_PPRE1_DIV4 (5u << 10)
#define RCC_CFGR_PPRE2_DIV2 (4u << 13)
#define RCC_AHB1ENR_GPIODEN (1u << 3)
#define RCC_APB1ENR_USART3EN (1u << 18)
#define RCC_APB1ENR_PWREN (1u << 28)

#define PWR_CR MTVM_REG32(0x40007000u) /* PWR_CR1 on the F7 */
#define PWR_CR_VOS_SCALE1 (3u << 14)

#define FLASH_ACR MTVM_REG32(0x40023C00u)
#define FLASH_ACR_5WS 5u
#define FLASH_ACR_PRFTEN (1u << 8)
#define FLASH_ACR_ARTEN (1u << 9)

#define GPIOD_BASE 0x40020C00u
#define GPIOD_MODER MTVM_REG32(GPIOD_BASE + 0x00u)
#define GPIOD_OSPEEDR MTVM_REG32(GPIOD_BASE + 0x08u)
#define GPIOD_PUPDR MTVM_REG32(GPIOD_BASE + 0x0Cu)
#define GPIOD_AFRH MTVM_REG32(GPIOD_BASE + 0x24u)

#define USART_CR1 MTVM_REG32(MTVM_UART_BASE + 0x00u)
#define USART_CR2 MTVM_REG32(MTVM_UART_BASE + 0x04u)
#define USART_CR3 MTVM_REG32(MTVM_UART_BASE + 0x08u)
#define USART_BRR MTVM_REG32(MTVM_UART_BASE + 0x0Cu)
#define USART_ISR MTVM_REG32(MTVM_UART_BASE + 0x1Cu)
#define USART_ICR MTVM_REG32(MTVM_UART_BASE + 0x20u)
#define USART_RDR MTVM_REG32(MTVM_UART_BASE + 0x24u)
#define USART_TDR MTVM_REG32(MTVM_UART_BASE + 0x28u)
#define USART_ISR_ORE (1u << 3)
#define USART_ISR_RXNE (1u << 5)
#define USART_ISR_TXE (1u << 7)
#define USART_ICR_ORECF (1u << 3)
#define USART_CR1_UE (1u << 0)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_RXNEIE (1u << 5)

#define HSI_HZ 16000000u
#define PLL_SYSCLK_HZ 168000000u
/* Polls of a ready bit before giving up: milliseconds on silicon at 16 MHz. */
#define READY_POLLS 200000u

static uint32_t g_sysclk_hz = HSI_HZ;
static uint32_t g_apb1_hz = HSI_HZ;

static int wait_set(volatile uint32_t* reg, uint32_t mask, uint32_t value) {
  uint32_t i;
  for (i = 0; i < READY_POLLS; i++) {
    if ((*reg & mask) == value) {
      return 1;
    }
  }
  return 0;
}

/* HSE bypass -> PLL (M = 8, N = 336, P = 2, Q = 7) -> 168 MHz; APB1 /4, APB2 /2. */
static void clock_init(void) {
  RCC_APB1ENR |= RCC_APB1ENR_PWREN;
  PWR_CR |= PWR_CR_VOS_SCALE1;
  RCC_CR |= RCC_CR_HSEON | RCC_CR_HSEBYP;
  if (!wait_set(&RCC_CR, RCC_CR_HSERDY, RCC_CR_HSERDY)) {
    RCC_CR &= ~(RCC_CR_HSEON | RCC_CR_HSEBYP);
    return; /* no HSE (or QEMU): stay on the HSI */
  }
  RCC_PLLCFGR = 8u | (336u << 6) | (0u << 16) | RCC_PLLCFGR_SRC_HSE | (7u << 24);
  RCC_CR |= RCC_CR_PLLON;
  if (!wait_set(&RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY)) {
    return;
  }
  FLASH_ACR = FLASH_ACR_5WS | FLASH_ACR_PRFTEN | FLASH_ACR_ARTEN;
  RCC_CFGR = RCC_CFGR_PPRE1_DIV4 | RCC_CFGR_PPRE2_DIV2 | RCC_CFGR_SW_PLL;
  if (!wait_set(&RCC_CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_PLL)) {
    RCC_CFGR = 0u; /* back to the HSI */
    return;
  }
  g_sysclk_hz = PLL_SYSCLK_HZ;
  g_apb1_hz = PLL_SYSCLK_HZ / 4u;
}

/* USART3 on PD8 (TX) and PD9 (RX), alternate function 7; RX pulled up while idle. */
static void pins_init(void) {
  RCC_AHB1ENR |= RCC_AHB1ENR_GPIODEN;
  RCC_APB1ENR |= RCC_APB1ENR_USART3EN;
  (void)RCC_APB1ENR; /* the enable takes two cycles to reach the peripheral */
  GPIOD_MODER = (GPIOD_MODER & ~(0xFu << 16)) | (0xAu << 16);
  GPIOD_OSPEEDR |= 0xFu << 16;
  GPIOD_PUPDR = (GPIOD_PUPDR & ~(0xFu << 16)) | (0x1u << 18);
  GPIOD_AFRH = (GPIOD_AFRH & ~0xFFu) | 0x77u;
}

void mtvm_board_init(void) {
  clock_init();
  pins_init();
}

uint32_t mtvm_board_sysclk_hz(void) { return g_sysclk_hz; }

/* Receive hooks of the shared ring (uart_ring.c). RXNE is a level interrupt: with the ring full
 * the ring masks it. */
int mtvm_uart_rx_ready(void) {
  if ((USART_ISR & USART_ISR_ORE) != 0u) {
    USART_ICR = USART_ICR_ORECF; /* an overrun blocks reception until cleared */
  }
  return (USART_ISR & USART_ISR_RXNE) != 0u;
}

uint8_t mtvm_uart_rx_take(void) { return (uint8_t)USART_RDR; /* clears RXNE */ }

void mtvm_uart_rx_interrupt(int enable) {
  if (enable) {
    USART_CR1 |= USART_CR1_RXNEIE;
  } else {
    USART_CR1 &= ~USART_CR1_RXNEIE;
  }
}

void mtvm_uart_init(void) {
  USART_CR1 = 0u;
  USART_CR2 = 0u;
  USART_CR3 = 0u;
  USART_BRR = (g_apb1_hz + MTVM_UART_BAUD / 2u) / MTVM_UART_BAUD;
  mtvm_uart_ring_reset();
  USART_CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE | USART_CR1_RXNEIE;
  mtvm_irq_enable(MTVM_UART_RX_IRQ);
}

void mtvm_uart_rx_irq_handler(void) { mtvm_uart_ring_fill(); }

int32_t mtvm_uart_write(void* ctx, const uint8_t* data, size_t len) {
  size_t i;
  (void)ctx;
  for (i = 0; i < len; i++) {
    while ((USART_ISR & USART_ISR_TXE) == 0u) {
    }
    USART_TDR = data[i];
  }
  return (int32_t)len;
}
