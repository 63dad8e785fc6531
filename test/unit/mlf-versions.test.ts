// Metadata versions 6 and 7 (no real archive is staged): archives built here from the format
// description, plus every validation error and warning the reader reports.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildTar, MlfError, openMlf, serializeParams, type MlfModel } from "../../src/mlf/index.js";

type Files = Record<string, string | Buffer>;

let dir: string;
test.before(() => {
  dir = mkdtempSync(join(tmpdir(), "mlf-versions-"));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
/** Packs files as TVM lays them out (directories first, names rooted at ./). */
async function open(files: Files): Promise<MlfModel> {
  const path = join(dir, `a${counter++}.tar`);
  writeFileSync(path, archiveBytes(files));
  return openMlf(path);
}

function archiveBytes(files: Files): Buffer {
  const dirs = new Set<string>([""]);
  for (const f of Object.keys(files)) {
    const parts = f.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  return buildTar([
    ...[...dirs].sort().map((name) => ({ name, type: "directory" as const })),
    ...Object.entries(files).map(([name, data]) => ({
      name,
      type: "file" as const,
      data: Buffer.from(data),
    })),
  ]);
}

async function refused(files: Files, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(open(files), (e: unknown) => {
    assert.ok(e instanceof MlfError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

const emptyParams = serializeParams([]);

/** A C-interface header as TVM v0.12 writes it, with size macros and optional external pools. */
function header(
  mod: string,
  inputs: [string, number][],
  outputs: [string, number][],
  workspace: number,
  pools: [string, number][] = [],
) {
  const P = `TVMGEN_${mod.toUpperCase()}`;
  const p = `tvmgen_${mod}`;
  const san = (n: string) => n.replace(/[^A-Za-z0-9]/g, "_");
  let h = `#ifndef ${P}_H_\n#define ${P}_H_\n#include <stdint.h>\n\n#ifdef __cplusplus\nextern "C" {\n#endif\n\n`;
  for (const [n, size] of [...inputs, ...outputs])
    h += `/*!\n * \\brief tensor size\n */\n#define ${P}_${san(n).toUpperCase()}_SIZE ${size}\n`;
  h += `struct ${p}_inputs {\n${inputs.map(([n]) => `  void* ${san(n)};\n`).join("")}};\n\n`;
  h += `struct ${p}_outputs {\n${outputs.map(([n]) => `  void* ${san(n)};\n`).join("")}};\n\n`;
  if (pools.length)
    h += `struct ${p}_workspace_pools {\n${pools.map(([n]) => `  void* ${san(n)};\n`).join("")}};\n\n`;
  h += `int32_t ${p}_run(\n  struct ${p}_inputs* inputs,\n  struct ${p}_outputs* outputs${pools.length ? `,\n  struct ${p}_workspace_pools* workspace_pools` : ""}\n);\n`;
  h += `#define ${P}_WORKSPACE_SIZE ${workspace}\n`;
  for (const [n, size] of pools) h += `#define ${P}_${san(n).toUpperCase()}_WORKSPACE_POOL_SIZE ${size}\n`;
  return `${h}\n#ifdef __cplusplus\n}\n#endif\n\n#endif // ${P}_H_\n`;
}

/** v7 AOT C-interface module with per-tensor sizes (TVM v0.11+). Keys are sorted, as TVM writes them. */
function v7Aot(mod: string, opts: { pools?: [string, number][]; sizes?: boolean } = {}): Files {
  const inputs = {
    "serving_default_input:0": { dtype: "int8", size: 40 },
    "aux:1": { dtype: "float32", size: 8 },
  };
  const outputs = { "StatefulPartitionedCall:0": { dtype: "int8", size: 10 } };
  const main: Record<string, unknown> = {
    constants_size_bytes: 0,
    device: 1,
    io_size_bytes: 58,
    workspace_size_bytes: 512,
  };
  if (opts.sizes !== false) Object.assign(main, { inputs, outputs });
  return {
    [`codegen/host/include/tvmgen_${mod}.h`]: header(
      mod,
      [
        ["serving_default_input:0", 40],
        ["aux:1", 8],
      ],
      [["StatefulPartitionedCall:0", 10]],
      512,
      opts.pools,
    ),
    [`codegen/host/src/${mod}_lib0.c`]: `int32_t tvmgen_${mod}_run(void) { return 0; }\n`,
    [`codegen/host/src/${mod}_lib1.c`]: "/* operators */\n",
    [`parameters/${mod}.params`]: emptyParams,
    [`src/${mod}.relay`]:
      `#[version = "0.0.5"]\ndef @main(%serving_default_input:0: Tensor[(1, 4, 10), int8], %aux:1: Tensor[(2), float32], output_tensor_names=["StatefulPartitionedCall:0"]) {\n` +
      `  %0 = reshape(%serving_default_input:0, newshape=[-1, 40]);\n  %1 = nn.dense(%0, meta[relay.Constant][0], units=10, out_dtype="int8");\n  %1\n}\n`,
  };
}

function v7Metadata(modules: Record<string, Record<string, unknown>>): string {
  return JSON.stringify({ modules, version: 7 }, null, 2);
}

function v7Module(
  mod: string,
  executor: "aot" | "graph",
  main: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return {
    executors: [executor],
    export_datetime: "2023-04-01 10:00:00Z",
    memory: { functions: { main: [main], operator_functions: [] }, ...extra },
    model_name: mod,
    style: "full-model",
    target: ["c -keys=cpu -model=host"],
  };
}

test("v7 AOT with per-tensor sizes: names kept (input:0), argument order from the header, shapes from Relay", async () => {
  const files = v7Aot("default");
  const meta = v7Metadata({
    default: v7Module("default", "aot", {
      constants_size_bytes: 0,
      device: 1,
      inputs: {
        "aux:1": { dtype: "float32", size: 8 },
        "serving_default_input:0": { dtype: "int8", size: 40 },
      },
      io_size_bytes: 58,
      outputs: { "StatefulPartitionedCall:0": { dtype: "int8", size: 10 } },
      workspace_size_bytes: 512,
    }),
  });
  const model = await open({ ...files, "metadata.json": meta });
  assert.equal(model.formatVersion, 7);
  const m = model.modules[0]!;
  assert.equal(m.entryStyle, "c-interface");
  assert.deepEqual(
    m.inputs.map((t) => [t.name, t.cName, t.dtype, t.shape, t.bytes, t.derived]),
    [
      ["serving_default_input:0", "serving_default_input_0", "int8", [1, 4, 10], 40, false],
      ["aux:1", "aux_1", "float32", [2], 8, false],
    ],
  );
  assert.deepEqual(
    m.outputs.map((t) => [t.name, t.cName, t.dtype, t.shape, t.bytes]),
    [["StatefulPartitionedCall:0", "StatefulPartitionedCall_0", "int8", [1, 10], 10]],
  );
  assert.deepEqual(m.pools, []);
  assert.equal(m.workspaceBytes, 512);
  assert.deepEqual(m.targets, ["c -keys=cpu -model=host"]);
  assert.deepEqual(m.warnings, []);
});

test("v7 AOT with external workspace pools reports them with their sizes", async () => {
  const files = v7Aot("default", {
    pools: [
      ["my_pool", 4096],
      ["fast-sram", 256],
    ],
  });
  const meta = v7Metadata({
    default: v7Module("default", "aot", {
      constants_size_bytes: 0,
      device: 1,
      inputs: {
        "aux:1": { dtype: "float32", size: 8 },
        "serving_default_input:0": { dtype: "int8", size: 40 },
      },
      io_size_bytes: 58,
      outputs: { "StatefulPartitionedCall:0": { dtype: "int8", size: 10 } },
      workspace_size_bytes: 512,
    }),
  });
  const m = (await open({ ...files, "metadata.json": meta })).modules[0]!;
  assert.deepEqual(m.pools, [
    { name: "my_pool", kind: "workspace", bytes: 4096 },
    { name: "fast_sram", kind: "workspace", bytes: 256 },
  ]);
  assert.deepEqual(m.header?.runParameters, [
    "struct tvmgen_default_inputs* inputs",
    "struct tvmgen_default_outputs* outputs",
    "struct tvmgen_default_workspace_pools* workspace_pools",
  ]);
});

test("v7 (TVM v0.10) without per-tensor sizes: tensors derived from header and Relay", async () => {
  const files = v7Aot("default", { sizes: false });
  const meta = v7Metadata({
    default: v7Module("default", "aot", {
      constants_size_bytes: 0,
      device: 1,
      io_size_bytes: 58,
      workspace_size_bytes: 512,
    }),
  });
  const m = (await open({ ...files, "metadata.json": meta })).modules[0]!;
  assert.deepEqual(
    m.inputs.map((t) => [t.name, t.dtype, t.shape, t.bytes, t.derived]),
    [
      ["serving_default_input:0", "int8", [1, 4, 10], 40, true],
      ["aux:1", "float32", [2], 8, true],
    ],
  );
  assert.deepEqual(
    m.outputs.map((t) => [t.name, t.dtype, t.shape, t.bytes, t.derived]),
    [["StatefulPartitionedCall_0", "int8", [1, 10], 10, true]],
  );
});

test("v7 disagreeing sizes are warnings that say which", async () => {
  const files = v7Aot("default");
  const meta = v7Metadata({
    default: v7Module("default", "aot", {
      constants_size_bytes: 0,
      device: 1,
      inputs: {
        "aux:1": { dtype: "float32", size: 8 },
        "serving_default_input:0": { dtype: "int8", size: 44 },
      },
      io_size_bytes: 58,
      outputs: { "StatefulPartitionedCall:0": { dtype: "int8", size: 10 } },
      workspace_size_bytes: 600,
    }),
  });
  const m = (await open({ ...files, "metadata.json": meta })).modules[0]!;
  const text = m.warnings.map((w) => w.message).join("\n");
  assert.ok(
    m.warnings.every((w) => w.code === "size-mismatch"),
    text,
  );
  assert.match(text, /input serving_default_input:0 is 44 bytes in metadata but int8\[1,4,10\] needs 40/);
  assert.match(text, /io_size_bytes is 58 but the inputs and outputs add up to 62/);
  assert.match(text, /WORKSPACE_SIZE is 512, metadata says 600/);
  assert.match(text, /size macro for serving_default_input:0 is 40/);
});

function graphJson(inputName: string) {
  return JSON.stringify({
    nodes: [
      { op: "null", name: inputName, inputs: [] },
      { op: "null", name: "p0", inputs: [] },
      {
        op: "tvm_op",
        name: "add",
        attrs: { func_name: "tvmgen_mod2_fused_add", num_inputs: "2", num_outputs: "1", flatten_data: "0" },
        inputs: [
          [0, 0, 0],
          [1, 0, 0],
        ],
      },
    ],
    arg_nodes: [0, 1],
    heads: [[2, 0, 0]],
    node_row_ptr: [0, 1, 2, 3],
    attrs: {
      dltype: ["list_str", ["uint8", "uint8", "uint8"]],
      shape: [
        "list_shape",
        [
          [1, 2],
          [1, 2],
          [1, 2],
        ],
      ],
      storage_id: ["list_int", [0, 1, 2]],
    },
  });
}

test("v7 multi-module archive (AOT + graph) reads both, with per-module files", async () => {
  const aot = v7Aot("mod1");
  const meta = v7Metadata({
    mod1: v7Module("mod1", "aot", {
      constants_size_bytes: 0,
      device: 1,
      inputs: {
        "aux:1": { dtype: "float32", size: 8 },
        "serving_default_input:0": { dtype: "int8", size: 40 },
      },
      io_size_bytes: 58,
      outputs: { "StatefulPartitionedCall:0": { dtype: "int8", size: 10 } },
      workspace_size_bytes: 512,
    }),
    mod2: v7Module(
      "mod2",
      "graph",
      {
        constants_size_bytes: 2,
        device: 1,
        inputs: { a: { dtype: "uint8", size: 2 } },
        io_size_bytes: 4,
        outputs: { output: { dtype: "uint8", size: 2 } },
        workspace_size_bytes: 0,
      },
      {
        sids: [
          { input_binding: "a", size_bytes: 2, storage_id: 0 },
          { input_binding: "p0", size_bytes: 2, storage_id: 1 },
          { size_bytes: 2, storage_id: 2 },
        ],
      },
    ),
  });
  const params = serializeParams([
    { name: "p0", dtype: "uint8", shape: [1, 2], data: Uint8Array.from([1, 2]) },
  ]);
  const model = await open({
    ...aot,
    "codegen/host/src/mod2_lib0.c": "int32_t tvmgen_mod2_fused_add(void) { return 0; }\n",
    "executor-config/graph/mod2.graph": graphJson("a"),
    "parameters/mod2.params": params,
    "src/mod2.relay": "def @main(%a: Tensor[(1, 2), uint8]) { add(%a, meta[relay.Constant][0]) }\n",
    "metadata.json": meta,
  });
  assert.deepEqual(
    model.modules.map((m) => [m.name, m.executor, m.entryStyle]),
    [
      ["mod1", "aot", "c-interface"],
      ["mod2", "graph", "graph"],
    ],
  );
  const mod2 = model.modules[1]!;
  assert.deepEqual(
    mod2.inputs.map((t) => [t.name, t.dtype, t.shape, t.bytes, t.derived]),
    [["a", "uint8", [1, 2], 2, false]],
  );
  assert.deepEqual(
    mod2.outputs.map((t) => [t.name, t.shape, t.bytes]),
    [["output", [1, 2], 2]],
  );
  assert.deepEqual(
    mod2.parameters.map((p) => [p.name, p.dtype, p.shape, [...p.data]]),
    [["p0", "uint8", [1, 2], [1, 2]]],
  );
  assert.deepEqual(mod2.codegen.sources, ["codegen/host/src/mod2_lib0.c"]);
  assert.deepEqual(mod2.warnings, []);
});

test("v6: target list, executors, graph.json and relay.txt at the pre-v7 paths", async () => {
  const meta = JSON.stringify({
    executors: ["graph"],
    export_datetime: "2022-06-01 10:00:00Z",
    memory: {
      functions: {
        main: [{ constants_size_bytes: 2, device: 1, io_size_bytes: 4, workspace_size_bytes: 0 }],
        operator_functions: [],
      },
      sids: [],
    },
    model_name: "default",
    style: "full-model",
    target: ["c -keys=cpu"],
    version: 6,
  });
  const model = await open({
    "metadata.json": meta,
    "codegen/host/src/default_lib0.c":
      "int32_t tvmgen_mod2_fused_add(void) { return 0; }\nint32_t TVMSystemLibEntryPoint(void) { return 0; }\n",
    "executor-config/graph/graph.json": graphJson("input:0"),
    "parameters/default.params": serializeParams([
      { name: "p0", dtype: "uint8", shape: [1, 2], data: Uint8Array.from([1, 2]) },
    ]),
    "src/relay.txt": "def @main(%input:0: Tensor[(1, 2), uint8]) { %0 }\n",
  });
  assert.equal(model.formatVersion, 6);
  const m = model.modules[0]!;
  assert.deepEqual(m.targets, ["c -keys=cpu"]);
  assert.equal(m.systemLib, true);
  assert.deepEqual(
    m.inputs.map((t) => [t.name, t.cName, t.shape, t.derived]),
    [["input:0", "input_0", [1, 2], true]],
  );
  assert.deepEqual(
    m.outputs.map((t) => [t.name, t.shape, t.bytes]),
    [["output", [1, 2], 2]],
  );
});

const minimalV7 = (): Files => ({
  "metadata.json": v7Metadata({
    default: v7Module("default", "aot", {
      constants_size_bytes: 0,
      device: 1,
      io_size_bytes: 8,
      workspace_size_bytes: 0,
    }),
  }),
  "codegen/host/src/default_lib0.c": "int32_t tvmgen_default___tvm_main__(void* a, void* b);\n",
  "parameters/default.params": emptyParams,
  "src/default.relay": "def @main(%a: Tensor[(1), float32]) -> Tensor[(1), float32] { nn.relu(%a) }\n",
});

test("a minimal v7 packed AOT archive is valid (the baseline the error tests break)", async () => {
  const m = (await open(minimalV7())).modules[0]!;
  assert.equal(m.entryStyle, "packed");
  assert.deepEqual(
    m.inputs.map((t) => [t.name, t.shape, t.bytes]),
    [["a", [1], 4]],
  );
  assert.deepEqual(
    m.outputs.map((t) => [t.name, t.shape, t.bytes]),
    [["output", [1], 4]],
  );
});

test("no metadata.json: not an MLF", async () => {
  const files = minimalV7();
  delete files["metadata.json"];
  await refused(files, "not-mlf", /no metadata\.json/);
});

test("metadata that is not JSON, or has no integer version", async () => {
  await refused({ ...minimalV7(), "metadata.json": "{nope" }, "bad-metadata", /not valid JSON/);
  await refused({ ...minimalV7(), "metadata.json": '{"version": "7"}' }, "bad-metadata", /integer "version"/);
});

test("versions outside 4 to 7 are refused, naming the ones read", async () => {
  await refused(
    { ...minimalV7(), "metadata.json": '{"version": 3, "model_name": "default"}' },
    "unsupported-version",
    /version 3 .* reads versions 4 to 7/,
  );
  await refused(
    { ...minimalV7(), "metadata.json": '{"version": 8, "modules": {}}' },
    "unsupported-version",
    /version 8 .* 4 to 7/,
  );
});

test("operator-style archives are refused as such", async () => {
  const op = {
    version: 7,
    model_name: "add",
    export_datetime: "x",
    memory: { add: [] },
    target: ["c"],
    executors: [],
    style: "operator",
  };
  await refused(
    { "metadata.json": JSON.stringify(op), "codegen/host/src/lib0.c": "" },
    "operator-style",
    /operator-style/,
  );
  await refused(
    { "metadata.json": JSON.stringify({ ...op, version: 5, runtimes: undefined }) },
    "operator-style",
    /operator-style/,
  );
});

test("bad executors and targets are refused", async () => {
  const meta = JSON.parse(minimalV7()["metadata.json"] as string);
  meta.modules.default.executors = ["aot", "graph"];
  await refused(
    { ...minimalV7(), "metadata.json": JSON.stringify(meta) },
    "bad-metadata",
    /exactly \["aot"\] or \["graph"\]/,
  );
  meta.modules.default.executors = ["aot"];
  meta.modules.default.target = [];
  await refused(
    { ...minimalV7(), "metadata.json": JSON.stringify(meta) },
    "bad-metadata",
    /"target" must be a non-empty list/,
  );
});

test("files the metadata implies must exist", async () => {
  const noCode = minimalV7();
  delete noCode["codegen/host/src/default_lib0.c"];
  await refused(noCode, "missing-file", /no generated code/);
  const noParams = minimalV7();
  delete noParams["parameters/default.params"];
  await refused(noParams, "missing-file", /parameters\/default\.params/);
  const meta = JSON.parse(minimalV7()["metadata.json"] as string);
  meta.modules.default.executors = ["graph"];
  await refused(
    { ...minimalV7(), "metadata.json": JSON.stringify(meta) },
    "missing-file",
    /executor-config\/graph\/default\.graph/,
  );
});

test("a corrupt params file is refused", async () => {
  await refused(
    { ...minimalV7(), "parameters/default.params": Buffer.from("not params at all") },
    "bad-file",
    /list magic/,
  );
});

test("a missing runtime/ dependency and a missing Relay file are warnings", async () => {
  const meta = JSON.parse(minimalV7()["metadata.json"] as string);
  meta.modules.default.memory.functions.main[0].inputs = { a: { dtype: "float32", size: 4 } };
  meta.modules.default.memory.functions.main[0].outputs = { output: { dtype: "float32", size: 4 } };
  meta.modules.default.external_dependencies = [
    { short_name: "tvm_standalone_crt", url: "./runtime", url_type: "mlf_path", version_spec: "0.12.0" },
  ];
  const files: Files = { ...minimalV7(), "metadata.json": JSON.stringify(meta) };
  delete files["src/default.relay"];
  const m = (await open(files)).modules[0]!;
  assert.deepEqual(m.warnings.map((w) => w.code).sort(), ["missing-dependency", "missing-relay"]);
  assert.equal(m.externalDependencies[0]!.present, false);
  const withRuntime = await open({ ...files, "runtime/CMakeLists.txt": "project(crt)\n" });
  assert.equal(withRuntime.modules[0]!.externalDependencies[0]!.present, true);
  // Without Relay text the shapes fall back to one dimension of the element count.
  assert.deepEqual(
    m.inputs.map((t) => [t.name, t.shape, t.bytes]),
    [["a", [1], 4]],
  );
});

test("without metadata tensors or Relay text the tensors cannot be described: a precise error", async () => {
  const files = minimalV7();
  delete files["src/default.relay"];
  await refused(files, "bad-file", /cannot tell the dtype of input|cannot tell the dtype of output/);
});

test("a header not named after its module is reported", async () => {
  const model = await open({ ...minimalV7(), "codegen/host/include/model.h": "int32_t x;\n" });
  assert.deepEqual(
    model.warnings.map((w) => [w.code, w.message]),
    [
      [
        "header-name",
        "codegen/host/include/model.h is not named after any module (expected codegen/host/include/tvmgen_default.h)",
      ],
    ],
  );
});
