/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The minRPC server: decodes one request packet, performs it, and encodes one reply packet.
 *
 * Unlike TVM's server, which stops (hangs) on anything it does not expect, every malformed or
 * unsupported request here is answered with an Exception reply naming the problem, so a host
 * never waits for a reply that cannot come.
 */
#include <microtvm/errors.h>
#include <microtvm/memory.h>
#include <microtvm/rpc_server.h>
#include <microtvm/runtime.h>
#include <string.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/platform.h>

/* RPC codes (TVM's RPCCode); codes from kGetGlobalFunc on are syscalls. */
enum {
  kRpcShutdown = 1,
  kRpcInitServer = 2,
  kRpcCallFunc = 3,
  kRpcReturn = 4,
  kRpcException = 5,
  kRpcCopyFromRemote = 6,
  kRpcCopyToRemote = 7,
  kRpcCopyAck = 8,
  kRpcGetGlobalFunc = 9,
  kRpcFreeHandle = 10,
  kRpcDevSetDevice = 11,
  kRpcDevGetAttr = 12,
  kRpcDevAllocData = 13,
  kRpcDevFreeData = 14,
  kRpcDevStreamSync = 15,
  kRpcCopyAmongRemote = 16,
  kRpcDevAllocDataWithScope = 17,
  kRpcDevCreateStream = 18,
  kRpcDevFreeStream = 19,
  kRpcDevSetStream = 20,
};

/* Type index an ObjectHandle argument must carry (TVM's RPCObjectRef). */
#define RPC_OBJECT_REF_TYPE_INDEX 9

static const DLDevice kCpu = {kDLCPU, 0};

struct mtvm_rpc_server {
  size_t max_packet_size;
  uint8_t* reply;   /* max_packet_size bytes */
  size_t reply_len; /* bytes needed so far; may exceed max_packet_size (then it is not sent) */
  int shut_down;
};

static mtvm_rpc_server_t* g_server;

/* ---- request reader and argument arena ----------------------------------------------------- */

typedef struct {
  const uint8_t* p;
  size_t left;
} reader_t;

typedef struct {
  uint8_t* base;
  size_t size;
  size_t used;
} arena_t;

static void* arena_alloc(arena_t* a, size_t n) {
  size_t start = (a->used + 7u) & ~(size_t)7u;
  if (start > a->size || n > a->size - start) return NULL;
  a->used = start + n;
  return a->base + start;
}

static int read_bytes(reader_t* r, void* out, size_t n) {
  if (n > r->left) {
    mtvm_set_error("malformed packet: it ends %lu bytes early", (unsigned long)(n - r->left));
    return -1;
  }
  memcpy(out, r->p, n);
  r->p += n;
  r->left -= n;
  return 0;
}

static int read_u64(reader_t* r, uint64_t* out) {
  uint8_t b[8];
  if (read_bytes(r, b, 8)) return -1;
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | b[i];
  *out = v;
  return 0;
}

static int read_i32(reader_t* r, int32_t* out) {
  uint8_t b[4];
  if (read_bytes(r, b, 4)) return -1;
  uint32_t v = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
               ((uint32_t)b[3] << 24);
  memcpy(out, &v, sizeof(v));
  return 0;
}

static int read_pointer(reader_t* r, void** out) {
  uint64_t v;
  if (read_u64(r, &v)) return -1;
  if (v > (uint64_t)UINTPTR_MAX) {
    mtvm_set_error("handle 0x%lx%08lx does not fit in a device pointer",
                   (unsigned long)(v >> 32), (unsigned long)(v & 0xffffffffu));
    return -1;
  }
  *out = (void*)(uintptr_t)v;
  return 0;
}

