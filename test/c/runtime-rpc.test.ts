// The device runtime's RPC server, registry, AOT executor and time evaluator, compiled with the
// system C compiler (C99, all warnings as errors) and run plain and under AddressSanitizer and
// UndefinedBehaviorSanitizer. The fixture tests extract real TVM-made archives into a temporary
// directory, compile the generated model C against the runtime's headers, and run the models by
// sending the request packets TVM's host sends.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { TestContext } from "node:test";
import { repoRoot, sharedFixture } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";
import { rpcRuntimeSources } from "./build.js";

const runtimeInclude = join(repoRoot, "runtime", "include");
const testDir = join(repoRoot, "test", "c");

/** The runtime sources of the RPC server side (framing and session are tested elsewhere). */
const runtimeSources = rpcRuntimeSources;
const testSupport = ["rpc_test_platform.c", "rpc_test_util.c"].map((f) => join(testDir, f));

const strict = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O1", "-g"];
const sanitize = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"];
const variants = [
  { name: "plain", flags: [] as string[] },
  { name: "sanitized", flags: sanitize },
];

function cc(args: string[], cwd: string): void {
  const r = spawnSync("cc", args, { cwd, encoding: "utf8", timeout: 180_000 });
  if (r.status !== 0)
    throw new Error(
      `cc failed (status ${r.status ?? r.signal}):\ncc ${args.join(" ")}\n${r.stdout}${r.stderr}`,
    );
}

/** Compiles generated model C (warnings allowed: it is TVM's code, not ours) into objects. */
function compileModel(sources: string[], includeDirs: string[], flags: string[], outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  return sources.map((src) => {
    const obj = join(outDir, basename(src).replace(/\.c$/, ".o"));
    cc(
      [
        "-std=c99",
        "-w",
        "-O1",
        ...flags,
        "-I",
        runtimeInclude,
        ...includeDirs.flatMap((d) => ["-I", d]),
        "-c",
        src,
        "-o",
        obj,
      ],
      outDir,
    );
    return obj;
  });
}

function link(output: string, sources: string[], includeDirs: string[], flags: string[], cwd: string): void {
  cc(
    [
      ...strict,
      ...flags,
      "-I",
      runtimeInclude,
      "-I",
      testDir,
      ...includeDirs.flatMap((d) => ["-I", d]),
      ...sources,
      "-lm",
      "-o",
      output,
    ],
    cwd,
  );
}

