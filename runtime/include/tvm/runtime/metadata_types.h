/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The model description TVM (v0.9 and later) compiles into AOT archives built for the packed
 * interface: `tvmgen_<name>_get_c_metadata()` returns a pointer to one TVMMetadata. Generated C
 * includes this header by this name, so the layout must stay exactly as TVM defines it.
 */
#ifndef TVM_RUNTIME_METADATA_TYPES_H_
#define TVM_RUNTIME_METADATA_TYPES_H_

#include <inttypes.h>
#include <tvm/runtime/c_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One input, output or workspace pool of the AOT main function. */
struct TVMTensorInfo {
  const char* name;
  const int64_t* shape;
  int64_t num_shape;
  DLDataType dtype;
};

/* One constant of an internal constant pool (a serialized NDArray at byte_offset). */
struct TVMConstantInfo {
  const char* name_hint;
  int64_t byte_offset;
  int64_t data_len;
  const void* data_bytes;
};

/* The model: main's arguments are the inputs, then the outputs, then the workspace pools. */
struct TVMMetadata {
  int64_t version;
  const struct TVMTensorInfo* inputs;
  int64_t num_inputs;
  const struct TVMTensorInfo* outputs;
  int64_t num_outputs;
  const struct TVMTensorInfo* workspace_pools;
  int64_t num_workspace_pools;
  const struct TVMConstantInfo* constant_pools;
  int64_t num_constant_pools;
  /* "tvmgen_<name>": the prefix of the model's symbols. */
  const char* mod_name;
};

#ifdef __cplusplus
}
#endif

#endif /* TVM_RUNTIME_METADATA_TYPES_H_ */
