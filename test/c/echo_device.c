/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A host-emulated device for tests: the runtime's transport loop over stdin/stdout, echoing every
 * Normal message back. It logs a greeting at boot. Bodies starting with a command word do more:
 *   "log:<text>"  sends Log <text> before the echo (a Log in the middle of a request);
 *   "reset"       restarts the session as a freshly booted device would (boot Terminate again);
 *   "noise"       writes unframed bytes to stdout (as a boot banner would) before the echo;
 *   "exit"        exits with status 3 without answering.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microtvm/transport_loop.h>
#include <tvm/runtime/crt/platform.h>

#define RECEIVE_CAPACITY 4096

static uint8_t g_receive_buffer[RECEIVE_CAPACITY];
static mtvm_transport_loop_t g_loop;

static int32_t write_stdout(void* ctx, const uint8_t* data, size_t len) {
  ssize_t n;
  (void)ctx;
  do {
    n = write(STDOUT_FILENO, data, len);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? -1 : (int32_t)n;
}

static int starts_with(const uint8_t* body, size_t len, const char* word) {
  size_t n = strlen(word);
  return len >= n && memcmp(body, word, n) == 0;
}

static uint8_t random_nonce(void) {
  uint8_t nonce = 0;
  if (TVMPlatformGenerateRandom(&nonce, 1) != kTvmErrorNoError) {
    TVMPlatformAbort(kTvmErrorPlatformCheckFailure);
  }
  return nonce;
}

static void handle_message(void* ctx, const uint8_t* body, size_t len) {
  mtvm_session_t* session = mtvm_transport_loop_session(&g_loop);
  int err;
  (void)ctx;
  if (len == 4 && starts_with(body, len, "exit")) {
    fprintf(stderr, "echo device: exit requested\n");
    exit(3);
  }
  if (len == 5 && starts_with(body, len, "reset")) {
    mtvm_framer_reset(&session->framer);
    err = mtvm_session_initialize(session, random_nonce());
    if (err == kTvmErrorNoError) {
      err = mtvm_session_send_log(session, "echo device restarted");
    }
    if (err != kTvmErrorNoError) {
      TVMPlatformAbort((tvm_crt_error_t)err);
    }
    return;
  }
  if (len == 5 && starts_with(body, len, "noise")) {
    static const uint8_t noise[] = "*** Booting ***\r\n\xff\x41 \xfd\xfe\xff\xff\xfe";
    (void)write_stdout(NULL, noise, sizeof(noise) - 1);
  }
  if (starts_with(body, len, "log:")) {
    char text[256];
    size_t n = len - 4 < sizeof(text) - 1 ? len - 4 : sizeof(text) - 1;
    memcpy(text, body + 4, n);
    text[n] = '\0';
    err = mtvm_session_send_log(session, text);
    if (err != kTvmErrorNoError) {
      TVMPlatformAbort((tvm_crt_error_t)err);
    }
  }
  err = mtvm_session_send_normal(session, body, len);
  if (err != kTvmErrorNoError) {
    TVMPlatformAbort((tvm_crt_error_t)err);
  }
}

int main(void) {
  uint8_t chunk[512];
  int err;
  if (TVMPlatformInitialize() != kTvmErrorNoError) {
    return 2;
  }
  err = mtvm_transport_loop_init(&g_loop, g_receive_buffer, sizeof(g_receive_buffer), write_stdout,
                                 NULL, handle_message, NULL, random_nonce());
  if (err == kTvmErrorNoError) {
    err = mtvm_session_send_log(mtvm_transport_loop_session(&g_loop), "echo device ready");
  }
  if (err != kTvmErrorNoError) {
    fprintf(stderr, "echo device: boot failed with 0x%04x\n", (unsigned)err);
    return 2;
  }
  for (;;) {
    ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      perror("echo device: read");
      return 2;
    }
    if (n == 0) {
      fprintf(stderr, "echo device: stdin closed, exiting\n");
      return 0;
    }
    err = mtvm_transport_loop_feed(&g_loop, chunk, (size_t)n);
    if (err != kTvmErrorNoError) {
      fprintf(stderr, "echo device: framing error 0x%04x (skipped, %u so far)\n", (unsigned)err,
                      (unsigned)g_loop.framing_errors);
    }
  }
}
