/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Echo firmware: the runtime's transport loop over the UART, echoing every Normal message of the
 * session. It logs a greeting at boot. Bodies that are a command word do more:
 *   "log:<text>"  sends Log <text> before the echo;
 *   "reset"       restarts the session as a freshly booted device would (boot Terminate again);
 *   "noise"       writes unframed bytes to the UART (as a boot banner would) before the echo;
 *   "abort"       calls TVMPlatformAbort (a Log line, then the device halts);
 *   "fault"       executes an undefined instruction (the fault handler's Log line, then a halt);
 *   "time:<n>"    runs an empty loop of n iterations (decimal) between TVMPlatformTimerStart and
 *                 TVMPlatformTimerStop and answers with 16 bytes instead of the echo: the SysTick
 *                 ticks of the loop (u64 LE) and the seconds TimerStop reported (f64 LE).
 */
#include <string.h>

#include <microtvm/transport_loop.h>
#include <tvm/runtime/crt/platform.h>

#include "board.h"
#include "platform_cortex_m.h"
#include "uart.h"

#define RECEIVE_CAPACITY 4096

static uint8_t g_receive_buffer[RECEIVE_CAPACITY];
static mtvm_transport_loop_t g_loop;

static int starts_with(const uint8_t* body, size_t len, const char* word) {
  size_t n = strlen(word);
  return len >= n && memcmp(body, word, n) == 0;
}

static uint8_t random_nonce(void) {
  uint8_t nonce = 0;
  (void)TVMPlatformGenerateRandom(&nonce, 1);
  return nonce;
}

static void check(int err) {
  if (err != kTvmErrorNoError) {
    TVMPlatformAbort((tvm_crt_error_t)err);
  }
}

static uint32_t parse_decimal(const uint8_t* digits, size_t len) {
  uint32_t n = 0;
  size_t i;
  for (i = 0; i < len && digits[i] >= '0' && digits[i] <= '9'; i++) {
    n = n * 10u + (uint32_t)(digits[i] - '0');
  }
  return n;
}

static void time_loop(mtvm_session_t* session, uint32_t iterations) {
  uint8_t reply[16];
  volatile uint32_t i;
  double seconds = 0.0;
  uint64_t ticks = mtvm_platform_ticks();
  check(TVMPlatformTimerStart());
  for (i = 0; i < iterations; i++) {
  }
  check(TVMPlatformTimerStop(&seconds));
  ticks = mtvm_platform_ticks() - ticks;
  memcpy(reply, &ticks, sizeof(ticks)); /* little-endian core */
  memcpy(reply + 8, &seconds, sizeof(seconds));
  check(mtvm_session_send_normal(session, reply, sizeof(reply)));
}

static void handle_message(void* ctx, const uint8_t* body, size_t len) {
  mtvm_session_t* session = mtvm_transport_loop_session(&g_loop);
  (void)ctx;
  if (len == 5 && starts_with(body, len, "abort")) {
    TVMPlatformAbort(kTvmErrorPlatformCheckFailure);
  }
  if (starts_with(body, len, "time:")) {
    time_loop(session, parse_decimal(body + 5, len - 5));
    return;
  }
  if (len == 5 && starts_with(body, len, "fault")) {
    __asm__ volatile("udf #0");
  }
  if (len == 5 && starts_with(body, len, "reset")) {
    /* The log goes first: the host stops reading at the TerminateSession, and its next open()
     * starts from a clean unframer, which would drop a log frame it had only half read. */
    check(mtvm_session_send_log(session, "echo firmware restarted"));
    mtvm_framer_reset(&session->framer);
    check(mtvm_session_initialize(session, random_nonce()));
    return;
  }
  if (len == 5 && starts_with(body, len, "noise")) {
    static const uint8_t noise[] = "*** Booting ***\r\n\xff\x41 \xfd\xfe\xff\xff\xfe";
    (void)mtvm_uart_write(NULL, noise, sizeof(noise) - 1);
  }
  if (starts_with(body, len, "log:")) {
    char text[256];
    size_t n = len - 4 < sizeof(text) - 1 ? len - 4 : sizeof(text) - 1;
    memcpy(text, body + 4, n);
    text[n] = '\0';
    check(mtvm_session_send_log(session, text));
  }
  check(mtvm_session_send_normal(session, body, len));
}

int main(void) {
  uint8_t chunk[256];
  check(TVMPlatformInitialize());
  mtvm_uart_init();
  check(mtvm_transport_loop_init(&g_loop, g_receive_buffer, sizeof(g_receive_buffer),
                                 mtvm_uart_write, NULL, handle_message, NULL, random_nonce()));
  mtvm_platform_set_halt_reporter(mtvm_platform_report_to_session,
                                  mtvm_transport_loop_session(&g_loop));
  check(mtvm_session_send_log(mtvm_transport_loop_session(&g_loop),
                              "echo firmware ready on " MTVM_BOARD_NAME));
  for (;;) {
    size_t n = mtvm_uart_read(chunk, sizeof(chunk));
    if (n == 0) {
      mtvm_uart_wait_readable();
      continue;
    }
    (void)mtvm_transport_loop_feed(&g_loop, chunk, n);
  }
}