static int read_dltensor(reader_t* r, arena_t* a, DLTensor** out) {
  DLTensor* t = (DLTensor*)arena_alloc(a, sizeof(DLTensor));
  int32_t device_type, device_id, ndim;
  uint8_t dtype[4];
  if (t == NULL) goto no_memory;
  if (read_pointer(r, &t->data) || read_i32(r, &device_type) || read_i32(r, &device_id) ||
      read_i32(r, &ndim) || read_bytes(r, dtype, 4)) {
    return -1;
  }
  if (ndim < 0 || (size_t)ndim > r->left / 8) {
    mtvm_set_error("malformed DLTensor: ndim %ld does not fit the packet", (long)ndim);
    return -1;
  }
  t->device.device_type = (DLDeviceType)device_type;
  t->device.device_id = device_id;
  t->ndim = ndim;
  t->dtype.code = dtype[0];
  t->dtype.bits = dtype[1];
  t->dtype.lanes = (uint16_t)(dtype[2] | (dtype[3] << 8));
  t->shape = (int64_t*)arena_alloc(a, sizeof(int64_t) * (size_t)(ndim ? ndim : 1));
  if (t->shape == NULL) goto no_memory;
  for (int32_t i = 0; i < ndim; i++) {
    uint64_t dim;
    if (read_u64(r, &dim)) return -1;
    memcpy(&t->shape[i], &dim, sizeof(dim));
  }
  t->strides = NULL; /* never sent: always compact */
  if (read_u64(r, &t->byte_offset)) return -1;
  *out = t;
  return 0;
no_memory:
  mtvm_set_error("out of memory decoding the request");
  return -1;
}

/* Decodes a packed sequence: i32 num_args, i32 type_codes[num_args], values. */
static int read_packed_seq(reader_t* r, arena_t* a, TVMValue** out_values, int** out_codes,
                           int* out_num) {
  int32_t num;
  if (read_i32(r, &num)) return -1;
  if (num < 0 || (size_t)num > r->left / 4) {
    mtvm_set_error("malformed packet: %ld arguments do not fit the packet", (long)num);
    return -1;
  }
  TVMValue* values = (TVMValue*)arena_alloc(a, sizeof(TVMValue) * (size_t)(num ? num : 1));
  int* codes = (int*)arena_alloc(a, sizeof(int) * (size_t)(num ? num : 1));
  if (values == NULL || codes == NULL) {
    mtvm_set_error("out of memory decoding the request");
    return -1;
  }
  for (int32_t i = 0; i < num; i++) {
    int32_t code;
    if (read_i32(r, &code)) return -1;
    codes[i] = code;
  }
  for (int32_t i = 0; i < num; i++) {
    TVMValue* v = &values[i];
    uint64_t u;
    v->v_int64 = 0;
    switch (codes[i]) {
      case kTVMArgInt:
      case kDLUInt:
      case kTVMArgFloat:
      case kTVMArgBool:
        /* Floats travel as the bit pattern of the double. */
        if (read_u64(r, &u)) return -1;
        memcpy(&v->v_int64, &u, sizeof(u));
        break;
      case kTVMOpaqueHandle:
      case kTVMModuleHandle:
      case kTVMPackedFuncHandle:
        if (read_pointer(r, &v->v_handle)) return -1;
        break;
      case kTVMNullptr:
        v->v_handle = NULL;
        break;
      case kTVMDataType: {
        uint8_t b[8]; /* DLDataType then 4 bytes of padding */
        if (read_bytes(r, b, 8)) return -1;
        v->v_type.code = b[0];
        v->v_type.bits = b[1];
        v->v_type.lanes = (uint16_t)(b[2] | (b[3] << 8));
        break;
      }
      case kDLDevice: {
        int32_t type, id;
        if (read_i32(r, &type) || read_i32(r, &id)) return -1;
        v->v_device.device_type = (DLDeviceType)type;
        v->v_device.device_id = id;
        break;
      }
      case kTVMDLTensorHandle: {
        DLTensor* t;
        if (read_dltensor(r, a, &t)) return -1;
        v->v_handle = t;
        break;
      }
      case kTVMStr: {
        if (read_u64(r, &u)) return -1;
        if (u > r->left) {
          mtvm_set_error("malformed packet: a %lu-byte string does not fit", (unsigned long)u);
          return -1;
        }
        char* s = (char*)arena_alloc(a, (size_t)u + 1);
        if (s == NULL) {
          mtvm_set_error("out of memory decoding the request");
          return -1;
        }
        read_bytes(r, s, (size_t)u);
        s[u] = '\0';
        v->v_str = s;
        break;
      }
      case kTVMBytes: {
        if (read_u64(r, &u)) return -1;
        if (u > r->left) {
          mtvm_set_error("malformed packet: %lu bytes do not fit", (unsigned long)u);
          return -1;
        }
        TVMByteArray* b = (TVMByteArray*)arena_alloc(a, sizeof(TVMByteArray));
        if (b == NULL) {
          mtvm_set_error("out of memory decoding the request");
          return -1;
        }
        b->data = (const char*)r->p; /* the request outlives the call */
        b->size = (size_t)u;
        r->p += u;
        r->left -= (size_t)u;
        v->v_handle = b;
        break;
      }
      case kTVMObjectHandle: {
        int32_t type_index;
        if (read_i32(r, &type_index)) return -1;
        if (type_index != RPC_OBJECT_REF_TYPE_INDEX) {
          mtvm_set_error("object argument has type index %ld; only RPCObjectRef (9) is accepted",
                         (long)type_index);
          return -1;
        }
        if (read_pointer(r, &v->v_handle)) return -1;
        break;
      }
      case kTVMNDArrayHandle:
        mtvm_set_error("argument %ld: NDArray handles (13) are never sent; send a DLTensor (7)",
                       (long)i);
        return -1;
      default:
        mtvm_set_error("argument %ld has unsupported type code %d", (long)i, codes[i]);
        return -1;
    }
  }
  *out_values = values;
  *out_codes = codes;
  *out_num = num;
  return 0;
}

