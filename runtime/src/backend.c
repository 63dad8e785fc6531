/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The callbacks generated operator code makes into the runtime (c_backend_api.h).
 */
#include <microtvm/backend.h>
#include <microtvm/errors.h>
#include <stdint.h>
#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/platform.h>

/* Every live workspace block carries this header, newest first in one list. TVM's generated code
 * ignores the result of the operators it calls and returns early without freeing what it already
 * allocated, so the runtime has to notice failed allocations and reclaim leftovers itself. */
typedef struct workspace_block {
  struct workspace_block* prev;
  struct workspace_block* next;
  DLDevice device;
  uint32_t serial;
} workspace_block_t;

/* The header is padded to 16 bytes so the block keeps the alignment TVM's allocators give. */
#define WORKSPACE_HEADER_BYTES ((sizeof(workspace_block_t) + 15u) & ~(size_t)15u)

static workspace_block_t* g_workspace;
static uint32_t g_workspace_serial;
static uint32_t g_workspace_failures;
static uint64_t g_workspace_failed_bytes;

void* TVMBackendAllocWorkspace(int device_type, int device_id, uint64_t nbytes,
                               int dtype_code_hint, int dtype_bits_hint) {
  (void)dtype_code_hint;
  (void)dtype_bits_hint;
  DLDevice dev = {(DLDeviceType)device_type, device_id};
  void* raw = NULL;
  /* A failure is counted as well as returned: generated code may drop the -1 it turns into. */
  if (nbytes > SIZE_MAX - WORKSPACE_HEADER_BYTES) {
    g_workspace_failures++;
    g_workspace_failed_bytes = nbytes;
    mtvm_set_error("workspace of %lu bytes is too large", (unsigned long)nbytes);
    return NULL;
  }
  if (TVMPlatformMemoryAllocate((size_t)nbytes + WORKSPACE_HEADER_BYTES, dev, &raw) !=
          kTvmErrorNoError ||
      raw == NULL) {
    g_workspace_failures++;
    g_workspace_failed_bytes = nbytes;
    mtvm_set_error("out of memory: workspace of %lu bytes", (unsigned long)nbytes);
    return NULL;
  }
  workspace_block_t* block = (workspace_block_t*)raw;
  block->device = dev;
  block->serial = ++g_workspace_serial;
  block->prev = NULL;
  block->next = g_workspace;
  if (g_workspace != NULL) g_workspace->prev = block;
  g_workspace = block;
  return (uint8_t*)raw + WORKSPACE_HEADER_BYTES;
}

static void unlink_and_free(workspace_block_t* block) {
  if (block->prev != NULL) block->prev->next = block->next;
  else g_workspace = block->next;
  if (block->next != NULL) block->next->prev = block->prev;
  TVMPlatformMemoryFree(block, block->device);
}

int TVMBackendFreeWorkspace(int device_type, int device_id, void* ptr) {
  (void)device_type;
  (void)device_id;
  for (workspace_block_t* b = g_workspace; b != NULL; b = b->next) {
    if ((uint8_t*)b + WORKSPACE_HEADER_BYTES == (uint8_t*)ptr) {
      unlink_and_free(b);
      return 0;
    }
  }
  mtvm_set_error("freeing workspace 0x%lx, which is not a live workspace block",
                 (unsigned long)(uintptr_t)ptr);
  return kTvmErrorFunctionCallInvalidArg;
}

mtvm_workspace_mark_t mtvm_workspace_mark(void) {
  mtvm_workspace_mark_t mark = {g_workspace_serial, g_workspace_failures};
  return mark;
}

int mtvm_workspace_end(mtvm_workspace_mark_t mark, int rc, const char* what, const char* name) {
  /* Blocks are listed newest first, so the ones made since the mark lead the list. Serials are
   * compared by difference, which stays right when the counter wraps. */
  while (g_workspace != NULL && (int32_t)(g_workspace->serial - mark.serial) > 0) {
    unlink_and_free(g_workspace);
  }
  if (rc == 0 && g_workspace_failures != mark.failures) {
    mtvm_set_error("%s%s%s%s failed: a workspace allocation of %lu bytes ran out of memory (the "
                   "memory pool is too small for this call)",
                   what, name ? " \"" : "", name ? name : "", name ? "\"" : "",
                   (unsigned long)g_workspace_failed_bytes);
    return kTvmErrorPlatformNoMemory;
  }
  return rc;
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
