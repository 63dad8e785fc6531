/* SPDX-License-Identifier: Apache-2.0 */
#include "rpc_test_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <tvm/runtime/c_runtime_api.h>

reply_t g_reply;
mtvm_rpc_server_t* g_rpc;
int g_failures;

int check(int cond, const char* name, const char* fmt, ...) {
  if (cond) {
    printf("ok %s\n", name);
  } else {
    va_list args;
    va_start(args, fmt);
    printf("not ok %s: ", name);
    vprintf(fmt, args);
    printf("\n");
    va_end(args);
    g_failures++;
  }
  fflush(stdout);
  return cond;
}

void pkt_begin(pkt_t* p, int32_t code) {
  p->len = 0;
  pkt_u64(p, 0);
  pkt_i32(p, code);
}

void pkt_end(pkt_t* p) {
  uint64_t n = p->len - 8;
  for (int i = 0; i < 8; i++) p->buf[i] = (uint8_t)(n >> (8 * i));
}

void pkt_raw(pkt_t* p, const void* data, size_t n) {
  if (p->len + n > PKT_CAPACITY) {
    fprintf(stderr, "test packet too large\n");
    return;
  }
  memcpy(p->buf + p->len, data, n);
  p->len += n;
}

void pkt_u64(pkt_t* p, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
  pkt_raw(p, b, 8);
}

void pkt_i32(pkt_t* p, int32_t v) {
  uint32_t u = (uint32_t)v;
  uint8_t b[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24)};
  pkt_raw(p, b, 4);
}

void pkt_seq(pkt_t* p, int num, const int* codes) {
  pkt_i32(p, num);
  for (int i = 0; i < num; i++) pkt_i32(p, codes[i]);
}

void pkt_str(pkt_t* p, const char* s) {
  pkt_u64(p, strlen(s));
  pkt_raw(p, s, strlen(s));
}

void pkt_tensor(pkt_t* p, uint64_t data, int32_t ndim, const int64_t* shape, uint8_t code,
                uint8_t bits, uint64_t byte_offset) {
  pkt_u64(p, data);
  pkt_i32(p, 1);
  pkt_i32(p, 0);
  pkt_i32(p, ndim);
  uint8_t dtype[4] = {code, bits, 1, 0};
  pkt_raw(p, dtype, 4);
  for (int32_t i = 0; i < ndim; i++) pkt_u64(p, (uint64_t)shape[i]);
  pkt_u64(p, byte_offset);
}

static int capture(void* ctx, const uint8_t* bytes, size_t n) {
  (void)ctx;
  if (n <= sizeof(g_reply.buf)) memcpy(g_reply.buf, bytes, n);
  g_reply.len = n;
  g_reply.count++;
  return 0;
}

void send_bytes(const uint8_t* data, size_t n) {
  g_reply.len = 0;
  g_reply.count = 0;
  memset(g_reply.buf, 0, 16);
  g_reply.status = mtvm_rpc_server_handle(g_rpc, data, n, capture, NULL);
}

void send_pkt(const pkt_t* p) { send_bytes(p->buf, p->len); }

uint64_t rd_u64(size_t off) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | g_reply.buf[off + (size_t)i];
  return v;
}

int32_t rd_i32(size_t off) { return (int32_t)(uint32_t)rd_u64(off); }

int32_t reply_code(void) {
  if (g_reply.count == 0 || g_reply.len < 12) return -1;
  return (int32_t)((uint32_t)g_reply.buf[8] | ((uint32_t)g_reply.buf[9] << 8) |
                   ((uint32_t)g_reply.buf[10] << 16) | ((uint32_t)g_reply.buf[11] << 24));
}

const char* reply_message(void) {
  static char msg[PKT_CAPACITY];
  msg[0] = '\0';
  if (reply_code() != 5 || g_reply.len < 28) return msg;
  uint64_t n = rd_u64(20);
  if (n > g_reply.len - 28) n = g_reply.len - 28;
  memcpy(msg, g_reply.buf + 28, (size_t)n);
  msg[n] = '\0';
  return msg;
}

int reply_is_exception(const char* substr) {
  if (reply_code() != 5) return 0;
  /* Exception: u64 L | i32 5 | i32 1 | i32 11 | u64 len | message, and L must add up. */
  if (rd_i32(12) != 1 || rd_i32(16) != kTVMStr) return 0;
  if (rd_u64(0) != g_reply.len - 8 || rd_u64(20) != g_reply.len - 28) return 0;
  return substr == NULL || strstr(reply_message(), substr) != NULL;
}

