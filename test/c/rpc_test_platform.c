/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Platform hooks for the runtime's C tests: malloc-backed memory that counts live blocks (so a test
 * can assert that nothing leaked) and can be told to fail, a monotonic timer and a fixed random
 * sequence.
 */
#define _POSIX_C_SOURCE 199309L

#include "rpc_test_platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long g_live_blocks;
static long g_live_bytes;
static long g_limit_bytes = -1;
static long g_failed;
static long g_fail_after = -1;
static int g_timer_running;
static struct timespec g_timer_start;

long test_platform_live_blocks(void) { return g_live_blocks; }

void test_platform_fail_allocations_after(long n) { g_fail_after = n; }

long test_platform_live_bytes(void) { return g_live_bytes; }

void test_platform_limit_bytes(long bytes) { g_limit_bytes = bytes; }

long test_platform_failed_allocations(void) { return g_failed; }

/* Each block starts with its size, so that frees can keep the byte count. 16 bytes keep malloc's
 * alignment for the caller. */
#define HEADER_BYTES 16

void TVMPlatformAbort(tvm_crt_error_t code) {
  fprintf(stderr, "TVMPlatformAbort(0x%x)\n", (unsigned)code);
  abort();
}

size_t TVMPlatformFormatMessage(char* out, size_t out_size, const char* fmt, va_list args) {
  int n = vsnprintf(out, out_size, fmt, args);
  if (n < 0) return 0;
  return (size_t)n < out_size ? (size_t)n : out_size - 1;
}

tvm_crt_error_t TVMPlatformMemoryAllocate(size_t n, DLDevice dev, void** out) {
  (void)dev;
  if (g_fail_after == 0 || (g_limit_bytes >= 0 && (long)n > g_limit_bytes - g_live_bytes)) {
    g_failed++;
    return kTvmErrorPlatformNoMemory;
  }
  if (g_fail_after > 0) g_fail_after--;
  unsigned char* p = malloc(HEADER_BYTES + n);
  if (p == NULL) return kTvmErrorPlatformNoMemory;
  memcpy(p, &n, sizeof(n));
  g_live_blocks++;
  g_live_bytes += (long)n;
  *out = p + HEADER_BYTES;
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformMemoryFree(void* ptr, DLDevice dev) {
  (void)dev;
  if (ptr == NULL) return kTvmErrorNoError;
  unsigned char* p = (unsigned char*)ptr - HEADER_BYTES;
  size_t n;
  memcpy(&n, p, sizeof(n));
  g_live_blocks--;
  g_live_bytes -= (long)n;
  free(p);
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformTimerStart(void) {
  if (g_timer_running) return kTvmErrorPlatformTimerBadState;
  g_timer_running = 1;
  clock_gettime(CLOCK_MONOTONIC, &g_timer_start);
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformTimerStop(double* seconds) {
  if (!g_timer_running) return kTvmErrorPlatformTimerBadState;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  g_timer_running = 0;
  *seconds = (double)(now.tv_sec - g_timer_start.tv_sec) +
             (double)(now.tv_nsec - g_timer_start.tv_nsec) / 1e9;
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformGenerateRandom(uint8_t* buffer, size_t n) {
  static uint32_t state = 12345;
  for (size_t i = 0; i < n; i++) {
    state = state * 1103515245u + 12345u;
    buffer[i] = (uint8_t)(state >> 16);
  }
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformInitialize(void) { return kTvmErrorNoError; }
