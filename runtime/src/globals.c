/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Global functions, and the system library a host opens through them.
 */
#include <microtvm/errors.h>
#include <microtvm/globals.h>
#include <microtvm/model.h>
#include <microtvm/modules.h>
#include <string.h>
#include <tvm/runtime/c_runtime_api.h>

static const char* g_global_names[MTVM_MAX_GLOBAL_FUNCS];
static TVMBackendPackedCFunc g_global_funcs[MTVM_MAX_GLOBAL_FUNCS];
static uint16_t g_num_globals;
static TVMModuleHandle g_system_lib_handle;

static int resolve_global(uint16_t function_index, TVMBackendPackedCFunc* out_func,
                          void** out_resource) {
  if (function_index >= g_num_globals) {
    mtvm_set_error("no global function #%u", (unsigned)function_index);
    return kTvmErrorFunctionIndexInvalid;
  }
  *out_func = g_global_funcs[function_index];
  *out_resource = NULL;
  return 0;
}

void mtvm_globals_reset(void) {
  g_num_globals = 0;
  g_system_lib_handle = NULL;
}

tvm_crt_error_t mtvm_globals_init(void) {
  mtvm_globals_reset();
  return mtvm_pseudo_module_register(MTVM_GLOBAL_MODULE_INDEX, "the function", resolve_global);
}

tvm_crt_error_t mtvm_global_register(const char* name, TVMBackendPackedCFunc func, int override) {
  for (uint16_t i = 0; i < g_num_globals; i++) {
    if (strcmp(g_global_names[i], name) == 0) {
      if (!override) return kTvmErrorFunctionAlreadyDefined;
      g_global_funcs[i] = func;
      return kTvmErrorNoError;
    }
  }
  if (g_num_globals >= MTVM_MAX_GLOBAL_FUNCS) return kTvmErrorFunctionRegistryFull;
  g_global_names[g_num_globals] = name;
  g_global_funcs[g_num_globals] = func;
  g_num_globals++;
  return kTvmErrorNoError;
}

int TVMFuncRegisterGlobal(const char* name, TVMFunctionHandle f, int override) {
  TVMBackendPackedCFunc func;
  /* TVM's C runtime passes the function pointer itself as the handle. */
  memcpy(&func, &f, sizeof(func) < sizeof(f) ? sizeof(func) : sizeof(f));
  return mtvm_global_register(name, func, override);
}

int TVMFuncGetGlobal(const char* name, TVMFunctionHandle* out) {
  for (uint16_t i = 0; i < g_num_globals; i++) {
    if (strcmp(g_global_names[i], name) == 0) {
      *out = mtvm_encode_function_handle(MTVM_GLOBAL_MODULE_INDEX, i);
      return 0;
    }
  }
  *out = NULL;
  return 0;
}

/* ---- system library ------------------------------------------------------------------------ */

/* Used when no registered model was built with system-lib (u16 count 0, then the final NUL). */
static const TVMFuncRegistry g_empty_registry = {"\0\0", NULL};
static const TVMModule g_empty_module = {&g_empty_registry};

tvm_crt_error_t mtvm_system_lib_handle(TVMModuleHandle* out) {
  if (g_system_lib_handle != NULL) {
    *out = g_system_lib_handle;
    return kTvmErrorNoError;
  }
  const mtvm_model_t* model = mtvm_model_with_system_lib();
  const TVMModule* lib = model != NULL ? model->system_lib() : &g_empty_module;
  if (lib == NULL || lib->registry == NULL) {
    mtvm_set_error("TVMSystemLibEntryPoint returned no module");
    return kTvmErrorFunctionCallInvalidArg;
  }
  tvm_crt_error_t err = mtvm_module_add(lib, NULL, 1, &g_system_lib_handle);
  if (err != kTvmErrorNoError) return err;
  *out = g_system_lib_handle;
  return kTvmErrorNoError;
}

static int system_lib(TVMValue* args, int* type_codes, int num_args, TVMValue* ret, int* ret_code,
                      void* resource) {
  (void)args;
  (void)type_codes;
  (void)resource;
  if (num_args != 0) {
    mtvm_set_error("runtime.SystemLib takes no arguments, got %d", num_args);
    return kTvmErrorFunctionCallNumArguments;
  }
  TVMModuleHandle h;
  tvm_crt_error_t err = mtvm_system_lib_handle(&h);
  if (err != kTvmErrorNoError) return err;
  ret[0].v_handle = h;
  ret_code[0] = kTVMModuleHandle;
  return 0;
}

static int module_get_function(TVMValue* args, int* type_codes, int num_args, TVMValue* ret,
                               int* ret_code, void* resource) {
  (void)resource;
  if (num_args != 3) {
    mtvm_set_error("ModuleGetFunction takes (Module, Str name, Int query_imports), got %d args",
                   num_args);
    return kTvmErrorFunctionCallNumArguments;
  }
  if (type_codes[0] != kTVMModuleHandle || type_codes[1] != kTVMStr ||
      (type_codes[2] != kTVMArgInt && type_codes[2] != kTVMArgBool)) {
    mtvm_set_error("ModuleGetFunction takes (Module, Str name, Int query_imports); got type codes "
                   "(%d, %d, %d)",
                   type_codes[0], type_codes[1], type_codes[2]);
    return kTvmErrorFunctionCallWrongArgType;
  }
  TVMFunctionHandle f;
  int err = TVMModGetFunction(args[0].v_handle, args[1].v_str, (int)args[2].v_int64, &f);
  if (err != 0) return err;
  if (f != NULL) {
    ret[0].v_handle = f;
    ret_code[0] = kTVMPackedFuncHandle;
  }
  return 0;
}

tvm_crt_error_t mtvm_system_lib_register(void) {
  tvm_crt_error_t err = mtvm_global_register("runtime.SystemLib", system_lib, 0);
  if (err == kTvmErrorNoError) {
    err = mtvm_global_register("tvm.rpc.server.ModuleGetFunction", module_get_function, 0);
  }
  return err;
}
