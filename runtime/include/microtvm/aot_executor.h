/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The AOT executor: runs a registered model's entry function on arrays it owns. The host reaches it
 * through the global tvm.aot_executor.create(Module sys_lib, Device {1,0}, Str model_name), which
 * returns a module with get_input, get_input_index, get_input_info, get_num_inputs,
 * get_num_outputs, get_output, load_params, run, set_input, share_params and get_input_name.
 */
#ifndef MICROTVM_AOT_EXECUTOR_H_
#define MICROTVM_AOT_EXECUTOR_H_

#include <microtvm/memory.h>
#include <microtvm/model.h>
#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  const mtvm_model_t* model;
  /* Inputs then outputs, each holding one reference owned by the executor. */
  mtvm_ndarray_t* arrays[];
} mtvm_aot_executor_t;

/* Creates an executor for the model, allocating its inputs and outputs. */
tvm_crt_error_t mtvm_aot_executor_create(const mtvm_model_t* model, mtvm_aot_executor_t** out);
/* Calls the model's entry once on the executor's arrays. */
tvm_crt_error_t mtvm_aot_executor_run(mtvm_aot_executor_t* executor);
/* Drops the executor's references on its arrays and frees it. */
void mtvm_aot_executor_free(mtvm_aot_executor_t* executor);

/* Registers the global tvm.aot_executor.create. Its module leaves with the executor: when the
 * host frees it or the runtime is reset, the executor and its references go too. */
tvm_crt_error_t mtvm_aot_executor_register(void);

#ifdef __cplusplus
}
#endif

#endif /* MICROTVM_AOT_EXECUTOR_H_ */
