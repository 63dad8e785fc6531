/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The module table, handles, and TVMFuncCall.
 */
#include <microtvm/backend.h>
#include <microtvm/errors.h>
#include <microtvm/modules.h>
#include <string.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/func_registry.h>

typedef struct {
  const TVMModule* module; /* NULL: free slot */
  mtvm_module_release_fn release;
  int persistent;
} module_slot_t;

typedef struct {
  uint16_t module_index;
  const char* what;
  mtvm_function_resolver_fn resolve;
} pseudo_module_t;

#define MAX_PSEUDO_MODULES 2

static module_slot_t g_modules[MTVM_MAX_MODULES + 1];
static pseudo_module_t g_pseudo[MAX_PSEUDO_MODULES];

TVMModuleHandle mtvm_encode_module_handle(uint16_t module_index) {
  return (TVMModuleHandle)(uintptr_t)(module_index | 0x8000u);
}

TVMFunctionHandle mtvm_encode_function_handle(uint16_t module_index, uint16_t function_index) {
  uintptr_t v = ((uintptr_t)(module_index | 0x8000u) << 16) | (uintptr_t)(function_index | 0x8000u);
  return (TVMFunctionHandle)v;
}

static int decode_module_handle(TVMModuleHandle handle, uint16_t* out_index) {
  uintptr_t v = (uintptr_t)handle;
  if (v > 0xffffu || (v & 0x8000u) == 0) return -1;
  uint16_t index = (uint16_t)(v & 0x7fffu);
  if (index > MTVM_MAX_MODULES || index == MTVM_GLOBAL_MODULE_INDEX ||
      g_modules[index].module == NULL) {
    return -1;
  }
  *out_index = index;
  return 0;
}

const TVMModule* mtvm_module_from_handle(TVMModuleHandle handle) {
  uint16_t index;
  return decode_module_handle(handle, &index) == 0 ? g_modules[index].module : NULL;
}

tvm_crt_error_t mtvm_module_add(const TVMModule* module, mtvm_module_release_fn release,
                                int persistent, TVMModuleHandle* out_handle) {
  for (uint16_t i = 0; i <= MTVM_MAX_MODULES; i++) {
    if (i == MTVM_GLOBAL_MODULE_INDEX || g_modules[i].module != NULL) continue;
    g_modules[i].module = module;
    g_modules[i].release = release;
    g_modules[i].persistent = persistent;
    *out_handle = mtvm_encode_module_handle(i);
    return kTvmErrorNoError;
  }
  mtvm_set_error("module table full (%d modules)", MTVM_MAX_MODULES);
  return kTvmErrorFunctionRegistryFull;
}

int TVMModCreateFromCModule(const TVMModule* mod, TVMModuleHandle* out_handle) {
  return mtvm_module_add(mod, NULL, 0, out_handle);
}

static void release_slot(module_slot_t* slot) {
  module_slot_t gone = *slot;
  memset(slot, 0, sizeof(*slot));
  if (gone.release != NULL) gone.release(gone.module);
}

int TVMModFree(TVMModuleHandle mod) {
  uint16_t index;
  if (decode_module_handle(mod, &index) != 0) {
    mtvm_set_error("FreeHandle: 0x%lx is not a live module handle", (unsigned long)(uintptr_t)mod);
    return kTvmErrorFunctionCallInvalidArg;
  }
  if (!g_modules[index].persistent) release_slot(&g_modules[index]);
  return 0;
}

int TVMFuncFree(TVMFunctionHandle func) {
  (void)func; /* function handles name registry entries; nothing was allocated for them */
  return 0;
}

int TVMModGetFunction(TVMModuleHandle mod, const char* func_name, int query_imports,
                      TVMFunctionHandle* out) {
  (void)query_imports; /* C modules import nothing */
  uint16_t module_index;
  if (decode_module_handle(mod, &module_index) != 0) {
    mtvm_set_error("0x%lx is not a live module handle", (unsigned long)(uintptr_t)mod);
    return kTvmErrorFunctionCallInvalidArg;
  }
  tvm_function_index_t function_index;
  if (TVMFuncRegistry_Lookup(g_modules[module_index].module->registry, func_name,
                             &function_index) != 0) {
    *out = NULL;
    return 0;
  }
  *out = mtvm_encode_function_handle(module_index, function_index);
  return 0;
}

