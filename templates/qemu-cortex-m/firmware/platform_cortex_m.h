/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cortex-M extras of the platform hooks (runtime/include/tvm/runtime/crt/platform.h):
 * a 64-bit SysTick tick count and where an abort is reported.
 */
#ifndef MTVM_PLATFORM_CORTEX_M_H_
#define MTVM_PLATFORM_CORTEX_M_H_

#include <stdint.h>

#include <microtvm/session.h>

/* SysTick ticks since TVMPlatformInitialize; the tick rate is MTVM_SYSCLK_HZ. Under QEMU the
 * count follows QEMU's virtual clock: host time by default, executed instructions with -icount,
 * so it is deterministic there but says nothing about cycles on real silicon. */
uint64_t mtvm_platform_ticks(void);

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
