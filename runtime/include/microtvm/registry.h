/*
 * Global functions, the module table and function handles of the device runtime.
 *
 * Handles are encoded as TVM's C runtime encodes them, so the values a host sees match TVM's
 * (they are opaque to a host, but traces compare equal):
 *   module handle   = module_index | 0x8000                    (system library: 0x8000)
 *   function handle = ((module_index | 0x8000) << 16) | (function_index | 0x8000)
 * Global functions live in pseudo-module MTVM_GLOBAL_MODULE_INDEX (2, so global #0 is 0x80028000);
 * functions made by the time evaluator in pseudo-module 0x7fff.
 */
#ifndef MICROTVM_REGISTRY_H_
#define MICROTVM_REGISTRY_H_

#include <stddef.h>
#include <stdint.h>

#include <microtvm/model.h>
#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/error_codes.h>
#include <tvm/runtime/crt/func_registry.h>
#include <tvm/runtime/crt/module.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef MTVM_MAX_GLOBAL_FUNCS
#define MTVM_MAX_GLOBAL_FUNCS 16
#endif

/* Module slots (system library, AOT executor, spares). Slot 2 is never used: its index names the
 * global pseudo-module. */
#ifndef MTVM_MAX_MODULES
#define MTVM_MAX_MODULES 4
#endif

#ifndef MTVM_MAX_MODELS
#define MTVM_MAX_MODELS 4
#endif

#ifndef MTVM_LAST_ERROR_BYTES
#define MTVM_LAST_ERROR_BYTES 256
#endif

#define MTVM_GLOBAL_MODULE_INDEX 2
#define MTVM_TIME_EVALUATOR_MODULE_INDEX 0x7fff

/* Resets every table and registers the built-in globals, in TVM's order:
 * runtime.SystemLib, tvm.rpc.server.ModuleGetFunction, runtime.RPCTimeEvaluator,
 * tvm.rpc.server.GetCRTMaxPacketSize, tvm.contrib.random.random_fill, tvm.aot_executor.create.
 * max_packet_size is what GetCRTMaxPacketSize reports, plus MTVM_RPC_PACKET_OVERHEAD_BYTES. */
tvm_crt_error_t mtvm_runtime_init(size_t max_packet_size);

/* Drops modules, globals and models (memory is released by mtvm_memory_release_all). */
void mtvm_runtime_reset(void);

/* Adds (or with override != 0 replaces) a global function. */
tvm_crt_error_t mtvm_global_register(const char* name, TVMBackendPackedCFunc func, int override);

/* Registered models (see mtvm_model_register in rpc_server.h). */
const mtvm_model_t* mtvm_model_find(const char* name);

/* Sets the last error message, printf-style (bounded to MTVM_LAST_ERROR_BYTES). */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
void mtvm_set_error(const char* fmt, ...);

/* Clears the last error so that a failure without a message can be told apart. */
void mtvm_clear_error(void);

/* Puts "<prefix>: " before the last error (or makes it "<prefix>" when there is none), so a caller
 * can say where a failure happened without losing what failed. */
void mtvm_prefix_error(const char* prefix);

/* Function-handle helpers (see the encoding above). */
TVMFunctionHandle mtvm_encode_function_handle(uint16_t module_index, uint16_t function_index);
TVMModuleHandle mtvm_encode_module_handle(uint16_t module_index);
/* The module behind a handle, or NULL when the handle names no live module. */
const TVMModule* mtvm_module_from_handle(TVMModuleHandle handle);

/* Creates the system-library module on first use (from the first registered model that has
 * one; an empty library otherwise) and returns its handle. */
tvm_crt_error_t mtvm_system_lib_handle(TVMModuleHandle* out);

/* runtime.RPCTimeEvaluator: takes (Module, Str name, Int device_type, Int device_id, Int number,
 * Int repeat, Int min_repeat_ms, Int limit_zero_time_iterations, Int cooldown_interval_ms,
 * Int repeats_to_cooldown, [Int cache_flush_bytes,] Str f_preproc) -- 12 arguments as TVM v0.14+
 * sends them, or 11 without cache_flush_bytes (v0.10-v0.13) -- and returns a function handle. */
int mtvm_time_evaluator_create(TVMValue* args, int* type_codes, int num_args, TVMValue* ret,
                               int* ret_code, void* resource_handle);
/* Calls a time-evaluator function (module index 0x7fff); returns Bytes of `repeat` float64 LE
 * values, the mean seconds per call of each repetition. */
int mtvm_time_evaluator_call(uint16_t function_index, TVMValue* args, int* type_codes,
                             int num_args, TVMValue* ret, int* ret_code);
void mtvm_time_evaluator_reset(void);

#ifdef __cplusplus
}
#endif

#endif /* MICROTVM_REGISTRY_H_ */
