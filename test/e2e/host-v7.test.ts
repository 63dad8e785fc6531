// Newer TVM exports (MLF v6 and v7, as TVM v0.9–v0.18 write them) through the CLI on the host
// template: create-project, build and run, checked against outputs computed here.
//
// The archives are built in this file with the layout, metadata, header text and calling
// conventions of TVM's exporter and code generators: the C-interface header as interface_c.cc
// writes it, the entry wrappers, static USMP pools and TVMMetadata as source_module.cc writes
// them, packed operators and mains as the C host codegen lowers them. The operator bodies are
// small and written by hand: a float32 input quantized to int8, an int8 dense layer with int32
// accumulation and bias, dequantization and a softmax.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../helpers/processes.js";
import { requireCommand } from "../helpers/tools.js";
import { buildTar, sanitizeName, serializeParams, openMlf } from "../../src/mlf/index.js";
import type { TarInput } from "../../src/mlf/tar.js";

const CLI_TIMEOUT_MS = 90_000;

// ---- the model ------------------------------------------------------------------------------

const IN_SCALE = 0.05;
const OUT_SCALE = 0.001;
const WEIGHTS = [12, -7, 33, 5, -20, 41, 9, -3, 27, 18, -11, 64]; // int8 [3][4]
const BIAS = [100, -250, 40]; // int32 [3]
const INPUT = [0.31, -1.2, 2.5, -0.075]; // float32 [1][4]

const f32 = Math.fround;
/** C's roundf: halves away from zero. */
const roundf = (x: number) => Math.sign(x) * Math.floor(Math.abs(x) + 0.5);

