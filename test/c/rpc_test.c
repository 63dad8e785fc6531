/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Packet-level tests of the minRPC server: the worked byte examples of the protocol, every request
 * kind, the AOT executor and time evaluator on hand-written models, and an Exception reply for
 * every malformed or failing request. Ends by checking that the server released all memory.
 */
#include <microtvm/memory.h>
#include <microtvm/errors.h>
#include <microtvm/rpc_server.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/module.h>

#include "rpc_test_platform.h"
#include "rpc_test_util.h"

#define MAX_PACKET 2048

/* ---- a hand-written system library (one-byte count, as 2021 archives write it) ------------- */

static int op_add(TVMValue* args, int* codes, int num, TVMValue* ret, int* ret_code, void* res) {
  (void)ret;
  (void)ret_code;
  (void)res;
  if (num != 3 || codes[0] != kTVMDLTensorHandle || codes[1] != kTVMDLTensorHandle ||
      codes[2] != kTVMDLTensorHandle) {
    TVMAPISetLastError("add takes three tensors");
    return -1;
  }
  DLTensor* a = (DLTensor*)args[0].v_handle;
  DLTensor* b = (DLTensor*)args[1].v_handle;
  DLTensor* c = (DLTensor*)args[2].v_handle;
  int8_t* pa = (int8_t*)a->data + a->byte_offset;
  int8_t* pb = (int8_t*)b->data + b->byte_offset;
  int8_t* pc = (int8_t*)c->data + c->byte_offset;
  for (int64_t i = 0; i < a->shape[0]; i++) pc[i] = (int8_t)(pa[i] + pb[i]);
  return 0;
}

/* Returns its only argument with the same type code (Bytes are copied, as a callee must). */
static int op_echo(TVMValue* args, int* codes, int num, TVMValue* ret, int* ret_code, void* res) {
  (void)res;
  if (num != 1) return -1;
  if (codes[0] == kTVMBytes) {
    const TVMByteArray* in = (const TVMByteArray*)args[0].v_handle;
    DLDevice cpu = {kDLCPU, 0};
    TVMByteArray* out;
    void* data;
    TVMPlatformMemoryAllocate(sizeof(*out), cpu, (void**)&out);
    TVMPlatformMemoryAllocate(in->size, cpu, &data);
    memcpy(data, in->data, in->size);
    out->data = (const char*)data;
    out->size = in->size;
    ret[0].v_handle = out;
  } else {
    ret[0] = args[0];
  }
  ret_code[0] = codes[0];
  return 0;
}

static int op_fail_silent(TVMValue* args, int* codes, int num, TVMValue* ret, int* ret_code,
                          void* res) {
  (void)args, (void)codes, (void)num, (void)ret, (void)ret_code, (void)res;
  return -1;
}

static int op_fail_msg(TVMValue* args, int* codes, int num, TVMValue* ret, int* ret_code,
                       void* res) {
  (void)args, (void)codes, (void)num, (void)ret, (void)ret_code, (void)res;
  TVMAPISetLastError("boom: operator failed");
  return -1;
}

static int op_big_workspace(TVMValue* args, int* codes, int num, TVMValue* ret, int* ret_code,
                            void* res) {
  (void)args, (void)codes, (void)num, (void)ret, (void)ret_code, (void)res;
  void* p = TVMBackendAllocWorkspace(1, 0, 64, 0, 8);
  if (p == NULL) return -1;
  return TVMBackendFreeWorkspace(1, 0, p);
}

/* What TVM's generated operators do when a later workspace allocation fails: return -1 without
 * freeing the block they already hold. */
static int op_leaky_workspace(TVMValue* args, int* codes, int num, TVMValue* ret, int* ret_code,
                              void* res) {
  (void)args, (void)codes, (void)num, (void)ret, (void)ret_code, (void)res;
  void* first = TVMBackendAllocWorkspace(1, 0, 32, 0, 8);
  if (first == NULL) return -1;
  void* second = TVMBackendAllocWorkspace(1, 0, 64, 0, 8);
  if (second == NULL) return -1;
  TVMBackendFreeWorkspace(1, 0, second);
  return TVMBackendFreeWorkspace(1, 0, first);
}

/* What an AOT entry does with its operators' results: ignores them, so it returns 0. */
static int op_ignores_failure(TVMValue* args, int* codes, int num, TVMValue* ret, int* ret_code,
                              void* res) {
  (void)op_leaky_workspace(args, codes, num, ret, ret_code, res);
  return 0;
}

static const TVMBackendPackedCFunc g_lib_funcs[] = {
    op_add, op_echo, op_fail_silent, op_fail_msg, op_big_workspace, op_leaky_workspace,
    op_ignores_failure};
static const TVMFuncRegistry g_lib_registry = {
    "\007add\0echo\0fail_silent\0fail_msg\0big_workspace\0leaky_workspace\0ignores_failure\0",
    g_lib_funcs};
static const TVMModule g_lib = {&g_lib_registry};
static const TVMModule* test_system_lib(void) { return &g_lib; }

/* ---- two hand-written AOT models: out = a + b on int8[2] ------------------------------------ */

static int32_t add_pointers(void* a, void* b, void* out) {
  void* ws = TVMBackendAllocWorkspace(1, 0, 16, 0, 8); /* exercises the workspace path */
  if (ws == NULL) return -1;
  for (int i = 0; i < 2; i++) ((int8_t*)out)[i] = (int8_t)(((int8_t*)a)[i] + ((int8_t*)b)[i]);
  return TVMBackendFreeWorkspace(1, 0, ws) == 0 ? 0 : -1;
}

static int run_packed(TVMValue* args, int* codes, int num, TVMValue* ret, int* ret_code,
                      void* res) {
  (void)ret, (void)ret_code, (void)res;
  if (num != 3) return -1;
  for (int i = 0; i < 3; i++) {
    if (codes[i] != kTVMDLTensorHandle) return -1;
  }
  return add_pointers(((DLTensor*)args[0].v_handle)->data, ((DLTensor*)args[1].v_handle)->data,
                      ((DLTensor*)args[2].v_handle)->data);
}

static int32_t run_c(void* const* inputs, void* const* outputs) {
  return add_pointers(inputs[0], inputs[1], outputs[0]);
}

static const int64_t kShape2[] = {2};
static const mtvm_tensor_info_t g_add_inputs[] = {{"a", {kDLInt, 8, 1}, 1, kShape2},
                                                  {"b", {kDLInt, 8, 1}, 1, kShape2}};
