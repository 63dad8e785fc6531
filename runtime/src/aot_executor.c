/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The AOT executor and the module TVM's host drives it through.
 */
#include <microtvm/aot_executor.h>
#include <microtvm/backend.h>
#include <microtvm/errors.h>
#include <microtvm/globals.h>
#include <microtvm/modules.h>
#include <ctype.h>
#include <string.h>
#include <tvm/runtime/crt/func_registry.h>
#include <tvm/runtime/crt/platform.h>
#include <tvm/runtime/metadata_types.h>

#ifndef MTVM_AOT_MAX_ARGS
#define MTVM_AOT_MAX_ARGS 32
#endif

static const DLDevice kCpu = {kDLCPU, 0};

#ifndef MTVM_AOT_MAX_POOLS
#define MTVM_AOT_MAX_POOLS 8
#endif

/*
 * TVM v0.9 and later compile a TVMMetadata into packed AOT models built with the CRT, returned by
 * the system-lib function tvmgen_<name>_get_c_metadata. Its workspace pools are extra arguments
 * of the entry after the outputs (the entry substitutes its own static pools for them), and the
 * generated main checks the argument count, so they must be passed. Returns NULL when the model
 * has none (C interface, no system lib, archives before v0.9); sets an error only on failure.
 */
static const struct TVMMetadata* find_metadata(const mtvm_model_t* model, int* failed) {
  *failed = 0;
  if (model->entry_kind != MTVM_ENTRY_PACKED || model->system_lib == NULL) return NULL;
  const TVMModule* lib = model->system_lib();
  if (lib == NULL || lib->registry == NULL) return NULL;
  static const char kPrefix[] = "tvmgen_";
  static const char kSuffix[] = "_get_c_metadata";
  char name[128];
  size_t len = strlen(model->name);
  if (sizeof(kPrefix) + len + sizeof(kSuffix) > sizeof(name)) return NULL;
  memcpy(name, kPrefix, sizeof(kPrefix) - 1);
  memcpy(name + sizeof(kPrefix) - 1, model->name, len);
  memcpy(name + sizeof(kPrefix) - 1 + len, kSuffix, sizeof(kSuffix));
  tvm_function_index_t index;
  if (TVMFuncRegistry_Lookup(lib->registry, name, &index) != kTvmErrorNoError) {
    /* Symbols are lowercase (tvmgen_<name> is lowercased as a whole). */
    for (char* c = name; *c; c++) *c = (char)tolower((unsigned char)*c);
    if (TVMFuncRegistry_Lookup(lib->registry, name, &index) != kTvmErrorNoError) return NULL;
  }
  TVMBackendPackedCFunc get_metadata;
  if (TVMFuncRegistry_GetByIndex(lib->registry, index, &get_metadata) != kTvmErrorNoError) return NULL;
  TVMValue ret;
  int ret_code = kTVMNullptr;
  if (get_metadata(NULL, NULL, 0, &ret, &ret_code, NULL) != 0 || ret_code != kTVMOpaqueHandle ||
      ret.v_handle == NULL) {
    mtvm_set_error("model \"%s\": %s did not return the model's metadata", model->name, name);
    *failed = 1;
    return NULL;
  }
  return (const struct TVMMetadata*)ret.v_handle;
}

static size_t info_nbytes(const struct TVMTensorInfo* info) {
  size_t n = ((size_t)info->dtype.bits * info->dtype.lanes + 7) / 8;
  for (int64_t i = 0; i < info->num_shape; i++) n *= (size_t)info->shape[i];
  return n;
}

