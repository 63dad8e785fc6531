/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RPC firmware: the device runtime's minRPC server behind the session, over the UART. The host
 * drives it as TVM drives a microTVM device (runtime.SystemLib, tvm.aot_executor.create,
 * tensors, runtime.RPCTimeEvaluator with SysTick as the timer).
 *
 * Start-up: platform, UART, the boot TerminateSession (so that from here on a failure can be
 * reported as a Log line before the core halts), the RPC server, the project's models (from the
 * generated models.c). After that every Normal message goes to the RPC server.
 *
 * Every newly established session gets a fresh RPC server: a board keeps running between host
 * sessions (one `microtvm run` after another), and what an earlier host allocated or created (its
 * arrays, the AOT executor), or its Shutdown, must not carry over into the next session.
 *
 * Build: make APP_SOURCES="firmware/rpc_main.c <models.c> <model sources>"
 *        RUNTIME_SOURCES="$(RPC_RUNTIME_SOURCES)"   (see the Makefile)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <microtvm/build_stamp.h>
#include <microtvm/rpc_server.h>
#include <microtvm/transport_loop.h>
#include <tvm/runtime/crt/platform.h>

#include "models.h"
#include "platform_cortex_m.h"
#include "uart.h"

/* Session receive buffer: the largest frame payload accepted (TVM_CRT_MAX_PACKET_SIZE_BYTES; the
 * Makefile passes the board's PACKET_SIZE from boards.mk). */
#ifndef TVM_CRT_MAX_PACKET_SIZE_BYTES
#define TVM_CRT_MAX_PACKET_SIZE_BYTES 2048
#endif

static mtvm_transport_loop_t g_loop;
static mtvm_rpc_server_t* g_rpc;
static uint8_t g_receive_buffer[TVM_CRT_MAX_PACKET_SIZE_BYTES];
static int g_shutdown;
/* The RPC server has handled a request since it was made. */
static int g_rpc_used;

static void halt_with(const char* what, int err) {
  char text[160];
  (void)snprintf(text, sizeof(text), "microTVM firmware: %s (error 0x%08lx)", what,
                 (unsigned long)err);
  mtvm_platform_halt(text);
}

static int send_reply(void* ctx, const uint8_t* bytes, size_t n) {
  (void)ctx;
  return mtvm_session_send_normal(mtvm_transport_loop_session(&g_loop), bytes, n);
}

static void on_message(void* ctx, const uint8_t* body, size_t len) {
  int err;
  (void)ctx;
  if (g_shutdown) {
    return; /* after Shutdown the RPC server answers nothing */
  }
  g_rpc_used = 1;
  err = mtvm_rpc_server_handle(g_rpc, body, len, send_reply, NULL);
  if (err == kTvmErrorPlatformShutdown) {
    g_shutdown = 1;
    (void)mtvm_session_send_log(mtvm_transport_loop_session(&g_loop),
                                "microTVM firmware: RPC shutdown received");
  } else if (err != kTvmErrorNoError) {
    halt_with("sending an RPC reply failed", err);
  }
}

/* Frees the RPC server (and everything the host allocated through it) and makes a new one. */
static void start_rpc_server(void) {
  size_t i;
  int err;
  if (g_rpc != NULL) {
    mtvm_rpc_server_free(g_rpc);
  }
  g_shutdown = 0;
  g_rpc = mtvm_rpc_server_init(sizeof(g_receive_buffer));
  if (g_rpc == NULL) {
    halt_with("cannot create the RPC server (out of memory? raise TVM_WORKSPACE_SIZE_BYTES)",
              kTvmErrorPlatformNoMemory);
  }
  for (i = 0; i < microtvm_project_model_count; i++) {
    err = mtvm_model_register(microtvm_project_models[i]);
    if (err != kTvmErrorNoError) {
      halt_with("cannot register a model", err);
    }
  }
}

/* A session became established: the host starts from scratch (see above). The first one after
 * boot finds the server made at start-up untouched and keeps it. */
static void on_session_event(void* ctx, mtvm_message_type_t type, const uint8_t* body, size_t len) {
  (void)ctx;
  (void)body;
  (void)len;
  if (type == kMtvmMessageStartSessionReply && g_rpc_used) {
    start_rpc_server();
    g_rpc_used = 0;
  }
}

int main(void) {
  uint8_t chunk[256];
  uint8_t nonce = 0;
  int err;

  err = TVMPlatformInitialize();
  mtvm_uart_init();
  (void)TVMPlatformGenerateRandom(&nonce, 1);
  if (mtvm_transport_loop_init(&g_loop, g_receive_buffer, sizeof(g_receive_buffer),
                               mtvm_uart_write, NULL, on_message, NULL, nonce) != 0) {
    mtvm_platform_halt("microTVM firmware: sending the boot message failed");
  }
  mtvm_platform_set_halt_reporter(mtvm_platform_report_to_session,
                                  mtvm_transport_loop_session(&g_loop));
  if (err != kTvmErrorNoError) {
    halt_with("TVMPlatformInitialize failed", err);
  }
  start_rpc_server();
  g_loop.on_session_event = on_session_event;
  g_loop.on_session_event_ctx = NULL;
  for (;;) {
    size_t n = mtvm_uart_read(chunk, sizeof(chunk));
    if (n == 0) {
      mtvm_uart_wait_readable();
      continue;
    }
    (void)mtvm_transport_loop_feed(&g_loop, chunk, n);
  }
}
