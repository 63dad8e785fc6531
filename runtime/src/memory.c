/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tracked data blocks, reference-counted arrays, and TVM's array / data-space C API over them.
 */
#include <microtvm/errors.h>
#include <microtvm/memory.h>
#include <string.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/platform.h>

static const DLDevice kCpu = {kDLCPU, 0};

/* Header at the start of each raw allocation; the aligned data follows it. */
typedef struct data_block {
  struct data_block* next;
  uint8_t* data;
  size_t nbytes;
  int owned_by_array;
} data_block_t;

static data_block_t* g_blocks;
static mtvm_ndarray_t* g_arrays;

size_t mtvm_tensor_nbytes(int32_t ndim, const int64_t* shape, DLDataType dtype, int* ok) {
  size_t n = ((size_t)dtype.bits * dtype.lanes + 7) / 8;
  *ok = 1;
  for (int32_t i = 0; i < ndim; i++) {
    if (shape[i] < 0 || (shape[i] != 0 && n > SIZE_MAX / (uint64_t)shape[i])) {
      *ok = 0;
      return 0;
    }
    n *= (size_t)shape[i];
  }
  return n;
}

uintptr_t mtvm_tensor_address(const DLTensor* tensor) {
  return (uintptr_t)tensor->data + (uintptr_t)tensor->byte_offset;
}

tvm_crt_error_t mtvm_data_alloc(size_t nbytes, size_t alignment, void** out) {
  if (alignment == 0) alignment = 1;
  if ((alignment & (alignment - 1)) != 0 || alignment > MTVM_MAX_ALIGNMENT) {
    mtvm_set_error("alignment %lu is not a power of two up to %d", (unsigned long)alignment,
                   MTVM_MAX_ALIGNMENT);
    return kTvmErrorFunctionCallInvalidArg;
  }
  /* Round up to the alignment as TVM does, so a host may touch the padding. */
  size_t rounded = (nbytes + alignment - 1) & ~(alignment - 1);
  size_t overhead = sizeof(data_block_t) + alignment - 1;
  if (rounded < nbytes || rounded > SIZE_MAX - overhead) {
    mtvm_set_error("cannot allocate %lu bytes", (unsigned long)nbytes);
    return kTvmErrorPlatformNoMemory;
  }
  void* raw = NULL;
  tvm_crt_error_t err = TVMPlatformMemoryAllocate(overhead + (rounded ? rounded : 1), kCpu, &raw);
  if (err != kTvmErrorNoError || raw == NULL) {
    mtvm_set_error("out of memory allocating %lu bytes", (unsigned long)nbytes);
    return kTvmErrorPlatformNoMemory;
  }
  data_block_t* block = (data_block_t*)raw;
  uintptr_t start = (uintptr_t)(block + 1);
  block->data = (uint8_t*)((start + alignment - 1) & ~(uintptr_t)(alignment - 1));
  block->nbytes = rounded;
  block->owned_by_array = 0;
  block->next = g_blocks;
  g_blocks = block;
  *out = block->data;
  return kTvmErrorNoError;
}

static data_block_t** find_block(const void* data) {
  for (data_block_t** p = &g_blocks; *p != NULL; p = &(*p)->next) {
    if ((*p)->data == data) return p;
  }
  return NULL;
}

static void free_block(data_block_t** link) {
  data_block_t* block = *link;
  *link = block->next;
  TVMPlatformMemoryFree(block, kCpu);
}

tvm_crt_error_t mtvm_data_free(void* data) {
  data_block_t** link = find_block(data);
  if (link == NULL) {
    mtvm_set_error("0x%lx was not allocated on this device (or was freed already)",
                   (unsigned long)(uintptr_t)data);
    return kTvmErrorFunctionCallInvalidArg;
  }
  if ((*link)->owned_by_array) {
    mtvm_set_error("0x%lx belongs to an array; release the array instead",
                   (unsigned long)(uintptr_t)data);
    return kTvmErrorFunctionCallInvalidArg;
  }
  free_block(link);
  return kTvmErrorNoError;
}

