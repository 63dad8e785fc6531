// TVM's own Python code (its Project API client, GeneratedProject/TemplateProject, micro Session,
// C++ RPC client, graph/AOT/debug executors, time evaluator and AutoTVM's session factory) driving
// microtvm's servers and firmware. The Python side is test/interop/python/tvm_drives_microtvm.py;
// it reports what happened as JSON and the assertions are made here.
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertNothingLeft } from "../helpers/processes.js";
import { repoRoot, sharedFixture } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";
import { runTvmPython, tvmPeer, type TvmPeer } from "../helpers/tvm.js";

const SCRIPT = join(repoRoot, "test", "interop", "python", "tvm_drives_microtvm.py");
const SAMPLES = ["yes", "no", "silence", "unknown"] as const;

interface Raised {
  classes: string[];
  text: string;
}

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), "microtvm-tvm-drives-"));
});
after(() => rmSync(work, { recursive: true, force: true }));

async function python(peer: TvmPeer, args: string[]): Promise<Record<string, unknown>> {
  const r = await runTvmPython(peer, SCRIPT, args, 400_000);
  assert.equal(r.code, 0, `python3 ${args[0]} failed:\n${r.stderr.slice(-3000)}`);
  const last = r.stdout.trim().split("\n").at(-1)!;
  return JSON.parse(last) as Record<string, unknown>;
}

function assertRaised(value: unknown, cls: string, text?: RegExp): void {
  assert.ok(value, `expected ${cls}, nothing was raised`);
  const r = value as Raised;
  assert.equal(r.classes[0], cls, `raised ${r.classes.join(" < ")}: ${r.text}`);
  if (text) assert.match(r.text, text);
}

function expectedOutputs(samples: string): Record<string, number[]> {
  return (
    JSON.parse(readFileSync(join(samples, "expected.json"), "utf8")) as { samples: Record<string, number[]> }
  ).samples;
}

function haveCompiler(t: TestContext): boolean {
  return requireCommand(t, "cc", "a C compiler (Debian: gcc)") && requireCommand(t, "make", "Debian: make");
}

function haveQemu(t: TestContext): boolean {
  return (
    requireCommand(t, "arm-none-eabi-gcc", "Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi") &&
    requireCommand(t, "make", "Debian: make") &&
    requireCommand(t, "qemu-system-arm", "Debian: qemu-system-arm")
  );
}

interface Target {
  name: string;
  template: string;
  options: Record<string, unknown>;
  have: (t: TestContext) => boolean;
  /** What the firmware process is called, to check none is left running. */
  firmware: (dir: string) => string;
}

const TARGETS: Target[] = [
  {
    name: "host",
    template: join(repoRoot, "templates", "host"),
    options: { cflags: "-O2" },
    have: haveCompiler,
    firmware: (dir) => join(dir, "build", "firmware"),
  },
  {
    name: "qemu-cortex-m",
    template: join(repoRoot, "templates", "qemu-cortex-m"),
    options: { board: "mps2-an386" },
    have: haveQemu,
    firmware: (dir) => dir,
  },
];

