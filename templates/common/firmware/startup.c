/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Vector table and reset handler. The reset handler enables the FPU (when the code is built for
 * one), copies .data from flash, zeroes .bss and .psram_bss, runs the board's set-up
 * (mtvm_board_init: clocks, pins), runs constructors and calls main. The board (board.h) says how
 * many external interrupts the vector table has and which one is the UART's receive interrupt.
 * Build this file with -fno-tree-loop-distribute-patterns: otherwise GCC turns the copy loops
 * into memcpy/memset calls, which is wrong before .data exists.
 */
#include <stdint.h>

#include "board.h"
#include "cortex_m.h"
#include "platform_cortex_m.h"
#include "uart.h"

/* Defined by the linker script (ld/sections.ld). */
extern uint32_t __stack_top[];
extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];
extern uint32_t __psram_bss_start[], __psram_bss_end[];
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);

extern int main(void);

typedef void (*handler_t)(void);

void Reset_Handler(void) __attribute__((noreturn));
static void default_handler(void) __attribute__((noreturn));

void Reset_Handler(void) {
  uint32_t* src;
  uint32_t* dst;
  handler_t* init;
#if defined(__ARM_FP)
  /* Code built for an FPU may use it anywhere, so enable CP10/CP11 before anything else. */
  SCB_CPACR |= SCB_CPACR_CP10_CP11_FULL;
  mtvm_dsb_isb();
#endif
  for (src = __data_load, dst = __data_start; dst < __data_end;) {
    *dst++ = *src++;
  }
  for (dst = __bss_start; dst < __bss_end;) {
    *dst++ = 0u;
  }
  for (dst = __psram_bss_start; dst < __psram_bss_end;) {
    *dst++ = 0u;
  }
  mtvm_board_init();
  for (init = __init_array_start; init < __init_array_end; init++) {
    (*init)();
  }
  (void)main();
  mtvm_platform_halt("firmware: main returned");
}

/* Boards without clock or pin set-up (QEMU's MPS2 images) keep this one. */
__attribute__((weak)) void mtvm_board_init(void) {}

/* Reads the active exception number (IPSR) so that the halt message can name it. */
static void default_handler(void) {
  static const char digits[] = "0123456789";
  char text[] = "firmware: unexpected exception ###";
  uint32_t ipsr;
  __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
  ipsr &= 0x1FFu;
  text[sizeof(text) - 4] = digits[(ipsr / 100u) % 10u];
  text[sizeof(text) - 3] = digits[(ipsr / 10u) % 10u];
  text[sizeof(text) - 2] = digits[ipsr % 10u];
  mtvm_platform_halt(text);
}

/* The layout the core reads at reset: initial stack pointer, then the handlers. */
struct vector_table {
  uint32_t* initial_sp;
  handler_t system[15];
  handler_t external[MTVM_EXTERNAL_IRQS];
};

#if MTVM_UART_RX_IRQ >= MTVM_EXTERNAL_IRQS
#error "MTVM_UART_RX_IRQ must be below MTVM_EXTERNAL_IRQS"
#endif

/* Every external interrupt goes to default_handler except the UART's: a range, then the one
 * entry that differs (GCC's designated range initialiser; the override is intended). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
__attribute__((section(".vectors"), used)) const struct vector_table mtvm_vector_table = {
    __stack_top,
    {
        Reset_Handler,   /* 1 reset */
        default_handler, /* 2 NMI */
        default_handler, /* 3 HardFault */
        default_handler, /* 4 MemManage */
        default_handler, /* 5 BusFault */
        default_handler, /* 6 UsageFault */
        0,               /* 7 reserved */
        0,               /* 8 reserved */
        0,               /* 9 reserved */
        0,               /* 10 reserved */
        default_handler, /* 11 SVCall */
        default_handler, /* 12 DebugMonitor */
        0,               /* 13 reserved */
        default_handler, /* 14 PendSV */
        mtvm_systick_irq_handler, /* 15 SysTick */
    },
    {
        [0 ... MTVM_EXTERNAL_IRQS - 1u] = default_handler,
        [MTVM_UART_RX_IRQ] = mtvm_uart_rx_irq_handler,
    },
};
#pragma GCC diagnostic pop