/** Runs a C test program; fails on a non-zero exit or any "not ok" line, returns the "ok" lines. */
function runProgram(program: string, args: string[], cwd: string): string[] {
  const r = spawnSync(program, args, { cwd, encoding: "utf8", timeout: 120_000 });
  const lines = r.stdout.split("\n").filter((l) => l.length > 0);
  const failed = lines.filter((l) => l.startsWith("not ok"));
  assert.deepEqual(failed, [], `${basename(program)} reported failures:\n${failed.join("\n")}\n${r.stderr}`);
  assert.equal(r.status, 0, `${basename(program)} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  return lines.filter((l) => l.startsWith("ok "));
}

function withWorkDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "microtvm-rpc-c-"));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function requireCc(t: TestContext): boolean {
  return requireCommand(t, "cc", "a C compiler (gcc or clang, e.g. apt-get install gcc)");
}

/** The generated C files of an extracted archive: codegen/host/src/*.c. */
function modelSources(root: string): string[] {
  const dir = join(root, "codegen", "host", "src");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".c"))
    .sort()
    .map((f) => join(dir, f));
}

function extract(archive: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  // The system's tar: these archives are TVM's own, and the C build around them is synchronous.
  const r = spawnSync("tar", ["-xf", archive, "-C", dir], { encoding: "utf8" });
  assert.equal(r.status, 0, `tar -xf ${archive}: ${r.stderr}`);
  return dir;
}

/**
 * aot_fixture_test.c times `run` under every memory budget from ample down to nothing: an
 * allocation that fails inside the evaluator must give an Exception (never a time) and leave no
 * memory behind, including when the model's generated code ignores a failed workspace allocation.
 */
function assertTightPoolChecks(ok: string[]): void {
  for (const name of [
    "ok tight pool: a failed allocation inside the time evaluator is an Exception",
    "ok tight pool: the Exception says what ran out of memory",
    "ok tight pool: every allocation freed on every path",
    "ok tight pool: a model run short of workspace fails the evaluation",
    "ok all device memory released",
  ])
    assert.ok(ok.includes(name), `missing check: ${name}\n${ok.join("\n")}`);
  assert.ok(ok.some((l) => l.startsWith("ok tight pool: ") && l.includes("budgets, the largest")));
}

interface KwsExpected {
  samples: Record<string, number[]>;
}

/** Copies the four kws samples into dir and writes each reference output as raw int8 bytes. */
function kwsSamples(samplesDir: string, dir: string): string[] {
  const expected = JSON.parse(readFileSync(join(samplesDir, "expected.json"), "utf8")) as KwsExpected;
  const args: string[] = [];
  for (const [name, values] of Object.entries(expected.samples)) {
    copyFileSync(join(samplesDir, `${name}.bin`), join(dir, `${name}.bin`));
    writeFileSync(join(dir, `${name}.expected.bin`), Buffer.from(Int8Array.from(values).buffer));
    args.push(`${name}.bin`, `${name}.expected.bin`);
  }
  return args;
}

for (const variant of variants) {
  test(`RPC server packet tests (${variant.name})`, (t) => {
    if (!requireCc(t)) return;
    withWorkDir((dir) => {
      link(
        join(dir, "rpc_test"),
        [...runtimeSources, ...testSupport, join(testDir, "rpc_test.c")],
        [],
        variant.flags,
        dir,
      );
      const ok = runProgram(join(dir, "rpc_test"), [], dir);
      assert.ok(ok.length >= 130, `only ${ok.length} checks ran`);
      for (const name of [
        "ok 3.8 GetGlobalFunc(runtime.SystemLib)",
        "ok 3.8 CallFunc -> Module 0x8000",
        "ok 3.8 CopyToRemote -> ReturnVoid",
        "ok 3.8 CopyFromRemote -> CopyAck",
        "ok Shutdown -> no reply",
        "ok all device memory released",
      ])
        assert.ok(ok.includes(name), `missing check: ${name}`);
    });
  });

  test(`microtvm.build_stamp returns the digest from microtvm_build_stamp.h, or "" without it; the packet-size globals (${variant.name})`, (t) => {
    if (!requireCc(t)) return;
    withWorkDir((dir) => {
      const sources = [...runtimeSources, ...testSupport, join(testDir, "microtvm_globals_test.c")];
      // The header a template generates in its build directory, on the include path.
      const stampDir = join(dir, "stamp");
      mkdirSync(stampDir);
      const digest = "4f".repeat(32);
      writeFileSync(join(stampDir, "microtvm_build_stamp.h"), `#define MICROTVM_BUILD_STAMP "${digest}"\n`);
      link(join(dir, "stamped"), sources, [stampDir], variant.flags, dir);
      const stamped = runProgram(join(dir, "stamped"), [digest], dir);
      assert.ok(
        stamped.includes("ok microtvm.build_stamp returns the digest compiled in"),
        stamped.join("\n"),
      );
      // The check itself must be able to fail: the stamped firmware does not return another digest.
      const wrong = spawnSync(join(dir, "stamped"), ["0".repeat(64)], { cwd: dir, encoding: "utf8" });
      assert.notEqual(wrong.status, 0);
      assert.match(wrong.stdout, /^not ok microtvm\.build_stamp returns the digest compiled in: .*4f4f/m);

      link(join(dir, "unstamped"), sources, [], variant.flags, dir);
      const unstamped = runProgram(join(dir, "unstamped"), [""], dir);
      assert.equal(unstamped.length, 6, unstamped.join("\n"));
    });
  });

  test(`yes/no AOT archive (v5, packed entry) answers the kws samples through RPC (${variant.name})`, (t) => {
    if (!requireCc(t)) return;
    const archive = sharedFixture(t, "yes-no-kws-aot-v5", "model.tar");
    const samples = sharedFixture(t, "kws-samples");
    if (archive === undefined || samples === undefined) return;
    withWorkDir((dir) => {
      const model = extract(archive, join(dir, "model"));
      const objects = compileModel(modelSources(model), [], variant.flags, join(dir, "obj"));
      const program = join(dir, "aot_kws");
      link(
        program,
        [
          ...runtimeSources,
          ...testSupport,
          join(testDir, "aot_fixture_test.c"),
          join(testDir, "aot_glue_kws_aot_v5.c"),
          ...objects,
        ],
        [],
        variant.flags,
        dir,
      );
      // 512-byte packets (Zephyr's size) force the 1960-byte input into several chunks.
      const ok = runProgram(program, ["default", "512", "1", ...kwsSamples(samples, dir)], dir);
      assert.ok(
        ok.some((l) => l.startsWith("ok yes.bin: output [115,-123,-125,-123]")),
        ok.join("\n"),
      );
      assert.equal(ok.filter((l) => l.includes("within 1 of the reference")).length, 4);
      assert.ok(ok.some((l) => l.includes("input copied in 5 chunk(s)")));
      assert.ok(ok.some((l) => l.startsWith("ok time evaluator")));
      assertTightPoolChecks(ok);
    });
  });

  test(`sine AOT archive (v5, C interface) computes sin(x) through RPC (${variant.name})`, (t) => {
    if (!requireCc(t)) return;
    const archive = sharedFixture(t, "sine-aot-v5-crt", "sine.tar");
    if (archive === undefined) return;
    withWorkDir((dir) => {
      const model = extract(archive, join(dir, "model"));
      const include = join(model, "codegen", "host", "include");
      const objects = compileModel(modelSources(model), [include], variant.flags, join(dir, "obj"));
      const program = join(dir, "aot_sine");
      link(
        program,
        [
          ...runtimeSources,
          ...testSupport,
          join(testDir, "aot_fixture_test.c"),
          join(testDir, "aot_glue_sine_v5.c"),
          ...objects,
        ],
        [include],
        variant.flags,
        dir,
      );
      const args: string[] = [];
      [0, 0.5, 1, 1.57, 3, 4.5, 6].forEach((x, i) => {
        writeFileSync(join(dir, `x${i}.bin`), Buffer.from(Float32Array.of(x).buffer));
        writeFileSync(join(dir, `y${i}.bin`), Buffer.from(Float32Array.of(Math.sin(x)).buffer));
        args.push(`x${i}.bin`, `y${i}.bin`);
      });
      // The model approximates sin(x) on [0, 2π]; its worst error on these points is about 0.1.
      const ok = runProgram(program, ["default", "2048", "0.15", ...args], dir);
      assert.equal(ok.filter((l) => l.includes("within 0.15 of the reference")).length, 7);
      assertTightPoolChecks(ok);
    });
  });

  test(`yes/no graph archive (v4, one-byte registry) runs operator by operator through RPC (${variant.name})`, (t) => {
    if (!requireCc(t)) return;
    const archive = sharedFixture(t, "yes-no-kws-graph-v4", "model.tar");
    const samples = sharedFixture(t, "kws-samples");
    if (archive === undefined || samples === undefined) return;
    withWorkDir((dir) => {
      const model = extract(archive, join(dir, "model"));
      const objects = compileModel(modelSources(model), [], variant.flags, join(dir, "obj"));
      const program = join(dir, "graph_kws");
      link(
        program,
        [
          ...runtimeSources,
          ...testSupport,
          join(testDir, "rpc_graph_test.c"),
          join(testDir, "aot_glue_kws_graph_v4.c"),
          ...objects,
        ],
        [],
        variant.flags,
        dir,
      );
      kwsSamples(samples, dir);
      const graph = JSON.parse(
        readFileSync(join(model, "runtime-config", "graph", "graph.json"), "utf8"),
      ) as GraphJson;
      writeFileSync(join(dir, "plan.txt"), graphPlan(graph, "yes.bin", "yes.expected.bin"));
      const ok = runProgram(program, ["512", "plan.txt"], dir);
      assert.ok(ok.includes("ok graph output [115,-123,-125,-123] within 1 of the reference"), ok.join("\n"));
      assert.ok(ok.includes("ok 6 operators ran; 9 linked parameters, 5 storage blocks"), ok.join("\n"));
    });
  });
}

