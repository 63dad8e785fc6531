/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Function registries: a blob of NUL-separated names plus a parallel array of function pointers,
 * the form TVM's code generator emits for a system library.
 *
 * The blob starts with the function count, then the names, each NUL-terminated, then one extra NUL.
 * Archives from 2021 (MLF v4 era) store the count in ONE byte ("\007name\0..."); later ones store a
 * u16 little-endian count ("\x07\x00name\0..."). Both forms are accepted; see
 * TVMFuncRegistry_GetNumFuncs for how they are told apart.
 */
#ifndef TVM_RUNTIME_CRT_FUNC_REGISTRY_H_
#define TVM_RUNTIME_CRT_FUNC_REGISTRY_H_

#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint16_t tvm_function_index_t;
typedef uint16_t tvm_module_index_t;

typedef struct TVMFuncRegistry {
  /* Count prefix, NUL-separated names, final extra NUL (see above). */
  const char* names;
  /* Function pointers, in the order of the names. */
  const TVMBackendPackedCFunc* funcs;
} TVMFuncRegistry;

/* Number of functions, whichever count form the blob uses. */
uint16_t TVMFuncRegistry_GetNumFuncs(const TVMFuncRegistry* reg);

/* The first name in the blob (just after the count prefix). */
const char* TVMFuncRegistry_Get0thFunctionName(const TVMFuncRegistry* reg);

/* kTvmErrorFunctionNameNotFound when no function has that name. */
tvm_crt_error_t TVMFuncRegistry_Lookup(const TVMFuncRegistry* reg, const char* name,
                                       tvm_function_index_t* function_index);

/* kTvmErrorFunctionIndexInvalid when index is out of range. */
tvm_crt_error_t TVMFuncRegistry_GetByIndex(const TVMFuncRegistry* reg, tvm_function_index_t index,
                                           TVMBackendPackedCFunc* out_func);

#ifdef __cplusplus
}
#endif

#endif /* TVM_RUNTIME_CRT_FUNC_REGISTRY_H_ */
