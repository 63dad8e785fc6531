/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runtime start-up: each part registers its own global functions, in TVM's order; the two small
 * built-ins that belong to no part live here.
 */
#include <microtvm/aot_executor.h>
#include <microtvm/build_stamp.h>
#include <microtvm/errors.h>
#include <microtvm/globals.h>
#include <microtvm/memory.h>
#include <microtvm/modules.h>
#include <microtvm/profiler.h>
#include <microtvm/rpc_server.h>
#include <microtvm/runtime.h>
#include <microtvm/time_evaluator.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/platform.h>

static size_t g_max_packet_size;

static int packet_size_result(size_t packet_size, TVMValue* ret, int* ret_code) {
  ret[0].v_int64 = (int64_t)(packet_size - MTVM_RPC_PACKET_OVERHEAD_BYTES);
  ret_code[0] = kTVMArgInt;
  return 0;
}

/* TVM's host also sizes its CopyFromRemote requests by this, and cannot take a reply frame larger
 * than its own 2048-byte packets, so the figure is capped for it. */
static int get_crt_max_packet_size(TVMValue* args, int* type_codes, int num_args, TVMValue* ret,
                                   int* ret_code, void* resource) {
  (void)args;
  (void)type_codes;
  (void)num_args;
  (void)resource;
  size_t size = g_max_packet_size;
  if (size > MTVM_TVM_HOST_MAX_PACKET_BYTES) size = MTVM_TVM_HOST_MAX_PACKET_BYTES;
  return packet_size_result(size, ret, ret_code);
}

static int get_max_packet_size(TVMValue* args, int* type_codes, int num_args, TVMValue* ret,
                               int* ret_code, void* resource) {
  (void)args;
  (void)type_codes;
  (void)resource;
  if (num_args != 0) {
    mtvm_set_error("microtvm.rpc.max_packet_size takes no arguments, got %d", num_args);
    return kTvmErrorFunctionCallNumArguments;
  }
  return packet_size_result(g_max_packet_size, ret, ret_code);
}

static int random_fill(TVMValue* args, int* type_codes, int num_args, TVMValue* ret, int* ret_code,
                       void* resource) {
  (void)ret;
  (void)ret_code;
  (void)resource;
  if (num_args != 1 || type_codes[0] != kTVMDLTensorHandle) {
    mtvm_set_error("random_fill takes one DLTensor");
    return kTvmErrorFunctionCallWrongArgType;
  }
  DLTensor* t = (DLTensor*)args[0].v_handle;
  int ok;
  size_t n = mtvm_tensor_nbytes(t->ndim, t->shape, t->dtype, &ok);
  uint8_t* p = (uint8_t*)mtvm_tensor_address(t);
  if (!ok || !mtvm_data_contains(p, n)) {
    mtvm_set_error("random_fill: the tensor is not inside memory allocated on this device");
    return kTvmErrorFunctionCallInvalidArg;
  }
  tvm_crt_error_t err = TVMPlatformGenerateRandom(p, n);
  if (err != kTvmErrorNoError) mtvm_set_error("TVMPlatformGenerateRandom failed: 0x%x", err);
  return err;
}

tvm_crt_error_t mtvm_runtime_init(size_t max_packet_size) {
  mtvm_runtime_reset();
  g_max_packet_size = max_packet_size;
  tvm_crt_error_t err = mtvm_globals_init();
  if (!err) err = mtvm_system_lib_register();
  if (!err) err = mtvm_time_evaluator_register();
  if (!err) {
    err = mtvm_global_register("tvm.rpc.server.GetCRTMaxPacketSize", get_crt_max_packet_size, 0);
  }
  if (!err) err = mtvm_global_register("tvm.contrib.random.random_fill", random_fill, 0);
  if (!err) err = mtvm_aot_executor_register();
  if (!err) err = mtvm_build_stamp_register();
  if (!err) err = mtvm_profiler_register();
  if (!err) err = mtvm_global_register("microtvm.rpc.max_packet_size", get_max_packet_size, 0);
  return err;
}

void mtvm_runtime_reset(void) {
  mtvm_modules_reset();
  mtvm_globals_reset();
  g_max_packet_size = 0;
  mtvm_clear_error();
}
