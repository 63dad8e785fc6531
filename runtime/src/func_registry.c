/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Name-blob function registries (tvm/runtime/crt/func_registry.h), in both count forms.
 */
#include <string.h>
#include <tvm/runtime/crt/func_registry.h>

/* Counts the NUL-terminated names from p up to the empty name that ends the blob. */
static uint32_t count_names(const char* p) {
  uint32_t n = 0;
  while (*p != '\0') {
    p += strlen(p) + 1;
    n++;
  }
  return n;
}

/* Finds where the names start and how many there are. A second byte of 0 can only be the high byte
 * of a u16 count below 256 (no name is empty). Otherwise the blob is either the one-byte form, whose
 * names from byte 1 number exactly byte 0, or a u16 count of 256 or more. */
static void registry_layout(const TVMFuncRegistry* reg, const char** first, uint16_t* count) {
  const unsigned char* b = (const unsigned char*)reg->names;
  if (b[0] == 0 && b[1] == 0) {
    *first = reg->names + 2;
    *count = 0;
    return;
  }
  if (b[1] != 0 && count_names(reg->names + 1) == b[0]) {
    *first = reg->names + 1;
    *count = b[0];
    return;
  }
  *first = reg->names + 2;
  *count = (uint16_t)(b[0] | (b[1] << 8));
}

uint16_t TVMFuncRegistry_GetNumFuncs(const TVMFuncRegistry* reg) {
  const char* first;
  uint16_t count;
  registry_layout(reg, &first, &count);
  return count;
}

const char* TVMFuncRegistry_Get0thFunctionName(const TVMFuncRegistry* reg) {
  const char* first;
  uint16_t count;
  registry_layout(reg, &first, &count);
  return first;
}

tvm_crt_error_t TVMFuncRegistry_Lookup(const TVMFuncRegistry* reg, const char* name,
                                       tvm_function_index_t* function_index) {
  const char* p;
  uint16_t count;
  registry_layout(reg, &p, &count);
  for (uint16_t i = 0; i < count && *p != '\0'; i++) {
    if (strcmp(p, name) == 0) {
      *function_index = i;
      return kTvmErrorNoError;
    }
    p += strlen(p) + 1;
  }
  return kTvmErrorFunctionNameNotFound;
}

tvm_crt_error_t TVMFuncRegistry_GetByIndex(const TVMFuncRegistry* reg, tvm_function_index_t index,
                                           TVMBackendPackedCFunc* out_func) {
  if (index >= TVMFuncRegistry_GetNumFuncs(reg)) return kTvmErrorFunctionIndexInvalid;
  *out_func = reg->funcs[index];
  return kTvmErrorNoError;
}
