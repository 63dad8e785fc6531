// The MLF reader on the real TVM archives, and its parsers (params, header, Relay, ELF, registry).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeCStringLiterals,
  findFunctionRegistry,
  generateCInterfaceHeader,
  inspectDocument,
  MlfError,
  openMlf,
  parseCInterfaceHeader,
  parseParams,
  parseRelayMain,
  readElfInfo,
  scanCSource,
  scanPortability,
  serializeParams,
  storageBytes,
} from "../../src/mlf/index.js";
import { sharedFixture } from "../helpers/paths.js";

const tensors = (
  list: readonly { name: string; dtype: string; shape: readonly number[]; bytes: number; derived: boolean }[],
) =>
  list.map((t) => ({
    name: t.name,
    dtype: t.dtype,
    shape: [...t.shape],
    bytes: t.bytes,
    derived: t.derived,
  }));

test("yes-no-kws-graph-v4: graph, v4 layout, Reshape_1 int8 [1, 1960] → int8 [1, 4]", async (t) => {
  const path = sharedFixture(t, "yes-no-kws-graph-v4", "model.tar");
  if (!path) return;
  const model = await openMlf(path);
  assert.equal(model.formatVersion, 4);
  assert.equal(model.container, "tar");
  const m = model.modules[0]!;
  assert.equal(m.name, "default");
  assert.equal(m.executor, "graph");
  assert.equal(m.entryStyle, "graph");
  assert.equal(m.graphFile, "runtime-config/graph/graph.json");
  assert.deepEqual(m.targets, [
    "c -keys=cpu -link-params=1 -mcpu=cortex-m33 -model=nrf5340dk -runtime=c -system-lib=1",
  ]);
  assert.deepEqual(tensors(m.inputs), [
    { name: "Reshape_1", dtype: "int8", shape: [1, 1960], bytes: 1960, derived: true },
  ]);
  assert.deepEqual(tensors(m.outputs), [
    { name: "output", dtype: "int8", shape: [1, 4], bytes: 4, derived: true },
  ]);
  assert.equal(m.workspaceBytes, 17392);
  assert.equal(m.systemLib, true);
  // Graph buffer sizes come from the graph JSON; the wrong memory.sids values are warnings.
  const storage = new Map(m.storage!.map((s) => [s.storageId, s.bytes]));
  assert.equal(storage.get(10), 32000);
  assert.equal(storage.get(11), 16);
  assert.equal(storage.get(2), 8000);
  const sizeWarnings = m.warnings.filter((w) => w.code === "size-mismatch").map((w) => w.message);
  assert.equal(sizeWarnings.length, 3);
  assert.ok(sizeWarnings.some((w) => /storage_id 10 says 8000 bytes, the graph needs 32000/.test(w)));
  // The 2021 registry with a one-byte count (and _lookup_linked_param from link-params).
  assert.equal(m.functionRegistry?.countStyle, "u8-count");
  assert.equal(m.functionRegistry?.count, 7);
  assert.equal(m.functionRegistry?.names.length, 7);
  assert.ok(m.functionRegistry?.names.includes("_lookup_linked_param"));
  // Parameters: p0..p8 of the graph bindings, with shapes matching the graph's arg nodes.
  assert.equal(m.parameters.length, 9);
  const p1 = m.parameters.find((p) => p.name === "p1")!;
  assert.equal(p1.dtype, "int16");
  assert.deepEqual(p1.shape, [10, 8, 1, 8]);
  assert.equal(p1.data.length, 640);
  assert.equal(
    m.parameters.reduce((a, p) => a + p.bytes, 0),
    m.constantsBytes,
  );
  assert.deepEqual(scanPortability(model), []);
});

test("yes-no-kws-aot-v5: 2021 packed AOT entry; inputs derived from Relay, output shape inferred", async (t) => {
  const path = sharedFixture(t, "yes-no-kws-aot-v5", "model.tar");
  if (!path) return;
  const m = (await openMlf(path)).modules[0]!;
  assert.equal(m.executor, "aot");
  assert.equal(m.entryStyle, "packed");
  assert.equal(m.entryFunction, "tvmgen_default_run");
  assert.equal(m.codegen.header, undefined);
  assert.deepEqual(tensors(m.inputs), [
    { name: "Reshape_1", dtype: "int8", shape: [1, 1960], bytes: 1960, derived: true },
  ]);
  assert.deepEqual(tensors(m.outputs), [
    { name: "output", dtype: "int8", shape: [1, 4], bytes: 4, derived: true },
  ]);
  assert.equal(m.workspaceBytes, 21312);
  assert.deepEqual(m.warnings, []);
  assert.equal(m.functionRegistry, undefined);
});