/* The compiled-in metadata must describe the same tensors as the descriptor the host relies on. */
static tvm_crt_error_t check_metadata(const mtvm_model_t* model, const struct TVMMetadata* md) {
  if (md->num_inputs != model->num_inputs || md->num_outputs != model->num_outputs) {
    mtvm_set_error("model \"%s\": its compiled-in metadata has %ld inputs and %ld outputs, the "
                   "model archive %d and %d; regenerate the project from the archive the code came "
                   "from",
                   model->name, (long)md->num_inputs, (long)md->num_outputs, model->num_inputs,
                   model->num_outputs);
    return kTvmErrorFunctionCallInvalidArg;
  }
  for (int64_t i = 0; i < md->num_inputs + md->num_outputs; i++) {
    const struct TVMTensorInfo* info =
        i < md->num_inputs ? &md->inputs[i] : &md->outputs[i - md->num_inputs];
    const mtvm_tensor_info_t* ours =
        i < md->num_inputs ? &model->inputs[i] : &model->outputs[i - md->num_inputs];
    if (info_nbytes(info) != mtvm_tensor_info_nbytes(ours)) {
      mtvm_set_error("model \"%s\": %s %s is %lu bytes in the compiled-in metadata but %lu in the "
                     "model archive",
                     model->name, i < md->num_inputs ? "input" : "output", ours->name,
                     (unsigned long)info_nbytes(info),
                     (unsigned long)mtvm_tensor_info_nbytes(ours));
      return kTvmErrorFunctionCallInvalidArg;
    }
  }
  if (md->num_workspace_pools < 0 || md->num_workspace_pools > MTVM_AOT_MAX_POOLS) {
    mtvm_set_error("model \"%s\" has %ld workspace pools; at most %d are supported", model->name,
                   (long)md->num_workspace_pools, MTVM_AOT_MAX_POOLS);
    return kTvmErrorFunctionCallNumArguments;
  }
  return kTvmErrorNoError;
}

tvm_crt_error_t mtvm_aot_executor_create(const mtvm_model_t* model, mtvm_aot_executor_t** out) {
  size_t n = (size_t)model->num_inputs + model->num_outputs;
  if (n > MTVM_AOT_MAX_ARGS) {
    mtvm_set_error("model \"%s\" has %lu inputs and outputs; at most %d are supported",
                   model->name, (unsigned long)n, MTVM_AOT_MAX_ARGS);
    return kTvmErrorFunctionCallNumArguments;
  }
  if ((model->entry_kind == MTVM_ENTRY_PACKED && model->run_packed == NULL) ||
      (model->entry_kind == MTVM_ENTRY_C_INTERFACE && model->run_c == NULL) ||
      (model->entry_kind != MTVM_ENTRY_PACKED && model->entry_kind != MTVM_ENTRY_C_INTERFACE)) {
    mtvm_set_error("model \"%s\" has no AOT entry function", model->name);
    return kTvmErrorFunctionCallInvalidArg;
  }
  int failed;
  const struct TVMMetadata* md = find_metadata(model, &failed);
  if (failed) return kTvmErrorFunctionCallInvalidArg;
  if (md != NULL) {
    tvm_crt_error_t err = check_metadata(model, md);
    if (err != kTvmErrorNoError) return err;
    if (n + (size_t)md->num_workspace_pools > MTVM_AOT_MAX_ARGS) {
      mtvm_set_error("model \"%s\" takes %lu arguments with its workspace pools; at most %d are "
                     "supported",
                     model->name, (unsigned long)(n + (size_t)md->num_workspace_pools),
                     MTVM_AOT_MAX_ARGS);
      return kTvmErrorFunctionCallNumArguments;
    }
  }
  mtvm_aot_executor_t* ex = NULL;
  size_t size = sizeof(*ex) + n * sizeof(ex->arrays[0]);
  if (TVMPlatformMemoryAllocate(size, kCpu, (void**)&ex) != kTvmErrorNoError || ex == NULL) {
    mtvm_set_error("out of memory creating the executor");
    return kTvmErrorPlatformNoMemory;
  }
  memset(ex, 0, size);
  ex->model = model;
  for (size_t i = 0; i < n; i++) {
    const mtvm_tensor_info_t* info =
        i < model->num_inputs ? &model->inputs[i] : &model->outputs[i - model->num_inputs];
    tvm_crt_error_t err =
        mtvm_ndarray_create(info->ndim, info->shape, info->dtype, kCpu, &ex->arrays[i]);
    if (err != kTvmErrorNoError) {
      mtvm_aot_executor_free(ex);
      return err;
    }
  }
  *out = ex;
  return kTvmErrorNoError;
}

