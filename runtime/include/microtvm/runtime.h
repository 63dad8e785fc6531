/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Starting and stopping the device runtime: the tables, and the built-in global functions each
 * part of the runtime registers, in TVM's order (so their handles match TVM's):
 *   #0 runtime.SystemLib, #1 tvm.rpc.server.ModuleGetFunction, #2 runtime.RPCTimeEvaluator,
 *   #3 tvm.rpc.server.GetCRTMaxPacketSize, #4 tvm.contrib.random.random_fill,
 *   #5 tvm.aot_executor.create, then #6 microtvm.build_stamp (ours; TVM's firmware has none).
 * mtvm_rpc_server_init calls mtvm_runtime_init; a port does not call these itself.
 */
#ifndef MICROTVM_RUNTIME_H_
#define MICROTVM_RUNTIME_H_

#include <stddef.h>

#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Resets every table and registers the built-in globals. max_packet_size is what
 * GetCRTMaxPacketSize reports, plus MTVM_RPC_PACKET_OVERHEAD_BYTES. */
tvm_crt_error_t mtvm_runtime_init(size_t max_packet_size);

/* Releases every module (and what stands behind it, such as the AOT executor) and drops the
 * globals; models stay registered. Memory is released by mtvm_memory_release_all. */
void mtvm_runtime_reset(void);

#ifdef __cplusplus
}
#endif

#endif /* MICROTVM_RUNTIME_H_ */