/* ---- reply writer -------------------------------------------------------------------------- */

static void put(mtvm_rpc_server_t* s, const void* data, size_t n) {
  if (s->reply_len <= s->max_packet_size && n <= s->max_packet_size - s->reply_len) {
    memcpy(s->reply + s->reply_len, data, n);
  }
  s->reply_len += n;
}

static void put_u64(mtvm_rpc_server_t* s, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
  put(s, b, 8);
}

static void put_i32(mtvm_rpc_server_t* s, int32_t v) {
  uint32_t u;
  memcpy(&u, &v, sizeof(u));
  uint8_t b[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24)};
  put(s, b, 4);
}

/* Starts a reply: room for the length, then the code. */
static void begin_reply(mtvm_rpc_server_t* s, int32_t code) {
  s->reply_len = 0;
  put_u64(s, 0);
  put_i32(s, code);
}

static void put_value(mtvm_rpc_server_t* s, int code, const TVMValue* v) {
  switch (code) {
    case kTVMArgInt:
    case kDLUInt:
    case kTVMArgFloat:
    case kTVMArgBool: {
      uint64_t u;
      memcpy(&u, &v->v_int64, sizeof(u));
      put_u64(s, u);
      break;
    }
    case kTVMOpaqueHandle:
      put_u64(s, (uint64_t)(uintptr_t)v->v_handle);
      break;
    case kTVMDataType: {
      uint8_t b[8] = {v->v_type.code, v->v_type.bits, (uint8_t)v->v_type.lanes,
                      (uint8_t)(v->v_type.lanes >> 8), 0, 0, 0, 0};
      put(s, b, 8);
      break;
    }
    case kDLDevice:
      put_i32(s, (int32_t)v->v_device.device_type);
      put_i32(s, v->v_device.device_id);
      break;
    case kTVMDLTensorHandle: {
      const DLTensor* t = (const DLTensor*)v->v_handle;
      put_u64(s, (uint64_t)(uintptr_t)t->data);
      put_i32(s, (int32_t)t->device.device_type);
      put_i32(s, t->device.device_id);
      put_i32(s, t->ndim);
      uint8_t dtype[4] = {t->dtype.code, t->dtype.bits, (uint8_t)t->dtype.lanes,
                          (uint8_t)(t->dtype.lanes >> 8)};
      put(s, dtype, 4);
      for (int32_t i = 0; i < t->ndim; i++) put_u64(s, (uint64_t)t->shape[i]);
      put_u64(s, t->byte_offset);
      break;
    }
    case kTVMStr: {
      const char* str = v->v_str != NULL ? v->v_str : "";
      size_t n = strlen(str);
      put_u64(s, n);
      put(s, str, n);
      break;
    }
    case kTVMBytes: {
      const TVMByteArray* b = (const TVMByteArray*)v->v_handle;
      put_u64(s, b->size);
      put(s, b->data, b->size);
      break;
    }
    default: /* kTVMNullptr: no bytes */
      break;
  }
}