int mtvm_data_contains(const void* ptr, size_t nbytes) {
  uintptr_t p = (uintptr_t)ptr;
  for (data_block_t* b = g_blocks; b != NULL; b = b->next) {
    uintptr_t start = (uintptr_t)b->data;
    if (p >= start && p - start <= b->nbytes && nbytes <= b->nbytes - (p - start)) return 1;
  }
  return 0;
}

tvm_crt_error_t mtvm_ndarray_create(int32_t ndim, const int64_t* shape, DLDataType dtype,
                                    DLDevice dev, mtvm_ndarray_t** out) {
  if (ndim < 0 || ndim > MTVM_MAX_NDIM) {
    mtvm_set_error("ndim %d is outside 0..%d", (int)ndim, MTVM_MAX_NDIM);
    return kTvmErrorFunctionCallInvalidArg;
  }
  int ok;
  size_t nbytes = mtvm_tensor_nbytes(ndim, shape, dtype, &ok);
  if (!ok) {
    mtvm_set_error("tensor shape is negative or too large");
    return kTvmErrorFunctionCallInvalidArg;
  }
  mtvm_ndarray_t* array = NULL;
  if (TVMPlatformMemoryAllocate(sizeof(*array), kCpu, (void**)&array) != kTvmErrorNoError ||
      array == NULL) {
    mtvm_set_error("out of memory allocating an array");
    return kTvmErrorPlatformNoMemory;
  }
  void* data;
  tvm_crt_error_t err = mtvm_data_alloc(nbytes, 64, &data);
  if (err != kTvmErrorNoError) {
    TVMPlatformMemoryFree(array, kCpu);
    return err;
  }
  (*find_block(data))->owned_by_array = 1;
  memset(data, 0, nbytes);
  memset(array, 0, sizeof(*array));
  for (int32_t i = 0; i < ndim; i++) array->shape[i] = shape[i];
  array->dl_tensor.data = data;
  array->dl_tensor.device = dev;
  array->dl_tensor.ndim = ndim;
  array->dl_tensor.dtype = dtype;
  array->dl_tensor.shape = array->shape;
  array->dl_tensor.strides = NULL;
  array->dl_tensor.byte_offset = 0;
  array->refcount = 1;
  array->next = g_arrays;
  g_arrays = array;
  *out = array;
  return kTvmErrorNoError;
}

void mtvm_ndarray_retain(mtvm_ndarray_t* array) { array->refcount++; }

static void destroy_array(mtvm_ndarray_t* array) {
  for (mtvm_ndarray_t** p = &g_arrays; *p != NULL; p = &(*p)->next) {
    if (*p == array) {
      *p = array->next;
      break;
    }
  }
  data_block_t** link = find_block(array->dl_tensor.data);
  if (link != NULL) free_block(link);
  TVMPlatformMemoryFree(array, kCpu);
}

tvm_crt_error_t mtvm_ndarray_release(mtvm_ndarray_t* array) {
  if (array->refcount == 0) {
    mtvm_set_error("array released more often than retained");
    return kTvmErrorFunctionCallInvalidArg;
  }
  if (--array->refcount == 0) destroy_array(array);
  return kTvmErrorNoError;
}

mtvm_ndarray_t* mtvm_ndarray_find(const void* handle) {
  for (mtvm_ndarray_t* a = g_arrays; a != NULL; a = a->next) {
    if ((const void*)a == handle) return a;
  }
  return NULL;
}

void mtvm_memory_release_all(void) {
  while (g_arrays != NULL) destroy_array(g_arrays);
  while (g_blocks != NULL) free_block(&g_blocks);
}

/* ---- TVM C API ----------------------------------------------------------------------------- */

