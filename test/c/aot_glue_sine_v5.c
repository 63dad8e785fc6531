/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Model glue for the sine AOT archive (MLF v5, C interface), written by hand in the form the host
 * template generates as firmware/models.c (docs/runtime.md). The entry takes the structs of data
 * pointers declared in the archive's tvmgen_default.h, so a small wrapper adapts it.
 */
#include <stddef.h>
#include <stdint.h>

#include <microtvm/model.h>

#include "tvmgen_default.h"

/* Model "default": aot executor, c-interface entry. */
static int32_t model_default_run_c(void* const* inputs, void* const* outputs) {
  struct tvmgen_default_inputs in;
  struct tvmgen_default_outputs out;
  in.dense_4_input = inputs[0];
  out.Identity = outputs[0];
  return tvmgen_default_run(&in, &out);
}
static const int64_t model_default_inputs_0_shape[] = {INT64_C(1), INT64_C(1)};
static const int64_t model_default_outputs_0_shape[] = {INT64_C(1), INT64_C(1)};
static const mtvm_tensor_info_t model_default_inputs[] = {
    {"dense_4_input", {kDLFloat, 32, 1}, 2, model_default_inputs_0_shape},
};
static const mtvm_tensor_info_t model_default_outputs[] = {
    {"Identity", {kDLFloat, 32, 1}, 2, model_default_outputs_0_shape},
};
static const mtvm_model_t model_default = {
    "default",
    MTVM_ENTRY_C_INTERFACE,
    NULL,
    model_default_run_c,
    1,
    model_default_inputs,
    1,
    model_default_outputs,
    1184,
    NULL,
};

const mtvm_model_t* const microtvm_project_models[] = {
    &model_default,
};
const size_t microtvm_project_model_count = 1;
