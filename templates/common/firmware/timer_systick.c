/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device time from SysTick: a 24-bit down counter clocked by the core, extended to 64 bits by
 * counting its periods. Used where there is no cycle counter to read (QEMU models no DWT).
 */
#include <stdint.h>

#include "board.h"
#include "cortex_m.h"
#include "platform_cortex_m.h"
#include <microtvm/profiler.h>

/* The rate SysTick counts at: the core clock (CLKSOURCE = processor clock). */
#ifndef MTVM_TIMER_HZ
#define MTVM_TIMER_HZ MTVM_SYSCLK_HZ
#endif

/*
 * SysTick counts down from SYSTICK_MAX_RELOAD, a period of 2^24 ticks; its interrupt counts the
 * periods. A reading combines the two. Two races are covered: the counter has reloaded but the
 * interrupt is still pending (masked, or not yet taken), seen in ICSR.PENDSTSET; and, under QEMU
 * without -icount, the counter has reloaded before the interrupt is even raised (the counter
 * follows the clock, the interrupt waits for QEMU's main loop), seen as time going backwards.
 */
#define SYSTICK_PERIOD (1ull << 24)

static volatile uint32_t g_systick_periods;
static uint64_t g_last_ticks;

void mtvm_systick_irq_handler(void) { g_systick_periods = g_systick_periods + 1u; }

uint64_t mtvm_platform_ticks(void) {
  uint32_t primask = mtvm_irq_save();
  uint64_t periods = g_systick_periods;
  uint32_t counter = SYSTICK_CVR;
  uint64_t ticks;
  if ((SCB_ICSR & SCB_ICSR_PENDSTSET) != 0u) {
    periods++;
    counter = SYSTICK_CVR; /* read again: certainly after the reload now */
  }
  /* The interrupt comes as the counter reaches 0, which thus starts a period; after the clear
   * in TVMPlatformInitialize it reads 0 as well, so time starts at 0. */
  ticks = periods * SYSTICK_PERIOD + ((SYSTICK_PERIOD - counter) & (SYSTICK_PERIOD - 1u));
  if (ticks < g_last_ticks) {
    ticks += SYSTICK_PERIOD;
  }
  g_last_ticks = ticks;
  mtvm_irq_restore(primask);
  return ticks;
}

/* What the operator-timing clock (mtvm_platform_ticks) counts. */
const char* mtvm_profile_clock_name(void) { return "SysTick"; }

uint32_t mtvm_platform_timer_hz(void) { return MTVM_TIMER_HZ; }

void mtvm_platform_timer_init(void) {
  SYSTICK_CSR = 0u;
  SYSTICK_RVR = SYSTICK_MAX_RELOAD;
  SYSTICK_CVR = 0u; /* any write clears the counter; it reloads on the first tick */
  g_systick_periods = 0u;
  g_last_ticks = 0u;
  SYSTICK_CSR = SYSTICK_CSR_ENABLE | SYSTICK_CSR_TICKINT | SYSTICK_CSR_CLKSOURCE_CPU;
}
