// Graph JSON checking and storage planning for the host-side graph executor.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readTarFile } from "../../src/mlf/index.js";
import { GraphJsonError, formatDType, planGraph } from "../../src/rpc/index.js";
import { sharedFixture } from "../helpers/paths.js";

/** Reads one member of a tar archive into memory. */
async function tarMember(file: string, member: string): Promise<string> {
  let data: Buffer | undefined;
  await readTarFile(file, (entry) => {
    if (entry.name === member) data = entry.data;
  });
  assert.ok(data, `${member} found in ${file}`);
  return data.toString("utf8");
}

test("storage plan of a real TVM graph (yes/no keyword spotting, MLF v4)", async (t) => {
  const archive = sharedFixture(t, "yes-no-kws-graph-v4", "model.tar");
  if (!archive) return;
  const plan = planGraph(await tarMember(archive, "runtime-config/graph/graph.json"));
  assert.equal(plan.entries.length, 16);
  assert.deepEqual(
    plan.inputs.map((i) => i.name),
    ["Reshape_1", "p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"],
  );
  assert.deepEqual(plan.outputs, [15]);
  const output = plan.entries[15]!;
  assert.deepEqual([formatDType(output.dtype), output.shape], ["int8", [1, 4]]);
  // sid 2 holds [1,49,40,1] int16 (3920 B) and later [1,4000] int16 (8000 B): the larger decides.
  assert.deepEqual(plan.storage[2], { storageId: 2, bytes: 8000, allocBytes: 8000 });
  // sid 12 holds [1,4] float32 (16 B) and the int8 output [1,4] (4 B).
  assert.deepEqual(plan.storage[12], { storageId: 12, bytes: 16, allocBytes: 16 });
  // A scalar int16 parameter (shape []) takes 2 bytes, allocated as one float32 word.
  assert.deepEqual(plan.storage[1], { storageId: 1, bytes: 2, allocBytes: 4 });
  assert.equal(plan.storage.length, 14);
  const kernels = plan.nodes.filter((n) => n.op === "tvm_op");
  assert.equal(kernels.length, 6);
  assert.equal(kernels[0]!.funcName, "tvmgen_default_fused_reshape_cast_subtract");
  assert.deepEqual([kernels[0]!.inputs, kernels[0]!.outputs], [[0, 1], [2]]);
});

test("entry ids follow num_outputs when node_row_ptr is absent; heads may omit the version", () => {
  const plan = planGraph({
    nodes: [
      { op: "null", name: "x", inputs: [] },
      { op: "tvm_op", name: "split", attrs: { func_name: "split", num_outputs: "2" }, inputs: [[0, 0, 0]] },
      {
        op: "tvm_op",
        name: "add",
        attrs: { func_name: "add", num_outputs: "1", flatten_data: "1" },
        inputs: [
          [1, 1, 0],
          [1, 0, 0],
        ],
      },
    ],
    arg_nodes: [0],
    heads: [
      [2, 0],
      [1, 1, 0],
    ],
    attrs: {
      dltype: ["list_str", ["float32", "float32", "float32", "float32"]],
      storage_id: ["list_int", [0, 1, 2, 0]],
      shape: ["list_shape", [[2, 2], [2], [2], [2]]],
    },
  });
  assert.deepEqual(
    plan.nodes.map((n) => [n.inputs, n.outputs]),
    [
      [[], [0]],
      [[0], [1, 2]],
      [[2, 1], [3]],
    ],
  );
  assert.deepEqual(plan.outputs, [3, 2]);
  assert.equal(plan.nodes[2]!.flattenData, true);
  assert.deepEqual(
    plan.storage.map((s) => s.bytes),
    [16, 8, 8],
  );
});

test("bad graph JSON gives a GraphJsonError naming the field", () => {
  const base = () => ({
    nodes: [
      { op: "null", name: "x", inputs: [] as number[][] },
      {
        op: "tvm_op",
        name: "k",
        attrs: { func_name: "k", num_outputs: "1" } as Record<string, string>,
        inputs: [[0, 0, 0]],
      },
    ],
    arg_nodes: [0],
    heads: [[1, 0, 0]],
    node_row_ptr: [0, 1, 2],
    attrs: {
      dltype: ["list_str", ["int8", "int8"]],
      storage_id: ["list_int", [0, 1]],
      shape: ["list_shape", [[4], [4]]],
    } as Record<string, unknown>,
  });
  const cases: [(g: ReturnType<typeof base>) => unknown, RegExp][] = [
    [(g) => ((g.attrs.storage_id = undefined), g), /attrs.storage_id is missing/],
    [(g) => ((g.attrs.storage_id = ["list_int", [0]]), g), /attrs.storage_id has 1 items for 2 node entries/],
    [
      (g) => ((g.attrs.dltype = ["list_str", ["int8", "qint3"]]), g),
      /attrs.dltype\[1\]: unknown dtype "qint3"/,
    ],
    [(g) => ((g.nodes[1]!.inputs = [[5, 0, 0]]), g), /node 1 input 0 refers to missing entry \[5, 0\]/],
    [(g) => ((g.nodes[1]!.op = "relu"), g), /op "relu"; only "null" and "tvm_op"/],
    [(g) => ((g.nodes[1]!.attrs = { num_outputs: "1" }), g), /tvm_op node 1 has no attrs.func_name/],
    [
      (g) => ((g.attrs.storage_scope = ["list_str", ["global", "global.texture"]]), g),
      /storage scope "global.texture"/,
    ],
    [(g) => ((g.node_row_ptr = [0, 1]), g), /node_row_ptr has 2 items, expected 3/],
    [(g) => ((g.heads = [[7, 0, 0]]), g), /heads\[0\] refers to a missing entry/],
    [() => "{nodes", /not valid JSON/],
    [() => ({ nodes: [] }), /must be an object with nodes, arg_nodes, heads and attrs/],
  ];
  for (const [mutate, pattern] of cases) {
    assert.throws(
      () => planGraph(mutate(base())),
      (e: unknown) => e instanceof GraphJsonError && pattern.test(e.message),
      pattern.source,
    );
  }
  assert.doesNotThrow(() => planGraph(base()));
});
