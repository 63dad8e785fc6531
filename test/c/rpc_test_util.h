/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for the runtime's C tests: build request packets byte by byte, hand them to the RPC
 * server, and read the reply. Each check prints "ok <name>" or "not ok <name>: <why>"; the TS
 * runner (runtime-rpc.test.ts) fails on any "not ok" and on a non-zero exit.
 */
#ifndef MICROTVM_TEST_RPC_TEST_UTIL_H_
#define MICROTVM_TEST_RPC_TEST_UTIL_H_

#include <microtvm/rpc_server.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_CAPACITY 16384

typedef struct {
  uint8_t buf[PKT_CAPACITY];
  size_t len;
} pkt_t;

/* The last reply the server sent. */
typedef struct {
  uint8_t buf[PKT_CAPACITY];
  size_t len;
  int count; /* replies sent by the last handle call (0 or 1) */
  int status; /* mtvm_rpc_server_handle's result */
} reply_t;

extern reply_t g_reply;
extern mtvm_rpc_server_t* g_rpc;
extern int g_failures;

/* Prints ok/not ok for one check; returns cond. */
int check(int cond, const char* name, const char* fmt, ...);

void pkt_begin(pkt_t* p, int32_t code); /* leaves room for the u64 length */
void pkt_end(pkt_t* p);                 /* fills in the length */
void pkt_raw(pkt_t* p, const void* data, size_t n);
void pkt_u64(pkt_t* p, uint64_t v);
void pkt_i32(pkt_t* p, int32_t v);
/* Packed-sequence header: num_args then the type codes. Values follow with the calls below. */
void pkt_seq(pkt_t* p, int num, const int* codes);
void pkt_str(pkt_t* p, const char* s); /* u64 length + bytes */
/* DLTensor wire struct (strides never sent). */
void pkt_tensor(pkt_t* p, uint64_t data, int32_t ndim, const int64_t* shape, uint8_t code,
                uint8_t bits, uint64_t byte_offset);

/* Sends a packet to g_rpc and records the reply in g_reply. */
void send_pkt(const pkt_t* p);
void send_bytes(const uint8_t* data, size_t n);

/* Reply readers (little-endian, at a byte offset into g_reply.buf). */
uint64_t rd_u64(size_t off);
int32_t rd_i32(size_t off);
/* The code of the reply (offset 8), or -1 when there was none. */
int32_t reply_code(void);
/* 1 when the reply is an Exception; when substr is non-NULL it must occur in the message. */
int reply_is_exception(const char* substr);
/* The message of an Exception reply (NUL-terminated copy), "" otherwise. */
const char* reply_message(void);

/* High-level requests, each checked to get a Return of the expected shape. */
uint64_t rpc_get_global(const char* name);                       /* handle, 0 if absent */
uint64_t rpc_get_function(uint64_t mod, const char* name);       /* 0 if absent */
/* CallFunc with a prepared argument block (packed sequence bytes); returns the real return type
 * code (the first value) or -1 on an Exception; the value's offset is in *value_off. */
int rpc_call(uint64_t func, const pkt_t* args, size_t* value_off);
int rpc_call0(uint64_t func, size_t* value_off); /* no arguments */
uint64_t rpc_alloc(uint64_t nbytes);               /* DevAllocData, alignment 64 */
int rpc_copy_to(uint64_t data, int32_t ndim, const int64_t* shape, uint8_t code, uint8_t bits,
                uint64_t offset, const void* bytes, size_t n);
int rpc_copy_from(uint64_t data, int32_t ndim, const int64_t* shape, uint8_t code, uint8_t bits,
                  uint64_t offset, void* out, size_t n);
int rpc_free_handle(uint64_t handle, int64_t type_code); /* 0 on ReturnVoid */

#endif
