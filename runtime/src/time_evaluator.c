/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runtime.RPCTimeEvaluator: times a module function on the device with the platform timer.
 */
#include <microtvm/errors.h>
#include <microtvm/globals.h>
#include <microtvm/modules.h>
#include <microtvm/time_evaluator.h>
#include <string.h>
#include <tvm/runtime/crt/platform.h>

typedef struct {
  uint16_t function_index; /* handles made before the latest create are stale */
  TVMFunctionHandle target;
  int64_t number;
  int64_t repeat;
  int64_t min_repeat_ms;
  int64_t limit_zero_time_iterations;
  int64_t cooldown_interval_ms;
  int64_t repeats_to_cooldown;
} evaluator_t;

static evaluator_t g_eval;

/* Ports that do not need them leave these hooks out. */
TVM_WEAK tvm_crt_error_t TVMPlatformBeforeMeasurement(void) { return kTvmErrorNoError; }
TVM_WEAK tvm_crt_error_t TVMPlatformAfterMeasurement(void) { return kTvmErrorNoError; }
TVM_WEAK tvm_crt_error_t mtvm_platform_sleep_ms(int64_t ms) {
  (void)ms;
  mtvm_set_error("RPCTimeEvaluator: this device cannot wait; send cooldown_interval_ms = 0");
  return kTvmErrorFunctionCallInvalidArg;
}

static int create(TVMValue* args, int* type_codes, int num_args, TVMValue* ret, int* ret_code,
                  void* resource_handle) {
  (void)resource_handle;
  /* v0.14+ sends cache_flush_bytes (Int) before f_preproc; v0.10-v0.13 do not. */
  if (num_args != 11 && num_args != 12) {
    mtvm_set_error("RPCTimeEvaluator takes 11 or 12 arguments, got %d", num_args);
    return kTvmErrorFunctionCallNumArguments;
  }
  int ok = type_codes[0] == kTVMModuleHandle && type_codes[1] == kTVMStr &&
           type_codes[num_args - 1] == kTVMStr;
  for (int i = 2; i < num_args - 1; i++) ok = ok && type_codes[i] == kTVMArgInt;
  if (!ok) {
    mtvm_set_error("RPCTimeEvaluator takes (Module, Str name, Int x %d, Str f_preproc)",
                   num_args - 3);
    return kTvmErrorFunctionCallWrongArgType;
  }
  if (args[2].v_int64 != kDLCPU) {
    mtvm_set_error("RPCTimeEvaluator: device type %ld is not supported (only CPU, 1)",
                   (long)args[2].v_int64);
    return kTvmErrorExecutorModuleBadContext;
  }
  if (args[4].v_int64 < 1 || args[5].v_int64 < 1 || args[5].v_int64 > 0xffff ||
      args[6].v_int64 < 0 || args[7].v_int64 < 1 || args[8].v_int64 < 0 ||
      (args[8].v_int64 > 0 && args[9].v_int64 < 1)) {
    mtvm_set_error("RPCTimeEvaluator: number and limit_zero_time_iterations must be >= 1, repeat "
                   "1..65535, min_repeat_ms and cooldown_interval_ms >= 0");
    return kTvmErrorFunctionCallInvalidArg;
  }
  TVMFunctionHandle target;
  int err = TVMModGetFunction(args[0].v_handle, args[1].v_str, 0, &target);
  if (err != 0) return err;
  if (target == NULL) {
    mtvm_set_error("RPCTimeEvaluator: the module has no function \"%s\"", args[1].v_str);
    return kTvmErrorFunctionNameNotFound;
  }
  uint16_t next_index = (uint16_t)((g_eval.function_index + 1) & 0x7fff);
  g_eval.function_index = next_index;
  g_eval.target = target;
  g_eval.number = args[4].v_int64;
  g_eval.repeat = args[5].v_int64;
  g_eval.min_repeat_ms = args[6].v_int64;
  g_eval.limit_zero_time_iterations = args[7].v_int64;
  g_eval.cooldown_interval_ms = args[8].v_int64;
  g_eval.repeats_to_cooldown = args[9].v_int64;
  ret[0].v_handle = mtvm_encode_function_handle(MTVM_TIME_EVALUATOR_MODULE_INDEX, next_index);
  ret_code[0] = kTVMPackedFuncHandle;
  return 0;
}

