/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The models linked into the firmware, registered by the template's glue.
 */
#include <microtvm/memory.h>
#include <microtvm/model.h>
#include <string.h>

/* Registrations persist across runtime resets: the models are part of the firmware. */
static const mtvm_model_t* g_models[MTVM_MAX_MODELS];

tvm_crt_error_t mtvm_model_register(const mtvm_model_t* model) {
  size_t free_slot = MTVM_MAX_MODELS;
  for (size_t i = 0; i < MTVM_MAX_MODELS; i++) {
    if (g_models[i] == model) return kTvmErrorNoError;
    if (g_models[i] == NULL) {
      if (free_slot == MTVM_MAX_MODELS) free_slot = i;
    } else if (strcmp(g_models[i]->name, model->name) == 0) {
      return kTvmErrorFunctionAlreadyDefined;
    }
  }
  if (free_slot == MTVM_MAX_MODELS) return kTvmErrorFunctionRegistryFull;
  g_models[free_slot] = model;
  return kTvmErrorNoError;
}

const mtvm_model_t* mtvm_model_find(const char* name) {
  for (size_t i = 0; i < MTVM_MAX_MODELS; i++) {
    if (g_models[i] != NULL && strcmp(g_models[i]->name, name) == 0) return g_models[i];
  }
  return NULL;
}

const mtvm_model_t* mtvm_model_with_system_lib(void) {
  for (size_t i = 0; i < MTVM_MAX_MODELS; i++) {
    if (g_models[i] != NULL && g_models[i]->system_lib != NULL) return g_models[i];
  }
  return NULL;
}

size_t mtvm_tensor_info_nbytes(const mtvm_tensor_info_t* info) {
  int ok;
  return mtvm_tensor_nbytes(info->ndim, info->shape, info->dtype, &ok);
}