/* Replies kReturn with a packed sequence of n values. */
static void reply_values(mtvm_rpc_server_t* s, int n, const int* codes, const TVMValue* values) {
  begin_reply(s, kRpcReturn);
  put_i32(s, n);
  for (int i = 0; i < n; i++) put_i32(s, codes[i]);
  for (int i = 0; i < n; i++) put_value(s, codes[i], &values[i]);
}

static void reply_void(mtvm_rpc_server_t* s) {
  int code = kTVMNullptr;
  TVMValue v;
  v.v_handle = NULL;
  reply_values(s, 1, &code, &v);
}

static void reply_handle(mtvm_rpc_server_t* s, void* handle) {
  int code = kTVMOpaqueHandle;
  TVMValue v;
  v.v_handle = handle;
  reply_values(s, 1, &code, &v);
}

static void reply_exception(mtvm_rpc_server_t* s, const char* msg) {
  /* The message is cut so that the reply always fits. */
  size_t room = s->max_packet_size - 8 - 4 - 4 - 4 - 8;
  size_t n = strlen(msg);
  if (n > room) n = room;
  begin_reply(s, kRpcException);
  put_i32(s, 1);
  put_i32(s, kTVMStr);
  put_u64(s, n);
  put(s, msg, n);
}

/* Replies with the last error, or `fallback` (formatted with code) when none was set. */
static void reply_error(mtvm_rpc_server_t* s, const char* fallback, int code) {
  if (TVMGetLastError()[0] == '\0') mtvm_set_error("%s (error 0x%x)", fallback, code);
  reply_exception(s, TVMGetLastError());
}

/* ---- requests ------------------------------------------------------------------------------ */

static void handle_call(mtvm_rpc_server_t* s, reader_t* r, arena_t* a) {
  void* handle;
  TVMValue* args;
  int* codes;
  int num;
  if (read_pointer(r, &handle) || read_packed_seq(r, a, &args, &codes, &num)) {
    reply_exception(s, TVMGetLastError());
    return;
  }
  if (r->left != 0) {
    mtvm_set_error("malformed packet: %lu bytes after the arguments", (unsigned long)r->left);
    reply_exception(s, TVMGetLastError());
    return;
  }
  TVMValue ret;
  int ret_code = kTVMNullptr;
  mtvm_clear_error();
  int err = TVMFuncCall(handle, args, codes, num, &ret, &ret_code);
  if (err != 0) {
    reply_error(s, "the function failed", err);
    return;
  }
  if ((ret_code == kTVMDLTensorHandle || ret_code == kTVMNDArrayHandle || ret_code == kTVMBytes) &&
      ret.v_handle == NULL) {
    mtvm_set_error("the function returned type code %d with a NULL value", ret_code);
    reply_exception(s, TVMGetLastError());
    return;
  }
  /* The first value is the real return type code; handles travel as opaque u64. */
  TVMValue values[3];
  int out_codes[3];
  values[0].v_int64 = ret_code;
  out_codes[0] = kTVMArgInt;
  values[1] = ret;
  switch (ret_code) {
    case kTVMNullptr:
    case kTVMArgInt:
    case kDLUInt:
    case kTVMArgFloat:
    case kTVMOpaqueHandle:
    case kTVMDataType:
    case kDLDevice:
    case kTVMStr:
    case kTVMArgBool:
    case kTVMDLTensorHandle:
      out_codes[1] = ret_code;
      reply_values(s, 2, out_codes, values);
      break;
    case kTVMModuleHandle:
    case kTVMPackedFuncHandle:
    case kTVMObjectHandle:
      out_codes[1] = kTVMOpaqueHandle;
      reply_values(s, 2, out_codes, values);
      break;
    case kTVMNDArrayHandle:
      out_codes[1] = kTVMDLTensorHandle;
      values[2] = ret;
      out_codes[2] = kTVMOpaqueHandle;
      reply_values(s, 3, out_codes, values);
      break;
    case kTVMBytes:
      out_codes[1] = kTVMBytes;
      reply_values(s, 2, out_codes, values);
      TVMByteArrayFree((TVMByteArray*)ret.v_handle);
      break;
    default:
      mtvm_set_error("the function returned unsupported type code %d", ret_code);
      reply_exception(s, TVMGetLastError());
      break;
  }
}

