// Our CLI driving TVM's own `crt` template project: TVM's Python server generates the project
// (copying TVM's standalone CRT), builds it with cmake and a C++ compiler, and its firmware (TVM's
// CRT RPC server, a child process) is reached through TVM's transport. Nothing here is ours but
// the CLI and the host side of the session.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertNothingLeft, runCli } from "../helpers/processes.js";
import { sharedFixture } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";
import { tvmPeer } from "../helpers/tvm.js";

const SAMPLES = ["yes", "no", "silence", "unknown"] as const;
let work: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), "microtvm-tvm-crt-"));
});
after(() => rmSync(work, { recursive: true, force: true }));

function toolsPresent(t: Parameters<typeof requireCommand>[0]): boolean {
  return (
    requireCommand(t, "cmake", "cmake") &&
    requireCommand(t, "c++", "g++") &&
    requireCommand(t, "make", "make") &&
    requireCommand(t, "python3", "python3")
  );
}

describe("TVM's crt template driven by the microtvm CLI", () => {
  test("create-project without --standalone-crt-dir or $TVM_STANDALONE_CRT_DIR sends our runtime, which TVM's crt cannot use", async (t) => {
    const peer = tvmPeer(t);
    const archive = sharedFixture(t, "yes-no-kws-graph-v4", "model.tar");
    if (!peer || !archive) return;
    const dir = join(work, "no-crt");
    const r = await runCli(["create-project", dir, archive, "--template", join(peer.templates, "crt")], {
      env: { ...peer.env, TVM_STANDALONE_CRT_DIR: "" },
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /FileNotFoundError: .*runtime\/CMakeLists\.txt/);
    assert.equal(r.stderr.trim().split("\n").at(-1)!.startsWith("microtvm: "), true);
  });

  test("--standalone-crt-dir that does not exist is refused before any server starts", async (t) => {
    const peer = tvmPeer(t);
    const archive = sharedFixture(t, "yes-no-kws-graph-v4", "model.tar");
    if (!peer || !archive) return;
    const missing = join(work, "no-such-crt");
    for (const args of [
      ["create-project", join(work, "never"), archive],
      ["run", archive],
    ]) {
      const r = await runCli([
        ...args,
        "--template",
        join(peer.templates, "crt"),
        "--standalone-crt-dir",
        missing,
      ]);
      assert.equal(r.code, 3, r.stderr);
      assert.equal(
        r.stderr.trim(),
        `microtvm: --standalone-crt-dir ${missing} does not exist; give TVM's standalone_crt directory`,
      );
    }
  });

  test("v4 graph archive: build and flash work, run reaches TVM-CRT firmware and names the 1-byte registry count", async (t) => {
    const peer = tvmPeer(t);
    const archive = sharedFixture(t, "yes-no-kws-graph-v4", "model.tar");
    const samples = sharedFixture(t, "kws-samples");
    if (!peer || !archive || !samples || !toolsPresent(t)) return;
    const dir = join(work, "v4");
    const created = await runCli(
      [
        "create-project",
        dir,
        archive,
        "--template",
        join(peer.templates, "crt"),
        "--standalone-crt-dir",
        peer.standaloneCrt,
      ],
      { env: peer.env },
    );
    assert.equal(created.code, 0, created.stderr);
    // TVM's server copied TVM's CRT, not ours.
    assert.ok(readFileSync(join(dir, "crt", "CMakeLists.txt"), "utf8").length > 0);
    const built = await runCli(["build", dir], { env: peer.env, timeoutMs: 300_000 });
    assert.equal(built.code, 0, built.stderr);
    const flashed = await runCli(["flash", dir], { env: peer.env });
    assert.equal(flashed.code, 0, flashed.stderr);
    // No --no-build: the build stamp the CLI wrote after `build` says the firmware is current, so
    // TVM's server (whose second build fails: build/ exists) is not asked to build again.
    const ran = await runCli(["run", dir, "--input", `Reshape_1=${join(samples, "yes.bin")}`], {
      env: peer.env,
    });
    assert.match(ran.stderr, /not building .*: the build stamp matches/);
    assert.equal(ran.code, 1, ran.stderr);
    const last = ran.stderr.trim().split("\n").at(-1)!;
    // The names are looked up in the firmware's system lib over RPC: the session was up.
    assert.match(last, /^microtvm: device: the firmware's system lib has none of the model's operators/);
    assert.match(last, /writes its count in 1 byte, as Model Library Format version 4/);
    assert.match(last, /reads a 2-byte count/);
    assert.match(last, /microtvm pack --repack-registry/);
    await assertNothingLeft(join(dir, "build", "main"));
  });

  test("the v4 archive re-packed with a 2-byte count runs on TVM-CRT firmware to TensorFlow's outputs", async (t) => {
    const peer = tvmPeer(t);
    const archive = sharedFixture(t, "yes-no-kws-graph-v4", "model.tar");
    const samples = sharedFixture(t, "kws-samples");
    if (!peer || !archive || !samples || !toolsPresent(t)) return;
    const expected = JSON.parse(readFileSync(join(samples, "expected.json"), "utf8")) as {
      samples: Record<string, number[]>;
      max_abs_difference_exclusive: number;
    };
    const repacked = join(work, "v4-wide.tar");
    const packed = await runCli(["pack", "--repack-registry", archive, "--output", repacked]);
    assert.equal(packed.code, 0, packed.stderr);
    assert.match(
      packed.stdout,
      /function registry count of 7 widened to 2 bytes in codegen\/host\/src\/default_lib0\.c/,
    );
    const dir = join(work, "v4-wide");
    // No flag: $TVM_STANDALONE_CRT_DIR (set by TVM's env.sh) is the default.
    const created = await runCli(
      ["create-project", dir, repacked, "--template", join(peer.templates, "crt")],
      {
        env: peer.env,
      },
    );
    assert.equal(created.code, 0, created.stderr);
    const built = await runCli(["build", dir], { env: peer.env, timeoutMs: 300_000 });
    assert.equal(built.code, 0, built.stderr);
    for (const sample of SAMPLES) {
      const ran = await runCli(
        [
          "run",
          dir,
          "--no-build",
          "--input",
          `Reshape_1=${join(samples, `${sample}.bin`)}`,
          "--repeat",
          "2",
          "--number",
          "1",
          "--json",
        ],
        { env: peer.env },
      );
      assert.equal(ran.code, 0, ran.stderr);
      // TVM's CRT firmware has no build stamp: it runs, with a warning, not a refusal.
      assert.match(ran.stderr, /warning: the firmware has no microtvm\.build_stamp function/);
      const doc = JSON.parse(ran.stdout) as {
        model: { executor: string };
        firmware: { status: string; build_stamp: unknown };
        outputs: { values: number[] }[];
      };
      assert.equal(doc.model.executor, "graph");
      assert.equal(doc.firmware.status, "unstamped");
      assert.equal(doc.firmware.build_stamp, null);
      const got = doc.outputs[0]!.values;
      const want = expected.samples[sample]!;
      got.forEach((value, i) =>
        assert.ok(
          Math.abs(value - want[i]!) < expected.max_abs_difference_exclusive,
          `${sample}[${i}]: TVM-CRT firmware ${value}, TensorFlow ${want[i]}`,
        ),
      );
    }
    await assertNothingLeft(join(dir, "build", "main"));
  });
});