test("all three archives' generated C compiles against the runtime headers", (t) => {
  if (!requireCc(t)) return;
  const fixtures: [string, string][] = [
    ["yes-no-kws-aot-v5", "model.tar"],
    ["yes-no-kws-graph-v4", "model.tar"],
    ["sine-aot-v5-crt", "sine.tar"],
  ];
  withWorkDir((dir) => {
    for (const [name, file] of fixtures) {
      const archive = sharedFixture(t, name, file);
      if (archive === undefined) return;
      const model = extract(archive, join(dir, name));
      const objects = compileModel(
        modelSources(model),
        [join(model, "codegen", "host", "include")],
        [],
        join(dir, `${name}-obj`),
      );
      assert.equal(objects.length, 2, name);
    }
  });
});

test("the runtime compiles for a Cortex-M4 with arm-none-eabi-gcc", (t) => {
  if (!requireCommand(t, "arm-none-eabi-gcc", "the Arm GNU toolchain (apt-get install gcc-arm-none-eabi)"))
    return;
  withWorkDir((dir) => {
    for (const src of runtimeSources) {
      const args = ["-mcpu=cortex-m4", "-mthumb", "-Os", ...strict, "-I", runtimeInclude, "-c", src];
      const r = spawnSync("arm-none-eabi-gcc", [...args, "-o", join(dir, basename(src) + ".o")], {
        encoding: "utf8",
        timeout: 120_000,
      });
      assert.equal(r.status, 0, `arm-none-eabi-gcc ${args.join(" ")}\n${r.stderr}`);
    }
  });
});