int TVMArrayAlloc(const tvm_index_t* shape, int ndim, int dtype_code, int dtype_bits,
                  int dtype_lanes, int device_type, int device_id, TVMArrayHandle* out) {
  DLDataType dtype = {(uint8_t)dtype_code, (uint8_t)dtype_bits, (uint16_t)dtype_lanes};
  DLDevice dev = {(DLDeviceType)device_type, device_id};
  mtvm_ndarray_t* array;
  tvm_crt_error_t err = mtvm_ndarray_create(ndim, shape, dtype, dev, &array);
  if (err != kTvmErrorNoError) return err;
  *out = &array->dl_tensor;
  return 0;
}

int TVMArrayFree(TVMArrayHandle handle) {
  mtvm_ndarray_t* array = mtvm_ndarray_find(handle);
  if (array == NULL) {
    mtvm_set_error("FreeHandle: 0x%lx is not a live array", (unsigned long)(uintptr_t)handle);
    return kTvmErrorFunctionCallInvalidArg;
  }
  return mtvm_ndarray_release(array);
}

int TVMByteArrayFree(TVMByteArray* arr) {
  TVMPlatformMemoryFree((void*)arr->data, kCpu);
  return TVMPlatformMemoryFree(arr, kCpu);
}

static int check_cpu(DLDevice dev) {
  if (dev.device_type != kDLCPU) {
    mtvm_set_error("device type %d is not supported (only CPU, 1)", (int)dev.device_type);
    return kTvmErrorExecutorModuleBadContext;
  }
  return 0;
}

int TVMDeviceAllocDataSpace(DLDevice dev, size_t nbytes, size_t alignment, DLDataType type_hint,
                            void** out_data) {
  (void)type_hint;
  int err = check_cpu(dev);
  return err ? err : (int)mtvm_data_alloc(nbytes, alignment, out_data);
}

int TVMDeviceAllocDataSpaceWithScope(DLDevice dev, int ndim, const int64_t* shape,
                                     DLDataType dtype, const char* mem_scope, void** out_data) {
  if (mem_scope != NULL && mem_scope[0] != '\0' && strcmp(mem_scope, "global") != 0) {
    mtvm_set_error("memory scope \"%s\" is not supported", mem_scope);
    return kTvmErrorFunctionCallInvalidArg;
  }
  int ok;
  size_t nbytes = mtvm_tensor_nbytes(ndim, shape, dtype, &ok);
  if (!ok || ndim < 0) {
    mtvm_set_error("tensor shape is negative or too large");
    return kTvmErrorFunctionCallInvalidArg;
  }
  size_t align = (size_t)(dtype.bits / 8) * dtype.lanes;
  if (align < 64) align = 64;
  /* A lane count like 3 gives a non-power-of-two; round it up. */
  size_t pow2 = 64;
  while (pow2 < align) pow2 <<= 1;
  return TVMDeviceAllocDataSpace(dev, nbytes, pow2, dtype, out_data);
}

int TVMDeviceFreeDataSpace(DLDevice dev, void* ptr) {
  int err = check_cpu(dev);
  return err ? err : (int)mtvm_data_free(ptr);
}

int TVMDeviceCopyDataFromTo(DLTensor* from, DLTensor* to, TVMStreamHandle stream) {
  (void)stream;
  int ok;
  size_t n = mtvm_tensor_nbytes(from->ndim, from->shape, from->dtype, &ok);
  uint8_t* src = (uint8_t*)mtvm_tensor_address(from);
  uint8_t* dst = (uint8_t*)mtvm_tensor_address(to);
  if (!ok || !mtvm_data_contains(src, n) || !mtvm_data_contains(dst, n)) {
    mtvm_set_error("copy of %lu bytes is outside memory allocated on this device",
                   (unsigned long)n);
    return kTvmErrorFunctionCallInvalidArg;
  }
  memmove(dst, src, n);
  return 0;
}
