// Pieces of newer TVM exports (v0.9–v0.18) that the reader and the host glue must understand:
// Relay parameters followed by type comments, C-interface headers with pools, devices and I/O
// placed in pools, and the packed entry's argument copies.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCInterfaceHeader, parseRelayMain } from "../../src/mlf/index.js";
import { packedEntryUnsetArguments } from "../../templates/host/model.js";

test("Relay parameters keep their types when the printer adds /* ty=... span=... */", () => {
  const relay = parseRelayMain(`#[version = "0.0.5"]
def @main(%serving_default_input_1:0: Tensor[(1, 49, 10, 1), int8] /* ty=Tensor[(1, 49, 10, 1), int8] span=serving_default_input_1:0:0:0 */, %v_param_1: Tensor[(4), int32] /* ty=Tensor[(4), int32] */, output_tensor_names=["StatefulPartitionedCall:0"]) -> Tensor[(1, 4), int8] {
  nn.softmax(%serving_default_input_1:0) /* ty=Tensor[(1, 4), int8] */
}
`);
  assert.ok(relay);
  assert.deepEqual(relay.params[0], {
    name: "serving_default_input_1:0",
    dtype: "int8",
    shape: [1, 49, 10, 1],
  });
  assert.deepEqual(relay.params[1], { name: "v_param_1", dtype: "int32", shape: [4] });
  assert.deepEqual(relay.outputTensorNames, ["StatefulPartitionedCall:0"]);
});

const HEADER = `#ifndef TVMGEN_DEFAULT_H_
#define TVMGEN_DEFAULT_H_
#include <stdint.h>

struct tvmgen_default_inputs {
  void* input_1;
};

struct tvmgen_default_outputs {
  void* output;
};

struct tvmgen_default_devices {
  void* ethos_u;
};

struct tvmgen_default_workspace_pools {
  void* flash;
  void* sram;
};

struct tvmgen_default_inputs tvmgen_default_map_inputs(
  struct tvmgen_default_workspace_pools* workspace_pools
);

int32_t tvmgen_default_run(
  struct tvmgen_default_workspace_pools* workspace_pools,
  struct tvmgen_default_devices* devices
);
#define TVMGEN_DEFAULT_WORKSPACE_SIZE 0
#define TVMGEN_DEFAULT_FLASH_CONSTANT_POOL_SIZE 4
#define TVMGEN_DEFAULT_FLASH_CONSTANT_POOL_DATA \\
    0x01, 0x02, 0x03, 0x04

#define TVMGEN_DEFAULT_SRAM_WORKSPACE_POOL_SIZE 96
#endif // TVMGEN_DEFAULT_H_
`;

test("C-interface header: devices, external workspace and constant pools, I/O in pools", () => {
  const h = parseCInterfaceHeader(HEADER);
  assert.equal(h.prefix, "tvmgen_default");
  assert.deepEqual(h.devices, ["ethos_u"]);
  assert.deepEqual(h.workspacePools, ["flash", "sram"]);
  assert.equal(h.ioInPools, true);
  assert.deepEqual(h.runParameters, [
    "struct tvmgen_default_workspace_pools* workspace_pools",
    "struct tvmgen_default_devices* devices",
  ]);
  assert.equal(h.macros.get("TVMGEN_DEFAULT_FLASH_CONSTANT_POOL_SIZE"), 4);
  assert.equal(h.macros.get("TVMGEN_DEFAULT_SRAM_WORKSPACE_POOL_SIZE"), 96);
  // The data macro is a list, not a number: defined, with no numeric value.
  assert.ok(h.defines.has("TVMGEN_DEFAULT_FLASH_CONSTANT_POOL_DATA"));
  assert.equal(h.macros.has("TVMGEN_DEFAULT_FLASH_CONSTANT_POOL_DATA"), false);
});

test("packed entry: slots for user-defined pools are counted as unset, static pools as set", () => {
  const entry = (assignments: string, slots: number) =>
    `int32_t tvmgen_default_run(TVMValue* args, int* type_code, int num_args, TVMValue* out_value, int* out_type_code, void* resource_handle) {
TVMValue tensors[${slots}];
${assignments}return tvmgen_default___tvm_main__((void*)tensors, type_code, num_args, out_value, out_type_code, resource_handle);
}
`;
  const io = "tensors[0] = ((TVMValue*)args)[0];\ntensors[1] = ((TVMValue*)args)[1];\n";
  const staticPool =
    "DLTensor global_workspace_dltensor = {\n.data = &global_workspace\n};\nTVMValue global_workspace_tvm_value = {\n.v_handle = &global_workspace_dltensor\n};\ntensors[2] = global_workspace_tvm_value;\n";
  assert.equal(packedEntryUnsetArguments(entry(io, 2), "tvmgen_default"), 0);
  assert.equal(packedEntryUnsetArguments(entry(io + staticPool, 3), "tvmgen_default"), 0);
  assert.equal(packedEntryUnsetArguments(entry(io, 3), "tvmgen_default"), 1);
  // Another module's entry, or an unpacked entry, is not this form.
  assert.equal(packedEntryUnsetArguments(entry(io, 3), "tvmgen_other"), 0);
  assert.equal(
    packedEntryUnsetArguments(
      "int32_t tvmgen_default_run(void* args, void* type_code, int num_args, void* out_value, void* out_type_code, void* resource_handle) {\nreturn 0;\n}\n",
      "tvmgen_default",
    ),
    0,
  );
});
