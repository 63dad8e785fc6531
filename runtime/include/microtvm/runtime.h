/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Starting and stopping the device runtime: the tables, and the built-in global functions each
 * part of the runtime registers, in TVM's order (so their handles match TVM's):
 *   #0 runtime.SystemLib, #1 tvm.rpc.server.ModuleGetFunction, #2 runtime.RPCTimeEvaluator,
 *   #3 tvm.rpc.server.GetCRTMaxPacketSize, #4 tvm.contrib.random.random_fill,
 *   #5 tvm.aot_executor.create, then ours (TVM's firmware has none of them): #6 microtvm.build_stamp,
 *   #7 microtvm.profile.start, #8 microtvm.profile.read, #9 microtvm.rpc.max_packet_size.
 * Both packet-size globals report a packet size minus MTVM_RPC_PACKET_OVERHEAD_BYTES: the largest
 * request packet body the device accepts. microtvm.rpc.max_packet_size reports the session buffer
 * the firmware was built with; GetCRTMaxPacketSize reports at most MTVM_TVM_HOST_MAX_PACKET_BYTES
 * of it, because TVM's host sizes its CopyFromRemote requests by that figure and drops reply
 * frames larger than its own 2048-byte packets.
 * mtvm_rpc_server_init calls mtvm_runtime_init; a port does not call these itself.
 */
#ifndef MICROTVM_RUNTIME_H_
#define MICROTVM_RUNTIME_H_

#include <stddef.h>

#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The largest packet TVM's own host runtime receives (its session buffer). */
#ifndef MTVM_TVM_HOST_MAX_PACKET_BYTES
#define MTVM_TVM_HOST_MAX_PACKET_BYTES 2048
#endif

/* Resets every table and registers the built-in globals. max_packet_size is the session buffer
 * size (see the packet-size globals above). */
tvm_crt_error_t mtvm_runtime_init(size_t max_packet_size);

/* Releases every module (and what stands behind it, such as the AOT executor) and drops the
 * globals; models stay registered. Memory is released by mtvm_memory_release_all. */
void mtvm_runtime_reset(void);

#ifdef __cplusplus
}
#endif

#endif /* MICROTVM_RUNTIME_H_ */