/* Reads the DLTensor and byte count of a copy request and checks the range. */
static int read_copy_target(reader_t* r, arena_t* a, uint8_t** out, uint64_t* out_nbytes) {
  DLTensor* t;
  uint64_t nbytes;
  if (read_dltensor(r, a, &t) || read_u64(r, &nbytes)) return -1;
  if (t->device.device_type != kDLCPU) {
    mtvm_set_error("copy: device type %d is not supported (only CPU, 1)",
                   (int)t->device.device_type);
    return -1;
  }
  uintptr_t p = mtvm_tensor_address(t);
  if (nbytes > SIZE_MAX || !mtvm_data_contains((const void*)p, (size_t)nbytes)) {
    mtvm_set_error("copy of %lu bytes at 0x%lx is outside memory allocated on this device",
                   (unsigned long)nbytes, (unsigned long)p);
    return -1;
  }
  *out = (uint8_t*)p;
  *out_nbytes = nbytes;
  return 0;
}

static void handle_copy_to(mtvm_rpc_server_t* s, reader_t* r, arena_t* a) {
  uint8_t* dst;
  uint64_t nbytes;
  if (read_copy_target(r, a, &dst, &nbytes)) {
    reply_exception(s, TVMGetLastError());
    return;
  }
  if (r->left != nbytes) {
    mtvm_set_error("malformed CopyToRemote: declares %lu data bytes, carries %lu",
                   (unsigned long)nbytes, (unsigned long)r->left);
    reply_exception(s, TVMGetLastError());
    return;
  }
  memcpy(dst, r->p, (size_t)nbytes);
  reply_void(s);
}

static void handle_copy_from(mtvm_rpc_server_t* s, reader_t* r, arena_t* a) {
  uint8_t* src;
  uint64_t nbytes;
  if (read_copy_target(r, a, &src, &nbytes)) {
    reply_exception(s, TVMGetLastError());
    return;
  }
  if (r->left != 0) {
    mtvm_set_error("malformed CopyFromRemote: %lu bytes after the request",
                   (unsigned long)r->left);
    reply_exception(s, TVMGetLastError());
    return;
  }
  if (nbytes > s->max_packet_size - 12) {
    mtvm_set_error("CopyFromRemote of %lu bytes does not fit one reply; copy at most %lu bytes "
                   "per request",
                   (unsigned long)nbytes, (unsigned long)(s->max_packet_size - 12));
    reply_exception(s, TVMGetLastError());
    return;
  }
  begin_reply(s, kRpcCopyAck);
  put(s, src, (size_t)nbytes);
}

/* Checks a syscall's argument type codes against the expected list (-1 matches Null or Str).
 * On a mismatch replies with an Exception naming the expected codes and returns 0. */
static int args_match(mtvm_rpc_server_t* s, int code, const int* codes, int num, const int* want,
                      int num_want) {
  int ok = num == num_want;
  for (int i = 0; ok && i < num; i++) {
    ok = want[i] < 0 ? (codes[i] == kTVMNullptr || codes[i] == kTVMStr) : codes[i] == want[i];
  }
  if (ok) return 1;
  char list[64];
  size_t used = 0;
  for (int i = 0; i < num_want && used + 4 < sizeof(list); i++) {
    int w = want[i] < 0 ? 4 : want[i];
    list[used++] = (char)(i ? ',' : '[');
    if (w >= 10) list[used++] = (char)('0' + w / 10);
    list[used++] = (char)('0' + w % 10);
  }
  list[used++] = ']';
  list[used] = '\0';
  mtvm_set_error("syscall %d expects argument type codes %s, got %d arguments", code, list, num);
  reply_exception(s, TVMGetLastError());
  return 0;
}

