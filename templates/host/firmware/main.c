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
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microtvm/rpc_server.h>
#include <microtvm/transport_loop.h>
#include <tvm/runtime/crt/platform.h>

#include "models.h"

/* Session receive buffer: the largest frame payload accepted (TVM_CRT_MAX_PACKET_SIZE_BYTES), which
 * tvm.rpc.server.GetCRTMaxPacketSize reports (minus 11) and the host chunks copies by. The reply
 * buffer of the same size comes from the memory pool, so large packets only when the pool has room
 * for them: 128 KiB with a pool of 2 MiB (the default) or more, 64 KiB from 1 MiB, otherwise TVM's
 * 2048. Pass -DTVM_CRT_MAX_PACKET_SIZE_BYTES=<n> (compile_definitions) to choose. */
#ifndef TVM_CRT_MAX_PACKET_SIZE_BYTES
#if defined(TVM_WORKSPACE_SIZE_BYTES) && TVM_WORKSPACE_SIZE_BYTES >= 2097152
#define TVM_CRT_MAX_PACKET_SIZE_BYTES 131072
#elif defined(TVM_WORKSPACE_SIZE_BYTES) && TVM_WORKSPACE_SIZE_BYTES >= 1048576
#define TVM_CRT_MAX_PACKET_SIZE_BYTES 65536
#else
#define TVM_CRT_MAX_PACKET_SIZE_BYTES 2048
#endif
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

/* Writes all of data to the wire. Returns 0, or -1 when the host is gone or the write failed. */
static int write_all(const uint8_t* data, size_t len) {
  while (len > 0) {
    ssize_t n = write(g_wire_fd, data, len > (size_t)INT32_MAX ? (size_t)INT32_MAX : len);
    if (n > 0) {
      data += n;
      len -= (size_t)n;
      continue;
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
  return 0;
}

/* Framed output is collected here and written when the firmware is about to wait for input
 * (or the buffer is full): the framer emits a frame in many small pieces, and one write per reply
 * lets the host read the whole reply at once instead of piece by piece. */
static uint8_t g_out[64 * 1024];
static size_t g_out_len;

static int flush_wire(void) {
  int err = 0;
  if (g_out_len > 0 && !g_host_closed) {
    err = write_all(g_out, g_out_len);
  }
  g_out_len = 0;
  return err;
}

static int32_t write_wire(void* ctx, const uint8_t* data, size_t len) {
  (void)ctx;
  if (g_host_closed) {
    return -1;
  }
  if (len > INT32_MAX) {
    len = INT32_MAX;
  }
  if (len > sizeof(g_out) - g_out_len && flush_wire() != 0) {
    return -1;
  }
  if (len >= sizeof(g_out)) {
    return write_all(data, len) == 0 ? (int32_t)len : -1;
  }
  memcpy(g_out + g_out_len, data, len);
  g_out_len += len;
  return (int32_t)len;
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
  static uint8_t chunk[64 * 1024];
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
  if (flush_wire() != 0) {
    return g_host_closed ? kExitHostClosed : kExitIoError;
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
    (void)flush_wire(); /* a failure sets g_host_closed or g_fatal, handled below */
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