tvm_crt_error_t mtvm_aot_executor_run(mtvm_aot_executor_t* ex) {
  const mtvm_model_t* m = ex->model;
  size_t n = (size_t)m->num_inputs + m->num_outputs;
  int32_t rc;
  mtvm_workspace_mark_t mark = mtvm_workspace_mark();
  if (m->entry_kind == MTVM_ENTRY_PACKED) {
    TVMValue args[MTVM_AOT_MAX_ARGS];
    int codes[MTVM_AOT_MAX_ARGS];
    for (size_t i = 0; i < n; i++) {
      args[i].v_handle = &ex->arrays[i]->dl_tensor;
      codes[i] = kTVMDLTensorHandle;
    }
    /* Workspace pools from the compiled-in metadata: described, without memory, as TVM's own
     * executor passes them; the entry replaces them with the static pools it owns. */
    int failed;
    const struct TVMMetadata* md = find_metadata(m, &failed);
    if (failed) return kTvmErrorFunctionCallInvalidArg;
    DLTensor pools[MTVM_AOT_MAX_POOLS];
    size_t num_args = n;
    if (md != NULL) {
      for (int64_t i = 0; i < md->num_workspace_pools && i < MTVM_AOT_MAX_POOLS; i++) {
        const struct TVMTensorInfo* info = &md->workspace_pools[i];
        memset(&pools[i], 0, sizeof(pools[i]));
        pools[i].device = kCpu;
        pools[i].ndim = (int32_t)info->num_shape;
        pools[i].dtype = info->dtype;
        pools[i].shape = (int64_t*)info->shape;
        args[num_args].v_handle = &pools[i];
        codes[num_args] = kTVMDLTensorHandle;
        num_args++;
      }
    }
    TVMValue ret;
    int ret_code = kTVMNullptr;
    rc = m->run_packed(args, codes, (int)num_args, &ret, &ret_code, NULL);
  } else {
    void* data[MTVM_AOT_MAX_ARGS];
    for (size_t i = 0; i < n; i++) data[i] = ex->arrays[i]->dl_tensor.data;
    rc = m->run_c(data, data + m->num_inputs);
  }
  /* The model's entry returns 0 even when one of its operators ran out of workspace (generated
   * code ignores operator results); the workspace bookkeeping catches that and frees what the
   * early returns left allocated. */
  int err = mtvm_workspace_end(mark, rc, "model", m->name);
  if (err == 0) return kTvmErrorNoError;
  if (rc == 0) return (tvm_crt_error_t)err;
  /* Generated code returns -1 without a message; keep one the workspace allocator set. */
  if (TVMGetLastError()[0] == '\0') {
    mtvm_set_error("model \"%s\" returned %ld", m->name, (long)rc);
  } else {
    mtvm_prefix_error("model run failed");
  }
  return kTvmErrorFunctionCallInvalidArg;
}

void mtvm_aot_executor_free(mtvm_aot_executor_t* ex) {
  size_t n = (size_t)ex->model->num_inputs + ex->model->num_outputs;
  for (size_t i = 0; i < n; i++) {
    if (ex->arrays[i] != NULL) mtvm_ndarray_release(ex->arrays[i]);
  }
  TVMPlatformMemoryFree(ex, kCpu);
}

/* ---- the executor module ------------------------------------------------------------------- */

/* One executor module at a time, as in TVM; unlike TVM a new one may be created once the host
 * has freed the previous module. */
static mtvm_aot_executor_t* g_executor;

static int not_implemented(TVMValue* args, int* type_codes, int num_args, TVMValue* ret,
                           int* ret_code, void* resource) {
  (void)args;
  (void)type_codes;
  (void)num_args;
  (void)ret;
  (void)ret_code;
  (void)resource;
  mtvm_set_error("not implemented by the AOT executor (set inputs with get_input and a copy)");
  return kTvmErrorFunctionCallNotImplemented;
}

static int require_executor(void) {
  if (g_executor == NULL) {
    mtvm_set_error("the AOT executor was released");
    return kTvmErrorExecutorModuleBadContext;
  }
  return 0;
}

static int find_input(const char* name) {
  for (uint16_t i = 0; i < g_executor->model->num_inputs; i++) {
    if (strcmp(g_executor->model->inputs[i].name, name) == 0) return i;
  }
  return -1;
}

static int return_array(mtvm_ndarray_t* array, TVMValue* ret, int* ret_code) {
  mtvm_ndarray_retain(array); /* the host releases it with FreeHandle(h, 13) */
  ret[0].v_handle = &array->dl_tensor;
  ret_code[0] = kTVMNDArrayHandle;
  return 0;
}

