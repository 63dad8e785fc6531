/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device time from the DWT cycle counter (ARMv7-M silicon): CYCCNT counts core cycles in 32 bits,
 * extended to 64 bits here by noticing each wrap. SysTick interrupts every 2^24 cycles only to
 * read the counter, so no wrap (every 2^32 cycles) goes unnoticed however long the host waits
 * between two readings. QEMU does not model the DWT: boards run there use timer_systick.c.
 */
#include <stdint.h>

#include "board.h"
#include "cortex_m.h"
#include "platform_cortex_m.h"
#include <microtvm/profiler.h>

static uint32_t g_high;
static uint32_t g_last_low;

uint64_t mtvm_platform_ticks(void) {
  uint32_t primask = mtvm_irq_save();
  uint32_t low = DWT_CYCCNT;
  uint64_t ticks;
  if (low < g_last_low) {
    g_high++;
  }
  g_last_low = low;
  ticks = ((uint64_t)g_high << 32) | low;
  mtvm_irq_restore(primask);
  return ticks;
}

void mtvm_systick_irq_handler(void) { (void)mtvm_platform_ticks(); }

/* The core clock the board set up (mtvm_board_init), which CYCCNT counts. */
/* What the operator-timing clock (mtvm_platform_ticks) counts. */
const char* mtvm_profile_clock_name(void) { return "DWT cycles"; }

uint32_t mtvm_platform_timer_hz(void) { return mtvm_board_sysclk_hz(); }

void mtvm_platform_timer_init(void) {
  DEMCR |= DEMCR_TRCENA;
  DWT_LAR = DWT_LAR_KEY;
  DWT_CYCCNT = 0u;
  DWT_CTRL |= DWT_CTRL_CYCCNTENA;
  g_high = 0u;
  g_last_low = 0u;
  SYSTICK_CSR = 0u;
  SYSTICK_RVR = SYSTICK_MAX_RELOAD;
  SYSTICK_CVR = 0u;
  SYSTICK_CSR = SYSTICK_CSR_ENABLE | SYSTICK_CSR_TICKINT | SYSTICK_CSR_CLKSOURCE_CPU;
}