/* The argument lists of the syscalls (-1: Null or Str). */
static const int kArgsStr[] = {kTVMStr};
static const int kArgsHandleInt[] = {kTVMOpaqueHandle, kTVMArgInt};
static const int kArgsAllocData[] = {kDLDevice, kTVMArgInt, kTVMArgInt, kTVMDataType};
static const int kArgsTensorScope[] = {kTVMDLTensorHandle, -1};
static const int kArgsDeviceHandle[] = {kDLDevice, kTVMOpaqueHandle};
static const int kArgsDevice[] = {kDLDevice};
static const int kArgsCopyAmong[] = {kTVMDLTensorHandle, kTVMDLTensorHandle, kTVMOpaqueHandle};
#define ARG_COUNT(list) ((int)(sizeof(list) / sizeof((list)[0])))

static void reply_status(mtvm_rpc_server_t* s, int err, const char* what) {
  if (err == 0) {
    reply_void(s);
  } else {
    reply_error(s, what, err);
  }
}

static void handle_syscall(mtvm_rpc_server_t* s, int32_t code, reader_t* r, arena_t* a) {
  TVMValue* args;
  int* codes;
  int num;
  if (read_packed_seq(r, a, &args, &codes, &num)) {
    reply_exception(s, TVMGetLastError());
    return;
  }
  if (r->left != 0) {
    mtvm_set_error("malformed packet: %lu bytes after the arguments", (unsigned long)r->left);
    reply_exception(s, TVMGetLastError());
    return;
  }
  mtvm_clear_error();
  int err;
  void* out = NULL;
  switch (code) {
    case kRpcGetGlobalFunc:
      if (!args_match(s, code, codes, num, kArgsStr, ARG_COUNT(kArgsStr))) return;
      TVMFuncGetGlobal(args[0].v_str, &out);
      reply_handle(s, out); /* 0 means "no such function", not an error */
      return;
    case kRpcFreeHandle: {
      if (!args_match(s, code, codes, num, kArgsHandleInt, ARG_COUNT(kArgsHandleInt))) return;
      int64_t type_code = args[1].v_int64;
      if (type_code == kTVMNDArrayHandle) {
        err = TVMArrayFree((TVMArrayHandle)args[0].v_handle);
      } else if (type_code == kTVMPackedFuncHandle) {
        err = TVMFuncFree(args[0].v_handle);
      } else if (type_code == kTVMObjectHandle) {
        err = 0; /* the device holds no objects */
      } else if (type_code == kTVMModuleHandle) {
        err = TVMModFree(args[0].v_handle);
      } else {
        mtvm_set_error("FreeHandle: type code %ld cannot be freed (use 9, 10 or 13)",
                       (long)type_code);
        err = kTvmErrorFunctionCallInvalidArg;
      }
      reply_status(s, err, "FreeHandle failed");
      return;
    }
    case kRpcDevSetDevice:
      reply_exception(s, "SetDevice not supported");
      return;
    case kRpcDevGetAttr:
      reply_exception(s, "GetAttr not supported");
      return;
    case kRpcDevAllocData:
      if (!args_match(s, code, codes, num, kArgsAllocData, ARG_COUNT(kArgsAllocData))) return;
      if (args[1].v_int64 < 0 || args[2].v_int64 < 0 || (uint64_t)args[1].v_int64 > SIZE_MAX) {
        mtvm_set_error("DevAllocData: size %ld / alignment %ld is invalid", (long)args[1].v_int64,
                       (long)args[2].v_int64);
        reply_exception(s, TVMGetLastError());
        return;
      }
      err = TVMDeviceAllocDataSpace(args[0].v_device, (size_t)args[1].v_int64,
                                    (size_t)args[2].v_int64, args[3].v_type, &out);
      if (err == 0) {
        reply_handle(s, out);
      } else {
        reply_error(s, "DevAllocData failed", err);
      }
      return;
    case kRpcDevAllocDataWithScope: {
      if (!args_match(s, code, codes, num, kArgsTensorScope, ARG_COUNT(kArgsTensorScope))) return;
      const DLTensor* t = (const DLTensor*)args[0].v_handle;
      err = TVMDeviceAllocDataSpaceWithScope(t->device, t->ndim, t->shape, t->dtype,
                                             codes[1] == kTVMStr ? args[1].v_str : NULL, &out);
      if (err == 0) {
        reply_handle(s, out);
      } else {
        reply_error(s, "DevAllocDataWithScope failed", err);
      }
      return;
    }
    case kRpcDevFreeData:
      if (!args_match(s, code, codes, num, kArgsDeviceHandle, ARG_COUNT(kArgsDeviceHandle))) return;
      reply_status(s, TVMDeviceFreeDataSpace(args[0].v_device, args[1].v_handle),
                   "DevFreeData failed");
      return;
    case kRpcDevStreamSync:
    case kRpcDevFreeStream:
    case kRpcDevSetStream:
      /* There are no streams: every operation has completed when its reply is sent. */
      if (!args_match(s, code, codes, num, kArgsDeviceHandle, ARG_COUNT(kArgsDeviceHandle))) return;
      reply_void(s);
      return;
    case kRpcDevCreateStream:
      if (!args_match(s, code, codes, num, kArgsDevice, ARG_COUNT(kArgsDevice))) return;
      reply_handle(s, NULL);
      return;
    case kRpcCopyAmongRemote:
      if (!args_match(s, code, codes, num, kArgsCopyAmong, ARG_COUNT(kArgsCopyAmong))) return;
      reply_status(s,
                   TVMDeviceCopyDataFromTo((DLTensor*)args[0].v_handle,
                                           (DLTensor*)args[1].v_handle, args[2].v_handle),
                   "CopyAmongRemote failed");
      return;
    default:
      reply_exception(s, "Syscall not recognized");
      return;
  }
}

