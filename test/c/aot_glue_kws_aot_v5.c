/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Model glue for the yes/no keyword-spotting AOT archive (MLF v5, 2021 packed entry), written by
 * hand in the form the host template generates as firmware/models.c (docs/runtime.md). The archive
 * has no system library; its tvmgen_default_run is a packed function taking the input DLTensor
 * then the output DLTensor.
 */
#include <stddef.h>
#include <stdint.h>

#include <microtvm/model.h>

/* Model "default": aot executor, packed entry. */
int tvmgen_default_run(TVMValue* args, int* type_codes, int num_args, TVMValue* out_ret_value,
                       int* out_ret_tcode, void* resource_handle);
static const int64_t model_default_inputs_0_shape[] = {INT64_C(1), INT64_C(1960)};
static const int64_t model_default_outputs_0_shape[] = {INT64_C(1), INT64_C(4)};
static const mtvm_tensor_info_t model_default_inputs[] = {
    {"Reshape_1", {kDLInt, 8, 1}, 2, model_default_inputs_0_shape},
};
static const mtvm_tensor_info_t model_default_outputs[] = {
    {"output", {kDLInt, 8, 1}, 2, model_default_outputs_0_shape},
};
static const mtvm_model_t model_default = {
    "default",
    MTVM_ENTRY_PACKED,
    tvmgen_default_run,
    NULL,
    1,
    model_default_inputs,
    1,
    model_default_outputs,
    21312,
    NULL,
};

const mtvm_model_t* const microtvm_project_models[] = {
    &model_default,
};
const size_t microtvm_project_model_count = 1;