test("conv1d-graph-llvm-v5: object-file codegen with its machine architecture", async (t) => {
  const path = sharedFixture(t, "conv1d-graph-llvm-v5", "archive.tar");
  if (!path) return;
  const m = (await openMlf(path)).modules[0]!;
  assert.equal(m.codegen.kind, "object");
  assert.deepEqual(m.codegen.sources, []);
  assert.deepEqual(
    m.codegen.objects.map((o) => [o.file, o.machine, o.bits, o.endian]),
    [["codegen/host/lib/default_lib0.o", "aarch64", 64, "little"]],
  );
  assert.ok(m.warnings.some((w) => w.code === "object-codegen" && /aarch64/.test(w.message)));
  assert.equal(m.graphFile, "executor-config/graph/graph.json");
  // %conv1.weight and %conv1.bias are bound parameters (p0, p1 in the params file), not inputs.
  assert.deepEqual(tensors(m.inputs), [
    { name: "input", dtype: "float32", shape: [1, 16, 8], bytes: 512, derived: true },
  ]);
  assert.deepEqual(tensors(m.outputs), [
    { name: "output", dtype: "float32", shape: [1, 33, 3], bytes: 396, derived: true },
  ]);
  assert.deepEqual(
    m.parameters.map((p) => [p.name, p.dtype, p.shape]),
    [
      ["p0", "float32", [33, 16, 3]],
      ["p1", "float32", [33]],
    ],
  );
});

test("sine-aot-v5-crt: C interface, dense_4_input float32 [1, 1] → Identity float32 [1, 1]", async (t) => {
  const path = sharedFixture(t, "sine-aot-v5-crt", "sine.tar");
  if (!path) return;
  const model = await openMlf(path);
  const m = model.modules[0]!;
  assert.equal(m.entryStyle, "c-interface");
  assert.equal(m.codegen.header, "codegen/host/include/tvmgen_default.h");
  assert.equal(m.codegen.includeDir, "codegen/host/include");
  assert.deepEqual(tensors(m.inputs), [
    { name: "dense_4_input", dtype: "float32", shape: [1, 1], bytes: 4, derived: true },
  ]);
  assert.deepEqual(tensors(m.outputs), [
    { name: "Identity", dtype: "float32", shape: [1, 1], bytes: 4, derived: true },
  ]);
  assert.equal(m.header?.workspaceSize, 1184);
  assert.equal(m.workspaceBytes, 1184);
  assert.deepEqual(m.parameters, []);
  // runtime/ was dropped from this archive: a warning, not an error.
  assert.deepEqual(
    m.warnings.map((w) => w.code),
    ["missing-dependency"],
  );
  assert.equal(m.externalDependencies[0]?.present, false);
  const doc = inspectDocument(model);
  assert.equal(doc.schema, "microtvm.inspect/1");
  assert.equal(doc.format_version, 5);
});

test("params: the empty map is 32 bytes and round-trips", () => {
  const empty = serializeParams([]);
  assert.equal(empty.length, 32);
  assert.deepEqual(parseParams(empty), []);
  assert.deepEqual([...empty.subarray(0, 8)], [0xb7, 0x9c, 0x04, 0x05, 0x4f, 0x8d, 0xe5, 0xf7]);
});

test("params: any list of arrays round-trips (property)", () => {
  const dtypes = ["int8", "uint8", "int16", "int32", "float32", "float64", "int64"] as const;
  const param = fc.record({
    name: fc.string({ minLength: 1, maxLength: 12 }),
    dtype: fc.constantFrom(...dtypes),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
    seed: fc.integer(),
  });
  fc.assert(
    fc.property(fc.array(param, { maxLength: 5 }), (list) => {
      const inputs = list.map((p) => {
        const bytes = storageBytes(p.dtype, p.shape);
        const data = Uint8Array.from({ length: bytes }, (_, i) => (p.seed + i * 31) & 0xff);
        return { name: p.name, dtype: p.dtype, shape: p.shape, data };
      });
      const parsed = parseParams(serializeParams(inputs));
      assert.deepEqual(
        parsed.map((p) => [p.name, p.dtype, [...p.shape], [...p.raw]]),
        inputs.map((p) => [p.name, p.dtype, p.shape, [...p.data]]),
      );
    }),
  );
});

test("params: typed data, truncation and bad magic", () => {
  const buf = serializeParams([
    { name: "w", dtype: "float32", shape: [2], data: new Float32Array([1.5, -2]) },
  ]);
  const [w] = parseParams(buf);
  assert.ok(w!.data instanceof Float32Array);
  assert.deepEqual([...w!.data], [1.5, -2]);
  assert.throws(
    () => parseParams(buf.subarray(0, buf.length - 1)),
    (e: unknown) => e instanceof MlfError && /truncated/.test(e.message),
  );
  const bad = Buffer.from(buf);
  bad[0] = 0;
  assert.throws(() => parseParams(bad), /list magic/);
});

