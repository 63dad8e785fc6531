/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The -finstrument-functions hooks that time a model's operators, and the global functions the
 * host arms and reads them with (include/microtvm/profiler.h describes both).
 */
#include <microtvm/errors.h>
#include <microtvm/globals.h>
#include <microtvm/profiler.h>
#include <string.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/platform.h>

#define NO_INSTRUMENT __attribute__((no_instrument_function))

TVM_WEAK uint64_t mtvm_profile_clock(void) { return 0; }
TVM_WEAK uint64_t mtvm_profile_clock_hz(void) { return 0; }
TVM_WEAK const char* mtvm_profile_clock_name(void) { return "none"; }

typedef struct {
  uintptr_t fn;
  uint64_t ticks;
  uint32_t calls;
  uint16_t depth;
} record_t;

typedef struct {
  uintptr_t fn;
  uint64_t start;
} frame_t;

static volatile int g_armed;
static int g_depth;
static uint8_t g_flags;
static uint16_t g_count;
static frame_t g_stack[MTVM_PROFILE_MAX_DEPTH];
static record_t g_records[MTVM_PROFILE_MAX_RECORDS];

void __cyg_profile_func_enter(void* fn, void* call_site) NO_INSTRUMENT;
void __cyg_profile_func_exit(void* fn, void* call_site) NO_INSTRUMENT;

void __cyg_profile_func_enter(void* fn, void* call_site) {
  (void)call_site;
  if (!g_armed) return;
  int depth = g_depth++;
  if (depth < MTVM_PROFILE_MAX_DEPTH) {
    g_stack[depth].fn = (uintptr_t)fn;
    /* Read last, so that the hook's own work before it is not charged to the function. */
    g_stack[depth].start = mtvm_profile_clock();
  } else {
    g_flags |= 2u;
  }
}

void __cyg_profile_func_exit(void* fn, void* call_site) {
  (void)fn;
  (void)call_site;
  if (!g_armed || g_depth == 0) return; /* depth 0: armed inside a call, whose start was not seen */
  if (g_depth > MTVM_PROFILE_MAX_DEPTH) {
    g_depth--;
    return;
  }
  /* Read first, so that the hook's own work after it is not charged to the function. */
  uint64_t now = mtvm_profile_clock();
  int depth = --g_depth;
  uintptr_t f = g_stack[depth].fn;
  uint64_t elapsed = now - g_stack[depth].start;
  for (uint16_t i = 0; i < g_count; i++) {
    if (g_records[i].fn == f && g_records[i].depth == depth) {
      g_records[i].ticks += elapsed;
      g_records[i].calls++;
      return;
    }
  }
  if (g_count == MTVM_PROFILE_MAX_RECORDS) {
    g_flags |= 1u;
    return;
  }
  g_records[g_count].fn = f;
  g_records[g_count].depth = (uint16_t)depth;
  g_records[g_count].ticks = elapsed;
  g_records[g_count].calls = 1;
  g_count++;
}

void mtvm_profiler_start(void) {
  g_armed = 0;
  g_depth = 0;
  g_flags = 0;
  g_count = 0;
  memset(g_records, 0, sizeof(g_records));
  g_armed = 1;
}

static void put_u16(uint8_t* p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

uint32_t mtvm_profiler_read(uint8_t* out, uint32_t capacity) {
  g_armed = 0;
  if (capacity < MTVM_PROFILE_HEADER_BYTES) return 0;
  uint32_t fit = (capacity - MTVM_PROFILE_HEADER_BYTES) / MTVM_PROFILE_RECORD_BYTES;
  uint16_t count = g_count;
  uint8_t flags = g_flags;
  if (count > fit) {
    count = (uint16_t)fit;
    flags |= 1u;
  }
  memset(out, 0, MTVM_PROFILE_HEADER_BYTES);
  memcpy(out, "MTPF", 4);
  out[4] = 1;
  out[5] = flags;
  put_u16(out + 6, count);
  put_u64(out + 8, mtvm_profile_clock_hz());
  put_u64(out + 16, (uint64_t)(uintptr_t)&mtvm_profiler_register);
  const char* name = mtvm_profile_clock_name();
  size_t n = strlen(name);
  memcpy(out + 24, name, n < 23 ? n : 23);
  uint8_t* p = out + MTVM_PROFILE_HEADER_BYTES;
  for (uint16_t i = 0; i < count; i++, p += MTVM_PROFILE_RECORD_BYTES) {
    put_u64(p, (uint64_t)g_records[i].fn);
    put_u64(p + 8, g_records[i].ticks);
    put_u32(p + 16, g_records[i].calls);
    put_u16(p + 20, g_records[i].depth);
    put_u16(p + 22, 0);
  }
  return MTVM_PROFILE_HEADER_BYTES + (uint32_t)count * MTVM_PROFILE_RECORD_BYTES;
}

static int profile_start(TVMValue* args, int* type_codes, int num_args, TVMValue* ret,
                         int* ret_code, void* resource_handle) {
  (void)args;
  (void)type_codes;
  (void)resource_handle;
  if (num_args != 0) {
    mtvm_set_error("microtvm.profile.start takes no arguments, got %d", num_args);
    return kTvmErrorFunctionCallNumArguments;
  }
  mtvm_profiler_start();
  ret[0].v_int64 = (int64_t)mtvm_profile_clock_hz();
  ret_code[0] = kTVMArgInt;
  return 0;
}

static int profile_read(TVMValue* args, int* type_codes, int num_args, TVMValue* ret,
                        int* ret_code, void* resource_handle) {
  (void)args;
  (void)type_codes;
  (void)resource_handle;
  if (num_args != 0) {
    mtvm_set_error("microtvm.profile.read takes no arguments, got %d", num_args);
    return kTvmErrorFunctionCallNumArguments;
  }
  const DLDevice cpu = {kDLCPU, 0};
  uint32_t size = MTVM_PROFILE_HEADER_BYTES + (uint32_t)g_count * MTVM_PROFILE_RECORD_BYTES;
  TVMByteArray* result = NULL;
  void* data = NULL;
  if (TVMPlatformMemoryAllocate(sizeof(TVMByteArray), cpu, (void**)&result) != 0) {
    mtvm_set_error("out of memory for the operator timing table");
    return kTvmErrorPlatformNoMemory;
  }
  if (TVMPlatformMemoryAllocate(size, cpu, &data) != 0) {
    TVMPlatformMemoryFree(result, cpu);
    mtvm_set_error("out of memory for the operator timing table (%lu bytes)", (unsigned long)size);
    return kTvmErrorPlatformNoMemory;
  }
  result->data = (const char*)data;
  result->size = mtvm_profiler_read((uint8_t*)data, size);
  ret[0].v_handle = result;
  ret_code[0] = kTVMBytes;
  return 0;
}

tvm_crt_error_t mtvm_profiler_register(void) {
  g_armed = 0;
  tvm_crt_error_t err = mtvm_global_register("microtvm.profile.start", profile_start, 0);
  if (!err) err = mtvm_global_register("microtvm.profile.read", profile_read, 0);
  return err;
}
