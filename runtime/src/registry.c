/*
 * Function registries, global functions, the module table, function handles and the last error.
 */
#include <microtvm/aot_executor.h>
#include <microtvm/memory.h>
#include <microtvm/registry.h>
#include <microtvm/rpc_server.h>
#include <stdarg.h>
#include <string.h>
#include <tvm/runtime/crt/platform.h>

/* ---- last error ---------------------------------------------------------------------------- */

static char g_last_error[MTVM_LAST_ERROR_BYTES];

void TVMAPISetLastError(const char* msg) {
  size_t n = strlen(msg);
  if (n >= sizeof(g_last_error)) n = sizeof(g_last_error) - 1;
  memcpy(g_last_error, msg, n);
  g_last_error[n] = '\0';
}

const char* TVMGetLastError(void) { return g_last_error; }

void mtvm_set_error(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  size_t n = TVMPlatformFormatMessage(g_last_error, sizeof(g_last_error), fmt, args);
  va_end(args);
  if (n >= sizeof(g_last_error)) n = sizeof(g_last_error) - 1;
  g_last_error[n] = '\0';
}

void mtvm_clear_error(void) { g_last_error[0] = '\0'; }

void mtvm_prefix_error(const char* prefix) {
  size_t cap = sizeof(g_last_error) - 1;
  size_t p = strlen(prefix);
  size_t old = strlen(g_last_error);
  size_t sep = old > 0 ? 2 : 0;
  if (p > cap) p = cap;
  if (sep > cap - p) sep = cap - p;
  size_t keep = old < cap - p - sep ? old : cap - p - sep;
  memmove(g_last_error + p + sep, g_last_error, keep);
  memcpy(g_last_error, prefix, p);
  if (sep > 0) memcpy(g_last_error + p, ": ", sep);
  g_last_error[p + sep + keep] = '\0';
}

/* ---- name-blob registries ------------------------------------------------------------------ */

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

/* ---- models -------------------------------------------------------------------------------- */

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

/* ---- global functions ---------------------------------------------------------------------- */

static const char* g_global_names[MTVM_MAX_GLOBAL_FUNCS];
static TVMBackendPackedCFunc g_global_funcs[MTVM_MAX_GLOBAL_FUNCS];
static uint16_t g_num_globals;

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

/* ---- handles ------------------------------------------------------------------------------- */

static const TVMModule* g_modules[MTVM_MAX_MODULES + 1];
static TVMModuleHandle g_system_lib_handle;
static size_t g_max_packet_size;

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
  if (index > MTVM_MAX_MODULES || index == MTVM_GLOBAL_MODULE_INDEX || g_modules[index] == NULL) {
    return -1;
  }
  *out_index = index;
  return 0;
}

const TVMModule* mtvm_module_from_handle(TVMModuleHandle handle) {
  uint16_t index;
  return decode_module_handle(handle, &index) == 0 ? g_modules[index] : NULL;
}

int TVMModCreateFromCModule(const TVMModule* mod, TVMModuleHandle* out_handle) {
  for (uint16_t i = 0; i <= MTVM_MAX_MODULES; i++) {
    if (i == MTVM_GLOBAL_MODULE_INDEX || g_modules[i] != NULL) continue;
    g_modules[i] = mod;
    *out_handle = mtvm_encode_module_handle(i);
    return kTvmErrorNoError;
  }
  mtvm_set_error("module table full (%d modules)", MTVM_MAX_MODULES);
  return kTvmErrorFunctionRegistryFull;
}

