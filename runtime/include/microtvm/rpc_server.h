/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The minRPC server: a pure packet handler. The session layer hands it one whole minRPC packet (the
 * body of one Normal session message: u64 length, i32 code, code-specific body) and it answers
 * with at most one reply packet through a callback. It never blocks and never hangs: a malformed
 * or unsupported request gets an Exception reply.
 *
 * Typical firmware start-up:
 *   TVMPlatformInitialize();
 *   mtvm_rpc_server_t* rpc = mtvm_rpc_server_init(TVM_CRT_MAX_PACKET_SIZE_BYTES);
 *   for each model in the generated glue: mtvm_model_register(models[i]);
 *   ... for each Normal message body: mtvm_rpc_server_handle(rpc, body, len, send_reply, ctx);
 */
#ifndef MICROTVM_RPC_SERVER_H_
#define MICROTVM_RPC_SERVER_H_

#include <stddef.h>
#include <stdint.h>

#include <microtvm/model.h>
#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes the session layer adds around a minRPC packet on a host-to-device message (3-byte session
 * header + 8-byte packet length), as TVM counts them for tvm.rpc.server.GetCRTMaxPacketSize. */
#define MTVM_RPC_PACKET_OVERHEAD_BYTES 11

typedef struct mtvm_rpc_server mtvm_rpc_server_t;

/* Sends one whole reply packet (u64 length + code + body). Returns 0 on success; any other value
 * is passed back to the caller of mtvm_rpc_server_handle. */
typedef int (*mtvm_rpc_reply_fn)(void* ctx, const uint8_t* bytes, size_t n);

/* Creates the server and initialises the runtime (global function registry, module table).
 * max_packet_size is the session receive buffer size (TVM_CRT_MAX_PACKET_SIZE_BYTES): requests
 * carry at most max_packet_size - 11 packet bytes, and replies are built in a buffer of
 * max_packet_size bytes. Returns NULL when memory is short or a server already exists. */
mtvm_rpc_server_t* mtvm_rpc_server_init(size_t max_packet_size);

/* Handles one request packet. Returns:
 *   kTvmErrorNoError          the request was answered (possibly with an Exception) or needed no
 *                             reply (length 0);
 *   kTvmErrorPlatformShutdown after a Shutdown request, and for every later call (no reply);
 *   the reply function's own non-zero result when sending failed. */
int mtvm_rpc_server_handle(mtvm_rpc_server_t* server, const uint8_t* request, size_t len,
                           mtvm_rpc_reply_fn reply, void* ctx);

/* Frees the server and everything the host allocated through it (arrays, data, executor). */
void mtvm_rpc_server_free(mtvm_rpc_server_t* server);

#ifdef __cplusplus
}
#endif

#endif /* MICROTVM_RPC_SERVER_H_ */
