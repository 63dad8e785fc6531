/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cortex-M extras of the platform hooks (runtime/include/tvm/runtime/crt/platform.h):
 * a 64-bit SysTick tick count and where an abort is reported.
 */
#ifndef MTVM_PLATFORM_CORTEX_M_H_
#define MTVM_PLATFORM_CORTEX_M_H_

#include <stdint.h>

#include <microtvm/session.h>

/* Timer ticks since TVMPlatformInitialize, at mtvm_platform_timer_hz() per second. The timer is
 * the board's: SysTick (timer_systick.c) or the DWT cycle counter (timer_dwt.c). Under QEMU,
 * SysTick follows QEMU's virtual clock: host time by default, executed instructions with
 * -icount, so it is deterministic there but says nothing about cycles on real silicon. */
uint64_t mtvm_platform_ticks(void);
uint32_t mtvm_platform_timer_hz(void);

/* Starts the timer (called by TVMPlatformInitialize). */
void mtvm_platform_timer_init(void);

/* The SysTick interrupt; both timers use it (SysTick periods, or watching for counter wraps). */
void mtvm_systick_irq_handler(void);

/* The core clock in Hz as the board set it up (boards with clock set-up define it). */
uint32_t mtvm_board_sysclk_hz(void);

/* Board set-up (clocks, pins) run by the reset handler before main; a board file may define it. */
void mtvm_board_init(void);

/* Where TVMPlatformAbort, fault handlers and mtvm_platform_halt report their message before the
 * core halts (interrupts masked). Nothing is reported until one is set. */
typedef void (*mtvm_halt_reporter_t)(void* ctx, const char* text);
void mtvm_platform_set_halt_reporter(mtvm_halt_reporter_t report, void* ctx);

/* Reports text, then halts with interrupts masked. */
void mtvm_platform_halt(const char* text) __attribute__((noreturn));

/* A reporter sending the text as a Log on the session passed as ctx. The framer may be in the
 * middle of a packet when the halt comes: it starts over, and its fe prefix resyncs the host. */
static inline void mtvm_platform_report_to_session(void* ctx, const char* text) {
  mtvm_session_t* session = (mtvm_session_t*)ctx;
  mtvm_framer_reset(&session->framer);
  (void)mtvm_session_send_log(session, text);
}

#endif /* MTVM_PLATFORM_CORTEX_M_H_ */
