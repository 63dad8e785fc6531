/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firmware of the host template: the device runtime as an ordinary process. The Project API
 * server starts it with pipes; stdin carries framed bytes from the host, stdout carries framed
 * bytes back, and stderr is for diagnostics only (the server forwards it to its log).
 *
 * Start-up: platform initialisation, the minRPC server, the project's models (from the generated
 * models.c), then the boot TerminateSession on stdout. After that every chunk read from stdin goes
 * through the transport loop, which hands each complete Normal message to the RPC server.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microtvm/rpc_server.h>
#include <microtvm/transport_loop.h>
#include <tvm/runtime/crt/platform.h>

#include "models.h"

/* Session receive buffer: the largest frame payload accepted (TVM_CRT_MAX_PACKET_SIZE_BYTES). */
#ifndef TVM_CRT_MAX_PACKET_SIZE_BYTES
#define TVM_CRT_MAX_PACKET_SIZE_BYTES 2048
#endif

/* Exit statuses, so the server can say why the firmware stopped. */
enum {
  kExitHostClosed = 0,  /* stdin reached EOF: the host closed the transport */
  kExitStartup = 1,     /* initialisation failed */
  kExitIoError = 2,     /* reading stdin or writing stdout failed */
  kExitRpcFailure = 3,  /* the RPC server could not send a reply */
};

static mtvm_transport_loop_t g_loop;
static mtvm_rpc_server_t* g_rpc;
static uint8_t g_receive_buffer[TVM_CRT_MAX_PACKET_SIZE_BYTES];
/* The descriptor framed bytes go to: the original stdout. fd 1 itself is pointed at stderr so
 * that a stray printf in model code can never corrupt the protocol stream. */
static int g_wire_fd = -1;
static int g_shutdown;
static int g_fatal;
/* stdin hung up while a reply waited for the host to read: the host closed the transport. */
static int g_host_closed;

/* Waits until the wire takes bytes again. Returns -1 when stdin hangs up meanwhile: the host has
 * closed the transport and will not read what is pending, so waiting longer would keep the
 * firmware from ever seeing the EOF. */
static int wait_for_wire(void) {
  struct pollfd fds[2];
  fds[0].fd = g_wire_fd;
  fds[0].events = POLLOUT;
  fds[1].fd = STDIN_FILENO;
  fds[1].events = 0; /* POLLHUP and POLLERR are reported without being asked for */
  for (;;) {
    fds[0].revents = 0;
    fds[1].revents = 0;
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      return 0; /* let the write itself report what is wrong */
    }
    if (fds[1].revents & (POLLHUP | POLLERR | POLLNVAL)) {
      return -1;
    }
    if (fds[0].revents != 0) {
      return 0;
    }
  }
}

static int32_t write_wire(void* ctx, const uint8_t* data, size_t len) {
  (void)ctx;
  if (g_host_closed) {
    return -1;
  }
  if (len > INT32_MAX) {
    len = INT32_MAX;
  }
  for (;;) {
    ssize_t n = write(g_wire_fd, data, len);
    if (n > 0) {
      return (int32_t)n;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (wait_for_wire() == 0) {
        continue;
      }
      g_host_closed = 1;
      return -1;
    }
    if (!g_fatal) {
      perror("microTVM host firmware: writing stdout failed");
      g_fatal = kExitIoError;
    }
    return -1;
  }
}

static int send_reply(void* ctx, const uint8_t* bytes, size_t n) {
  mtvm_transport_loop_t* loop = (mtvm_transport_loop_t*)ctx;
  return mtvm_session_send_normal(mtvm_transport_loop_session(loop), bytes, n);
}

static void on_message(void* ctx, const uint8_t* body, size_t len) {
  int err;
  (void)ctx;
  if (g_shutdown) {
    return; /* after Shutdown the RPC server answers nothing; input is drained until EOF */
  }
  err = mtvm_rpc_server_handle(g_rpc, body, len, send_reply, &g_loop);
  if (g_host_closed) {
    return; /* the reply could not go out because the host is gone; main exits */
  }
  if (err == kTvmErrorPlatformShutdown) {
    fprintf(stderr, "microTVM host firmware: RPC shutdown received\n");
    g_shutdown = 1;
  } else if (err != kTvmErrorNoError && !g_fatal) {
    fprintf(stderr, "microTVM host firmware: sending an RPC reply failed (error 0x%08x)\n",
            (unsigned)err);
    g_fatal = kExitRpcFailure;
  }
}

