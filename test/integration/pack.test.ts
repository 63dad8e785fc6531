// `microtvm pack`: writes a version 7 archive that `inspect` and the reader read back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openMlf, serializeParams } from "../../src/mlf/index.js";
import { runCliSync } from "../helpers/processes.js";

const cli = (...args: string[]) => runCliSync(args, { timeoutMs: 60_000 });

test("pack writes an archive that reads back with the described tensors and parameters", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "pack-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string | Buffer) => {
    writeFileSync(join(dir, name), content);
    return join(dir, name);
  };
  const lib0 = file("entry.c", "int entry(void) { return 0; }\n");
  const lib1 = file("ops.c", "int ops(void) { return 0; }\n");
  const tensors = file(
    "tensors.json",
    JSON.stringify({
      inputs: [{ name: "input:0", dtype: "uint8", shape: [1, 28, 28] }],
      outputs: [{ name: "probs", dtype: "float32", shape: [1, 10] }],
      workspace_bytes: 1024,
    }),
  );
  const params = file(
    "w.params",
    serializeParams([{ name: "p0", dtype: "int8", shape: [2, 2], data: Int8Array.from([1, -1, 2, -2]) }]),
  );
  const relay = file(
    "model.relay",
    "def @main(%input:0: Tensor[(1, 28, 28), uint8]) -> Tensor[(1, 10), float32] { %0 }\n",
  );
  const out = join(dir, "model.tar");
  const r = cli(
    "pack",
    "--output",
    out,
    "--tensors",
    tensors,
    "--source",
    lib0,
    lib1,
    "--params",
    params,
    "--relay",
    relay,
    "--module",
    "mnist",
    "--target",
    "c -keys=cpu -mcpu=cortex-m7",
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /wrote .*model\.tar .*version 7/);

  const m = (await openMlf(out)).modules[0]!;
  assert.equal(m.name, "mnist");
  assert.deepEqual(m.targets, ["c -keys=cpu -mcpu=cortex-m7"]);
  assert.deepEqual(
    [...m.inputs, ...m.outputs].map((x) => [x.name, x.cName, x.dtype, [...x.shape], x.bytes]),
    [
      ["input:0", "input_0", "uint8", [1, 28, 28], 784],
      ["probs", "probs", "float32", [1, 10], 40],
    ],
  );
  assert.equal(m.workspaceBytes, 1024);
  assert.deepEqual(
    m.parameters.map((p) => [p.name, [...p.data]]),
    [["p0", [1, -1, 2, -2]]],
  );
  assert.equal(m.header?.macros.get("TVMGEN_MNIST_INPUT_0_SIZE"), 784);
  assert.deepEqual(m.warnings, []);

  const inspect = cli("inspect", out, "--json");
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.equal(JSON.parse(inspect.stdout).models[0].inputs[0].c_name, "input_0");
});

test("pack refuses bad input with exit 3 and writes nothing", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "pack-bad-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, "a.c");
  writeFileSync(src, "int a;\n");
  const tensors = join(dir, "t.json");
  writeFileSync(
    tensors,
    JSON.stringify({
      inputs: [
        { name: "a:0", dtype: "int8", shape: [1] },
        { name: "a_0", dtype: "int8", shape: [1] },
      ],
      outputs: [{ name: "y", dtype: "int8", shape: [1] }],
    }),
  );
  const out = join(dir, "out.tar");
  const clash = cli("pack", "--output", out, "--tensors", tensors, "--source", src);
  assert.equal(clash.code, 3, clash.stderr);
  assert.match(clash.stderr, /same C identifier a_0/);
  writeFileSync(tensors, "{ not json");
  const badJson = cli("pack", "--output", out, "--tensors", tensors, "--source", src);
  assert.equal(badJson.code, 3);
  assert.match(badJson.stderr, /not valid JSON/);
  const missing = cli("pack", "--output", out, "--tensors", join(dir, "nope.json"), "--source", src);
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /cannot read tensor description/);
  assert.equal(existsSync(out), false);
});