test("header: generated and parsed back, with sanitized names, size macros and pools", () => {
  const text = generateCInterfaceHeader({
    moduleName: "Net",
    inputs: [{ name: "input:0", bytes: 40 }],
    outputs: [
      { name: "out.a", bytes: 4 },
      { name: "out-b", bytes: 8 },
    ],
    workspaceBytes: 96,
    workspacePools: [{ name: "sram", bytes: 2048 }],
  });
  const h = parseCInterfaceHeader(text);
  assert.equal(h.prefix, "tvmgen_net");
  assert.deepEqual(h.inputs, ["input_0"]);
  assert.deepEqual(h.outputs, ["out_a", "out_b"]);
  assert.deepEqual(h.workspacePools, ["sram"]);
  assert.equal(h.macros.get("TVMGEN_NET_INPUT_0_SIZE"), 40);
  assert.equal(h.macros.get("TVMGEN_NET_OUT_B_SIZE"), 8);
  assert.equal(h.macros.get("TVMGEN_NET_SRAM_WORKSPACE_POOL_SIZE"), 2048);
  assert.equal(h.workspaceSize, 96);
  assert.equal(h.runParameters.length, 3);
  assert.throws(
    () =>
      generateCInterfaceHeader({
        moduleName: "m",
        inputs: [{ name: "a:0" }, { name: "a_0" }],
        outputs: [{ name: "y" }],
        workspaceBytes: 0,
      }),
    /same C identifier a_0/,
  );
});

test("relay: constants are not inputs; result dtype and shape flow through common operators", () => {
  const main = parseRelayMain(`#[version = "0.0.5"]
def @main(%x: Tensor[(1, 10), int8], %v_param_1: Tensor[(4, 10), int8], %p0: Tensor[(4), int32]) {
  %0 = reshape(%x, newshape=[-1, 10]);
  %1 = qnn.dense(%0, %v_param_1, 0, 0, 1f, 1f, units=4, out_dtype="int32");
  %2 = nn.bias_add(%1, %p0);
  %3 = qnn.dequantize(%2, 0.5f, 0);
  nn.softmax(%3)
}`)!;
  assert.deepEqual(
    main.params.map((p) => p.name),
    ["x", "v_param_1", "p0"],
  );
  assert.deepEqual(main.resultTypes, [{ dtype: "float32", shape: [1, 4] }]);
  const tuple = parseRelayMain(
    `def @main(%a: Tensor[(2, 3), float32]) -> (Tensor[(2, 3), float32], Tensor[(3), int8]) { (%a, %a) }`,
  )!;
  assert.deepEqual(tuple.returnTypes, [
    { dtype: "float32", shape: [2, 3] },
    { dtype: "int8", shape: [3] },
  ]);
  assert.equal(tuple.resultTypes.length, 2);
});

test("ELF machine from e_machine, both endians", () => {
  const elf = (machine: number, cls: number, data: number) => {
    const b = Buffer.alloc(64);
    b.set([0x7f, 0x45, 0x4c, 0x46, cls, data], 0);
    if (data === 1) b.writeUInt16LE(machine, 18);
    else b.writeUInt16BE(machine, 18);
    return b;
  };
  assert.deepEqual(readElfInfo(elf(183, 2, 1)), {
    machine: "aarch64",
    eMachine: 183,
    bits: 64,
    endian: "little",
  });
  assert.equal(readElfInfo(elf(40, 1, 1))?.machine, "arm");
  assert.equal(readElfInfo(elf(243, 2, 1))?.machine, "riscv");
  assert.equal(readElfInfo(elf(62, 2, 2))?.endian, "big");
  assert.equal(readElfInfo(Buffer.from("not elf at all, no")), undefined);
});

test("portability scan finds ARM-only constructs with file and line, and ignores comments", () => {
  const src = [
    "#include <stdint.h>",
    "#include <arm_acle.h>",
    "int32_t f(int32_t a, int32_t b, int32_t c) { return __SMLAD(a, b, c); }",
    "// __QADD(a, b) in a comment is fine",
    "int32_t g(int32_t a) { return __builtin_arm_ssat(a, 8); }",
    '  __asm volatile ("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));',
    '  __asm__ volatile ("" ::: "memory");',
    "/* __QADD( */ int x = __QADD(1, 2);",
  ].join("\n");
  const found = scanCSource("lib.c", src).map((f) => [f.line, f.kind, f.match]);
  assert.deepEqual(found, [
    [2, "arm-header", "#include <arm_acle.h>"],
    [3, "arm-intrinsic", "__SMLAD"],
    [5, "arm-builtin", "__builtin_arm_ssat"],
    [6, "arm-asm", '__asm volatile ("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c))'],
    [8, "arm-intrinsic", "__QADD"],
  ]);
});

test("function registry: one-byte and two-byte name counts", () => {
  const one = findFunctionRegistry(
    "a.c",
    'static const TVMFuncRegistry _tvm_func_registry = {\n    "\\002f1\\000f2\\000",    _tvm_func_array,\n};',
  );
  assert.deepEqual(one, { file: "a.c", countStyle: "u8-count", count: 2, names: ["f1", "f2"] });
  const two = findFunctionRegistry(
    "b.c",
    'static const TVMFuncRegistry r = {\n  "\\003\\000" "a\\000b\\000c\\000",\n  fns};',
  );
  assert.deepEqual(two, { file: "b.c", countStyle: "u16-count", count: 3, names: ["a", "b", "c"] });
  assert.deepEqual(
    [...decodeCStringLiterals('"\\x41\\n\\\\\\"" "\\1010"')],
    [0x41, 10, 0x5c, 0x22, 0x41, 0x30],
  );
});