static const mtvm_tensor_info_t g_add_outputs[] = {{"out", {kDLInt, 8, 1}, 1, kShape2}};

static const mtvm_model_t g_model_packed = {
    "testadd", MTVM_ENTRY_PACKED, run_packed, NULL, 2, g_add_inputs, 1, g_add_outputs,
    16,        test_system_lib};
static const mtvm_model_t g_model_c = {
    "cadd", MTVM_ENTRY_C_INTERFACE, NULL, run_c, 2, g_add_inputs, 1, g_add_outputs, 16, NULL};

/* ---- helpers ------------------------------------------------------------------------------- */

static void start_server(void) {
  g_rpc = mtvm_rpc_server_init(MAX_PACKET);
  if (g_rpc == NULL) {
    printf("not ok server init\n");
    exit(1);
  }
}

static int bytes_equal(const uint8_t* want, size_t n) {
  return g_reply.count == 1 && g_reply.len == n && memcmp(g_reply.buf, want, n) == 0;
}

static void dump_reply(void) {
  fprintf(stderr, "reply (%lu bytes):", (unsigned long)g_reply.len);
  for (size_t i = 0; i < g_reply.len && i < 64; i++) fprintf(stderr, " %02x", g_reply.buf[i]);
  fprintf(stderr, "\n");
}

static uint64_t g_sys_lib;

