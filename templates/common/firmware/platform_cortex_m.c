/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TVM platform hooks for a bare-metal Cortex-M board: memory from a static pool, the board's
 * timer (timer_systick.c or timer_dwt.c), random bytes from a PRNG seeded by the timer, abort as a Log message then a halt.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <microtvm/profiler.h>
#include <tvm/runtime/crt/platform.h>

#include "cortex_m.h"
#include "platform_cortex_m.h"

#ifndef TVM_WORKSPACE_SIZE_BYTES
#define TVM_WORKSPACE_SIZE_BYTES (256u * 1024u)
#endif

/* Pass -DMTVM_WORKSPACE_SECTION=".psram_bss" to put a large pool in the board's PSRAM. */
#ifdef MTVM_WORKSPACE_SECTION
#define MTVM_POOL_PLACEMENT __attribute__((section(MTVM_WORKSPACE_SECTION)))
#else
#define MTVM_POOL_PLACEMENT
#endif

/* Blocks of 256 bytes, 16-byte aligned; an allocation is a run of consecutive free blocks. */
#define BLOCK_BYTES 256u
#define BLOCK_COUNT ((TVM_WORKSPACE_SIZE_BYTES + BLOCK_BYTES - 1u) / BLOCK_BYTES)

static uint8_t g_pool[BLOCK_COUNT * BLOCK_BYTES] __attribute__((aligned(16))) MTVM_POOL_PLACEMENT;
/* g_run[b]: number of blocks of the allocation starting at block b (0: none starts there). */
static uint16_t g_run[BLOCK_COUNT];
/* g_busy[b]: block b belongs to some allocation. */
static uint8_t g_busy[BLOCK_COUNT];
/* Every block below this one is busy, so first fit starts its search here: an operator that
 * allocates and frees a small workspace in a loop (500 times per inference in a convolution) gets
 * the block it just freed without a walk past everything that lives below it. */
static size_t g_first_free;

#if BLOCK_COUNT > 65535u
#error "TVM_WORKSPACE_SIZE_BYTES too large for 16-bit block runs"
#endif

tvm_crt_error_t TVMPlatformMemoryAllocate(size_t n, DLDevice dev, void** out) {
  size_t want;
  size_t start = g_first_free;
  size_t free_run = 0;
  size_t b;
  (void)dev;
  if (out == NULL) {
    return kTvmErrorFunctionCallInvalidArg;
  }
  if (n > sizeof(g_pool)) {
    return kTvmErrorPlatformNoMemory;
  }
  want = n == 0u ? 1u : (n + BLOCK_BYTES - 1u) / BLOCK_BYTES;
  /* A busy block met here always starts an allocation, which is stepped over whole: operators
   * allocate workspace many times per inference above the RPC server's long-lived buffers. */
  for (b = g_first_free; b < BLOCK_COUNT; b++) {
    if (g_busy[b]) {
      b += g_run[b] > 0u ? g_run[b] - 1u : 0u;
      free_run = 0;
      start = b + 1u;
    } else if (++free_run == want) {
      memset(&g_busy[start], 1, want);
      g_run[start] = (uint16_t)want;
      if (start == g_first_free) {
        /* The next unused block: past this allocation and any that follow it. */
        b = start + want;
        while (b < BLOCK_COUNT && g_busy[b]) {
          b += g_run[b] > 0u ? g_run[b] : 1u;
        }
        g_first_free = b;
      }
      *out = &g_pool[start * BLOCK_BYTES];
      return kTvmErrorNoError;
    }
  }
  return kTvmErrorPlatformNoMemory;
}