describe("TVM's Project API client drives the loopback example server", () => {
  test("lifecycle, transport and TVM's error classes", async (t) => {
    const peer = tvmPeer(t);
    const archive = sharedFixture(t, "yes-no-kws-graph-v4", "model.tar");
    if (!peer || !archive || !requireCommand(t, "python3", "python3")) return;
    const dir = join(work, "loopback", "project");
    const r = await python(peer, [
      "project-api",
      join(repoRoot, "examples", "loopback-server"),
      archive,
      dir,
      "loopback",
      JSON.stringify({ max_read_bytes: 64 }),
    ]);
    const info = r.template_info as Record<string, unknown>;
    assert.equal(info.is_template, true);
    assert.equal(info.platform_name, "loopback");
    assert.deepEqual(info.option_names, ["verbose", "max_read_bytes", "block_timeout_sec"]);
    assert.deepEqual(info.option_keys, [
      "choices",
      "default",
      "help",
      "name",
      "optional",
      "required",
      "type",
    ]);
    assertRaised(r.transport_on_template, "TransportClosedError");
    assertRaised(r.generate_missing_archive, "ServerError", /no-such-model\.tar/);
    assert.equal(r.never_made_exists, false);
    assertRaised(r.unknown_option, "ValueError", /no_such_option/);
    assertRaised(r.not_a_generated_project, "TemplateProjectError");
    assert.deepEqual(r.generated_info, {
      is_template: false,
      model_library_format_path: join(dir, "model.tar"),
    });
    assertRaised(r.generate_again, "ServerError", /exists/);
    assertRaised(r.not_a_template, "NotATemplateProjectError");
    assertRaised(r.read_before_open, "TransportClosedError");
    assert.deepEqual(r.echo, [...Buffer.from("microtvm"), 0, 255]);
    assertRaised(r.read_empty, "IoTimeoutError");
    assertRaised(r.read_after_close, "TransportClosedError");
    assertRaised(r.bad_method, "JSONRPCError", /-32601/);
    assert.ok(existsSync(join(dir, "build", "loopback.json")), "TVM's build() reached the server");
    await assertNothingLeft(dir);
  });
});

for (const target of TARGETS) {
  describe(`TVM drives microtvm's ${target.name} template and firmware`, () => {
    test("TVM's client and facades: generate, build, flash, transport, error classes", async (t) => {
      const peer = tvmPeer(t);
      const archive = sharedFixture(t, "yes-no-kws-graph-v4", "model.tar");
      if (!peer || !archive || !target.have(t)) return;
      const dir = join(work, target.name, "graph");
      const r = await python(peer, [
        "project-api",
        target.template,
        archive,
        dir,
        target.name,
        JSON.stringify(target.options),
      ]);
      const info = r.template_info as Record<string, unknown>;
      assert.equal(info.is_template, true);
      assert.equal(info.platform_name, target.name);
      for (const name of Object.keys(target.options))
        assert.ok((info.option_names as string[]).includes(name));
      assertRaised(r.transport_on_template, "TransportClosedError");
      assertRaised(r.generate_missing_archive, "ServerError", /no-such-model\.tar/);
      assert.equal(r.never_made_exists, false);
      assertRaised(r.unknown_option, "ValueError", /no_such_option/);
      assertRaised(r.not_a_generated_project, "TemplateProjectError");
      assertRaised(r.not_a_template, "NotATemplateProjectError");
      assertRaised(r.generate_again, "ServerError", /already exists/);
      assertRaised(r.read_before_open, "TransportClosedError");
      assertRaised(r.read_after_close, "TransportClosedError");
      assertRaised(r.bad_method, "JSONRPCError", /-32601/);
      const timeouts = (r.timeouts as { timeouts: Record<string, number> }).timeouts;
      assert.deepEqual(Object.keys(timeouts).sort(), [
        "session_established_timeout_sec",
        "session_start_retry_timeout_sec",
        "session_start_timeout_sec",
      ]);
      await assertNothingLeft(target.firmware(dir));
    });

    test("tvm.micro.Session + create_local_graph_executor (graph v4) on the four samples, debug executor per-operator timing", async (t) => {
      const peer = tvmPeer(t);
      const archive = sharedFixture(t, "yes-no-kws-graph-v4", "model.tar");
      const samples = sharedFixture(t, "kws-samples");
      if (!peer || !archive || !samples || !target.have(t)) return;
      const dir = join(work, target.name, "graph");
      if (!existsSync(dir)) return t.skip("the project of the lifecycle test was not made");
      const r = await python(peer, ["session", dir, archive, "graph", samples]);
      const want = expectedOutputs(samples);
      assert.deepEqual(r.outputs, Object.fromEntries(SAMPLES.map((s) => [s, [want[s]]])));
      const perOp = r.debug_per_op_sec as number[][];
      const graph = JSON.parse(
        execFileSync("tar", ["-xOf", archive, "./runtime-config/graph/graph.json"], {
          encoding: "utf8",
        }),
      ) as { nodes: { op: string; attrs?: { func_name?: string } }[] };
      assert.equal(perOp.length, graph.nodes.length, "one timing list per graph node");
      graph.nodes.forEach((node, i) => {
        assert.equal(perOp[i]!.length, 2, "repeat=2 timings for each node");
        for (const sec of perOp[i]!) assert.ok(sec >= 0 && sec < 1, `node ${i}: ${sec} s`);
        if (node.attrs?.func_name?.includes("conv2d"))
          assert.ok(Math.min(...perOp[i]!) > 0, "the convolution takes measurable time");
      });
      // TVM's debug executor also copies every node's output back, parameters included; our
      // firmware refuses to read linked parameters (read-only data outside its allocations).
      assertRaised(r.debug_full_run, "RPCError", /outside memory allocated on this device/);
      await assertNothingLeft(target.firmware(dir));
    });

    test("tvm.micro.Session + create_local_aot_executor (AOT v5) on the four samples, time_evaluator on run", async (t) => {
      const peer = tvmPeer(t);
      const archive = sharedFixture(t, "yes-no-kws-aot-v5", "model.tar");
      const samples = sharedFixture(t, "kws-samples");
      if (!peer || !archive || !samples || !target.have(t)) return;
      const dir = join(work, target.name, "aot");
      // TVM's own generate_project_from_mlf, build and flash: the lifecycle test covered errors.
      const r0 = await python(peer, [
        "project-api",
        target.template,
        archive,
        dir,
        target.name,
        JSON.stringify(target.options),
      ]);
      assert.equal((r0.generated_info as { is_template: boolean }).is_template, false);
      const r = await python(peer, ["session", dir, archive, "aot", samples]);
      const want = expectedOutputs(samples);
      assert.deepEqual(r.outputs, Object.fromEntries(SAMPLES.map((s) => [s, [want[s]]])));
      assert.deepEqual(r.input_names, ["Reshape_1"]);
      assert.equal(r.num_outputs, 1);
      const te = r.time_evaluator as { results: number[]; mean: number };
      assert.equal(te.results.length, 4, "repeat=4 results");
      for (const sec of te.results) assert.ok(sec > 0 && sec < 5, `${sec} s per run`);
      await assertNothingLeft(target.firmware(dir));
    });
  });
}