/* Calls the target `number` times between the measurement hooks; *seconds is the elapsed time. */
static int measure(TVMValue* args, int* type_codes, int num_args, double* seconds) {
  TVMValue ret;
  int ret_code;
  int err = TVMPlatformBeforeMeasurement();
  if (err != 0) return err;
  err = TVMPlatformTimerStart();
  if (err != 0) {
    mtvm_set_error("TVMPlatformTimerStart failed: 0x%x", err);
    return err;
  }
  for (int64_t i = 0; i < g_eval.number && err == 0; i++) {
    err = TVMFuncCall(g_eval.target, args, type_codes, num_args, &ret, &ret_code);
  }
  /* A failed call must never come out as a (short) time. */
  if (err != 0) mtvm_prefix_error("time evaluator: a timed call failed");
  double elapsed = 0;
  int stop_err = TVMPlatformTimerStop(&elapsed);
  if (err == 0 && stop_err != 0) {
    mtvm_set_error("TVMPlatformTimerStop failed: 0x%x", stop_err);
    err = stop_err;
  }
  int after_err = TVMPlatformAfterMeasurement();
  if (err == 0) err = after_err;
  *seconds = elapsed;
  return err;
}

/* A time-evaluator function, once resolve_evaluator has checked its handle. */
static int call(TVMValue* args, int* type_codes, int num_args, TVMValue* ret, int* ret_code,
                void* resource) {
  (void)resource;
  const DLDevice cpu = {kDLCPU, 0};
  TVMByteArray* result = NULL;
  if (TVMPlatformMemoryAllocate(sizeof(TVMByteArray), cpu, (void**)&result) != 0) {
    mtvm_set_error("out of memory for the time evaluator result");
    return kTvmErrorPlatformNoMemory;
  }
  void* data = NULL;
  size_t size = sizeof(double) * (size_t)g_eval.repeat;
  if (TVMPlatformMemoryAllocate(size, cpu, &data) != 0) {
    TVMPlatformMemoryFree(result, cpu);
    mtvm_set_error("out of memory for the time evaluator result");
    return kTvmErrorPlatformNoMemory;
  }
  uint8_t* out = (uint8_t*)data;

  /* One untimed call first, as TVM does, so that lazy set-up is not measured. */
  TVMValue warm_ret;
  int warm_code;
  int err = TVMFuncCall(g_eval.target, args, type_codes, num_args, &warm_ret, &warm_code);
  if (err != 0) mtvm_prefix_error("time evaluator: the untimed first call failed");
  double min_seconds = (double)g_eval.min_repeat_ms / 1000.0;
  for (int64_t r = 0; r < g_eval.repeat && err == 0; r++) {
    double seconds = 0;
    int64_t zero_times = 0;
    do {
      if (seconds > 0) {
        /* Too fast to time: grow `number` towards min_repeat_ms (the growth persists). */
        double a = min_seconds / (seconds / (double)g_eval.number) + 1;
        double b = (double)g_eval.number * 1.618;
        g_eval.number = (int64_t)(a > b ? a : b);
      }
      err = measure(args, type_codes, num_args, &seconds);
      if (seconds == 0.0) zero_times++;
    } while (err == 0 && seconds < min_seconds && zero_times < g_eval.limit_zero_time_iterations);
    double mean = seconds / (double)g_eval.number;
    uint64_t bits;
    memcpy(&bits, &mean, sizeof(bits));
    for (int i = 0; i < 8; i++) out[r * 8 + i] = (uint8_t)(bits >> (8 * i));
    if (err == 0 && g_eval.cooldown_interval_ms > 0 && r % g_eval.repeats_to_cooldown == 0) {
      err = mtvm_platform_sleep_ms(g_eval.cooldown_interval_ms);
    }
  }
  if (err != 0) {
    TVMPlatformMemoryFree(data, cpu);
    TVMPlatformMemoryFree(result, cpu);
    return err;
  }
  result->data = (const char*)data;
  result->size = size;
  ret[0].v_handle = result;
  ret_code[0] = kTVMBytes;
  return 0;
}

static int resolve_evaluator(uint16_t function_index, TVMBackendPackedCFunc* out_func,
                             void** out_resource) {
  if (g_eval.function_index == 0 || function_index != g_eval.function_index) {
    mtvm_set_error("time evaluator handle is stale: a newer evaluator replaced it");
    return kTvmErrorTimeEvaluatorBadHandle;
  }
  *out_func = call;
  *out_resource = NULL;
  return 0;
}

tvm_crt_error_t mtvm_time_evaluator_register(void) {
  memset(&g_eval, 0, sizeof(g_eval));
  tvm_crt_error_t err = mtvm_pseudo_module_register(MTVM_TIME_EVALUATOR_MODULE_INDEX,
                                                    "the time evaluator", resolve_evaluator);
  if (err == kTvmErrorNoError) err = mtvm_global_register("runtime.RPCTimeEvaluator", create, 0);
  return err;
}
