/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Model glue for the yes/no keyword-spotting graph archive (MLF v4, system library), written by
 * hand in the form the host template generates as firmware/models.c (docs/runtime.md). The graph
 * executor runs on the host and calls the operators by name through the system library, so the
 * model has no entry; the tensor tables only describe it.
 */
#include <stddef.h>
#include <stdint.h>

#include <microtvm/model.h>

/* Model "default": graph executor, graph entry. */
const TVMModule* TVMSystemLibEntryPoint(void);
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
    MTVM_ENTRY_NONE,
    NULL,
    NULL,
    1,
    model_default_inputs,
    1,
    model_default_outputs,
    17392,
    TVMSystemLibEntryPoint,
};

const mtvm_model_t* const microtvm_project_models[] = {
    &model_default,
};
const size_t microtvm_project_model_count = 1;