/* Calls `func` on one value and checks the reply's second value bytes. */
static void check_echo(uint64_t echo, const char* name, int code, const uint8_t* value, size_t n) {
  pkt_t a;
  a.len = 0;
  pkt_seq(&a, 1, &code);
  pkt_raw(&a, value, n);
  size_t off;
  int rc = rpc_call(echo, &a, &off);
  /* L | 4 | 2 | [0, code] | Int code | value */
  int ok = rc == code && rd_i32(12) == 2 && rd_i32(16) == 0 && rd_i32(20) == code &&
           g_reply.len == off + n && memcmp(g_reply.buf + off, value, n) == 0 &&
           rd_u64(0) == g_reply.len - 8;
  if (!ok) dump_reply();
  check(ok, name, "rc %d, reply of %lu bytes", rc, (unsigned long)g_reply.len);
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_worked_examples(void) {
  /* GetGlobalFunc("runtime.SystemLib") -> Return handle 0x80028000 */
  static const uint8_t get_global[] = {
      0x25, 0, 0, 0, 0, 0, 0, 0, 0x09, 0, 0, 0, 0x01, 0, 0, 0, 0x0b, 0, 0, 0, 0x11, 0, 0, 0, 0,
      0,    0, 0, 'r', 'u', 'n', 't', 'i', 'm', 'e', '.', 'S', 'y', 's', 't', 'e', 'm', 'L', 'i',
      'b'};
  static const uint8_t handle_reply[] = {0x14, 0, 0, 0, 0, 0, 0, 0, 0x04, 0, 0, 0, 0x01, 0,
                                         0,    0, 0x03, 0, 0, 0, 0x00, 0x80, 0x02, 0x80, 0, 0,
                                         0,    0};
  send_bytes(get_global, sizeof(get_global));
  check(bytes_equal(handle_reply, sizeof(handle_reply)), "3.8 GetGlobalFunc(runtime.SystemLib)",
        "reply differs");

  /* CallFunc(0x80028000) with no arguments -> Return Module 0x8000 */
  static const uint8_t call[] = {0x10, 0, 0, 0, 0, 0, 0, 0, 0x03, 0, 0, 0, 0x00, 0x80,
                                 0x02, 0x80, 0, 0, 0, 0, 0, 0, 0, 0};
  static const uint8_t module_reply[] = {0x20, 0, 0, 0, 0, 0, 0, 0, 0x04, 0, 0, 0, 0x02, 0, 0, 0,
                                         0,    0, 0, 0, 3, 0, 0, 0, 0x09, 0, 0, 0, 0, 0, 0, 0,
                                         0x00, 0x80, 0, 0, 0, 0, 0, 0};
  send_bytes(call, sizeof(call));
  check(bytes_equal(module_reply, sizeof(module_reply)), "3.8 CallFunc -> Module 0x8000",
        "reply differs");
  g_sys_lib = 0x8000;

  /* CopyToRemote uint8[1,2], bytes 02 03: the example's bytes with the address replaced by a
   * block allocated on this device (the server refuses addresses it did not hand out). */
  uint64_t addr = rpc_alloc(2);
  uint8_t copy_to[] = {0x3e, 0, 0, 0, 0, 0, 0, 0, 0x07, 0, 0, 0, 0x00, 0x10, 0, 0, 0, 0, 0, 0,
                       0x01, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0x01, 0x08, 0x01, 0, 0x01, 0, 0,
                       0,    0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
                       0,    0, 0, 0, 0, 0, 0, 0x02, 0x03};
  static const uint8_t void_reply[] = {0x0c, 0, 0, 0, 0, 0, 0, 0, 0x04, 0, 0, 0,
                                       0x01, 0, 0, 0, 0x04, 0, 0, 0};
  for (int i = 0; i < 8; i++) copy_to[12 + i] = (uint8_t)(addr >> (8 * i));
  send_bytes(copy_to, sizeof(copy_to));
  check(bytes_equal(void_reply, sizeof(void_reply)), "3.8 CopyToRemote -> ReturnVoid",
        "reply differs");

  /* CopyFromRemote of the same tensor, 2 bytes (L = 0x3c) -> CopyAck 02 03 */
  uint8_t copy_from[0x3c + 8];
  memcpy(copy_from, copy_to, sizeof(copy_from));
  copy_from[0] = 0x3c;
  copy_from[8] = 0x06;
  static const uint8_t ack[] = {0x06, 0, 0, 0, 0, 0, 0, 0, 0x08, 0, 0, 0, 0x02, 0x03};
  send_bytes(copy_from, sizeof(copy_from));
  check(bytes_equal(ack, sizeof(ack)), "3.8 CopyFromRemote -> CopyAck", "reply differs");

  /* A zero-length packet is a no-op: no reply. */
  static const uint8_t empty[8] = {0};
  send_bytes(empty, 8);
  check(g_reply.count == 0 && g_reply.status == 0, "zero-length packet has no reply",
        "count %d status %d", g_reply.count, g_reply.status);
}

static void test_globals_and_modules(void) {
  check(rpc_get_global("no.such.function") == 0, "GetGlobalFunc unknown name -> handle 0",
        "nonzero handle");
  check(rpc_get_global("tvm.rpc.server.ModuleGetFunction") == 0x80028001u,
        "global function handles follow TVM's order", "unexpected handle");

  size_t off;
  uint64_t max_size = rpc_get_global("tvm.rpc.server.GetCRTMaxPacketSize");
  int rc = rpc_call0(max_size, &off);
  check(rc == kTVMArgInt && rd_u64(off) == MAX_PACKET - 11, "GetCRTMaxPacketSize = MAX - 11",
        "rc %d value %lu", rc, (unsigned long)rd_u64(off));

  uint64_t add = rpc_get_function(g_sys_lib, "add");
  check(add == 0x80008000u, "ModuleGetFunction(system lib, add) in a one-byte-count registry",
        "handle 0x%lx", (unsigned long)add);
  uint64_t last = rpc_get_function(g_sys_lib, "big_workspace");
  check(last == 0x80008004u, "one-byte-count registry finds its last name", "handle 0x%lx",
        (unsigned long)last);
  check(rpc_get_function(g_sys_lib, "nope") == 0 && reply_code() == 4 && rd_i32(20) == kTVMNullptr,
        "ModuleGetFunction unknown name -> Null, not an error", "reply code %d", reply_code());

  /* test_crt.py's add: a = [2, 3], b = [4, 4] -> c = [6, 7] through DevAllocDataWithScope */
  uint64_t buf[3];
  const int64_t shape[1] = {2};
  for (int i = 0; i < 3; i++) {
    pkt_t p;
    int codes[2] = {kTVMDLTensorHandle, kTVMNullptr};
    pkt_begin(&p, 17);
    pkt_seq(&p, 2, codes);
    pkt_tensor(&p, 0, 1, shape, kDLInt, 8, 0);
    pkt_end(&p);
    send_pkt(&p);
    buf[i] = reply_code() == 4 ? rd_u64(20) : 0;
    check(buf[i] != 0 && buf[i] % 64 == 0, "DevAllocDataWithScope -> 64-byte aligned pointer",
          "got 0x%lx", (unsigned long)buf[i]);
  }
  int8_t a[2] = {2, 3}, b[2] = {4, 4}, c[2] = {0, 0};
  rpc_copy_to(buf[0], 1, shape, kDLInt, 8, 0, a, 2);
  rpc_copy_to(buf[1], 1, shape, kDLInt, 8, 0, b, 2);
  pkt_t args;
  int codes3[3] = {kTVMDLTensorHandle, kTVMDLTensorHandle, kTVMDLTensorHandle};
  args.len = 0;
  pkt_seq(&args, 3, codes3);
  for (int i = 0; i < 3; i++) pkt_tensor(&args, buf[i], 1, shape, kDLInt, 8, 0);
  rc = rpc_call(add, &args, NULL);
  rpc_copy_from(buf[2], 1, shape, kDLInt, 8, 0, c, 2);
  check(rc == kTVMNullptr && c[0] == 6 && c[1] == 7, "system-lib add on device tensors",
        "rc %d c = [%d, %d]", rc, c[0], c[1]);

  /* Chunked copy: a second chunk at byte_offset 1 overwrites one byte. */
  int8_t seven = 9;
  rpc_copy_to(buf[2], 1, shape, kDLInt, 8, 1, &seven, 1);
  rpc_copy_from(buf[2], 1, shape, kDLInt, 8, 0, c, 2);
  check(c[0] == 6 && c[1] == 9, "copy honours byte_offset", "c = [%d, %d]", c[0], c[1]);

  /* CopyAmongRemote copies the full `from` tensor. */
  pkt_t p;
  int codes_among[3] = {kTVMDLTensorHandle, kTVMDLTensorHandle, kTVMOpaqueHandle};
  pkt_begin(&p, 16);
  pkt_seq(&p, 3, codes_among);
  pkt_tensor(&p, buf[2], 1, shape, kDLInt, 8, 0);
  pkt_tensor(&p, buf[0], 1, shape, kDLInt, 8, 0);
  pkt_u64(&p, 0);
  pkt_end(&p);
  send_pkt(&p);
  rpc_copy_from(buf[0], 1, shape, kDLInt, 8, 0, c, 2);
  check(reply_code() == 8 && c[0] == 6 && c[1] == 9, "CopyAmongRemote", "c = [%d, %d]", c[0],
        c[1]);

  /* random_fill writes the platform's random bytes into a device tensor. */
  uint64_t fill = rpc_get_global("tvm.contrib.random.random_fill");
  args.len = 0;
  pkt_seq(&args, 1, codes3);
  pkt_tensor(&args, buf[0], 1, shape, kDLInt, 8, 0);
  rc = rpc_call(fill, &args, NULL);
  check(rc == kTVMNullptr, "random_fill", "rc %d (%s)", rc, reply_message());

  /* Stream syscalls are no-ops. */
  int dev_handle[2] = {kDLDevice, kTVMOpaqueHandle};
  int stream_codes[] = {15, 19, 20};
  for (int i = 0; i < 3; i++) {
    pkt_begin(&p, stream_codes[i]);
    pkt_seq(&p, 2, dev_handle);
    pkt_i32(&p, 1);
    pkt_i32(&p, 0);
    pkt_u64(&p, 0);
    pkt_end(&p);
    send_pkt(&p);
    check(reply_code() == 4 && rd_i32(16) == kTVMNullptr, "stream syscall -> void", "code %d",
          stream_codes[i]);
  }
  pkt_begin(&p, 18);
  pkt_seq(&p, 1, dev_handle);
  pkt_i32(&p, 1);
  pkt_i32(&p, 0);
  pkt_end(&p);
  send_pkt(&p);
  check(reply_code() == 4 && rd_i32(16) == kTVMOpaqueHandle && rd_u64(20) == 0,
        "DevCreateStream -> null stream", "code %d", reply_code());

  /* DevFreeData releases; a second free is refused. */
  int free_codes[2] = {kDLDevice, kTVMOpaqueHandle};
  for (int round = 0; round < 2; round++) {
    pkt_begin(&p, 14);
    pkt_seq(&p, 2, free_codes);
    pkt_i32(&p, 1);
    pkt_i32(&p, 0);
    pkt_u64(&p, buf[0]);
    pkt_end(&p);
    send_pkt(&p);
    if (round == 0) {
      check(reply_code() == 4 && rd_i32(16) == kTVMNullptr, "DevFreeData", "code %d",
            reply_code());
    } else {
      check(reply_is_exception("not allocated"), "DevFreeData twice -> Exception", "%s",
            reply_message());
    }
  }

  /* InitServer: version string and an empty sequence -> void. */
  pkt_begin(&p, 2);
  pkt_str(&p, "0.8.0");
  pkt_i32(&p, 0);
  pkt_end(&p);
  send_pkt(&p);
  check(reply_code() == 4 && rd_i32(16) == kTVMNullptr, "InitServer -> void", "code %d",
        reply_code());
}

static void test_value_types(void) {
  uint64_t echo = rpc_get_function(g_sys_lib, "echo");
  uint8_t v[32];
  memset(v, 0, sizeof(v));
  uint64_t i = (uint64_t)-42;
  for (int k = 0; k < 8; k++) v[k] = (uint8_t)(i >> (8 * k));
  check_echo(echo, "Int value round trip", kTVMArgInt, v, 8);
  double d = 2.5;
  uint64_t bits;
  memcpy(&bits, &d, 8);
  for (int k = 0; k < 8; k++) v[k] = (uint8_t)(bits >> (8 * k));
  check_echo(echo, "Float value round trip", kTVMArgFloat, v, 8);
  check_echo(echo, "UInt value round trip", kDLUInt, v, 8);
  check_echo(echo, "Bool value round trip", kTVMArgBool, v, 8);
  check_echo(echo, "OpaqueHandle value round trip", kTVMOpaqueHandle, v, 8);
  uint8_t dtype[8] = {2, 32, 1, 0, 0, 0, 0, 0};
  check_echo(echo, "DataType value round trip (4 bytes + padding)", kTVMDataType, dtype, 8);
  uint8_t dev[8] = {1, 0, 0, 0, 0, 0, 0, 0};
  check_echo(echo, "Device value round trip", kDLDevice, dev, 8);
  uint8_t str[13] = {5, 0, 0, 0, 0, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'};
  check_echo(echo, "Str value round trip", kTVMStr, str, 13);
  uint8_t bytes[11] = {3, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 7};
  check_echo(echo, "Bytes value round trip (freed after sending)", kTVMBytes, bytes, 11);
  check_echo(echo, "Null value adds no bytes", kTVMNullptr, v, 0);
  pkt_t tensor;
  const int64_t shape[2] = {3, 5};
  tensor.len = 0;
  pkt_tensor(&tensor, 0x4000, 2, shape, kDLFloat, 32, 16);
  check_echo(echo, "DLTensor value round trip (32 + 8 * ndim bytes)", kTVMDLTensorHandle,
             tensor.buf, tensor.len);

  /* Module and PackedFunc handles come back as opaque u64 after the real code. */
  pkt_t a;
  int code = kTVMModuleHandle;
  a.len = 0;
  pkt_seq(&a, 1, &code);
  pkt_u64(&a, 0x8000);
  size_t off;
  int rc = rpc_call(echo, &a, &off);
  check(rc == kTVMModuleHandle && rd_i32(20) == kTVMOpaqueHandle && rd_u64(off) == 0x8000,
        "Module return -> [0 = 9, 3 = handle]", "rc %d", rc);

  /* An ObjectHandle argument (v0.17+): type index 9, then the handle. */
  code = kTVMObjectHandle;
  a.len = 0;
  pkt_seq(&a, 1, &code);
  pkt_i32(&a, 9);
  pkt_u64(&a, 0x1234);
  rc = rpc_call(echo, &a, &off);
  check(rc == kTVMObjectHandle && rd_u64(off) == 0x1234, "ObjectHandle argument accepted",
        "rc %d", rc);
}

static uint64_t create_aot(const char* name) {
  uint64_t create = rpc_get_global("tvm.aot_executor.create");
  pkt_t a;
  int codes[3] = {kTVMModuleHandle, kDLDevice, kTVMStr};
  a.len = 0;
  pkt_seq(&a, 3, codes);
  pkt_u64(&a, g_sys_lib);
  pkt_i32(&a, 1);
  pkt_i32(&a, 0);
  pkt_str(&a, name);
  size_t off;
  int rc = rpc_call(create, &a, &off);
  return rc == kTVMModuleHandle ? rd_u64(off) : 0;
}

static int call_int(uint64_t f, int code, int64_t value, size_t* off) {
  pkt_t a;
  a.len = 0;
  pkt_seq(&a, 1, &code);
  pkt_u64(&a, (uint64_t)value);
  return rpc_call(f, &a, off);
}

static int call_str(uint64_t f, const char* s, size_t* off) {
  pkt_t a;
  int code = kTVMStr;
  a.len = 0;
  pkt_seq(&a, 1, &code);
  pkt_str(&a, s);
  return rpc_call(f, &a, off);
}

/* Runs out = a + b through an AOT executor module; returns the NDArray handles' data. */
static void test_aot_model(const char* model) {
  char name[96];
  uint64_t mod = create_aot(model);
  snprintf(name, sizeof(name), "aot %s: tvm.aot_executor.create -> module", model);
  if (!check(mod == 0x8001, name, "handle 0x%lx (%s)", (unsigned long)mod, reply_message())) return;

  uint64_t get_input = rpc_get_function(mod, "get_input");
  uint64_t get_output = rpc_get_function(mod, "get_output");
  uint64_t run = rpc_get_function(mod, "run");
  uint64_t num_inputs = rpc_get_function(mod, "get_num_inputs");
  uint64_t num_outputs = rpc_get_function(mod, "get_num_outputs");
  uint64_t input_index = rpc_get_function(mod, "get_input_index");
  uint64_t input_name = rpc_get_function(mod, "get_input_name");
  snprintf(name, sizeof(name), "aot %s: module functions resolve", model);
  check(get_input && get_output && run && num_inputs && num_outputs && input_index && input_name,
        name, "a function is missing");

  size_t off;
  int rc = rpc_call0(num_inputs, &off);
  snprintf(name, sizeof(name), "aot %s: get_num_inputs = 2", model);
  check(rc == kTVMArgInt && rd_u64(off) == 2, name, "rc %d", rc);
  rc = rpc_call0(num_outputs, &off);
  snprintf(name, sizeof(name), "aot %s: get_num_outputs = 1", model);
  check(rc == kTVMArgInt && rd_u64(off) == 1, name, "rc %d", rc);
  rc = call_str(input_index, "b", &off);
  snprintf(name, sizeof(name), "aot %s: get_input_index(b) = 1", model);
  check(rc == kTVMArgInt && rd_u64(off) == 1, name, "rc %d", rc);
  rc = call_int(input_name, kTVMArgInt, 1, &off);
  snprintf(name, sizeof(name), "aot %s: get_input_name(1) = b", model);
  check(rc == kTVMStr && rd_u64(off) == 1 && g_reply.buf[off + 8] == 'b', name, "rc %d", rc);

  const int64_t shape[1] = {2};
  int8_t in[2][2] = {{2, 3}, {4, 4}};
  uint64_t handles[3];
  for (int i = 0; i < 2; i++) {
    rc = i == 0 ? call_int(get_input, kTVMArgInt, 0, &off) : call_str(get_input, "b", &off);
    /* [0 = 13, 7 = DLTensor, 3 = handle] */
    snprintf(name, sizeof(name), "aot %s: get_input(%d) -> NDArray [13, 7, 3]", model, i);
    int ok = rc == kTVMNDArrayHandle && rd_i32(12) == 3 && rd_i32(20) == kTVMDLTensorHandle &&
             rd_i32(24) == kTVMOpaqueHandle && rd_i32(off + 16) == 1 && g_reply.buf[off + 20] == 0 &&
             g_reply.buf[off + 21] == 8 && rd_u64(off + 24) == 2;
    check(ok, name, "rc %d", rc);
    uint64_t data = rd_u64(off);
    handles[i] = rd_u64(off + 40);
    rpc_copy_to(data, 1, shape, kDLInt, 8, 0, in[i], 2);
  }
  rc = rpc_call0(run, &off);
  snprintf(name, sizeof(name), "aot %s: run -> Null", model);
  check(rc == kTVMNullptr, name, "rc %d (%s)", rc, reply_message());
  rc = call_int(get_output, kTVMArgInt, 0, &off);
  int8_t out[2] = {0, 0};
  handles[2] = rd_u64(off + 40);
  rpc_copy_from(rd_u64(off), 1, shape, kDLInt, 8, 0, out, 2);
  snprintf(name, sizeof(name), "aot %s: output = [6, 7]", model);
  check(rc == kTVMNDArrayHandle && out[0] == 6 && out[1] == 7, name, "rc %d out [%d, %d]", rc,
        out[0], out[1]);
  for (int i = 0; i < 3; i++) {
    snprintf(name, sizeof(name), "aot %s: FreeHandle(array, 13)", model);
    check(rpc_free_handle(handles[i], kTVMNDArrayHandle) == 0, name, "%s", reply_message());
  }

  /* Q-R4 fixed: bad indices and names are Exceptions, not an abort or the next tensor. */
  rc = call_int(get_input, kTVMArgInt, 2, &off);
  snprintf(name, sizeof(name), "aot %s: get_input(num_inputs) -> Exception", model);
  check(rc == -1 && reply_is_exception("index 2"), name, "%s", reply_message());
  rc = call_str(get_input, "missing", &off);
  snprintf(name, sizeof(name), "aot %s: get_input(unknown name) -> Exception", model);
  check(rc == -1 && reply_is_exception("missing"), name, "%s", reply_message());
  rc = call_str(input_index, "missing", &off);
  snprintf(name, sizeof(name), "aot %s: get_input_index(unknown) -> Exception", model);
  check(rc == -1 && reply_is_exception("missing"), name, "%s", reply_message());
  rc = call_int(get_output, kTVMArgInt, 1, &off);
  snprintf(name, sizeof(name), "aot %s: get_output(num_outputs) -> Exception", model);
  check(rc == -1 && reply_is_exception("index 1"), name, "%s", reply_message());
  rc = rpc_call0(rpc_get_function(mod, "set_input"), &off);
  snprintf(name, sizeof(name), "aot %s: set_input -> Exception (not implemented)", model);
  check(rc == -1 && reply_is_exception("not implemented"), name, "%s", reply_message());

  /* Workspace exhaustion during run is an Exception; the device keeps serving. */
  test_platform_fail_allocations_after(1); /* the request arena succeeds, the workspace fails */
  rc = rpc_call0(run, &off);
  test_platform_fail_allocations_after(-1);
  snprintf(name, sizeof(name), "aot %s: run out of workspace -> Exception", model);
  check(rc == -1 && reply_is_exception("out of memory"), name, "%s", reply_message());

  /* One executor at a time; freeing its module allows a new one (Q-R5 relaxed). */
  snprintf(name, sizeof(name), "aot %s: second create -> Exception", model);
  check(create_aot(model) == 0 && reply_is_exception("exists already"), name, "%s",
        reply_message());
  snprintf(name, sizeof(name), "aot %s: FreeHandle(module, 9)", model);
  check(rpc_free_handle(mod, kTVMModuleHandle) == 0, name, "%s", reply_message());
  snprintf(name, sizeof(name), "aot %s: freed executor module's functions -> Exception", model);
  check(rpc_call0(run, &off) == -1 && reply_is_exception(NULL), name, "%s", reply_message());
}

static void test_time_evaluator(void) {
  uint64_t mod = create_aot("testadd");
  uint64_t create = rpc_get_global("runtime.RPCTimeEvaluator");
  for (int version = 0; version < 2; version++) {
    int n = version == 0 ? 12 : 11; /* v0.14+ / v0.10-v0.13 */
    int codes[12];
    pkt_t a;
    codes[0] = kTVMModuleHandle;
    codes[1] = kTVMStr;
    for (int i = 2; i < n - 1; i++) codes[i] = kTVMArgInt;
    codes[n - 1] = kTVMStr;
    a.len = 0;
    pkt_seq(&a, n, codes);
    pkt_u64(&a, mod);
    pkt_str(&a, "run");
    int64_t ints[9] = {1, 0, 5, 3, 0, 100, 0, 1, 0}; /* number 5, repeat 3 */
    for (int i = 0; i < n - 3; i++) pkt_u64(&a, (uint64_t)ints[i]);
    pkt_str(&a, "");
    size_t off;
    int rc = rpc_call(create, &a, &off);
    uint64_t timer = rd_u64(off);
    check(rc == kTVMPackedFuncHandle && (timer & 0xffff0000u) == 0xffff0000u,
          n == 12 ? "RPCTimeEvaluator (12 args) -> function 0xffff8xxx"
                  : "RPCTimeEvaluator (11 args) -> function",
          "rc %d handle 0x%lx (%s)", rc, (unsigned long)timer, reply_message());
    rc = rpc_call0(timer, &off);
    /* [0 = 12, 12 = 3 float64] */
    int ok = rc == kTVMBytes && rd_i32(20) == kTVMBytes && rd_u64(off) == 24 &&
             g_reply.len == off + 8 + 24;
    for (int r = 0; ok && r < 3; r++) {
      double t;
      uint64_t b = rd_u64(off + 8 + 8 * (size_t)r);
      memcpy(&t, &b, 8);
      ok = t >= 0 && t < 1.0;
    }
    check(ok, "time evaluator returns repeat float64 seconds", "rc %d", rc);
    if (version == 1) {
      /* The first evaluator's handle is stale now. */
      uint64_t stale = timer - 1;
      rc = rpc_call0(stale, &off);
      check(rc == -1 && reply_is_exception("stale"), "stale time evaluator -> Exception", "%s",
            reply_message());
    }
  }
  pkt_t a;
  int codes[3] = {kTVMModuleHandle, kTVMStr, kTVMArgInt};
  a.len = 0;
  pkt_seq(&a, 3, codes);
  pkt_u64(&a, mod);
  pkt_str(&a, "run");
  pkt_u64(&a, 1);
  check(rpc_call(create, &a, NULL) == -1 && reply_is_exception("11 or 12"),
        "RPCTimeEvaluator with 3 args -> Exception", "%s", reply_message());
  rpc_free_handle(mod, kTVMModuleHandle);
}

/* Sends a syscall with the given argument codes and 8 zero bytes per argument. */
static void send_syscall_zeros(int32_t code, int num, const int* codes) {
  pkt_t p;
  pkt_begin(&p, code);
  pkt_seq(&p, num, codes);
  for (int i = 0; i < num; i++) pkt_u64(&p, 0);
  pkt_end(&p);
  send_pkt(&p);
}

static void test_errors(void) {
  pkt_t p;
  size_t off;
  const int64_t shape[1] = {4};

  static const uint8_t short_msg[4] = {1, 2, 3, 4};
  send_bytes(short_msg, 4);
  check(reply_is_exception("shorter than its 8-byte length"), "message under 8 bytes -> Exception",
        "%s", reply_message());

  pkt_begin(&p, 9);
  pkt_i32(&p, 1);
  pkt_end(&p);
  p.len -= 2; /* cut off */
  send_pkt(&p);
  check(reply_is_exception("declares"), "packet longer than its message -> Exception", "%s",
        reply_message());

  static const uint8_t len2[10] = {2, 0, 0, 0, 0, 0, 0, 0, 9, 0};
  send_bytes(len2, 10);
  check(reply_is_exception("malformed"), "packet shorter than its code -> Exception", "%s",
        reply_message());

  int32_t bad_codes[] = {0, -1, 4, 5, 8, 21, 99};
  for (size_t i = 0; i < sizeof(bad_codes) / sizeof(bad_codes[0]); i++) {
    pkt_begin(&p, bad_codes[i]);
    pkt_i32(&p, 0);
    pkt_end(&p);
    send_pkt(&p);
    char name[64];
    snprintf(name, sizeof(name), "RPC code %d -> Exception", bad_codes[i]);
    check(reply_is_exception(NULL), name, "code %d", reply_code());
  }

  int one_int = kTVMArgInt;
  send_syscall_zeros(9, 1, &one_int);
  check(reply_is_exception("expects argument type codes [11]"),
        "GetGlobalFunc with an Int -> Exception", "%s", reply_message());
  send_syscall_zeros(10, 1, &one_int);
  check(reply_is_exception("[3,0]"), "FreeHandle with wrong arguments -> Exception", "%s",
        reply_message());
  check(rpc_free_handle(0x1234, 3) == -1 && reply_is_exception("type code 3"),
        "FreeHandle of type code 3 -> Exception", "%s", reply_message());
  check(rpc_free_handle(0xdead0, kTVMNDArrayHandle) == -1 && reply_is_exception("not a live array"),
        "FreeHandle of an unknown array -> Exception", "%s", reply_message());
  check(rpc_free_handle(0x8003, kTVMModuleHandle) == -1 && reply_is_exception("module"),
        "FreeHandle of an unknown module -> Exception", "%s", reply_message());
  check(rpc_free_handle(g_sys_lib, kTVMModuleHandle) == 0 && rpc_get_function(g_sys_lib, "add"),
        "the system library is never freed", "%s", reply_message());

  send_syscall_zeros(11, 0, NULL);
  check(reply_is_exception("SetDevice not supported"), "DevSetDevice -> Exception", "%s",
        reply_message());
  send_syscall_zeros(12, 0, NULL);
  check(reply_is_exception("GetAttr not supported"), "DevGetAttr -> Exception", "%s",
        reply_message());

  /* DevAllocData: negative size, bad alignment, out of memory. */
  int alloc_codes[4] = {kDLDevice, kTVMArgInt, kTVMArgInt, kTVMDataType};
  int64_t cases[3][2] = {{-1, 64}, {16, 3}, {16, 64}};
  const char* names[3] = {"DevAllocData negative size -> Exception",
                          "DevAllocData alignment 3 -> Exception",
                          "DevAllocData out of memory -> Exception"};
  const char* want[3] = {"invalid", "power of two", "out of memory"};
  for (int i = 0; i < 3; i++) {
    pkt_begin(&p, 13);
    pkt_seq(&p, 4, alloc_codes);
    pkt_i32(&p, 1);
    pkt_i32(&p, 0);
    pkt_u64(&p, (uint64_t)cases[i][0]);
    pkt_u64(&p, (uint64_t)cases[i][1]);
    pkt_u64(&p, 0);
    pkt_end(&p);
    if (i == 2) test_platform_fail_allocations_after(1);
    send_pkt(&p);
    test_platform_fail_allocations_after(-1);
    check(reply_is_exception(want[i]), names[i], "%s", reply_message());
  }

  /* No memory even for the request's argument arena. */
  test_platform_fail_allocations_after(0);
  rpc_get_global("runtime.SystemLib");
  test_platform_fail_allocations_after(-1);
  check(reply_is_exception("out of memory"), "no memory to decode a request -> Exception", "%s",
        reply_message());

  /* Bad function handles. */
  check(rpc_call0(0x12345678, &off) == -1 && reply_is_exception("not a function handle"),
        "CallFunc with a garbage handle -> Exception", "%s", reply_message());
  check(rpc_call0(0x80038000u, &off) == -1 && reply_is_exception("not loaded"),
        "CallFunc on an unloaded module -> Exception", "%s", reply_message());
  check(rpc_call0(0x80028000u + 40, &off) == -1 && reply_is_exception("no global function"),
        "CallFunc with a bad global index -> Exception", "%s", reply_message());
  check(rpc_call0(0x80008000u + 40, &off) == -1 && reply_is_exception("no function"),
        "CallFunc with a bad module function index -> Exception", "%s", reply_message());
  check(rpc_call0(0x1ffff8000ull, &off) == -1 && reply_is_exception(NULL),
        "CallFunc with a 64-bit handle -> Exception", "%s", reply_message());

  /* Failing functions. */
  check(rpc_call0(rpc_get_function(g_sys_lib, "fail_msg"), &off) == -1 &&
            reply_is_exception("boom: operator failed"),
        "function error -> Exception with its message", "%s", reply_message());
  check(rpc_call0(rpc_get_function(g_sys_lib, "fail_silent"), &off) == -1 &&
            reply_is_exception("the function failed (error 0xffffffff)"),
        "function error without a message -> Exception naming the code", "%s", reply_message());
  uint64_t big_workspace = rpc_get_function(g_sys_lib, "big_workspace");
  test_platform_fail_allocations_after(1);
  check(rpc_call0(big_workspace, &off) == -1,
        "TVMBackendAllocWorkspace out of memory -> NULL -> Exception", "%s", reply_message());
  test_platform_fail_allocations_after(-1);
  check(reply_is_exception("workspace"), "workspace failure message", "%s", reply_message());

  /* An operator that fails part-way leaves a block allocated, and a caller that ignores the
   * failure returns 0: the call still fails, and nothing stays allocated. The request arena is
   * the first allocation, the operator's first block the second. */
  const char* leaky_names[2] = {"leaky_workspace", "ignores_failure"};
  for (int i = 0; i < 2; i++) {
    uint64_t leaky = rpc_get_function(g_sys_lib, leaky_names[i]);
    long before = test_platform_live_blocks();
    test_platform_fail_allocations_after(2);
    int leaky_rc = rpc_call0(leaky, &off);
    test_platform_fail_allocations_after(-1);
    char leaky_name[96];
    snprintf(leaky_name, sizeof(leaky_name), "%s: a workspace failure -> Exception, its blocks freed",
             leaky_names[i]);
    check(leaky_rc == -1 && reply_is_exception("workspace") &&
              test_platform_live_blocks() == before,
          leaky_name, "rc %d, %ld blocks left (%s)", leaky_rc, test_platform_live_blocks() - before,
          reply_message());
  }

  /* Malformed argument lists. */
  uint64_t echo = rpc_get_function(g_sys_lib, "echo");
  pkt_t a;
  int code13 = kTVMNDArrayHandle, code42 = 42, code_obj = kTVMObjectHandle, code_str = kTVMStr;
  a.len = 0;
  pkt_seq(&a, 1, &code13);
  pkt_u64(&a, 0);
  check(rpc_call(echo, &a, &off) == -1 && reply_is_exception("never sent"),
        "type code 13 argument -> Exception", "%s", reply_message());
  a.len = 0;
  pkt_seq(&a, 1, &code42);
  pkt_u64(&a, 0);
  check(rpc_call(echo, &a, &off) == -1 && reply_is_exception("type code 42"),
        "unknown type code -> Exception", "%s", reply_message());
  a.len = 0;
  pkt_seq(&a, 1, &code_obj);
  pkt_i32(&a, 3);
  pkt_u64(&a, 0);
  check(rpc_call(echo, &a, &off) == -1 && reply_is_exception("type index 3"),
        "object with a wrong type index -> Exception", "%s", reply_message());
  a.len = 0;
  pkt_seq(&a, 1, &code_str);
  pkt_u64(&a, 1000);
  pkt_raw(&a, "abc", 3);
  check(rpc_call(echo, &a, &off) == -1 && reply_is_exception("does not fit"),
        "string longer than the packet -> Exception", "%s", reply_message());
  a.len = 0;
  pkt_i32(&a, 1000000);
  check(rpc_call(echo, &a, &off) == -1 && reply_is_exception("arguments do not fit"),
        "argument count larger than the packet -> Exception", "%s", reply_message());
  int code_t = kTVMDLTensorHandle;
  a.len = 0;
  pkt_seq(&a, 1, &code_t);
  pkt_u64(&a, 0);
  pkt_i32(&a, 1);
  pkt_i32(&a, 0);
  pkt_i32(&a, 100000);
  pkt_i32(&a, 0x00010800);
  check(rpc_call(echo, &a, &off) == -1 && reply_is_exception("ndim"),
        "DLTensor ndim larger than the packet -> Exception", "%s", reply_message());
  a.len = 0;
  pkt_seq(&a, 1, &one_int);
  pkt_u64(&a, 1);
  pkt_i32(&a, 7);
  check(rpc_call(echo, &a, &off) == -1 && reply_is_exception("after the arguments"),
        "trailing bytes -> Exception", "%s", reply_message());

  /* Copies outside device memory, and inconsistent copy requests. */
  uint8_t data[4] = {1, 2, 3, 4};
  check(rpc_copy_to(0x1000, 1, shape, kDLUInt, 8, 0, data, 4) == -1 &&
            reply_is_exception("outside memory allocated"),
        "CopyToRemote to an unknown address -> Exception", "%s", reply_message());
  uint64_t block = rpc_alloc(4);
  check(rpc_copy_to(block, 1, shape, kDLUInt, 8, 62, data, 4) == -1 &&
            reply_is_exception("outside memory allocated"),
        "CopyToRemote past the end of a block -> Exception", "%s", reply_message());
  check(rpc_copy_from(block, 1, shape, kDLUInt, 8, 0, data, 4) == 0,
        "CopyFromRemote inside a block", "%s", reply_message());
  pkt_begin(&p, 7);
  pkt_tensor(&p, block, 1, shape, kDLUInt, 8, 0);
  pkt_u64(&p, 4);
  pkt_raw(&p, data, 2);
  pkt_end(&p);
  send_pkt(&p);
  check(reply_is_exception("declares 4 data bytes, carries 2"),
        "CopyToRemote with fewer data bytes than declared -> Exception", "%s", reply_message());
  uint64_t big = rpc_alloc(4096);
  uint8_t sink[4096];
  check(rpc_copy_from(big, 1, shape, kDLUInt, 8, 0, sink, 4000) == -1 &&
            reply_is_exception("does not fit one reply"),
        "CopyFromRemote larger than a reply -> Exception", "%s", reply_message());

  /* A reply that outgrows the packet limit becomes an Exception. */
  static char long_str[MAX_PACKET];
  memset(long_str, 'x', sizeof(long_str) - 1);
  /* The request's L is 28 + n, at most MAX - 11; the reply is 40 + n bytes: 1 too many. */
  long_str[MAX_PACKET - 11 - 28] = '\0';
  a.len = 0;
  pkt_seq(&a, 1, &code_str);
  pkt_str(&a, long_str);
  check(rpc_call(echo, &a, &off) == -1 && reply_is_exception("more than the packet limit"),
        "reply over the packet limit -> Exception", "%s", reply_message());
}

static int g_lambda_calls;
static int count_lambda(int task_id, TVMParallelGroupEnv* penv, void* cdata) {
  g_lambda_calls += task_id == 0 && penv->num_task == 1 && cdata == &g_lambda_calls;
  return 0;
}

static void test_backend(void) {
  check(TVMBackendParallelLaunch(count_lambda, &g_lambda_calls, 4) == 0 && g_lambda_calls == 1,
        "TVMBackendParallelLaunch runs the region once as task 0 of 1", "%d calls",
        g_lambda_calls);
  /* Generated code passes the function as a void*; ISO C only allows that through memcpy. */
  TVMBackendPackedCFunc echo_fn = op_echo;
  void* echo_ptr;
  memcpy(&echo_ptr, &echo_fn, sizeof(echo_ptr));
  check(TVMBackendRegisterSystemLibSymbol("test.registered", echo_ptr) == 0 &&
            rpc_get_global("test.registered") == 0x8002800au,
        "TVMBackendRegisterSystemLibSymbol adds a global function", "%s", reply_message());
  size_t off;
  pkt_t a;
  int code = kTVMArgInt;
  a.len = 0;
  pkt_seq(&a, 1, &code);
  pkt_u64(&a, 77);
  check(rpc_call(0x8002800au, &a, &off) == kTVMArgInt && rd_u64(off) == 77,
        "a registered global function is callable", "%s", reply_message());
  TVMFunctionHandle f = NULL;
  check(TVMBackendGetFuncFromEnv(NULL, "runtime.SystemLib", &f) == 0 && f != NULL &&
            TVMBackendGetFuncFromEnv(NULL, "nope", &f) == kTvmErrorFunctionNameNotFound,
        "TVMBackendGetFuncFromEnv", "failed");

  /* Unknown model names and memory scopes are refused. */
  check(create_aot("no_such_model") == 0 && reply_is_exception("no model named \"no_such_model\""),
        "tvm.aot_executor.create with an unknown model -> Exception", "%s", reply_message());
  pkt_t p;
  int codes[2] = {kTVMDLTensorHandle, kTVMStr};
  const int64_t shape[1] = {2};
  pkt_begin(&p, 17);
  pkt_seq(&p, 2, codes);
  pkt_tensor(&p, 0, 1, shape, kDLInt, 8, 0);
  pkt_str(&p, "texture");
  pkt_end(&p);
  send_pkt(&p);
  check(reply_is_exception("memory scope \"texture\""), "DevAllocDataWithScope texture -> Exception",
        "%s", reply_message());
  pkt_begin(&p, 17);
  pkt_seq(&p, 2, codes);
  pkt_tensor(&p, 0, 1, shape, kDLInt, 8, 0);
  pkt_str(&p, "global");
  pkt_end(&p);
  send_pkt(&p);
  check(reply_code() == 4 && rd_i32(16) == kTVMOpaqueHandle, "DevAllocDataWithScope global",
        "%s", reply_message());
}

static void test_registry_forms(void) {
  /* u16 count with 300 names: the second byte is non-zero, yet it is not the one-byte form. */
  static char blob[4096];
  static TVMBackendPackedCFunc funcs[300];
  size_t n = 0;
  blob[n++] = (char)(300 & 0xff);
  blob[n++] = (char)(300 >> 8);
  for (int i = 0; i < 300; i++) {
    n += (size_t)sprintf(blob + n, "f%d", i) + 1;
    funcs[i] = op_echo;
  }
  blob[n] = '\0';
  TVMFuncRegistry reg = {blob, funcs};
  tvm_function_index_t index = 0;
  check(TVMFuncRegistry_GetNumFuncs(&reg) == 300 &&
            TVMFuncRegistry_Lookup(&reg, "f299", &index) == 0 && index == 299,
        "u16 count of 300 names", "count %u", TVMFuncRegistry_GetNumFuncs(&reg));
  TVMFuncRegistry small = {"\x02\0one\0two\0", funcs};
  check(TVMFuncRegistry_GetNumFuncs(&small) == 2 &&
            TVMFuncRegistry_Lookup(&small, "two", &index) == 0 && index == 1 &&
            TVMFuncRegistry_Lookup(&small, "three", &index) == kTvmErrorFunctionNameNotFound,
        "u16 count of 2 names", "count %u", TVMFuncRegistry_GetNumFuncs(&small));
  TVMBackendPackedCFunc f;
  check(TVMFuncRegistry_GetByIndex(&small, 2, &f) == kTvmErrorFunctionIndexInvalid,
        "registry index out of range", "accepted");
}

int main(void) {
  mtvm_model_register(&g_model_packed);
  mtvm_model_register(&g_model_c);
  start_server();
  test_worked_examples();
  test_globals_and_modules();
  test_value_types();
  test_aot_model("testadd");
  test_aot_model("cadd");
  test_time_evaluator();
  test_errors();
  test_registry_forms();
  test_backend();

  /* Shutdown: no reply, and every later request is refused without one. */
  static const uint8_t shutdown[12] = {4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
  send_bytes(shutdown, sizeof(shutdown));
  check(g_reply.count == 0 && g_reply.status == kTvmErrorPlatformShutdown, "Shutdown -> no reply",
        "count %d status 0x%x", g_reply.count, g_reply.status);
  rpc_get_global("runtime.SystemLib");
  check(g_reply.count == 0 && g_reply.status == kTvmErrorPlatformShutdown,
        "requests after Shutdown are refused", "count %d", g_reply.count);

  mtvm_rpc_server_free(g_rpc);
  check(test_platform_live_blocks() == 0, "all device memory released",
        "%ld blocks still allocated", test_platform_live_blocks());

  /* The server can be created again (a re-flashed or reset device). */
  start_server();
  check(rpc_get_global("runtime.SystemLib") == 0x80028000u, "server restarts cleanly", "%s",
        reply_message());
  mtvm_rpc_server_free(g_rpc);
  check(test_platform_live_blocks() == 0, "no leak after restart", "%ld blocks",
        test_platform_live_blocks());
  return g_failures == 0 ? 0 : 1;
}