tvm_crt_error_t TVMPlatformMemoryFree(void* ptr, DLDevice dev) {
  uintptr_t offset;
  size_t block;
  (void)dev;
  if (ptr == NULL) {
    return kTvmErrorNoError;
  }
  offset = (uintptr_t)ptr - (uintptr_t)g_pool;
  if ((uintptr_t)ptr < (uintptr_t)g_pool || offset >= sizeof(g_pool) || offset % BLOCK_BYTES != 0u) {
    return kTvmErrorFunctionCallInvalidArg;
  }
  block = offset / BLOCK_BYTES;
  if (g_run[block] == 0u) {
    return kTvmErrorFunctionCallInvalidArg; /* not the start of an allocation, or freed twice */
  }
  memset(&g_busy[block], 0, g_run[block]);
  g_run[block] = 0u;
  if (block < g_first_free) {
    g_first_free = block;
  }
  return kTvmErrorNoError;
}

/* The operator-timing clock is the platform's timer: SysTick under QEMU (deterministic with
 * -icount), the DWT cycle counter on silicon that has one (timer_dwt.c). */
uint64_t mtvm_profile_clock(void) { return mtvm_platform_ticks(); }

uint64_t mtvm_profile_clock_hz(void) { return mtvm_platform_timer_hz(); }

static int g_timer_running;
static uint64_t g_timer_start;

tvm_crt_error_t TVMPlatformTimerStart(void) {
  if (g_timer_running) {
    return kTvmErrorPlatformTimerBadState;
  }
  g_timer_running = 1;
  g_timer_start = mtvm_platform_ticks();
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformTimerStop(double* elapsed_time_seconds) {
  uint64_t now = mtvm_platform_ticks();
  if (!g_timer_running) {
    return kTvmErrorPlatformTimerBadState;
  }
  g_timer_running = 0;
  *elapsed_time_seconds = (double)(now - g_timer_start) / (double)mtvm_platform_timer_hz();
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformBeforeMeasurement(void) { return kTvmErrorNoError; }

tvm_crt_error_t TVMPlatformAfterMeasurement(void) { return kTvmErrorNoError; }

/* xorshift32; seeded on first use from the tick count, which depends on when the host's first
 * bytes arrived (under -icount it is the same on every run: nonces then repeat, which the
 * session protocol tolerates). */
static uint32_t g_random_state;

tvm_crt_error_t TVMPlatformGenerateRandom(uint8_t* buffer, size_t n) {
  size_t i;
  if (g_random_state == 0u) {
    uint64_t ticks = mtvm_platform_ticks();
    g_random_state = (uint32_t)ticks ^ (uint32_t)(ticks >> 32) ^ 0x9E3779B9u;
    if (g_random_state == 0u) {
      g_random_state = 0x2545F491u;
    }
  }
  for (i = 0; i < n; i++) {
    uint32_t x = g_random_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    g_random_state = x;
    buffer[i] = (uint8_t)(x >> 24);
  }
  return kTvmErrorNoError;
}

size_t TVMPlatformFormatMessage(char* out, size_t out_size, const char* fmt, va_list args) {
  int n;
  if (out_size == 0u) {
    return 0;
  }
  n = vsnprintf(out, out_size, fmt, args);
  if (n < 0) {
    out[0] = '\0';
    return 0;
  }
  return (size_t)n < out_size ? (size_t)n : out_size - 1u;
}

static mtvm_halt_reporter_t g_halt_reporter;
static void* g_halt_reporter_ctx;

void mtvm_platform_set_halt_reporter(mtvm_halt_reporter_t report, void* ctx) {
  g_halt_reporter = report;
  g_halt_reporter_ctx = ctx;
}

void mtvm_platform_halt(const char* text) {
  mtvm_halt_reporter_t report = g_halt_reporter;
  (void)mtvm_irq_save();
  g_halt_reporter = NULL; /* a fault inside the reporter must not recurse into it */
  if (report != NULL) {
    report(g_halt_reporter_ctx, text);
  }
  for (;;) {
    mtvm_wfi();
  }
}

void TVMPlatformAbort(tvm_crt_error_t code) {
  char text[64];
  (void)snprintf(text, sizeof(text), "microTVM runtime: abort with error 0x%08lx",
                 (unsigned long)code);
  mtvm_platform_halt(text);
}

tvm_crt_error_t TVMPlatformInitialize(void) {
  mtvm_platform_timer_init();
  return kTvmErrorNoError;
}