int TVMModFree(TVMModuleHandle mod) {
  uint16_t index;
  if (decode_module_handle(mod, &index) != 0) {
    mtvm_set_error("FreeHandle: 0x%lx is not a live module handle", (unsigned long)(uintptr_t)mod);
    return kTvmErrorFunctionCallInvalidArg;
  }
  if (mod == g_system_lib_handle) return 0; /* the system library lives as long as the server */
  mtvm_aot_executor_on_module_free(g_modules[index]);
  g_modules[index] = NULL;
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
  if (TVMFuncRegistry_Lookup(g_modules[module_index]->registry, func_name, &function_index) != 0) {
    *out = NULL;
    return 0;
  }
  *out = mtvm_encode_function_handle(module_index, function_index);
  return 0;
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

  /* Workspace a function (or an operator the host calls directly) leaves behind is reclaimed
   * here, and an allocation failure it ignored becomes its error. */
  mtvm_workspace_mark_t mark = mtvm_workspace_mark();
  if (module_index == MTVM_TIME_EVALUATOR_MODULE_INDEX) {
    int rc = mtvm_time_evaluator_call(function_index, arg_values, type_codes, num_args, ret_val,
                                      ret_type_code);
    return mtvm_workspace_end(mark, rc, "the time evaluator", NULL);
  }
  TVMBackendPackedCFunc fn;
  void* resource_handle = NULL;
  if (module_index == MTVM_GLOBAL_MODULE_INDEX) {
    if (function_index >= g_num_globals) {
      mtvm_set_error("no global function #%u", (unsigned)function_index);
      return kTvmErrorFunctionIndexInvalid;
    }
    fn = g_global_funcs[function_index];
  } else {
    if (module_index > MTVM_MAX_MODULES || g_modules[module_index] == NULL) {
      mtvm_set_error("function handle 0x%lx names module %u, which is not loaded",
                     (unsigned long)v, (unsigned)module_index);
      return kTvmErrorFunctionCallInvalidArg;
    }
    const TVMFuncRegistry* reg = g_modules[module_index]->registry;
    if (TVMFuncRegistry_GetByIndex(reg, function_index, &fn) != 0) {
      mtvm_set_error("module %u has no function #%u", (unsigned)module_index,
                     (unsigned)function_index);
      return kTvmErrorFunctionIndexInvalid;
    }
    resource_handle = (void*)reg;
  }
  int rc = fn(arg_values, type_codes, num_args, ret_val, ret_type_code, resource_handle);
  return mtvm_workspace_end(mark, rc, "the function", NULL);
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
  const TVMModule* lib = &g_empty_module;
  for (size_t i = 0; i < MTVM_MAX_MODELS; i++) {
    if (g_models[i] != NULL && g_models[i]->system_lib != NULL) {
      lib = g_models[i]->system_lib();
      break;
    }
  }
  if (lib == NULL || lib->registry == NULL) {
    mtvm_set_error("TVMSystemLibEntryPoint returned no module");
    return kTvmErrorFunctionCallInvalidArg;
  }
  int err = TVMModCreateFromCModule(lib, &g_system_lib_handle);
  if (err != 0) return (tvm_crt_error_t)err;
  *out = g_system_lib_handle;
  return kTvmErrorNoError;
}

static int system_lib(TVMValue* args, int* type_codes, int num_args, TVMValue* ret,
                      int* ret_code, void* resource) {
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

static int get_max_packet_size(TVMValue* args, int* type_codes, int num_args, TVMValue* ret,
                               int* ret_code, void* resource) {
  (void)args;
  (void)type_codes;
  (void)num_args;
  (void)resource;
  ret[0].v_int64 = (int64_t)(g_max_packet_size - MTVM_RPC_PACKET_OVERHEAD_BYTES);
  ret_code[0] = kTVMArgInt;
  return 0;
}

static int random_fill(TVMValue* args, int* type_codes, int num_args, TVMValue* ret,
                       int* ret_code, void* resource) {
  (void)ret;
  (void)ret_code;
  (void)resource;
  if (num_args != 1 || type_codes[0] != kTVMDLTensorHandle) {
    mtvm_set_error("random_fill takes one DLTensor");
    return kTvmErrorFunctionCallWrongArgType;
  }
  DLTensor* t = (DLTensor*)args[0].v_handle;
  int ok;
  size_t n = mtvm_tensor_nbytes(t->ndim, t->shape, t->dtype, &ok);
  uint8_t* p = (uint8_t*)mtvm_tensor_address(t);
  if (!ok || !mtvm_data_contains(p, n)) {
    mtvm_set_error("random_fill: the tensor is not inside memory allocated on this device");
    return kTvmErrorFunctionCallInvalidArg;
  }
  tvm_crt_error_t err = TVMPlatformGenerateRandom(p, n);
  if (err != kTvmErrorNoError) mtvm_set_error("TVMPlatformGenerateRandom failed: 0x%x", err);
  return err;
}

tvm_crt_error_t mtvm_runtime_init(size_t max_packet_size) {
  mtvm_runtime_reset();
  g_max_packet_size = max_packet_size;
  tvm_crt_error_t err = mtvm_global_register("runtime.SystemLib", system_lib, 0);
  if (!err) err = mtvm_global_register("tvm.rpc.server.ModuleGetFunction", module_get_function, 0);
  if (!err) err = mtvm_global_register("runtime.RPCTimeEvaluator", mtvm_time_evaluator_create, 0);
  if (!err) {
    err = mtvm_global_register("tvm.rpc.server.GetCRTMaxPacketSize", get_max_packet_size, 0);
  }
  if (!err) err = mtvm_global_register("tvm.contrib.random.random_fill", random_fill, 0);
  if (!err) {
    err = mtvm_global_register("tvm.aot_executor.create", mtvm_aot_executor_create_packed, 0);
  }
  return err;
}

void mtvm_runtime_reset(void) {
  mtvm_aot_executor_reset();
  mtvm_time_evaluator_reset();
  memset(g_modules, 0, sizeof(g_modules));
  g_system_lib_handle = NULL;
  g_num_globals = 0;
  g_max_packet_size = 0;
  mtvm_clear_error();
}
