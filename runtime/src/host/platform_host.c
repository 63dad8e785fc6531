/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TVM platform hooks for the host-emulated device (a plain process talking over
 * stdin/stdout): memory from a static pool, a monotonic timer, random bytes from /dev/urandom.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <microtvm/time_evaluator.h>
#include <tvm/runtime/crt/platform.h>
#include <microtvm/profiler.h>

#ifndef TVM_WORKSPACE_SIZE_BYTES
#define TVM_WORKSPACE_SIZE_BYTES (2u * 1024u * 1024u)
#endif

/* Pages of 256 bytes, as TVM's page allocator uses; each allocation is a run of whole pages. */
#define MTVM_PAGE_SIZE 256u
#define MTVM_PAGE_COUNT ((TVM_WORKSPACE_SIZE_BYTES) / MTVM_PAGE_SIZE)

/* Aligned for any tensor element type and for SIMD loads. */
static union {
  uint8_t bytes[MTVM_PAGE_COUNT * MTVM_PAGE_SIZE];
  long double align_ld;
  uint64_t align_u64;
  void* align_ptr;
} g_pool;

/* run_pages[p] is the length of the allocation starting at page p, 0 if none starts there;
 * page_used[p] marks every page of every allocation. */
static uint32_t g_run_pages[MTVM_PAGE_COUNT];
static uint8_t g_page_used[MTVM_PAGE_COUNT];
/* Every page below this one is used, so first fit starts its search here: an operator that
 * allocates and frees a small workspace in a loop (500 times per inference in a convolution) gets
 * the page it just freed without a walk past everything that lives below it. */
static size_t g_first_free;

/* The first unused page at or after `p`, which is a free page or the start of an allocation. */
static size_t first_free_from(size_t p) {
  while (p < MTVM_PAGE_COUNT && g_page_used[p]) {
    p += g_run_pages[p] > 0 ? g_run_pages[p] : 1;
  }
  return p;
}
tvm_crt_error_t TVMPlatformMemoryAllocate(size_t n, DLDevice dev, void** out) {
  size_t pages;
  size_t run_start = g_first_free;
  size_t run_len = 0;
  size_t p;
  (void)dev;
  if (out == NULL) {
    return kTvmErrorFunctionCallInvalidArg;
  }
  if (n > (size_t)MTVM_PAGE_COUNT * MTVM_PAGE_SIZE) {
    return kTvmErrorPlatformNoMemory;
  }
  /* n == 0 still gets a page, so that every allocation has a distinct address. */
  pages = n == 0 ? 1 : (n + MTVM_PAGE_SIZE - 1) / MTVM_PAGE_SIZE;
  /* First fit. A used page met here always starts an allocation (allocations are skipped whole),
   * so the scan steps over each one at once: its cost grows with the number of live allocations,
   * not with the pages they cover. Generated operators allocate and free workspace many times per
   * inference while the RPC server's buffers sit at the bottom of the pool. */
  for (p = g_first_free; p < MTVM_PAGE_COUNT; p++) {
    if (g_page_used[p]) {
      p += g_run_pages[p] > 0 ? g_run_pages[p] - 1 : 0;
      run_len = 0;
      run_start = p + 1;
      continue;
    }
    if (++run_len == pages) {
      size_t q;
      for (q = run_start; q < run_start + pages; q++) {
        g_page_used[q] = 1;
      }
      g_run_pages[run_start] = (uint32_t)pages;
      if (run_start == g_first_free) {
        g_first_free = first_free_from(run_start + pages);
      }
      *out = &g_pool.bytes[run_start * MTVM_PAGE_SIZE];
      return kTvmErrorNoError;
    }
  }
  return kTvmErrorPlatformNoMemory;
}