static void handle_init_server(mtvm_rpc_server_t* s, reader_t* r, arena_t* a) {
  uint64_t len;
  TVMValue* args;
  int* codes;
  int num;
  if (read_u64(r, &len)) {
    reply_exception(s, TVMGetLastError());
    return;
  }
  if (len > r->left) {
    reply_exception(s, "malformed InitServer: the version string does not fit");
    return;
  }
  r->p += len;
  r->left -= (size_t)len;
  if (read_packed_seq(r, a, &args, &codes, &num)) {
    reply_exception(s, TVMGetLastError());
    return;
  }
  if (num != 0) {
    reply_exception(s, "InitServer takes no arguments");
    return;
  }
  reply_void(s);
}

/* ---- server -------------------------------------------------------------------------------- */

mtvm_rpc_server_t* mtvm_rpc_server_init(size_t max_packet_size) {
  /* The smallest useful size holds an exception reply with a short message. */
  if (g_server != NULL || max_packet_size < 128) return NULL;
  mtvm_rpc_server_t* s = NULL;
  if (TVMPlatformMemoryAllocate(sizeof(*s), kCpu, (void**)&s) != kTvmErrorNoError || s == NULL) {
    return NULL;
  }
  memset(s, 0, sizeof(*s));
  s->max_packet_size = max_packet_size;
  if (TVMPlatformMemoryAllocate(max_packet_size, kCpu, (void**)&s->reply) != kTvmErrorNoError ||
      s->reply == NULL) {
    TVMPlatformMemoryFree(s, kCpu);
    return NULL;
  }
  if (mtvm_runtime_init(max_packet_size) != kTvmErrorNoError) {
    TVMPlatformMemoryFree(s->reply, kCpu);
    TVMPlatformMemoryFree(s, kCpu);
    return NULL;
  }
  g_server = s;
  return s;
}

void mtvm_rpc_server_free(mtvm_rpc_server_t* s) {
  if (s == NULL) return;
  mtvm_runtime_reset();
  mtvm_memory_release_all();
  TVMPlatformMemoryFree(s->reply, kCpu);
  TVMPlatformMemoryFree(s, kCpu);
  if (g_server == s) g_server = NULL;
}