interface GraphJson {
  nodes: { op: string; name: string; inputs: [number, number, number][]; attrs?: { func_name?: string } }[];
  heads: [number, number, number][];
  node_row_ptr: number[];
  attrs: {
    storage_id: [string, number[]];
    dltype: [string, string[]];
    shape: [string, number[][]];
  };
}

const dtypes: Record<string, [number, number]> = {
  int8: [0, 8],
  int16: [0, 16],
  int32: [0, 32],
  int64: [0, 64],
  uint8: [1, 8],
  float32: [2, 32],
};

/**
 * The requests a host-side graph executor makes, as a plan for rpc_graph_test.c: one storage block
 * per storage id (sized for its largest entry), the input, every tvm_op node with its DLTensor
 * arguments (inputs then outputs), and the head entry to compare.
 */
function graphPlan(graph: GraphJson, input: string, expected: string): string {
  const sid = graph.attrs.storage_id[1];
  const dltype = graph.attrs.dltype[1];
  const shape = graph.attrs.shape[1];
  const rowPtr = graph.node_row_ptr;
  const dtypeOf = (e: number): [number, number] => {
    const d = dtypes[dltype[e]!];
    if (d === undefined) throw new Error(`unsupported dtype ${dltype[e]}`);
    return d;
  };
  const bytes = (e: number) => shape[e]!.reduce((n, d) => n * d, Math.ceil(dtypeOf(e)[1] / 8));
  const entry = (e: number) => [sid[e], ...dtypeOf(e), shape[e]!.length, ...shape[e]!].join(" ");
  const sizes = new Map<number, number>();
  sid.forEach((s, e) => sizes.set(s, Math.max(sizes.get(s) ?? 0, bytes(e))));
  const lines = [...sizes.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `storage ${s} ${n}`);
  lines.push(`input ${sid[rowPtr[0]!]} ${input}`);
  graph.nodes.forEach((node, nid) => {
    if (node.op !== "tvm_op") return;
    const args = [
      ...node.inputs.map(([n, index]) => rowPtr[n]! + index),
      ...Array.from({ length: rowPtr[nid + 1]! - rowPtr[nid]! }, (_, k) => rowPtr[nid]! + k),
    ];
    lines.push(`op ${node.attrs?.func_name ?? node.name} ${args.length} ${args.map(entry).join(" ")}`);
  });
  const [headNode, headIndex] = graph.heads[0]!;
  lines.push(`output ${entry(rowPtr[headNode]! + headIndex)} ${expected} 1`);
  return lines.join("\n") + "\n";
}