tvm_crt_error_t TVMPlatformMemoryFree(void* ptr, DLDevice dev) {
  uintptr_t base = (uintptr_t)g_pool.bytes;
  uintptr_t addr = (uintptr_t)ptr;
  size_t page;
  size_t q;
  (void)dev;
  if (ptr == NULL) {
    return kTvmErrorNoError;
  }
  if (addr < base || addr >= base + sizeof(g_pool.bytes) || (addr - base) % MTVM_PAGE_SIZE != 0) {
    return kTvmErrorFunctionCallInvalidArg;
  }
  page = (size_t)((addr - base) / MTVM_PAGE_SIZE);
  if (g_run_pages[page] == 0) {
    return kTvmErrorFunctionCallInvalidArg; /* not an allocation, or freed twice */
  }
  for (q = page; q < page + g_run_pages[page]; q++) {
    g_page_used[q] = 0;
  }
  g_run_pages[page] = 0;
  if (page < g_first_free) {
    g_first_free = page;
  }
  return kTvmErrorNoError;
}

static int g_timer_running;
static struct timespec g_timer_start;

/* The time evaluator's cooldown between repetitions. */
tvm_crt_error_t mtvm_platform_sleep_ms(int64_t ms) {
  struct timespec wait = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&wait, &wait) != 0) {
    if (errno != EINTR) return kTvmErrorPlatformTimerBadState;
  }
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformTimerStart(void) {
  if (g_timer_running) {
    return kTvmErrorPlatformTimerBadState;
  }
  if (clock_gettime(CLOCK_MONOTONIC, &g_timer_start) != 0) {
    return kTvmErrorPlatformCheckFailure;
  }
  g_timer_running = 1;
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformTimerStop(double* elapsed_time_seconds) {
  struct timespec now;
  if (!g_timer_running) {
    return kTvmErrorPlatformTimerBadState;
  }
  if (clock_gettime(CLOCK_MONOTONIC, &now) != 0) {
    return kTvmErrorPlatformCheckFailure;
  }
  g_timer_running = 0;
  *elapsed_time_seconds = (double)(now.tv_sec - g_timer_start.tv_sec) +
                          (double)(now.tv_nsec - g_timer_start.tv_nsec) * 1e-9;
  return kTvmErrorNoError;
}

/* The operator-timing clock: monotonic nanoseconds (host time, so it varies with load). */
uint64_t mtvm_profile_clock(void) {
  struct timespec now;
  if (clock_gettime(CLOCK_MONOTONIC, &now) != 0) return 0;
  return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

uint64_t mtvm_profile_clock_hz(void) { return 1000000000u; }

const char* mtvm_profile_clock_name(void) { return "CLOCK_MONOTONIC ns"; }

tvm_crt_error_t TVMPlatformBeforeMeasurement(void) { return kTvmErrorNoError; }

tvm_crt_error_t TVMPlatformAfterMeasurement(void) { return kTvmErrorNoError; }

tvm_crt_error_t TVMPlatformGenerateRandom(uint8_t* buffer, size_t n) {
  static int seeded;
  size_t got = 0;
  FILE* urandom = fopen("/dev/urandom", "rb");
  if (urandom != NULL) {
    got = fread(buffer, 1, n, urandom);
    fclose(urandom);
  }
  if (got < n) {
    /* No /dev/urandom: time and pid still differ across restarts, which is all nonces need. */
    if (!seeded) {
      struct timespec now;
      clock_gettime(CLOCK_REALTIME, &now);
      srand((unsigned)now.tv_sec ^ (unsigned)now.tv_nsec ^ ((unsigned)getpid() << 16));
      seeded = 1;
    }
    for (; got < n; got++) {
      buffer[got] = (uint8_t)(rand() >> 7);
    }
  }
  return kTvmErrorNoError;
}

size_t TVMPlatformFormatMessage(char* out, size_t out_size, const char* fmt, va_list args) {
  int n;
  if (out_size == 0) {
    return 0;
  }
  n = vsnprintf(out, out_size, fmt, args);
  if (n < 0) {
    out[0] = '\0';
    return 0;
  }
  return (size_t)n < out_size ? (size_t)n : out_size - 1;
}

void TVMPlatformAbort(tvm_crt_error_t code) {
  fprintf(stderr, "microTVM runtime: abort with error 0x%08x\n", (unsigned)code);
  fflush(stderr);
  exit(1);
}

tvm_crt_error_t TVMPlatformInitialize(void) { return kTvmErrorNoError; }