describe("AutoTVM's measurement path on microtvm firmware (host template)", () => {
  test("compile_and_create_micro_session, nd.empty, random_fill, RPCTimeEvaluator with every argument", async (t) => {
    const peer = tvmPeer(t);
    const archive = sharedFixture(t, "yes-no-kws-graph-v4", "model.tar");
    if (!peer || !archive || !haveCompiler(t)) return;
    const dir = join(work, "autotvm");
    const r = await python(peer, ["autotvm", join(repoRoot, "templates", "host"), archive, "{}", dir]);
    assert.ok((r.filled_distinct as number) >= 2, "random_fill wrote varied data");
    const got = (r.softmax as number[][])[0]!;
    const want = (r.softmax_numpy as number[][])[0]!;
    got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-5, `softmax[${i}] ${v} vs ${want[i]}`));
    const fast = r.min_repeat_ms_0 as { results: number[]; wall_sec: number };
    const slow = r.min_repeat_ms_40 as { results: number[]; wall_sec: number };
    assert.equal(fast.results.length, 3, "repeat=3 results");
    assert.equal(slow.results.length, 3, "repeat=3 results");
    for (const sec of [...fast.results, ...slow.results])
      assert.ok(sec > 0 && sec < 0.01, `${sec} s per call`);
    // min_repeat_ms: `number` grows until one repetition lasts 40 ms, so 3 repetitions last ≥ 120 ms.
    assert.ok(slow.wall_sec >= 0.12, `3 repetitions of ≥ 40 ms took ${slow.wall_sec} s`);
    assertRaised(r.unknown_function, "RPCError", /no function "no_such_operator"/);
    assert.ok((r.unknown_function_sec as number) < 10, "the remote error came back, no hang");
    assert.deepEqual(r.after_error, [1, 4]);
    await assertNothingLeft(join(dir, "generated-project"));
  });
});
