/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Global functions (the pseudo-module MTVM_GLOBAL_MODULE_INDEX, see modules.h) and the system
 * library with the two globals a host reaches it through: runtime.SystemLib and
 * tvm.rpc.server.ModuleGetFunction.
 */
#ifndef MICROTVM_GLOBALS_H_
#define MICROTVM_GLOBALS_H_

#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef MTVM_MAX_GLOBAL_FUNCS
#define MTVM_MAX_GLOBAL_FUNCS 16
#endif

/* Empties the table and makes it the global pseudo-module (global #i gets handle
 * 0x80028000 | i, in registration order). */
tvm_crt_error_t mtvm_globals_init(void);

/* Empties the table (the pseudo-module goes with mtvm_modules_reset). */
void mtvm_globals_reset(void);

/* Adds (or with override != 0 replaces) a global function. The name must stay valid. */
tvm_crt_error_t mtvm_global_register(const char* name, TVMBackendPackedCFunc func, int override);

/* Registers runtime.SystemLib and tvm.rpc.server.ModuleGetFunction, in that order. */
tvm_crt_error_t mtvm_system_lib_register(void);

/* Creates the system-library module on first use (from the first registered model that has
 * one; an empty library otherwise) and returns its handle. */
tvm_crt_error_t mtvm_system_lib_handle(TVMModuleHandle* out);

#ifdef __cplusplus
}
#endif

#endif /* MICROTVM_GLOBALS_H_ */