static int send_reply(mtvm_rpc_server_t* s, mtvm_rpc_reply_fn reply, void* ctx) {
  if (s->reply_len > s->max_packet_size) {
    mtvm_set_error("the reply needs %lu bytes, more than the packet limit of %lu",
                   (unsigned long)s->reply_len, (unsigned long)s->max_packet_size);
    reply_exception(s, TVMGetLastError());
  }
  uint64_t body = s->reply_len - 8;
  for (int i = 0; i < 8; i++) s->reply[i] = (uint8_t)(body >> (8 * i));
  return reply(ctx, s->reply, s->reply_len);
}

int mtvm_rpc_server_handle(mtvm_rpc_server_t* s, const uint8_t* request, size_t len,
                           mtvm_rpc_reply_fn reply, void* ctx) {
  if (s->shut_down) return kTvmErrorPlatformShutdown;
  reader_t r = {request, len};
  uint64_t packet_len;
  int32_t code;
  if (len < 8) {
    mtvm_set_error("malformed packet: %lu bytes, shorter than its 8-byte length",
                   (unsigned long)len);
    reply_exception(s, TVMGetLastError());
    return send_reply(s, reply, ctx);
  }
  read_u64(&r, &packet_len);
  if (packet_len == 0) return kTvmErrorNoError; /* a no-op on both sides */
  /* Bytes after the packet are ignored, as TVM's server ignores them. */
  if (packet_len > r.left || read_i32(&r, &code)) {
    mtvm_set_error("malformed packet: declares %lu bytes, the message holds %lu",
                   (unsigned long)packet_len, (unsigned long)(len - 8));
    reply_exception(s, TVMGetLastError());
    return send_reply(s, reply, ctx);
  }
  r.left = (size_t)packet_len - 4;

  if (code == kRpcShutdown) {
    s->shut_down = 1;
    return kTvmErrorPlatformShutdown;
  }

  /* Copies decode one DLTensor, which fits a small stack arena (up to 58 dimensions); the bulk of
   * their bytes is used in place. Other requests decode an argument list into a heap arena of at
   * most 4 bytes per request byte (a 4-byte Null argument becomes an 8-byte value and a 4-byte
   * code, rounded to 8), plus alignment. */
  uint64_t copy_arena[64];
  int is_copy = code == kRpcCopyToRemote || code == kRpcCopyFromRemote;
  arena_t arena = {(uint8_t*)copy_arena, sizeof(copy_arena), 0};
  if (!is_copy) {
    arena.base = NULL;
    arena.size = 4 * r.left + 64;
  }
  if (!is_copy &&
      (TVMPlatformMemoryAllocate(arena.size, kCpu, (void**)&arena.base) != kTvmErrorNoError ||
       arena.base == NULL)) {
    mtvm_set_error("out of memory: %lu bytes to decode the request",
                   (unsigned long)arena.size);
    reply_exception(s, TVMGetLastError());
    return send_reply(s, reply, ctx);
  }
  mtvm_clear_error();
  switch (code) {
    case kRpcCallFunc:
      handle_call(s, &r, &arena);
      break;
    case kRpcInitServer:
      handle_init_server(s, &r, &arena);
      break;
    case kRpcCopyToRemote:
      handle_copy_to(s, &r, &arena);
      break;
    case kRpcCopyFromRemote:
      handle_copy_from(s, &r, &arena);
      break;
    case kRpcReturn:
    case kRpcException:
    case kRpcCopyAck:
      mtvm_set_error("RPC code %ld is a reply; a device only accepts requests", (long)code);
      reply_exception(s, TVMGetLastError());
      break;
    default:
      if (code >= kRpcGetGlobalFunc) {
        handle_syscall(s, code, &r, &arena);
      } else {
        mtvm_set_error("unknown RPC code %ld", (long)code);
        reply_exception(s, TVMGetLastError());
      }
      break;
  }
  if (!is_copy) TVMPlatformMemoryFree(arena.base, kCpu);
  return send_reply(s, reply, ctx);
}
