/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Workspace bookkeeping behind TVMBackendAllocWorkspace (the rest of backend.c implements
 * tvm/runtime/c_backend_api.h). Generated code drops the error of a failed workspace allocation
 * inside an operator it calls, and returns early without freeing the blocks it already holds; a
 * call bracketed by mtvm_workspace_mark / mtvm_workspace_end cannot hide either.
 */
#ifndef MICROTVM_BACKEND_H_
#define MICROTVM_BACKEND_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  uint32_t serial;   /* workspace blocks allocated so far */
  uint32_t failures; /* workspace allocations refused so far */
} mtvm_workspace_mark_t;

mtvm_workspace_mark_t mtvm_workspace_mark(void);

/* Ends a bracketed call that returned rc: frees every workspace block allocated since the mark
 * that is still live, and when a workspace allocation failed since the mark but rc is 0, sets the
 * last error ("<what> ["<name>"] failed: a workspace allocation of N bytes ran out of memory ...")
 * and returns kTvmErrorPlatformNoMemory. Otherwise returns rc. name may be NULL. */
int mtvm_workspace_end(mtvm_workspace_mark_t mark, int rc, const char* what, const char* name);

#ifdef __cplusplus
}
#endif

#endif /* MICROTVM_BACKEND_H_ */