static uint64_t return_handle(void) {
  /* kReturn [3 = h]: L | 4 | 1 | 3 | h */
  if (reply_code() != 4 || g_reply.len != 28 || rd_i32(12) != 1 || rd_i32(16) != 3) {
    fprintf(stderr, "expected a handle reply, got code %d (%s)\n", reply_code(), reply_message());
    return UINT64_MAX;
  }
  return rd_u64(20);
}

uint64_t rpc_get_global(const char* name) {
  pkt_t p;
  int code = kTVMStr;
  pkt_begin(&p, 9);
  pkt_seq(&p, 1, &code);
  pkt_str(&p, name);
  pkt_end(&p);
  send_pkt(&p);
  return return_handle();
}

int rpc_call(uint64_t func, const pkt_t* args, size_t* value_off) {
  pkt_t p;
  pkt_begin(&p, 3);
  pkt_u64(&p, func);
  if (args != NULL) {
    pkt_raw(&p, args->buf, args->len);
  } else {
    pkt_i32(&p, 0);
  }
  pkt_end(&p);
  send_pkt(&p);
  if (reply_code() != 4) return -1;
  /* L | 4 | num | codes... | Int rc | value */
  int32_t num = rd_i32(12);
  size_t off = 16 + 4 * (size_t)num;
  if (value_off != NULL) *value_off = off + 8;
  return (int)rd_u64(off);
}

int rpc_call0(uint64_t func, size_t* value_off) { return rpc_call(func, NULL, value_off); }

uint64_t rpc_get_function(uint64_t mod, const char* name) {
  static uint64_t get_function;
  if (get_function == 0) get_function = rpc_get_global("tvm.rpc.server.ModuleGetFunction");
  pkt_t a;
  int codes[3] = {kTVMModuleHandle, kTVMStr, kTVMArgInt};
  a.len = 0;
  pkt_seq(&a, 3, codes);
  pkt_u64(&a, mod);
  pkt_str(&a, name);
  pkt_u64(&a, 1);
  size_t off;
  int rc = rpc_call(get_function, &a, &off);
  if (rc != kTVMPackedFuncHandle) return 0;
  return rd_u64(off);
}

uint64_t rpc_alloc(uint64_t nbytes) {
  pkt_t p;
  int codes[4] = {kDLDevice, kTVMArgInt, kTVMArgInt, kTVMDataType};
  pkt_begin(&p, 13);
  pkt_seq(&p, 4, codes);
  pkt_i32(&p, 1);
  pkt_i32(&p, 0);
  pkt_u64(&p, nbytes);
  pkt_u64(&p, 64);
  uint8_t dtype[8] = {2, 32, 1, 0, 0, 0, 0, 0};
  pkt_raw(&p, dtype, 8);
  pkt_end(&p);
  send_pkt(&p);
  return return_handle();
}

int rpc_copy_to(uint64_t data, int32_t ndim, const int64_t* shape, uint8_t code, uint8_t bits,
                uint64_t offset, const void* bytes, size_t n) {
  pkt_t p;
  pkt_begin(&p, 7);
  pkt_tensor(&p, data, ndim, shape, code, bits, offset);
  pkt_u64(&p, n);
  pkt_raw(&p, bytes, n);
  pkt_end(&p);
  send_pkt(&p);
  return reply_code() == 4 && g_reply.len == 20 && rd_i32(16) == kTVMNullptr ? 0 : -1;
}

int rpc_copy_from(uint64_t data, int32_t ndim, const int64_t* shape, uint8_t code, uint8_t bits,
                  uint64_t offset, void* out, size_t n) {
  pkt_t p;
  pkt_begin(&p, 6);
  pkt_tensor(&p, data, ndim, shape, code, bits, offset);
  pkt_u64(&p, n);
  pkt_end(&p);
  send_pkt(&p);
  if (reply_code() != 8 || g_reply.len != 12 + n || rd_u64(0) != 4 + n) return -1;
  memcpy(out, g_reply.buf + 12, n);
  return 0;
}

int rpc_free_handle(uint64_t handle, int64_t type_code) {
  pkt_t p;
  int codes[2] = {kTVMOpaqueHandle, kTVMArgInt};
  pkt_begin(&p, 10);
  pkt_seq(&p, 2, codes);
  pkt_u64(&p, handle);
  pkt_u64(&p, (uint64_t)type_code);
  pkt_end(&p);
  send_pkt(&p);
  return reply_code() == 4 && g_reply.len == 20 && rd_i32(16) == kTVMNullptr ? 0 : -1;
}
