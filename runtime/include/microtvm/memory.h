/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory the host allocates on the device, and reference-counted arrays.
 *
 * Every block handed to the host (DevAllocData, DevAllocDataWithScope, array data) is tracked, so
 * that FreeHandle, DevFreeData and the copy requests can reject a pointer that the device never
 * handed out instead of corrupting memory. All memory comes from TVMPlatformMemoryAllocate.
 */
#ifndef MICROTVM_MEMORY_H_
#define MICROTVM_MEMORY_H_

#include <stddef.h>
#include <stdint.h>

#include <dlpack/dlpack.h>
#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef MTVM_MAX_NDIM
#define MTVM_MAX_NDIM 6
#endif

/* Largest alignment the host may request for a data block. */
#define MTVM_MAX_ALIGNMENT 4096

typedef struct mtvm_ndarray {
  DLTensor dl_tensor; /* first member: a DLTensor* to it is the array's handle */
  int64_t shape[MTVM_MAX_NDIM];
  uint32_t refcount;
  struct mtvm_ndarray* next;
} mtvm_ndarray_t;

/* Bytes of a compact tensor: prod(shape) * ceil(bits * lanes / 8). Returns 0 and sets *ok = 0 on
 * a negative dimension or overflow. */
size_t mtvm_tensor_nbytes(int32_t ndim, const int64_t* shape, DLDataType dtype, int* ok);

/* data + byte_offset of a tensor, computed without pointer arithmetic (the host may send any
 * address; it is only dereferenced after mtvm_data_contains accepts it). */
uintptr_t mtvm_tensor_address(const DLTensor* tensor);

/* A data block of at least nbytes at the given power-of-two alignment (0 means 1). */
tvm_crt_error_t mtvm_data_alloc(size_t nbytes, size_t alignment, void** out);
/* Frees a block from mtvm_data_alloc; kTvmErrorFunctionCallInvalidArg for any other pointer,
 * including the data of a live array. */
tvm_crt_error_t mtvm_data_free(void* data);
/* 1 when [ptr, ptr + nbytes) lies inside one live block. */
int mtvm_data_contains(const void* ptr, size_t nbytes);

/* A new array with refcount 1 and zero-filled, 64-byte-aligned data. */
tvm_crt_error_t mtvm_ndarray_create(int32_t ndim, const int64_t* shape, DLDataType dtype,
                                    DLDevice dev, mtvm_ndarray_t** out);
void mtvm_ndarray_retain(mtvm_ndarray_t* array);
/* Drops one reference and frees the array and its data at zero. */
tvm_crt_error_t mtvm_ndarray_release(mtvm_ndarray_t* array);
/* The live array whose handle is `handle`, or NULL. */
mtvm_ndarray_t* mtvm_ndarray_find(const void* handle);

/* Frees every tracked block and array (server shutdown). */
void mtvm_memory_release_all(void);

#ifdef __cplusplus
}
#endif

#endif /* MICROTVM_MEMORY_H_ */
