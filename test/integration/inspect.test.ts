// `microtvm inspect` end to end: the CLI (from source) on real archives, the JSON schema, and
// refusals with exit code 3.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { buildTar } from "../../src/mlf/index.js";
import { repoRoot, sharedFixture } from "../helpers/paths.js";
import { runCliSync } from "../helpers/processes.js";

function cli(...args: string[]) {
  return runCliSync(args, { timeoutMs: 60_000 });
}

interface Tensor {
  name: string;
  c_name: string;
  dtype: string;
  shape: number[];
  bytes: number;
  derived: boolean;
}
interface Doc {
  schema: string;
  format_version: number;
  container: string;
  models: {
    name: string;
    executor: string;
    entry_style: string;
    inputs: Tensor[];
    outputs: Tensor[];
    workspace_bytes: number;
    pools: unknown[];
    parameters: { count: number; bytes: number };
    codegen: {
      kind: string;
      sources: string[];
      objects: { file: string; machine: string }[];
      header: string | null;
    };
    function_registry: { count_style: string; count: number } | null;
    warnings: { code: string; message: string }[];
  }[];
}

function inspectJson(path: string): Doc {
  const r = cli("inspect", path, "--json");
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as Doc;
  assert.equal(doc.schema, "microtvm.inspect/1");
  assert.ok(r.stdout.trimStart().startsWith('{\n  "schema"'), "schema comes first");
  return doc;
}

const brief = (t: Tensor) => [t.name, t.dtype, t.shape, t.bytes];

test("inspect --json on every real archive reports the right tensors", async (t) => {
  const cases: [string, string, number, string, string, unknown[], unknown[]][] = [
    [
      "yes-no-kws-graph-v4",
      "model.tar",
      4,
      "graph",
      "graph",
      ["Reshape_1", "int8", [1, 1960], 1960],
      ["output", "int8", [1, 4], 4],
    ],
    [
      "yes-no-kws-aot-v5",
      "model.tar",
      5,
      "aot",
      "packed",
      ["Reshape_1", "int8", [1, 1960], 1960],
      ["output", "int8", [1, 4], 4],
    ],
    [
      "conv1d-graph-llvm-v5",
      "archive.tar",
      5,
      "graph",
      "graph",
      ["input", "float32", [1, 16, 8], 512],
      ["output", "float32", [1, 33, 3], 396],
    ],
    [
      "sine-aot-v5-crt",
      "sine.tar",
      5,
      "aot",
      "c-interface",
      ["dense_4_input", "float32", [1, 1], 4],
      ["Identity", "float32", [1, 1], 4],
    ],
  ];
  for (const [fixture, file, version, executor, style, input, output] of cases) {
    await t.test(fixture, (st) => {
      const path = sharedFixture(st, fixture, file);
      if (!path) return;
      const doc = inspectJson(path);
      assert.equal(doc.format_version, version);
      const m = doc.models[0]!;
      assert.equal(m.executor, executor);
      assert.equal(m.entry_style, style);
      assert.deepEqual(m.inputs.map(brief), [input]);
      assert.deepEqual(m.outputs.map(brief), [output]);
      assert.ok(m.inputs.every((x) => x.derived === true));
    });
  }
});

test("inspect --json reports object-file architecture and the registry style", (t) => {
  const conv = sharedFixture(t, "conv1d-graph-llvm-v5", "archive.tar");
  const kws = sharedFixture(t, "yes-no-kws-graph-v4", "model.tar");
  if (!conv || !kws) return;
  const m = inspectJson(conv).models[0]!;
  assert.equal(m.codegen.kind, "object");
  assert.deepEqual(m.codegen.objects, [{ file: "codegen/host/lib/default_lib0.o", machine: "aarch64" }]);
  assert.ok(m.warnings.some((w) => w.code === "object-codegen"));
  const k = inspectJson(kws).models[0]!;
  assert.deepEqual(k.function_registry && [k.function_registry.count_style, k.function_registry.count], [
    "u8-count",
    7,
  ]);
  assert.equal(k.parameters.count, 9);
});

test("inspect prints a readable summary", (t) => {
  const path = sharedFixture(t, "sine-aot-v5-crt", "sine.tar");
  if (!path) return;
  const r = cli("inspect", path);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Model Library Format version 5/);
  assert.match(r.stdout, /executor\s+aot, entry c-interface \(tvmgen_default_run\)/);
  assert.match(r.stdout, /input\s+dense_4_input: float32 \[1, 1\], 4 bytes \(derived\)/);
  assert.match(r.stdout, /output\s+Identity: float32 \[1, 1\], 4 bytes/);
  assert.match(r.stdout, /workspace\s+1184 bytes/);
  assert.match(r.stdout, /header\s+codegen\/host\/include\/tvmgen_default\.h/);
  assert.match(r.stdout, /warning .*\.\/runtime/);
});

test("inspect reads the project's example model and a gzipped copy of it", () => {
  const doc = inspectJson(join(repoRoot, "examples", "sine-model", "sine.tar"));
  assert.equal(doc.format_version, 7);
  assert.deepEqual(doc.models[0]!.inputs.map(brief), [["x", "float32", [1, 1], 4]]);
  const dir = mkdtempSync(join(tmpdir(), "inspect-gz-"));
  try {
    const gz = join(dir, "sine.tgz");
    writeFileSync(
      gz,
      gzipSync(spawnSync("cat", [join(repoRoot, "examples", "sine-model", "sine.tar")]).stdout),
    );
    const gdoc = inspectJson(gz);
    assert.equal(gdoc.container, "tar.gz");
    assert.deepEqual(gdoc.models[0]!.outputs.map(brief), [["y", "float32", [1, 1], 4]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("invalid and unsafe archives exit 3 with the reason", () => {
  const dir = mkdtempSync(join(tmpdir(), "inspect-bad-"));
  try {
    const write = (name: string, bytes: Buffer) => {
      const p = join(dir, name);
      writeFileSync(p, bytes);
      return p;
    };
    const notTar = write("notes.tar", Buffer.from("plain text, not an archive\n".repeat(40)));
    const noMeta = write(
      "nometa.tar",
      buildTar([{ name: "readme.txt", type: "file", data: Buffer.from("hi") }]),
    );
    const newer = write(
      "v8.tar",
      buildTar([{ name: "metadata.json", type: "file", data: Buffer.from('{"version": 8}') }]),
    );
    const header = Buffer.alloc(512);
    header.write("../escape", 0);
    header.write("0000644\0", 100);
    header.write("00000000000\0", 124);
    header.write("0", 156);
    header.write("ustar\x0000", 257, "latin1");
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "ascii");
    const escape = write("escape.tar", Buffer.concat([header, Buffer.alloc(1024)]));
    for (const [path, reason] of [
      [notTar, /not a tar archive/],
      [noMeta, /no metadata\.json/],
      [newer, /version 8 is not supported; this reader reads versions 4 to 7/],
      [escape, /\.\.\/escape.*'\.\.' path segments/],
      [join(dir, "missing.tar"), /does not exist/],
    ] as const) {
      const r = cli("inspect", path, "--json");
      assert.equal(r.code, 3, `${path}: ${r.stderr}`);
      assert.match(r.stderr, reason);
      // With --json, stdout holds the error document, with the same one-line message.
      const doc = JSON.parse(r.stdout) as { schema: string; error: { kind: string; message: string } };
      assert.equal(doc.schema, "microtvm.error/1");
      assert.equal(doc.error.kind, "bad_input");
      assert.match(doc.error.message, reason);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
