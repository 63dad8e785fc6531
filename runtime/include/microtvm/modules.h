/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The module table, module and function handles, and calls through function handles.
 *
 * Handles are encoded as TVM's C runtime encodes them, so the values a host sees match TVM's
 * (they are opaque to a host, but traces compare equal):
 *   module handle   = module_index | 0x8000                    (system library: 0x8000)
 *   function handle = ((module_index | 0x8000) << 16) | (function_index | 0x8000)
 * Table modules hold a TVMFuncRegistry. Pseudo-modules have no table slot: a resolver turns their
 * function indices into functions (the global functions are pseudo-module
 * MTVM_GLOBAL_MODULE_INDEX, so global #0 is 0x80028000; the time evaluator's functions are
 * pseudo-module MTVM_TIME_EVALUATOR_MODULE_INDEX).
 */
#ifndef MICROTVM_MODULES_H_
#define MICROTVM_MODULES_H_

#include <stdint.h>

#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/error_codes.h>
#include <tvm/runtime/crt/module.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Module slots (system library, AOT executor, spares). Slot 2 is never used: its index names the
 * global pseudo-module. */
#ifndef MTVM_MAX_MODULES
#define MTVM_MAX_MODULES 4
#endif

#define MTVM_GLOBAL_MODULE_INDEX 2
#define MTVM_TIME_EVALUATOR_MODULE_INDEX 0x7fff

/* Called when a module leaves the table (the host freed it, or the runtime was reset), so that
 * whoever made the module releases what stands behind it. */
typedef void (*mtvm_module_release_fn)(const TVMModule* module);

/* Adds a module to the table. release may be NULL. A persistent module stays when the host frees
 * its handle (the system library lives as long as the server) and leaves only on reset. */
tvm_crt_error_t mtvm_module_add(const TVMModule* module, mtvm_module_release_fn release,
                                int persistent, TVMModuleHandle* out_handle);

/* The module behind a handle, or NULL when the handle names no live module. */
const TVMModule* mtvm_module_from_handle(TVMModuleHandle handle);

/* Resolves a pseudo-module's function index to the function TVMFuncCall calls and the resource
 * handle it passes. Returns 0, or an error code after setting the last error. */
typedef int (*mtvm_function_resolver_fn)(uint16_t function_index, TVMBackendPackedCFunc* out_func,
                                         void** out_resource);

/* Makes module_index (one that is not a table slot) a pseudo-module. `what` names its functions in
 * errors about workspace left behind ("the function", "the time evaluator"). */
tvm_crt_error_t mtvm_pseudo_module_register(uint16_t module_index, const char* what,
                                            mtvm_function_resolver_fn resolve);

TVMModuleHandle mtvm_encode_module_handle(uint16_t module_index);
TVMFunctionHandle mtvm_encode_function_handle(uint16_t module_index, uint16_t function_index);

/* Releases and drops every module and forgets the pseudo-modules. */
void mtvm_modules_reset(void);

#ifdef __cplusplus
}
#endif

#endif /* MICROTVM_MODULES_H_ */