static int get_input(TVMValue* args, int* type_codes, int num_args, TVMValue* ret, int* ret_code,
                     void* resource) {
  (void)resource;
  int err = require_executor();
  if (err) return err;
  if (num_args != 1) {
    mtvm_set_error("get_input takes one argument (Int index or Str name), got %d", num_args);
    return kTvmErrorFunctionCallNumArguments;
  }
  int64_t index;
  if (type_codes[0] == kTVMArgInt) {
    index = args[0].v_int64;
    if (index < 0 || index >= g_executor->model->num_inputs) {
      mtvm_set_error("get_input: index %ld is outside 0..%d", (long)index,
                     g_executor->model->num_inputs - 1);
      return kTvmErrorExecutorModuleNoSuchInput;
    }
  } else if (type_codes[0] == kTVMStr) {
    index = find_input(args[0].v_str);
    if (index < 0) {
      mtvm_set_error("get_input: the model has no input named \"%s\"", args[0].v_str);
      return kTvmErrorExecutorModuleNoSuchInput;
    }
  } else {
    mtvm_set_error("get_input takes an Int index or a Str name, got type code %d", type_codes[0]);
    return kTvmErrorFunctionCallWrongArgType;
  }
  return return_array(g_executor->arrays[index], ret, ret_code);
}

static int get_output(TVMValue* args, int* type_codes, int num_args, TVMValue* ret, int* ret_code,
                      void* resource) {
  (void)resource;
  int err = require_executor();
  if (err) return err;
  if (num_args != 1 || type_codes[0] != kTVMArgInt) {
    mtvm_set_error("get_output takes one Int index");
    return num_args != 1 ? kTvmErrorFunctionCallNumArguments : kTvmErrorFunctionCallWrongArgType;
  }
  int64_t index = args[0].v_int64;
  if (index < 0 || index >= g_executor->model->num_outputs) {
    mtvm_set_error("get_output: index %ld is outside 0..%d", (long)index,
                   g_executor->model->num_outputs - 1);
    return kTvmErrorFunctionCallInvalidArg;
  }
  return return_array(g_executor->arrays[g_executor->model->num_inputs + index], ret, ret_code);
}

static int get_input_index(TVMValue* args, int* type_codes, int num_args, TVMValue* ret,
                           int* ret_code, void* resource) {
  (void)resource;
  int err = require_executor();
  if (err) return err;
  if (num_args != 1 || type_codes[0] != kTVMStr) {
    mtvm_set_error("get_input_index takes one Str name");
    return num_args != 1 ? kTvmErrorFunctionCallNumArguments : kTvmErrorFunctionCallWrongArgType;
  }
  int index = find_input(args[0].v_str);
  if (index < 0) {
    mtvm_set_error("get_input_index: the model has no input named \"%s\"", args[0].v_str);
    return kTvmErrorExecutorModuleNoSuchInput;
  }
  ret[0].v_int64 = index;
  ret_code[0] = kTVMArgInt;
  return 0;
}

static int get_input_name(TVMValue* args, int* type_codes, int num_args, TVMValue* ret,
                          int* ret_code, void* resource) {
  (void)resource;
  int err = require_executor();
  if (err) return err;
  if (num_args != 1 || type_codes[0] != kTVMArgInt) {
    mtvm_set_error("get_input_name takes one Int index");
    return num_args != 1 ? kTvmErrorFunctionCallNumArguments : kTvmErrorFunctionCallWrongArgType;
  }
  int64_t index = args[0].v_int64;
  if (index < 0 || index >= g_executor->model->num_inputs) {
    mtvm_set_error("get_input_name: index %ld is outside 0..%d", (long)index,
                   g_executor->model->num_inputs - 1);
    return kTvmErrorExecutorModuleNoSuchInput;
  }
  ret[0].v_str = g_executor->model->inputs[index].name;
  ret_code[0] = kTVMStr;
  return 0;
}

static int count_result(int64_t value, int num_args, TVMValue* ret, int* ret_code) {
  if (num_args != 0) {
    mtvm_set_error("takes no arguments, got %d", num_args);
    return kTvmErrorFunctionCallNumArguments;
  }
  ret[0].v_int64 = value;
  ret_code[0] = kTVMArgInt;
  return 0;
}

