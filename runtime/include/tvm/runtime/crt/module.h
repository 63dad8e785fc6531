/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A C module: a function registry. Generated code built with the `system-lib` option defines
 * TVMSystemLibEntryPoint() returning its module (operators, and for AOT the run function).
 */
#ifndef TVM_RUNTIME_CRT_MODULE_H_
#define TVM_RUNTIME_CRT_MODULE_H_

#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/func_registry.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct TVMModule {
  const TVMFuncRegistry* registry;
} TVMModule;

/* Registers a module with the runtime and returns its handle. Fails when the table is full. */
int TVMModCreateFromCModule(const TVMModule* mod, TVMModuleHandle* out_handle);

/* Defined by generated code built with system-lib. */
const TVMModule* TVMSystemLibEntryPoint(void);

#ifdef __cplusplus
}
#endif

#endif /* TVM_RUNTIME_CRT_MODULE_H_ */
