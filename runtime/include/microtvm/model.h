/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The model descriptor: what the runtime needs to know about one compiled model. TVM's own runtime
 * reads this from a generated `tvmgen_<name>_get_c_metadata()`, which only packed AOT archives from
 * TVM v0.9 on have, so the template generates one `mtvm_model_t` per model from the Model Library
 * Format metadata instead (see docs/runtime.md for the exact glue C). When a packed model's system
 * library does have the TVMMetadata, the AOT executor checks it against this descriptor and takes
 * the count of workspace-pool arguments from it.
 */
#ifndef MICROTVM_MODEL_H_
#define MICROTVM_MODEL_H_

#include <stddef.h>
#include <stdint.h>

#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/error_codes.h>
#include <tvm/runtime/crt/module.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef MTVM_MAX_MODELS
#define MTVM_MAX_MODELS 4
#endif

/* How the model's entry function is called. */
typedef enum {
  /* No executor entry (graph models: the host runs the graph and calls operators by name). */
  MTVM_ENTRY_NONE = 0,
  /* Packed entry: tvmgen_<name>_run(args, type_codes, num_args, ret, ret_code, resource) with the
   * input DLTensors then the output DLTensors (AOT, interface-api=packed). */
  MTVM_ENTRY_PACKED = 1,
  /* C interface entry: tvmgen_<name>_run(&inputs, &outputs) with structs of data pointers, called
   * through a glue wrapper of type mtvm_c_run_fn (AOT, interface-api=c). */
  MTVM_ENTRY_C_INTERFACE = 2,
} mtvm_entry_kind_t;

/* Glue wrapper for a C-interface entry: fills the model's inputs/outputs structs from these data
 * pointers (argument order) and calls tvmgen_<name>_run. */
typedef int32_t (*mtvm_c_run_fn)(void* const* inputs, void* const* outputs);

typedef struct {
  const char* name;     /* tensor name from the model (e.g. "Reshape_1") */
  DLDataType dtype;     /* e.g. int8 = {kDLInt, 8, 1} */
  int32_t ndim;
  const int64_t* shape; /* ndim entries */
} mtvm_tensor_info_t;

typedef struct {
  const char* name; /* MLF model_name, e.g. "default"; tvm.aot_executor.create selects by it */
  mtvm_entry_kind_t entry_kind;
  TVMBackendPackedCFunc run_packed; /* MTVM_ENTRY_PACKED, else NULL */
  mtvm_c_run_fn run_c;              /* MTVM_ENTRY_C_INTERFACE, else NULL */
  uint16_t num_inputs;
  const mtvm_tensor_info_t* inputs;
  uint16_t num_outputs;
  const mtvm_tensor_info_t* outputs;
  /* MLF memory.functions.main[0].workspace_size_bytes: the most the entry asks of
   * TVMBackendAllocWorkspace at once; a port sizes its memory pool with it. */
  size_t workspace_size_bytes;
  /* TVMSystemLibEntryPoint when the model was built with system-lib, else NULL. */
  const TVMModule* (*system_lib)(void);
} mtvm_model_t;

/* Registers a model so that runtime.SystemLib and tvm.aot_executor.create can find it (before or
 * after mtvm_rpc_server_init; registrations persist). The descriptor must stay valid for good.
 * Registering the same descriptor again is a no-op. Returns kTvmErrorFunctionRegistryFull when
 * MTVM_MAX_MODELS (4) models are registered, kTvmErrorFunctionAlreadyDefined when another model
 * has the same name. */
tvm_crt_error_t mtvm_model_register(const mtvm_model_t* model);

/* The registered model of that name, or NULL. */
const mtvm_model_t* mtvm_model_find(const char* name);

/* The first registered model (in registration order) built with system-lib, or NULL. */
const mtvm_model_t* mtvm_model_with_system_lib(void);

/* Byte size of a tensor described by info: prod(shape) * ceil(bits * lanes / 8). */
size_t mtvm_tensor_info_nbytes(const mtvm_tensor_info_t* info);

#ifdef __cplusplus
}
#endif

#endif /* MICROTVM_MODEL_H_ */