static int get_num_inputs(TVMValue* args, int* type_codes, int num_args, TVMValue* ret,
                          int* ret_code, void* resource) {
  (void)args;
  (void)type_codes;
  (void)resource;
  int err = require_executor();
  return err ? err : count_result(g_executor->model->num_inputs, num_args, ret, ret_code);
}

static int get_num_outputs(TVMValue* args, int* type_codes, int num_args, TVMValue* ret,
                           int* ret_code, void* resource) {
  (void)args;
  (void)type_codes;
  (void)resource;
  int err = require_executor();
  return err ? err : count_result(g_executor->model->num_outputs, num_args, ret, ret_code);
}

static int run(TVMValue* args, int* type_codes, int num_args, TVMValue* ret, int* ret_code,
               void* resource) {
  (void)args;
  (void)type_codes;
  (void)ret;
  (void)ret_code;
  (void)resource;
  int err = require_executor();
  if (err) return err;
  if (num_args != 0) {
    mtvm_set_error("run takes no arguments, got %d", num_args);
    return kTvmErrorFunctionCallNumArguments;
  }
  return mtvm_aot_executor_run(g_executor);
}

/* Same names and order as TVM's AOT executor module (u16 count 11). */
static const TVMBackendPackedCFunc g_module_funcs[] = {
    get_input,  get_input_index, not_implemented, get_num_inputs,  get_num_outputs, get_output,
    not_implemented, run,        not_implemented, not_implemented, get_input_name,
};
static const TVMFuncRegistry g_module_registry = {
    "\x0b\0get_input\0get_input_index\0get_input_info\0get_num_inputs\0get_num_outputs\0"
    "get_output\0load_params\0run\0set_input\0share_params\0get_input_name\0",
    g_module_funcs};
static const TVMModule g_module = {&g_module_registry};

/* The host frees the module (or the runtime is reset): the executor goes with it. */
static void release_module(const TVMModule* module) {
  (void)module;
  if (g_executor != NULL) mtvm_aot_executor_free(g_executor);
  g_executor = NULL;
}

/* tvm.aot_executor.create(Module sys_lib, Device dev, Str model_name) */
static int create_packed(TVMValue* args, int* type_codes, int num_args, TVMValue* ret_value,
                         int* ret_type_code, void* resource_handle) {
  (void)resource_handle;
  if (num_args != 3) {
    mtvm_set_error("tvm.aot_executor.create takes (Module, Device, Str model_name), got %d args",
                   num_args);
    return kTvmErrorFunctionCallNumArguments;
  }
  if (type_codes[0] != kTVMModuleHandle || type_codes[1] != kDLDevice ||
      type_codes[2] != kTVMStr) {
    mtvm_set_error("tvm.aot_executor.create takes (Module, Device, Str model_name)");
    return kTvmErrorFunctionCallWrongArgType;
  }
  if (mtvm_module_from_handle(args[0].v_handle) == NULL) {
    mtvm_set_error("tvm.aot_executor.create: the first argument is not a live module");
    return kTvmErrorFunctionCallInvalidArg;
  }
  if (args[1].v_device.device_type != kDLCPU) {
    mtvm_set_error("tvm.aot_executor.create: device type %d is not supported (only CPU, 1)",
                   (int)args[1].v_device.device_type);
    return kTvmErrorExecutorModuleBadContext;
  }
  if (g_executor != NULL) {
    mtvm_set_error("an AOT executor exists already; free its module first");
    return kTvmErrorExecutorModuleAlreadyCreated;
  }
  const mtvm_model_t* model = mtvm_model_find(args[2].v_str);
  if (model == NULL) {
    mtvm_set_error("no model named \"%s\" is linked into this firmware", args[2].v_str);
    return kTvmErrorFunctionCallInvalidArg;
  }
  mtvm_aot_executor_t* ex;
  tvm_crt_error_t err = mtvm_aot_executor_create(model, &ex);
  if (err != kTvmErrorNoError) return err;
  TVMModuleHandle handle;
  int status = mtvm_module_add(&g_module, release_module, 0, &handle);
  if (status != 0) {
    mtvm_aot_executor_free(ex);
    return status;
  }
  g_executor = ex;
  ret_value[0].v_handle = handle;
  ret_type_code[0] = kTVMModuleHandle;
  return 0;
}

tvm_crt_error_t mtvm_aot_executor_register(void) {
  return mtvm_global_register("tvm.aot_executor.create", create_packed, 0);
}
