/*
 * The callbacks generated operator code makes into the runtime (c_backend_api.h).
 */
#include <microtvm/registry.h>
#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/platform.h>

void* TVMBackendAllocWorkspace(int device_type, int device_id, uint64_t nbytes,
                               int dtype_code_hint, int dtype_bits_hint) {
  (void)dtype_code_hint;
  (void)dtype_bits_hint;
  DLDevice dev = {(DLDeviceType)device_type, device_id};
  void* ptr = NULL;
  if (nbytes > SIZE_MAX) {
    mtvm_set_error("workspace of %lu bytes is too large", (unsigned long)nbytes);
    return NULL;
  }
  /* A failure is reported by the generated code returning -1, which ends the run with an error
   * instead of stopping the device. */
  if (TVMPlatformMemoryAllocate((size_t)nbytes, dev, &ptr) != kTvmErrorNoError) {
    mtvm_set_error("out of memory: workspace of %lu bytes", (unsigned long)nbytes);
    return NULL;
  }
  return ptr;
}

int TVMBackendFreeWorkspace(int device_type, int device_id, void* ptr) {
  DLDevice dev = {(DLDeviceType)device_type, device_id};
  tvm_crt_error_t err = TVMPlatformMemoryFree(ptr, dev);
  if (err != kTvmErrorNoError) mtvm_set_error("freeing workspace failed: 0x%x", err);
  return err;
}

int TVMBackendParallelLaunch(FTVMParallelLambda flambda, void* cdata, int num_task) {
  (void)num_task; /* one core: run the whole region as a single task */
  TVMParallelGroupEnv env = {NULL, 1};
  return flambda(0, &env, cdata);
}

int TVMBackendParallelBarrier(int task_id, TVMParallelGroupEnv* penv) {
  (void)task_id;
  (void)penv;
  return 0;
}

int TVMBackendRunOnce(void** handle, int (*f)(void*), void* cdata, int nbytes) {
  (void)nbytes;
  if (*handle == NULL) {
    *handle = (void*)1;
    return f(cdata);
  }
  return 0;
}

int TVMBackendGetFuncFromEnv(void* mod_node, const char* func_name, TVMFunctionHandle* out) {
  (void)mod_node;
  int err = TVMFuncGetGlobal(func_name, out);
  if (err == 0 && *out == NULL) {
    mtvm_set_error("no global function named \"%s\"", func_name);
    return kTvmErrorFunctionNameNotFound;
  }
  return err;
}

/* Generated code that registers its symbols at start-up (instead of a static registry) makes them
 * global functions, as TVM's C runtime does. */
int TVMBackendRegisterSystemLibSymbol(const char* name, void* ptr) {
  return TVMFuncRegisterGlobal(name, ptr, 0);
}