/* Frames the unframer dropped so far: bad CRC, oversized, or cut off by a new start. */
static uint32_t dropped_frames(void) {
  const mtvm_unframer_stats_t* stats = &g_loop.session.unframer.stats;
  return stats->crc_errors + stats->oversized + stats->abandoned;
}

static int redirect_stdout(void) {
  struct stat st;
  g_wire_fd = dup(STDOUT_FILENO);
  if (g_wire_fd < 0) {
    perror("microTVM host firmware: dup(stdout)");
    return -1;
  }
  /* A pipe or socket to the host is written without blocking (see wait_for_wire). Other kinds
   * (a terminal, a file) are shared with other processes or never fill, and are left as they are. */
  if (fstat(g_wire_fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
    int flags = fcntl(g_wire_fd, F_GETFL);
    if (flags >= 0) {
      (void)fcntl(g_wire_fd, F_SETFL, flags | O_NONBLOCK);
    }
  }
  if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    perror("microTVM host firmware: dup2(stderr, stdout)");
    return -1;
  }
  return 0;
}

int main(void) {
  uint8_t nonce = 0;
  uint8_t chunk[4096];
  size_t i;
  int err;

  /* A vanished host shows up as a failed write (EPIPE), not as a signal that kills us silently. */
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stderr, NULL, _IONBF, 0);
  if (redirect_stdout() != 0) {
    return kExitStartup;
  }

  err = TVMPlatformInitialize();
  if (err != kTvmErrorNoError) {
    fprintf(stderr, "microTVM host firmware: TVMPlatformInitialize failed (error 0x%08x)\n",
            (unsigned)err);
    return kExitStartup;
  }
  g_rpc = mtvm_rpc_server_init(sizeof(g_receive_buffer));
  if (g_rpc == NULL) {
    fprintf(stderr,
            "microTVM host firmware: cannot create the RPC server (out of memory? raise the "
            "workspace_size_bytes option)\n");
    return kExitStartup;
  }
  for (i = 0; i < microtvm_project_model_count; i++) {
    err = mtvm_model_register(microtvm_project_models[i]);
    if (err != kTvmErrorNoError) {
      fprintf(stderr, "microTVM host firmware: cannot register model %s (error 0x%08x)\n",
              microtvm_project_models[i]->name, (unsigned)err);
      return kExitStartup;
    }
  }
  if (TVMPlatformGenerateRandom(&nonce, 1) != kTvmErrorNoError) {
    nonce = (uint8_t)getpid();
  }
  err = mtvm_transport_loop_init(&g_loop, g_receive_buffer, sizeof(g_receive_buffer), write_wire,
                                 NULL, on_message, NULL, nonce);
  if (err != kTvmErrorNoError) {
    fprintf(stderr, "microTVM host firmware: sending the boot message failed (error 0x%08x)\n",
            (unsigned)err);
    return kExitIoError;
  }

  for (;;) {
    uint32_t dropped_before = dropped_frames();
    ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
    if (n == 0) {
      fprintf(stderr, "microTVM host firmware: stdin closed, exiting\n");
      mtvm_rpc_server_free(g_rpc);
      return kExitHostClosed;
    }
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      perror("microTVM host firmware: reading stdin failed");
      return kExitIoError;
    }
    err = mtvm_transport_loop_feed(&g_loop, chunk, (size_t)n);
    if (g_host_closed) {
      fprintf(stderr, "microTVM host firmware: stdin closed while a reply was unread, exiting\n");
      mtvm_rpc_server_free(g_rpc);
      return kExitHostClosed;
    }
    if (err != kTvmErrorNoError || dropped_frames() != dropped_before) {
      /* Noise or a damaged frame: the loop already skipped it; say so for whoever debugs. */
      fprintf(stderr,
              "microTVM host firmware: dropped a damaged frame (%lu dropped, %lu framing errors so "
              "far)\n",
              (unsigned long)dropped_frames(), (unsigned long)g_loop.framing_errors);
    }
    if (g_fatal) {
      return g_fatal;
    }
  }
}