function expected(x: readonly number[]): number[] {
  const q = x.map((v) => Math.max(-128, Math.min(127, roundf(f32(f32(v) / f32(IN_SCALE))))));
  const acc = [0, 1, 2].map(
    (j) => BIAS[j]! + [0, 1, 2, 3].reduce((a, i) => a + q[i]! * WEIGHTS[j * 4 + i]!, 0),
  );
  const deq = acc.map((a) => f32(a * f32(OUT_SCALE)));
  const m = Math.max(...deq);
  const e = deq.map((d) => Math.exp(d - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

const hex = (bytes: Uint8Array) => [...bytes].map((b) => `0x${b.toString(16).padStart(2, "0")}`).join(", ");
const weightBytes = new Uint8Array(Int8Array.from(WEIGHTS).buffer);
const biasBytes = new Uint8Array(Int32Array.from(BIAS).buffer);

// ---- archive variants -------------------------------------------------------------------------

interface Variant {
  /** MLF metadata version. */
  version: 6 | 7;
  mod: string;
  /** c: AOT C interface; packed: AOT packed API with TVMMetadata (system lib); unpacked-packed: AOT
   * unpacked API behind a packed entry; graph: graph executor over a system lib. */
  style: "c" | "packed" | "unpacked-packed" | "graph";
  /** none: TVMBackendAllocWorkspace; internal: static USMP pools in the C; external: a
   * user-defined workspace pool passed through struct <prefix>_workspace_pools (constants in a
   * static pool); external-const: user-defined workspace and constant pools; io-in-pools: a
   * user-defined pool that also holds the inputs and outputs (<prefix>_map_inputs). */
  pools: "none" | "internal" | "external" | "external-const" | "io-in-pools";
  /** A struct <prefix>_devices in the header (an accelerator); the host refuses it. */
  devices?: boolean;
  /** C interface only: built with `system-lib` too (TVM then writes a file no compiler accepts). */
  cSystemLib?: boolean;
  /** Packed only: built without `system-lib` (no function registry). */
  noSystemLib?: boolean;
  /** Input elements the compiled-in TVMMetadata claims (4 unless testing a mismatch). */
  metadataInputElements?: number;
  /** main[0].inputs/outputs in metadata.json (v0.11 and later). */
  metaIO: boolean;
  inputName: string;
  outputName: string;
}

const KEYS = "c -keys=cpu -model=host";

function operatorsUnpacked(p: string, poolArgs: boolean): string {
  const extra = poolArgs ? ", uint8_t* global_const_workspace_0_var, uint8_t* global_workspace_1_var" : "";
  const weights = poolArgs ? "((int8_t*)global_const_workspace_0_var)" : "fused_constant_0";
  const bias = poolArgs ? "((int32_t*)(global_const_workspace_0_var + 16))" : "fused_constant_1";
  return `${
    poolArgs
      ? ""
      : `static const int8_t fused_constant_0[12] = {\n    ${hex(weightBytes).replace(/0x([0-9a-f]{2})/g, (_, h: string) => `(int8_t)0x${h}`)}\n};\nstatic const int32_t fused_constant_1[3] = {${BIAS.join(", ")}};\n`
  }#ifdef __cplusplus
extern "C"
#endif
TVM_DLL int32_t ${p}_fused_qnn_quantize(float* p0, int8_t* T_cast${extra}) {
  for (int32_t ax1 = 0; ax1 < 4; ++ax1) {
    float v = roundf((p0[ax1] / 5.000000e-02f));
    T_cast[ax1] = ((int8_t)((v < -1.280000e+02f) ? -1.280000e+02f : ((v > 1.270000e+02f) ? 1.270000e+02f : v)));
  }
  return 0;
}

#ifdef __cplusplus
extern "C"
#endif
TVM_DLL int32_t ${p}_fused_nn_dense_add(int8_t* p0, int32_t* T_add${extra}) {
  for (int32_t j = 0; j < 3; ++j) {
    int32_t acc = ${bias}[j];
    for (int32_t k = 0; k < 4; ++k) {
      acc = (acc + (((int32_t)p0[k]) * ((int32_t)${weights}[((j * 4) + k)])));
    }
    T_add[j] = acc;
  }
  return 0;
}

#ifdef __cplusplus
extern "C"
#endif
TVM_DLL int32_t ${p}_fused_dequantize_nn_softmax(int32_t* p0, float* T_softmax_norm${extra}) {
  float deq[3];
  float m = -3.402823e+38f;
  for (int32_t j = 0; j < 3; ++j) {
    deq[j] = (((float)p0[j]) * 1.000000e-03f);
    m = (deq[j] > m) ? deq[j] : m;
  }
  double sum = 0.0;
  double e[3];
  for (int32_t j = 0; j < 3; ++j) {
    e[j] = exp((double)(deq[j] - m));
    sum = sum + e[j];
  }
  for (int32_t j = 0; j < 3; ++j) {
    T_softmax_norm[j] = (float)(e[j] / sum);
  }
  return 0;
}
`;
}

const HEAD = `// tvm target: ${KEYS}\n#define TVM_EXPORTS\n#include "tvm/runtime/c_runtime_api.h"\n#include "tvm/runtime/c_backend_api.h"\n#include <math.h>\n#include <stdbool.h>\n`;

/** The unpacked AOT main: operators called directly, intermediates from the workspace or a pool. */
function mainUnpacked(p: string, v: Variant, inVar: string): string {
  if (v.pools === "io-in-pools") {
    // One pool holds everything: intermediates at 0 and 16, the input at 32, the output at 48.
    const extra = ", global_const_workspace_0_var, sram_1_var";
    return `#ifdef __cplusplus
extern "C"
#endif
TVM_DLL int32_t ${p}___tvm_main__(uint8_t* global_const_workspace_0_var, uint8_t* sram_1_var) {
  void* sid_1_let = (&(sram_1_var[0]));
  void* sid_2_let = (&(sram_1_var[16]));
  if (${p}_fused_qnn_quantize((float*)(&(sram_1_var[32])), sid_1_let${extra}) != 0 ) return -1;
  if (${p}_fused_nn_dense_add(sid_1_let, sid_2_let${extra}) != 0 ) return -1;
  if (${p}_fused_dequantize_nn_softmax(sid_2_let, (float*)(&(sram_1_var[48]))${extra}) != 0 ) return -1;
  return 0;
}
`;
  }
  const pooled = v.pools !== "none";
  const params = pooled
    ? `float* ${inVar}, float* output_buffer_var, uint8_t* global_const_workspace_0_var, uint8_t* global_workspace_1_var`
    : `float* ${inVar}, float* output_buffer_var`;
  const extra = pooled ? ", global_const_workspace_0_var, global_workspace_1_var" : "";
  const alloc = pooled
    ? `  void* sid_1_let = (&(global_workspace_1_var[0]));\n  void* sid_2_let = (&(global_workspace_1_var[16]));\n`
    : `  void* sid_1_let = TVMBackendAllocWorkspace(1, 0, (uint64_t)4, 0, 8);\n  if (sid_1_let == NULL) {\n    return -1;\n  }\n  void* sid_2_let = TVMBackendAllocWorkspace(1, 0, (uint64_t)12, 0, 32);\n  if (sid_2_let == NULL) {\n    return -1;\n  }\n`;
  const free = pooled
    ? ""
    : `  if (TVMBackendFreeWorkspace(1, 0, sid_2_let) != 0 ) {\n    return -1;\n  }\n  if (TVMBackendFreeWorkspace(1, 0, sid_1_let) != 0 ) {\n    return -1;\n  }\n`;
  return `#ifdef __cplusplus
extern "C"
#endif
TVM_DLL int32_t ${p}___tvm_main__(${params}) {
${alloc}  if (${p}_fused_qnn_quantize(${inVar}, sid_1_let${extra}) != 0 ) return -1;
  if (${p}_fused_nn_dense_add(sid_1_let, sid_2_let${extra}) != 0 ) return -1;
  if (${p}_fused_dequantize_nn_softmax(sid_2_let, output_buffer_var${extra}) != 0 ) return -1;
${free}  return 0;
}
`;
}

/** Static USMP pools as source_module.cc places them (constants in .rodata.tvm, scratch in .bss.noinit.tvm). */
function internalPools(): string {
  return `__attribute__((section(".rodata.tvm"), ))
static const struct global_const_workspace {
  int8_t fused_constant_0[12] __attribute__((aligned(16))); // 12 bytes, aligned offset: 0
  int32_t fused_constant_1[3] __attribute__((packed, aligned(16))); // 12 bytes, aligned offset: 16
} global_const_workspace = {
  .fused_constant_0 = {
    ${WEIGHTS.map((w) => (w < 0 ? `-0x${(-w).toString(16).padStart(2, "0")}` : `+0x${w.toString(16).padStart(2, "0")}`)).join(", ")}
  },
  .fused_constant_1 = {
    ${BIAS.map((b) => (b < 0 ? `-0x${(-b).toString(16).padStart(8, "0")}` : `+0x${b.toString(16).padStart(8, "0")}`)).join(", ")}
  },
};// of total size 28 bytes
__attribute__((section(".bss.noinit.tvm"), aligned(16)))
static uint8_t global_workspace[32];
`;
}

/** `_CONSTANT_POOL_DATA` as NDArrayDataToC prints a uint8 pool (weights at 0, bias at 16). */
function constantPoolData(): string {
  const pool = new Uint8Array(28);
  pool.set(weightBytes, 0);
  pool.set(biasBytes, 16);
  const rows: string[] = [];
  for (let i = 0; i < pool.length; i += 16) rows.push(`    ${hex(pool.subarray(i, i + 16))}`);
  return rows.join(", \\\n") + "\n";
}

/** A packed operator: DLTensor arguments, the checks MakePackedAPI inserts, the body inline. */
function packedOperator(name: string, nargs: number, body: string): string {
  const unpack = Array.from(
    { length: nargs },
    (_, i) =>
      `  int32_t arg_type_code_${i} = arg_type_ids[${i}];\n  if (!((arg_type_code_${i} == kTVMDLTensorHandle) || (arg_type_code_${i} == kTVMNDArrayHandle) || (arg_type_code_${i} == kTVMNullptr))) {\n    TVMAPISetLastError("${name}: Expect arg[${i}] to be pointer");\n    return -1;\n  }\n  void* arg${i}_data = (((DLTensor*)(((TVMValue*)args)[${i}].v_handle))[0].data);\n`,
  ).join("");
  return `#ifdef __cplusplus
extern "C"
#endif
TVM_DLL int32_t ${name}(void* args, int32_t* arg_type_ids, int32_t num_args, void* out_ret_value, int32_t* out_ret_tcode, void* resource_handle) {
  if (!(num_args == ${nargs})) {
    TVMAPISetLastError("${name}: num_args should be ${nargs}");
    return -1;
  }
${unpack}${body}  return 0;
}
`;
}

function operatorsPacked(p: string, v: Variant): string {
  const graph = v.style === "graph";
  // The graph executor passes the weights as arguments; AOT links them into the code.
  const quant = packedOperator(
    `${p}_fused_qnn_quantize`,
    2,
    `  float* p0 = (float*)arg0_data;\n  int8_t* T_cast = (int8_t*)arg1_data;\n  for (int32_t ax1 = 0; ax1 < 4; ++ax1) {\n    float v = roundf((p0[ax1] / 5.000000e-02f));\n    T_cast[ax1] = ((int8_t)((v < -1.280000e+02f) ? -1.280000e+02f : ((v > 1.270000e+02f) ? 1.270000e+02f : v)));\n  }\n`,
  );
  const dense = packedOperator(
    `${p}_fused_nn_dense_add`,
    graph ? 4 : 2,
    `  int8_t* p0 = (int8_t*)arg0_data;\n${
      graph
        ? `  int8_t* w = (int8_t*)arg1_data;\n  int32_t* b = (int32_t*)arg2_data;\n  int32_t* T_add = (int32_t*)arg3_data;\n`
        : `  const int8_t* w = fused_constant_0;\n  const int32_t* b = fused_constant_1;\n  int32_t* T_add = (int32_t*)arg1_data;\n`
    }  for (int32_t j = 0; j < 3; ++j) {\n    int32_t acc = b[j];\n    for (int32_t k = 0; k < 4; ++k) {\n      acc = (acc + (((int32_t)p0[k]) * ((int32_t)w[((j * 4) + k)])));\n    }\n    T_add[j] = acc;\n  }\n`,
  );
  const softmax = packedOperator(
    `${p}_fused_dequantize_nn_softmax`,
    2,
    `  int32_t* p0 = (int32_t*)arg0_data;\n  float* T_softmax_norm = (float*)arg1_data;\n  float deq[3];\n  float m = -3.402823e+38f;\n  for (int32_t j = 0; j < 3; ++j) {\n    deq[j] = (((float)p0[j]) * 1.000000e-03f);\n    m = (deq[j] > m) ? deq[j] : m;\n  }\n  double e[3];\n  double sum = 0.0;\n  for (int32_t j = 0; j < 3; ++j) {\n    e[j] = exp((double)(deq[j] - m));\n    sum = sum + e[j];\n  }\n  for (int32_t j = 0; j < 3; ++j) {\n    T_softmax_norm[j] = (float)(e[j] / sum);\n  }\n`,
  );
  const constants = graph
    ? ""
    : `static const int8_t fused_constant_0[12] = {${WEIGHTS.join(", ")}};\nstatic const int32_t fused_constant_1[3] = {${BIAS.join(", ")}};\n`;
  return constants + quant + dense + softmax;
}

/** The packed AOT main (interface-api=packed, unpacked-api=0): DLTensors in, stack DLTensors to the operators. */
function mainPacked(p: string, v: Variant): string {
  const pooled = v.pools === "internal" || v.pools === "external";
  const nargs = pooled ? 3 : 2;
  const call = (
    fn: string,
    a: string,
    b: string,
    ta: string,
    tb: string,
    shapeA: string,
    shapeB: string,
  ) => `  {
    int64_t shape_a[2] = ${shapeA};
    int64_t shape_b[2] = ${shapeB};
    DLTensor t[2];
    t[0].data = ${a}; t[0].device.device_type = kDLCPU; t[0].device.device_id = 0; t[0].ndim = 2; t[0].dtype = ${ta}; t[0].shape = shape_a; t[0].strides = NULL; t[0].byte_offset = 0;
    t[1].data = ${b}; t[1].device.device_type = kDLCPU; t[1].device.device_id = 0; t[1].ndim = 2; t[1].dtype = ${tb}; t[1].shape = shape_b; t[1].strides = NULL; t[1].byte_offset = 0;
    TVMValue stack_value[2];
    int32_t stack_tcode[2];
    stack_value[0].v_handle = &t[0]; stack_tcode[0] = kTVMDLTensorHandle;
    stack_value[1].v_handle = &t[1]; stack_tcode[1] = kTVMDLTensorHandle;
    TVMValue ret_val;
    int32_t ret_tcode;
    if (${fn}(stack_value, stack_tcode, 2, &ret_val, &ret_tcode, NULL) != 0) return -1;
  }
`;
  const f32t = "(DLDataType){kDLFloat, 32, 1}";
  const i8t = "(DLDataType){kDLInt, 8, 1}";
  const i32t = "(DLDataType){kDLInt, 32, 1}";
  return `#ifdef __cplusplus
extern "C"
#endif
TVM_DLL int32_t ${p}___tvm_main__(void* args, int32_t* arg_type_ids, int32_t num_args, void* out_ret_value, int32_t* out_ret_tcode, void* resource_handle) {
  if (!(num_args == ${nargs})) {
    TVMAPISetLastError("${p}___tvm_main__: num_args should be ${nargs}");
    return -1;
  }
  for (int32_t i = 0; i < ${nargs}; ++i) {
    if (!((arg_type_ids[i] == kTVMDLTensorHandle) || (arg_type_ids[i] == kTVMNDArrayHandle) || (arg_type_ids[i] == kTVMNullptr))) {
      TVMAPISetLastError("${p}___tvm_main__: Expect arg to be pointer");
      return -1;
    }
  }
  void* input = (((DLTensor*)(((TVMValue*)args)[0].v_handle))[0].data);
  void* output = (((DLTensor*)(((TVMValue*)args)[1].v_handle))[0].data);
${
  pooled
    ? `  uint8_t* pool = (uint8_t*)(((DLTensor*)(((TVMValue*)args)[2].v_handle))[0].data);\n  void* sid_1 = &pool[0];\n  void* sid_2 = &pool[16];\n`
    : `  void* sid_1 = TVMBackendAllocWorkspace(1, 0, (uint64_t)4, 0, 8);\n  if (sid_1 == NULL) return -1;\n  void* sid_2 = TVMBackendAllocWorkspace(1, 0, (uint64_t)12, 0, 32);\n  if (sid_2 == NULL) return -1;\n`
}${call(`${p}_fused_qnn_quantize`, "input", "sid_1", f32t, i8t, "{1, 4}", "{1, 4}")}${call(
    `${p}_fused_nn_dense_add`,
    "sid_1",
    "sid_2",
    i8t,
    i32t,
    "{1, 4}",
    "{1, 3}",
  )}${call(`${p}_fused_dequantize_nn_softmax`, "sid_2", "output", i32t, f32t, "{1, 3}", "{1, 3}")}${
    pooled
      ? ""
      : `  if (TVMBackendFreeWorkspace(1, 0, sid_2) != 0) return -1;\n  if (TVMBackendFreeWorkspace(1, 0, sid_1) != 0) return -1;\n`
  }  return 0;
}
`;
}

/** The function registry and system library as source_module.cc writes them (u16 LE count). */
function registry(names: string[]): string {
  const blob = Buffer.concat([
    Buffer.from([names.length & 0xff, names.length >> 8]),
    ...names.map((n) => Buffer.from(`${n}\0`)),
  ]);
  const escaped = [...blob].map((b) => `\\${b.toString(8).padStart(3, "0")}`).join("");
  return `#include <tvm/runtime/crt/module.h>
${names
  .map(
    (n) =>
      `#ifdef __cplusplus\nextern "C"\n#endif\nTVM_DLL int32_t ${n}(TVMValue* args, int* type_code, int num_args, TVMValue* out_value, int* out_type_code, void* resource_handle);\n`,
  )
  .join("")}static TVMBackendPackedCFunc _tvm_func_array[] = {
${names.map((n) => `    (TVMBackendPackedCFunc)${n},\n`).join("")}};
static const TVMFuncRegistry _tvm_func_registry = {
    "${escaped}",    _tvm_func_array,
};
static const TVMModule _tvm_system_lib = {
    &_tvm_func_registry,
};
const TVMModule* TVMSystemLibEntryPoint(void) {
    return &_tvm_system_lib;
}
`;
}

/** The TVMMetadata module (MetadataSerializer) and tvmgen_<mod>_get_c_metadata. */
function cMetadata(p: string, v: Variant): string {
  const k = "kTvmgenMetadata";
  const pools = v.pools === "internal" || v.pools === "external";
  return `#include <inttypes.h>
#include <tvm/runtime/metadata_types.h>
#include <tvm/runtime/c_runtime_api.h>
static const int64_t ${k}_inputs_0_shape[2] = {
1L, 
${v.metadataInputElements ?? 4}L};
static const struct TVMTensorInfo ${k}_inputs[1] = {
{
"${v.inputName}" /* name*/, 
${k}_inputs_0_shape /* shape*/, 
2L /* num_shape*/, 
{2, 32, 1} /* dtype*/}
};
static const int64_t ${k}_outputs_0_shape[2] = {
1L, 
3L};
static const struct TVMTensorInfo ${k}_outputs[1] = {
{
"output0" /* name*/, 
${k}_outputs_0_shape /* shape*/, 
2L /* num_shape*/, 
{2, 32, 1} /* dtype*/}
};
${
  pools
    ? `static const int64_t ${k}_workspace_pools_0_shape[1] = {\n32L};\nstatic const struct TVMTensorInfo ${k}_workspace_pools[1] = {\n{\n"global_workspace_0_var" /* name*/, \n${k}_workspace_pools_0_shape /* shape*/, \n1L /* num_shape*/, \n{1, 8, 1} /* dtype*/}\n};\n`
    : ""
}static const struct TVMMetadata ${k}[1] = {
{
1L /* version*/, 
${k}_inputs /* inputs*/, 
1L /* num_inputs*/, 
${k}_outputs /* outputs*/, 
1L /* num_outputs*/, 
${pools ? `${k}_workspace_pools` : "NULL"} /* workspace_pools*/, 
${pools ? 1 : 0}L /* num_workspace_pools*/, 
NULL /* constant_pools*/, 
0L /* num_constant_pools*/, 
"${p}" /* mod_name*/}
};
#ifdef __cplusplus
extern "C"
#endif
TVM_DLL int32_t ${p}_get_c_metadata(TVMValue* arg_values, int* arg_tcodes, int num_args, TVMValue* ret_values, int* ret_tcodes, void* resource_handle) {
    ret_values[0].v_handle = (void*) &${k};
    ret_tcodes[0] = kTVMOpaqueHandle;
    return 0;
};
`;
}

/** The C-interface header exactly as interface_c.cc writes it. */
function header(p: string, v: Variant): string {
  const M = p.toUpperCase();
  const brief = (what: string) => `/*!\n * \\brief ${what} for TVM module "${v.mod}" \n */\n`;
  const inId = sanitizeName(v.inputName);
  const outId = sanitizeName(v.outputName);
  let text = `#ifndef ${M}_H_\n#define ${M}_H_\n#include <stdint.h>\n\n#ifdef __cplusplus\nextern "C" {\n#endif\n\n`;
  if (v.metaIO) {
    text += brief(`Input tensor ${inId} size (in bytes)`) + `#define ${M}_${inId.toUpperCase()}_SIZE 16\n`;
    text += brief(`Output tensor ${outId} size (in bytes)`) + `#define ${M}_${outId.toUpperCase()}_SIZE 12\n`;
  }
  text += brief("Input tensor pointers") + `struct ${p}_inputs {\n  void* ${inId};\n};\n\n`;
  text += brief("Output tensor pointers") + `struct ${p}_outputs {\n  void* ${outId};\n};\n\n`;
  if (v.devices) text += brief("Device context pointers") + `struct ${p}_devices {\n  void* ethos_u;\n};\n\n`;
  const pools = externalPools(v);
  if (pools.length > 0)
    text +=
      brief("Workspace pool pointers") +
      `struct ${p}_workspace_pools {\n${pools.map((n) => `  void* ${n};\n`).join("")}};\n\n`;
  const ioInPools = v.pools === "io-in-pools";
  if (ioInPools) {
    for (const [kind, fn] of [
      ["inputs", "map_inputs"],
      ["outputs", "map_outputs"],
    ])
      text += `/*!\n * \\brief Maps I/O inside the workspace pools for TVM module "${v.mod}"\n * \\param workspace_pools Workspace memory pool struct for the module \n * \\return I/O tensor struct for the module \n */\nstruct ${p}_${kind} ${p}_${fn}(\n  struct ${p}_workspace_pools* workspace_pools\n);\n\n`;
  }
  text += `/*!\n * \\brief entrypoint function for TVM module "${v.mod}"\n`;
  if (!ioInPools)
    text += ` * \\param inputs Input tensors for the module \n * \\param outputs Output tensors for the module \n`;
  if (pools.length > 0) text += ` * \\param workspace_pools Workspace memory pool pointers for the module \n`;
  if (v.devices) text += ` * \\param devices Device context pointers for the module \n`;
  const params = [
    ...(ioInPools ? [] : [`  struct ${p}_inputs* inputs`, `  struct ${p}_outputs* outputs`]),
    ...(pools.length > 0 ? [`  struct ${p}_workspace_pools* workspace_pools`] : []),
    ...(v.devices ? [`  struct ${p}_devices* devices`] : []),
  ];
  text += ` */\nint32_t ${p}_run(\n${params.join(",\n")}\n);\n`;
  text += brief("Workspace size") + `#define ${M}_WORKSPACE_SIZE ${v.pools === "none" ? 48 : 0}\n`;
  if (v.pools === "external-const") {
    text +=
      brief("flash initialization data") +
      `#define ${M}_FLASH_CONSTANT_POOL_SIZE 28\n#define ${M}_FLASH_CONSTANT_POOL_DATA \\\n${constantPoolData()}\n`;
  }
  if (pools.includes("sram"))
    text += brief("sram size") + `#define ${M}_SRAM_WORKSPACE_POOL_SIZE ${ioInPools ? 64 : 32}\n`;
  text += `\n#ifdef __cplusplus\n}\n#endif\n\n#endif // ${M}_H_\n`;
  return text;
}

/** Members of struct <prefix>_workspace_pools, in the order USMP lists the pools. */
function externalPools(v: Variant): string[] {
  if (v.pools === "external" || v.pools === "io-in-pools") return ["sram"];
  if (v.pools === "external-const") return ["flash", "sram"];
  return [];
}

function relayText(v: Variant): string {
  const names = v.version === 7 && v.metaIO ? `, output_tensor_names=["${v.outputName}"]` : "";
  return `#[version = "0.0.5"]
def @main(%${v.inputName}: Tensor[(1, 4), float32] /* ty=Tensor[(1, 4), float32] span=${v.inputName}:0:0 */${names}) -> Tensor[(1, 3), float32] {
  %0 = qnn.quantize(%${v.inputName}, 0.05f /* ty=float32 */, 0 /* ty=int32 */, out_dtype="int8", axis=1) /* ty=Tensor[(1, 4), int8] */;
  %1 = qnn.dense(%0, meta[relay.Constant][0] /* ty=Tensor[(3, 4), int8] */, 0, 0, 0.05f, 0.001f, units=3, out_dtype="int32") /* ty=Tensor[(1, 3), int32] */;
  %2 = add(%1, meta[relay.Constant][1] /* ty=Tensor[(3), int32] */) /* ty=Tensor[(1, 3), int32] */;
  %3 = qnn.dequantize(%2, 0.001f /* ty=float32 */, 0 /* ty=int32 */) /* ty=Tensor[(1, 3), float32] */;
  nn.softmax(%3) /* ty=Tensor[(1, 3), float32] */
}

`;
}

function graphJson(v: Variant): string {
  const nodes = [
    { op: "null", name: v.inputName, inputs: [] },
    { op: "null", name: "p0", inputs: [] },
    { op: "null", name: "p1", inputs: [] },
    op(`${prefixOf(v)}_fused_qnn_quantize`, [[0, 0, 0]]),
    op(`${prefixOf(v)}_fused_nn_dense_add`, [
      [3, 0, 0],
      [1, 0, 0],
      [2, 0, 0],
    ]),
    op(`${prefixOf(v)}_fused_dequantize_nn_softmax`, [[4, 0, 0]]),
  ];
  function op(func: string, inputs: number[][]) {
    return {
      op: "tvm_op",
      name: func,
      attrs: {
        num_outputs: "1",
        num_inputs: String(inputs.length),
        flatten_data: "0",
        func_name: func,
        hash: "0f3a1c2b4d5e6f70",
      },
      inputs,
    };
  }
  return JSON.stringify(
    {
      nodes,
      arg_nodes: [0, 1, 2],
      heads: [[5, 0, 0]],
      attrs: {
        dltype: ["list_str", ["float32", "int8", "int32", "int8", "int32", "float32"]],
        device_index: ["list_int", [1, 1, 1, 1, 1, 1]],
        storage_id: ["list_int", [0, 1, 2, 3, 4, 5]],
        shape: ["list_shape", [[1, 4], [3, 4], [3], [1, 4], [1, 3], [1, 3]]],
      },
      node_row_ptr: [0, 1, 2, 3, 4, 5, 6],
    },
    null,
    2,
  );
}

function prefixOf(v: Variant): string {
  return `tvmgen_${v.mod}`.toLowerCase();
}

/** The C sources of the archive, in file order. */
function sources(v: Variant): string[] {
  const p = prefixOf(v);
  const inVar = `${sanitizeName(v.inputName)}_buffer_var`;
  const ops = [
    ...["fused_qnn_quantize", "fused_nn_dense_add", "fused_dequantize_nn_softmax"].map((o) => `${p}_${o}`),
  ];
  switch (v.style) {
    case "c": {
      const lib0 = HEAD + operatorsUnpacked(p, v.pools !== "none") + mainUnpacked(p, v, inVar);
      const inId = sanitizeName(v.inputName);
      const outId = sanitizeName(v.outputName);
      const ioInPools = v.pools === "io-in-pools";
      // The main's parameters and, per pool, what the entry passes: a static pool or the caller's.
      const poolParams: [string, string][] =
        v.pools === "none"
          ? []
          : v.pools === "internal"
            ? [
                ["global_const_workspace_0_var", "((uint8_t*)&global_const_workspace)"],
                ["global_workspace_1_var", "((uint8_t*)&global_workspace)"],
              ]
            : v.pools === "external-const"
              ? [
                  ["global_const_workspace_0_var", "((uint8_t*)workspace_pools->flash)"],
                  ["global_workspace_1_var", "((uint8_t*)workspace_pools->sram)"],
                ]
              : [
                  ["global_const_workspace_0_var", "((uint8_t*)&global_const_workspace)"],
                  [ioInPools ? "sram_1_var" : "global_workspace_1_var", "((uint8_t*)workspace_pools->sram)"],
                ];
      const ioParams = ioInPools ? [] : [`float* ${inId}`, "void* output0"];
      const main = `TVM_DLL int32_t ${p}___tvm_main__(${[...ioParams, ...poolParams.map(([n]) => `uint8_t* ${n}`)].join(",")});\n`;
      const structs = [
        ...(ioInPools ? [] : [`struct ${p}_inputs* inputs`, `struct ${p}_outputs* outputs`]),
        ...(externalPools(v).length > 0 ? [`struct ${p}_workspace_pools* workspace_pools`] : []),
        ...(v.devices ? [`struct ${p}_devices* devices`] : []),
      ];
      const args = [
        ...(ioInPools ? [] : [`inputs->${inId}`, `outputs->${outId}`]),
        ...poolParams.map(([, a]) => a),
      ];
      const staticPools =
        v.pools === "internal"
          ? internalPools()
          : v.pools === "external" || v.pools === "io-in-pools"
            ? internalPools().replace(/__attribute__\(\(section\("\.bss[\s\S]*$/, "")
            : "";
      const maps = ioInPools
        ? (
            [
              ["inputs", "map_inputs", inId, 32],
              ["outputs", "map_outputs", outId, 48],
            ] as const
          )
            .map(
              ([kind, fn, member, offset]) =>
                `struct ${p}_${kind} ${p}_${fn}(\n  struct ${p}_workspace_pools* workspace_pools\n\n){\nstruct ${p}_${kind} ret = {\n\t.${member} = &((uint8_t*)workspace_pools->sram)[${offset}],\n};\nreturn ret;\n}\n\n`,
            )
            .join("")
        : "";
      const lib1 =
        (v.cSystemLib ? registry([`${p}_run`]) : "") +
        `#include "tvm/runtime/c_runtime_api.h"\n#ifdef __cplusplus\nextern "C" {\n#endif\n` +
        staticPools +
        `#include <${p}.h>\n${maps}${main}int32_t ${p}_run(${structs.join(",")}) {return ${p}___tvm_main__(${args.join(",")});\n}\n#ifdef __cplusplus\n}\n#endif\n;`;
      return [lib0, lib1];
    }
    case "unpacked-packed": {
      const lib0 = HEAD + operatorsUnpacked(p, v.pools !== "none") + mainUnpacked(p, v, inVar);
      const poolArgs = v.pools === "internal" ? "&global_const_workspace,&global_workspace," : "";
      // No system lib: TVM's function registry would declare the entry with the packed signature,
      // which conflicts with this void* one, so unpacked archives are built without it.
      const lib1 =
        `#include "tvm/runtime/c_runtime_api.h"\n#ifdef __cplusplus\nextern "C" {\n#endif\n` +
        (v.pools === "internal" ? internalPools() : "") +
        `TVM_DLL int32_t ${p}___tvm_main__(float* ${inVar},void* output0${
          v.pools === "internal"
            ? ",uint8_t* global_const_workspace_0_var,uint8_t* global_workspace_1_var"
            : ""
        });\nint32_t ${p}_run(void* args, void* type_code, int num_args, void* out_value, void* out_type_code, void* resource_handle) {\nreturn ${p}___tvm_main__(((DLTensor*)(((TVMValue*)args)[0].v_handle))[0].data,((DLTensor*)(((TVMValue*)args)[1].v_handle))[0].data${
          poolArgs ? `,${poolArgs.slice(0, -1)}` : ""
        });\n}\n#ifdef __cplusplus\n}\n#endif\n;`;
      return [lib0, lib1];
    }
    case "packed": {
      const lib0 = HEAD + operatorsPacked(p, v) + mainPacked(p, v);
      const lib1 = cMetadata(p, v);
      // A user-defined pool gets a slot in tensors[] that the entry never fills.
      const pooled = v.pools === "internal" || v.pools === "external";
      const internal = v.pools === "internal";
      const entry = `TVM_DLL int32_t ${p}___tvm_main__(TVMValue* args, int* type_code, int num_args, TVMValue* out_value, int* out_type_code, void* resource_handle);

int32_t ${p}_run(TVMValue* args, int* type_code, int num_args, TVMValue* out_value, int* out_type_code, void* resource_handle) {
TVMValue tensors[${pooled ? 3 : 2}];
tensors[0] = ((TVMValue*)args)[0];
tensors[1] = ((TVMValue*)args)[1];
${
  internal
    ? "DLTensor global_workspace_dltensor = {\n.data = &global_workspace\n};\nTVMValue global_workspace_tvm_value = {\n.v_handle = &global_workspace_dltensor\n};\ntensors[2] = global_workspace_tvm_value;\n"
    : ""
}return ${p}___tvm_main__((void*)tensors, type_code, num_args, out_value, out_type_code, resource_handle);
}
`;
      const lib2 =
        (v.noSystemLib ? "" : registry([`${p}_run`, `${p}_get_c_metadata`, `${p}___tvm_main__`, ...ops])) +
        `#include "tvm/runtime/c_runtime_api.h"\n#ifdef __cplusplus\nextern "C" {\n#endif\n` +
        (internal
          ? `__attribute__((section(".bss.noinit.tvm"), aligned(16)))\nstatic uint8_t global_workspace[32];\n`
          : "") +
        entry +
        `#ifdef __cplusplus\n}\n#endif\n;`;
      return [lib0, lib1, lib2];
    }
    case "graph": {
      const lib0 = HEAD + operatorsPacked(p, v);
      return [lib0, registry(ops) + ";"];
    }
  }
}

function moduleMetadata(v: Variant): Record<string, unknown> {
  const graph = v.style === "graph";
  const main: Record<string, unknown> = {
    constants_size_bytes: graph ? 24 : 28,
    device: 1,
    io_size_bytes: 28,
    workspace_size_bytes: v.pools === "none" ? 48 : 0,
  };
  if (v.metaIO) {
    main.inputs = { [v.inputName]: { dtype: "float32", size: 16 } };
    main.outputs = { [v.outputName]: { dtype: "float32", size: 12 } };
  }
  const p = prefixOf(v);
  const memory: Record<string, unknown> = {
    functions: {
      main: [main],
      operator_functions: ["fused_qnn_quantize", "fused_nn_dense_add", "fused_dequantize_nn_softmax"].map(
        (o) => ({
          function_name: `${p}_${o}`,
          workspace: [{ device: 1, workspace_size_bytes: 0 }],
        }),
      ),
    },
  };
  if (graph) {
    memory.sids = [
      { storage_id: 0, size_bytes: 16, input_binding: v.inputName },
      { storage_id: 1, size_bytes: 12, input_binding: "p0" },
      { storage_id: 2, size_bytes: 12, input_binding: "p1" },
      { storage_id: 3, size_bytes: 4 },
      { storage_id: 4, size_bytes: 12 },
      { storage_id: 5, size_bytes: 12 },
    ];
  }
  const body: Record<string, unknown> = {
    executors: [graph ? "graph" : "aot"],
    export_datetime: "2023-05-04 10:11:12Z",
    memory,
    model_name: v.mod,
    style: "full-model",
    target: [KEYS],
  };
  if (!graph) {
    body.external_dependencies = [
      { short_name: "tvm_standalone_crt", url: "./runtime", url_type: "mlf_path", version_spec: "0.12.0" },
    ];
  }
  return body;
}

function metadata(vs: readonly Variant[]): string {
  const doc =
    vs[0]!.version === 7
      ? { modules: Object.fromEntries(vs.map((v) => [v.mod, moduleMetadata(v)])), version: 7 }
      : { ...moduleMetadata(vs[0]!), version: 6 };
  return JSON.stringify(sortKeys(doc), null, 2);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  return value;
}

/** The archive's bytes, laid out as model_library_format.py writes version 6 or 7 (v6: one module). */
function buildArchive(...vs: Variant[]): Buffer {
  const entries: TarInput[] = [];
  const dirs = new Set<string>();
  const file = (name: string, data: string | Uint8Array) => {
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (!dirs.has(dir)) {
        dirs.add(dir);
        entries.push({ name: dir, type: "directory" });
      }
    }
    entries.push({ name, type: "file", data: typeof data === "string" ? Buffer.from(data) : data });
  };
  file("metadata.json", metadata(vs));
  for (const v of vs) {
    const p = prefixOf(v);
    sources(v).forEach((text, i) => file(`codegen/host/src/${v.mod}_lib${i}.c`, text));
    if (v.style === "c") file(`codegen/host/include/${p}.h`, header(p, v));
    const params =
      v.style === "graph"
        ? serializeParams([
            { name: "p0", dtype: "int8", shape: [3, 4], data: Int8Array.from(WEIGHTS) },
            { name: "p1", dtype: "int32", shape: [3], data: Int32Array.from(BIAS) },
          ])
        : serializeParams([]);
    file(`parameters/${v.mod}.params`, params);
    if (v.version === 7) file(`src/${v.mod}.relay`, relayText(v));
    else file("src/relay.txt", relayText(v));
    if (v.style === "graph")
      file(
        v.version === 7 ? `executor-config/graph/${v.mod}.graph` : "executor-config/graph/graph.json",
        graphJson(v),
      );
  }
  return buildTar(entries, 1683195072);
}

// ---- the CLI ----------------------------------------------------------------------------------

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user does; `cacheDir` keeps its project cache inside the test's directory. */
function cli(args: string[], cacheDir: string): Promise<CliResult> {
  return runCli(args, { built: true, timeoutMs: CLI_TIMEOUT_MS, env: { MICROTVM_CACHE_DIR: cacheDir } });
}

interface RunDoc {
  model: { name: string; executor: string };
  outputs: { name: string; dtype: string; shape: number[]; values: number[] }[];
}

function checkOutputs(result: CliResult, v: Variant): void {
  assert.equal(result.code, 0, `run failed:\n${result.stderr}\n${result.stdout}`);
  const doc = JSON.parse(result.stdout) as RunDoc;
  assert.equal(doc.model.name, v.mod);
  assert.equal(doc.outputs.length, 1);
  const out = doc.outputs[0]!;
  assert.equal(out.dtype, "float32");
  assert.deepEqual(out.shape, [1, 3]);
  const want = expected(INPUT);
  out.values.forEach((got, i) =>
    assert.ok(Math.abs(got - want[i]!) < 1e-6, `output ${i}: ${got} vs ${want[i]}`),
  );
}

const VARIANTS: Record<string, Variant> = {
  cPlain: {
    version: 7,
    mod: "default",
    style: "c",
    pools: "none",
    metaIO: true,
    inputName: "serving_default_input_1:0",
    outputName: "StatefulPartitionedCall:0",
  },
  cExternalPool: {
    version: 7,
    mod: "kws",
    style: "c",
    pools: "external",
    metaIO: true,
    inputName: "serving_default_input_1:0",
    outputName: "output",
  },
  cStaticPools: {
    version: 7,
    mod: "default",
    style: "c",
    pools: "internal",
    metaIO: false, // v0.10: no inputs/outputs in metadata, no size macros
    inputName: "serving_default_input_1:0",
    outputName: "output",
  },
  packedMetadata: {
    version: 7,
    mod: "default",
    style: "packed",
    pools: "none",
    metaIO: true,
    inputName: "serving_default_input_1:0",
    outputName: "output",
  },
  packedStaticPool: {
    version: 7,
    mod: "net1",
    style: "packed",
    pools: "internal",
    metaIO: true,
    inputName: "serving_default_input_1:0",
    outputName: "output",
  },
  packedV010: {
    version: 7,
    mod: "default",
    style: "packed",
    pools: "internal",
    metaIO: false, // v0.10: tensors from the Relay text, the TVMMetadata on the device
    inputName: "serving_default_input_1:0",
    outputName: "output",
  },
  unpackedPacked: {
    version: 7,
    mod: "default",
    style: "unpacked-packed",
    pools: "internal",
    metaIO: true,
    inputName: "x",
    outputName: "output",
  },
  graphV7: {
    version: 7,
    mod: "default",
    style: "graph",
    pools: "none",
    metaIO: true,
    inputName: "serving_default_input_1:0",
    outputName: "output",
  },
  cConstantPool: {
    version: 7,
    mod: "default",
    style: "c",
    pools: "external-const",
    metaIO: true,
    inputName: "serving_default_input_1:0",
    outputName: "output",
  },
  cIoInPools: {
    version: 7,
    mod: "default",
    style: "c",
    pools: "io-in-pools",
    metaIO: true,
    inputName: "serving_default_input_1:0",
    outputName: "output",
  },
  graphV6: {
    version: 6,
    mod: "default",
    style: "graph",
    pools: "none",
    metaIO: false,
    inputName: "input_1",
    outputName: "output",
  },
  cV6: {
    version: 6,
    mod: "default",
    style: "c",
    pools: "none",
    metaIO: false,
    inputName: "input_1",
    outputName: "output",
  },
};

describe("host template: TVM v0.9–v0.18 archive shapes through the CLI", () => {
  let work = "";
  let inputFile = "";
  before(() => {
    work = mkdtempSync(join(tmpdir(), "mtvm-v7-"));
    inputFile = join(work, "input.bin");
    writeFileSync(inputFile, new Uint8Array(Float32Array.from(INPUT).buffer));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test("the archives read as the shapes they imitate", async () => {
    for (const [key, v] of Object.entries(VARIANTS)) {
      const path = join(work, `${key}-read.tar`);
      writeFileSync(path, buildArchive(v));
      const model = await openMlf(path);
      const mod = model.modules[0]!;
      assert.equal(model.formatVersion, v.version, key);
      assert.equal(mod.name, v.mod, key);
      assert.equal(
        mod.entryStyle,
        v.style === "c" ? "c-interface" : v.style === "graph" ? "graph" : "packed",
        key,
      );
      assert.equal(mod.inputs.length, 1, key);
      assert.deepEqual(mod.inputs[0]!.shape, [1, 4], key);
      assert.equal(mod.inputs[0]!.dtype, "float32", key);
      assert.deepEqual(mod.outputs[0]!.shape, [1, 3], key);
      assert.equal(mod.hasCMetadata, v.style === "packed", key);
      // Only the CRT the exporter would have bundled is missing; nothing else looks wrong.
      assert.deepEqual(
        mod.warnings.map((w) => w.code).filter((c) => c !== "missing-dependency"),
        [],
        `${key}: ${mod.warnings.map((w) => w.message).join("; ")}`,
      );
    }
  });

  /** The input is given by its name as the archive spells it (`serving_default_input_1:0`). */
  const run = (tar: string, input = "0") =>
    cli(
      ["run", tar, "--template", "host", "--input", `${input}=${inputFile}`, "--json", "--repeat", "1"],
      join(work, "cache"),
    );

  for (const [key, v] of Object.entries(VARIANTS)) {
    test(`${key}: MLF v${v.version} ${v.style}, pools ${v.pools}, module ${v.mod}: run <model.tar> --template host`, async (t) => {
      requireCommand(t, "cc", "install a C compiler (Debian: apt-get install build-essential)");
      requireCommand(t, "make", "install make (Debian: apt-get install make)");
      const tar = join(work, `${key}.tar`);
      writeFileSync(tar, buildArchive(v));
      checkOutputs(await run(tar, v.inputName), v);
    });
  }

  test("two modules in one archive (C interface and packed with TVMMetadata): create-project, build, run --model", async (t) => {
    requireCommand(t, "cc", "install a C compiler (Debian: apt-get install build-essential)");
    requireCommand(t, "make", "install make (Debian: apt-get install make)");
    const a: Variant = { ...VARIANTS.cExternalPool!, mod: "net_a" };
    const b: Variant = { ...VARIANTS.packedStaticPool!, mod: "net_b" };
    const tar = join(work, "two.tar");
    writeFileSync(tar, buildArchive(a, b));
    const project = join(work, "two-project");
    const created = await cli(["create-project", project, tar, "--template", "host"], join(work, "cache"));
    assert.equal(created.code, 0, created.stderr);
    const built = await cli(["build", project], join(work, "cache"));
    assert.equal(built.code, 0, built.stderr);
    for (const v of [a, b]) {
      const result = await cli(
        ["run", project, "--model", v.mod, "--input", `0=${inputFile}`, "--json", "--repeat", "1"],
        join(work, "cache"),
      );
      checkOutputs(result, v);
    }
    const unnamed = await cli(["run", project, "--input", `0=${inputFile}`, "--json"], join(work, "cache"));
    assert.equal(unnamed.code, 2);
    assert.match(unnamed.stderr, /net_a, net_b/);
  });

  test("refused with a reason: accelerator devices, user-defined pools behind the packed API", async () => {
    const devices = join(work, "devices.tar");
    writeFileSync(devices, buildArchive({ ...VARIANTS.cPlain!, devices: true }));
    const d = await run(devices);
    assert.equal(d.code, 1, d.stderr);
    assert.match(d.stderr, /external devices \(ethos_u: struct tvmgen_default_devices\)/);
    const packed = join(work, "packed-external.tar");
    writeFileSync(packed, buildArchive({ ...VARIANTS.packedMetadata!, pools: "external" }));
    const p = await run(packed);
    assert.equal(p.code, 1, p.stderr);
    assert.match(p.stderr, /leaves 1 workspace pool argument\(s\) unset/);
    assert.match(p.stderr, /interface-api/);
    const noLib = join(work, "packed-no-system-lib.tar");
    writeFileSync(noLib, buildArchive({ ...VARIANTS.packedStaticPool!, noSystemLib: true }));
    const n = await run(noLib);
    assert.equal(n.code, 1, n.stderr);
    assert.match(n.stderr, /takes 3 arguments \(its 1 workspace pool\(s\) after the inputs and outputs\)/);
    assert.match(n.stderr, /system-lib/);
    const conflicting = join(work, "c-system-lib.tar");
    writeFileSync(conflicting, buildArchive({ ...VARIANTS.cPlain!, cSystemLib: true }));
    const c = await run(conflicting);
    assert.equal(c.code, 1, c.stderr);
    assert.match(
      c.stderr,
      /declares tvmgen_default_run as a packed function .* C interface \(conflicting types\)/,
    );
  });

  test("a compiled-in TVMMetadata that disagrees with the archive fails the run with both sizes", async (t) => {
    requireCommand(t, "cc", "install a C compiler (Debian: apt-get install build-essential)");
    requireCommand(t, "make", "install make (Debian: apt-get install make)");
    const tar = join(work, "mismatch.tar");
    writeFileSync(tar, buildArchive({ ...VARIANTS.packedMetadata!, metadataInputElements: 5 }));
    const result = await run(tar);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /is 20 bytes in the compiled-in metadata but 16 in the model archive/);
  });
});