tvm_crt_error_t mtvm_pseudo_module_register(uint16_t module_index, const char* what,
                                            mtvm_function_resolver_fn resolve) {
  if (module_index <= MTVM_MAX_MODULES && module_index != MTVM_GLOBAL_MODULE_INDEX) {
    mtvm_set_error("module index %u is a module table slot", (unsigned)module_index);
    return kTvmErrorFunctionCallInvalidArg;
  }
  for (size_t i = 0; i < MAX_PSEUDO_MODULES; i++) {
    if (g_pseudo[i].resolve == NULL || g_pseudo[i].module_index == module_index) {
      g_pseudo[i].module_index = module_index;
      g_pseudo[i].what = what;
      g_pseudo[i].resolve = resolve;
      return kTvmErrorNoError;
    }
  }
  mtvm_set_error("no room for pseudo-module %u", (unsigned)module_index);
  return kTvmErrorFunctionRegistryFull;
}

/* The function a handle names, the resource handle to pass it, and what to call it in errors. */
static int resolve(uintptr_t v, uint16_t module_index, uint16_t function_index,
                   TVMBackendPackedCFunc* fn, void** resource, const char** what) {
  for (size_t i = 0; i < MAX_PSEUDO_MODULES; i++) {
    if (g_pseudo[i].resolve != NULL && g_pseudo[i].module_index == module_index) {
      *what = g_pseudo[i].what;
      return g_pseudo[i].resolve(function_index, fn, resource);
    }
  }
  if (module_index > MTVM_MAX_MODULES || g_modules[module_index].module == NULL) {
    mtvm_set_error("function handle 0x%lx names module %u, which is not loaded", (unsigned long)v,
                   (unsigned)module_index);
    return kTvmErrorFunctionCallInvalidArg;
  }
  const TVMFuncRegistry* reg = g_modules[module_index].module->registry;
  if (TVMFuncRegistry_GetByIndex(reg, function_index, fn) != 0) {
    mtvm_set_error("module %u has no function #%u", (unsigned)module_index,
                   (unsigned)function_index);
    return kTvmErrorFunctionIndexInvalid;
  }
  *resource = (void*)reg;
  *what = "the function";
  return 0;
}

int TVMFuncCall(TVMFunctionHandle func, TVMValue* arg_values, int* type_codes, int num_args,
                TVMValue* ret_val, int* ret_type_code) {
  uintptr_t v = (uintptr_t)func;
  ret_type_code[0] = kTVMNullptr;
  ret_val[0].v_handle = NULL;
  if ((v >> 16 >> 16) != 0 || (v & 0x80008000u) != 0x80008000u) {
    mtvm_set_error("0x%lx is not a function handle", (unsigned long)v);
    return kTvmErrorFunctionCallInvalidArg;
  }
  uint16_t module_index = (uint16_t)((v >> 16) & 0x7fffu);
  uint16_t function_index = (uint16_t)(v & 0x7fffu);
  TVMBackendPackedCFunc fn = NULL;
  void* resource = NULL;
  const char* what = "the function";
  int err = resolve(v, module_index, function_index, &fn, &resource, &what);
  if (err != 0) return err;

  /* Workspace a function (or an operator the host calls directly) leaves behind is reclaimed
   * here, and an allocation failure it ignored becomes its error. */
  mtvm_workspace_mark_t mark = mtvm_workspace_mark();
  int rc = fn(arg_values, type_codes, num_args, ret_val, ret_type_code, resource);
  return mtvm_workspace_end(mark, rc, what, NULL);
}

void mtvm_modules_reset(void) {
  for (size_t i = 0; i <= MTVM_MAX_MODULES; i++) {
    if (g_modules[i].module != NULL) release_slot(&g_modules[i]);
  }
  memset(g_pseudo, 0, sizeof(g_pseudo));
}
