// The qemu-cortex-m template end to end: projects generated and built through its Project API
// server (arm-none-eabi-gcc), models run under qemu-system-arm through `microtvm run` and the
// same inference code path, on real TVM archives and on archives written here. Each project is
// generated and built once in this file.
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertNothingLeft, pidMentioning, runCli, type CliRun } from "../helpers/processes.js";
import { repoRoot, sharedFixture } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";
import { GeneratedProject, TemplateProject, type ProjectOptions } from "../../src/client/index.js";
import { openDevice, type DeviceModel } from "../../src/device/index.js";
import { generateCInterfaceHeader, writeMlf } from "../../src/mlf/index.js";
import { tensorFromValues, tensorValues } from "../../src/rpc/index.js";
import { predict, trainSine } from "../../examples/sine-model/model.js";

const TEMPLATE = join(repoRoot, "templates", "qemu-cortex-m");
const SAMPLES = ["yes", "no", "silence", "unknown"] as const;
type CliResult = CliRun;

function cli(args: string[], onStderr?: (soFar: string) => void): Promise<CliResult> {
  return runCli(args, { onStderr });
}

function qemuPid(dir: string): number | undefined {
  return pidMentioning(join(dir, "build", "firmware.elf"), /qemu-system-arm/);
}

let work: string;
const projects = new Map<string, Promise<string>>();

before(() => {
  work = mkdtempSync(join(tmpdir(), "microtvm-qemu-e2e-"));
});

after(async () => {
  // Every QEMU started for a project of this file has the work directory in its command line.
  await assertNothingLeft(work);
  rmSync(work, { recursive: true, force: true });
});

function haveTools(t: TestContext): boolean {
  if (
    !requireCommand(t, "arm-none-eabi-gcc", "Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi") ||
    !requireCommand(t, "qemu-system-arm", "Debian: qemu-system-arm") ||
    !requireCommand(t, "make", "Debian: make")
  )
    return false;
  assert.ok(
    existsSync(join(TEMPLATE, "microtvm_api_server.js")),
    "templates/qemu-cortex-m/microtvm_api_server.js is missing: run `npm run build` first",
  );
  return true;
}

/** Generates (through the template's server) and builds a project once per file. */
function projectFor(name: string, archive: string, options: ProjectOptions): Promise<string> {
  let made = projects.get(name);
  if (!made) {
    made = (async () => {
      const dir = join(work, name);
      const template = await TemplateProject.open(TEMPLATE);
      try {
        const project = await template.generateProject(archive, dir, options);
        try {
          await project.build();
        } finally {
          await project.close();
        }
      } finally {
        await template.close();
      }
      return dir;
    })();
    projects.set(name, made);
  }
  return made;
}

/** Runs `fn` with an inference session on the project (the code path of `microtvm run`). */
async function withSession<T>(
  dir: string,
  options: ProjectOptions,
  fn: (session: DeviceModel) => Promise<T>,
): Promise<T> {
  const project = await GeneratedProject.open(dir, { projectOptions: options });
  try {
    const device = await openDevice(project, { options, build: "never", flash: false });
    try {
      return await fn(await device.loadModel());
    } finally {
      await device.close();
    }
  } finally {
    await project.close();
  }
}

interface Expected {
  max_abs_difference_exclusive: number;
  samples: Record<string, number[]>;
}

describe("yes/no keyword model on mps2-an386", () => {
  for (const [fixture, executor] of [
    ["yes-no-kws-aot-v5", "aot"],
    ["yes-no-kws-graph-v4", "graph"],
  ] as const) {
    test(`${fixture} (${executor}): the four samples within 2 of TensorFlow's`, async (t) => {
      if (!haveTools(t)) return;
      const archive = sharedFixture(t, fixture, "model.tar");
      const samples = sharedFixture(t, "kws-samples");
      if (!archive || !samples) return;
      const expected = JSON.parse(readFileSync(join(samples, "expected.json"), "utf8")) as Expected;
      const dir = await projectFor(fixture, archive, { board: "mps2-an386" });
      const check = (sample: string, values: number[]) => {
        const want = expected.samples[sample]!;
        assert.equal(values.length, want.length);
        values.forEach((value, i) =>
          assert.ok(
            Math.abs(value - want[i]!) < expected.max_abs_difference_exclusive,
            `${fixture} ${sample}[${i}]: device ${value}, TensorFlow ${want[i]}`,
          ),
        );
      };

      // `microtvm run` itself, as a user runs it, on the first sample.
      const result = await cli([
        "run",
        dir,
        "--input",
        `0=${join(samples, "yes.bin")}`,
        "--repeat",
        "2",
        "--json",
      ]);
      assert.equal(result.code, 0, result.stderr);
      const doc = JSON.parse(result.stdout) as {
        model: { executor: string };
        outputs: { values: number[] }[];
        timing: { device_us_median: number };
      };
      assert.equal(doc.model.executor, executor);
      check("yes", doc.outputs[0]!.values);
      assert.ok(doc.timing.device_us_median > 0, "device time is positive");

      // All four through one session: the same code path, without a QEMU boot per sample.
      const measured = await withSession(dir, {}, async (session) => {
        const out: Record<string, number[]> = {};
        for (const sample of SAMPLES) {
          const input = new Uint8Array(readFileSync(join(samples, `${sample}.bin`)));
          const { outputs } = await session.run([
            tensorFromValues(
              Array.from(new Int8Array(input.buffer, input.byteOffset, input.length)),
              "int8",
              [1, 1960],
            ),
          ]);
          out[sample] = tensorValues(outputs[0]!).map(Number);
          check(sample, out[sample]!);
        }
        return out;
      });
      t.diagnostic(`${fixture} on mps2-an386: ${JSON.stringify(measured)}`);
      await assertNothingLeft(dir);
    });
  }

  test("deterministic_timing: the same device time on every run", async (t) => {
    if (!haveTools(t)) return;
    const archive = sharedFixture(t, "yes-no-kws-aot-v5", "model.tar");
    const samples = sharedFixture(t, "kws-samples");
    if (!archive || !samples) return;
    const dir = await projectFor("yes-no-kws-aot-v5", archive, { board: "mps2-an386" });
    const times: number[] = [];
    const ticks: number[] = [];
    for (let i = 0; i < 2; i++) {
      const result = await cli([
        "run",
        dir,
        "-o",
        "deterministic_timing=true",
        "--input",
        `0=${join(samples, "no.bin")}`,
        "--repeat",
        "3",
        "--number",
        "2",
        "--json",
      ]);
      assert.equal(result.code, 0, result.stderr);
      const timing = (
        JSON.parse(result.stdout) as {
          timing: {
            device_us_median: number;
            device_ticks_median?: number;
            device_timer?: { hz: number; deterministic: boolean };
          };
        }
      ).timing;
      times.push(timing.device_us_median);
      // Reported in the device's own units too: SysTick ticks of the 25 MHz clock, deterministic.
      assert.deepEqual(
        [timing.device_timer?.hz, timing.device_timer?.deterministic],
        [25_000_000, true],
        "the project records its timer",
      );
      // The same median in both units: ticks rounded to 1, microseconds to 0.1 (2.5 ticks).
      const ticksFromUs = (timing.device_us_median / 1e6) * 25_000_000;
      assert.ok(
        Math.abs(timing.device_ticks_median! - ticksFromUs) <= 0.5 + 1.25,
        `${timing.device_ticks_median} ticks against ${timing.device_us_median} µs`,
      );
      ticks.push(timing.device_ticks_median!);
    }
    t.diagnostic(`device time under -icount shift=0: ${times.join(", ")} µs`);
    // One instruction per ns: ~3 million instructions; two boots agree to within a SysTick period.
    assert.ok(times[0]! > 100, `device time ${times[0]} µs is an inference's worth`);
    assert.ok(Math.abs(times[0]! - times[1]!) <= 1, `device times ${times.join(" vs ")} µs differ`);
    assert.ok(Math.abs(ticks[0]! - ticks[1]!) <= 25, `device ticks ${ticks.join(" vs ")} differ`);
  });

  test("QEMU killed from outside mid-run: a clear error, nothing left running", async (t) => {
    if (!haveTools(t)) return;
    const archive = sharedFixture(t, "yes-no-kws-aot-v5", "model.tar");
    const samples = sharedFixture(t, "kws-samples");
    if (!archive || !samples) return;
    const dir = await projectFor("yes-no-kws-aot-v5", archive, { board: "mps2-an386" });
    let killed: number | undefined;
    const result = await cli(
      ["run", dir, "--input", `0=${join(samples, "yes.bin")}`, "--repeat", "100", "--number", "100"],
      (soFar) => {
        if (killed === undefined && /timing 100 repetitions\.\.\./.test(soFar)) {
          killed = qemuPid(dir) ?? -1;
          if (killed > 0) setTimeout(() => process.kill(killed!, "SIGKILL"), 200);
        }
      },
    );
    assert.ok(killed !== undefined && killed > 0, `QEMU's process was found (stderr: ${result.stderr})`);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /microtvm: device: .*(transport closed|SIGKILL)/);
    await assertNothingLeft(dir);
  });
});

describe("QEMU never outlives the project's server", () => {
  /** Starts the project's server on a pipe pair, opens the transport, returns the server and QEMU. */
  async function serverWithQemu(dir: string): Promise<{ server: ChildProcess; qemu: number }> {
    const server = spawn(join(dir, "launch_microtvm_api_server.sh"), ["--read-fd", "0", "--write-fd", "1"], {
      cwd: dir,
      stdio: ["pipe", "pipe", "ignore"],
    });
    const reply = new Promise<string>((resolve, reject) => {
      let text = "";
      server.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
        text += chunk;
        if (text.includes("\n")) resolve(text);
      });
      server.once("exit", () => reject(new Error(`the server exited before replying: ${text}`)));
    });
    server.stdin!.write(
      `${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "open_transport", params: { options: {} } })}\n`,
    );
    try {
      assert.match(await reply, /"session_established_timeout_sec": ?120/);
      const qemu = qemuPid(dir);
      assert.ok(qemu !== undefined, "QEMU is running after open_transport");
      return { server, qemu };
    } catch (error) {
      server.kill("SIGKILL");
      throw error;
    }
  }

  const gone = async (pid: number) => {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      try {
        process.kill(pid, 0);
      } catch {
        return true;
      }
      // A zombie still answers kill(0); it is gone once its parent reaped it or died.
      if (/State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, "utf8"))) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  };

  for (const ending of ["EOF on its channel", "SIGTERM", "SIGKILL"] as const) {
    test(ending, async (t) => {
      if (!haveTools(t)) return;
      const archive = sharedFixture(t, "yes-no-kws-aot-v5", "model.tar");
      if (!archive) return;
      const dir = await projectFor("yes-no-kws-aot-v5", archive, { board: "mps2-an386" });
      const { server, qemu } = await serverWithQemu(dir);
      t.after(() => {
        if (server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
      });
      const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
      if (ending === "EOF on its channel") server.stdin!.end();
      else server.kill(ending);
      await exited;
      assert.ok(await gone(qemu), `QEMU (pid ${qemu}) ended with its server (${ending})`);
      await assertNothingLeft(dir);
    });
  }
});

describe("float models", () => {
  test("sine-aot-v5-crt (TVM's tvmc output) on mps2-an386: within 0.15 of sin(x)", async (t) => {
    if (!haveTools(t)) return;
    const archive = sharedFixture(t, "sine-aot-v5-crt", "sine.tar");
    if (!archive) return;
    const dir = await projectFor("sine-aot-v5-crt", archive, { board: "mps2-an386" });
    const worst = await withSession(dir, {}, async (session) => {
      let max = 0;
      for (let i = 0; i < 32; i++) {
        const x = (2 * Math.PI * i) / 31;
        const { outputs } = await session.run([tensorFromValues([x], "float32", [1, 1])]);
        max = Math.max(max, Math.abs(Number(tensorValues(outputs[0]!)[0]) - Math.sin(x)));
      }
      return max;
    });
    t.diagnostic(`sine-aot-v5-crt: max |y - sin(x)| = ${worst.toFixed(4)}`);
    assert.ok(worst < 0.15, `max error ${worst}`);
  });

  test("the example sine model on mps2-an385 (Cortex-M3, software float) equals its float reference", async (t) => {
    if (!haveTools(t)) return;
    const weights = trainSine();
    const dir = await projectFor("example-sine-an385", join(repoRoot, "examples", "sine-model", "sine.tar"), {
      board: "mps2-an385",
    });
    await withSession(dir, {}, async (session) => {
      for (const x of [0, 0.5, 2, 4.5, 6]) {
        const { outputs } = await session.run([tensorFromValues([x], "float32", [1, 1])]);
        const y = Number(tensorValues(outputs[0]!)[0]);
        assert.ok(
          Math.abs(y - predict(weights, x)) < 1e-5,
          `x = ${x}: device ${y}, reference ${predict(weights, x)}`,
        );
      }
    });
  });
});

/**
 * A v7 archive in the shape of a TVM Cortex-M build with USMP: the C interface with a workspace
 * pool struct argument (an external pool the caller provides), internal pools as TVM emits them
 * (`global_workspace` in .bss.noinit.tvm, `global_const_workspace` in .rodata.tvm), float32 in
 * and out, and the DSP instructions SXTB16 and SMLAD through <arm_acle.h>, beside a `__ror` of
 * its own as TVM's kernels define. y[0] = Σ q(x)·w / 16 and y[1] = Σ q(x), with
 * q(x) = clamp(round(16·x), -128, 127).
 */
const DSP_WEIGHTS = [3, -7, 11, -13, 17, -19, 23, -29];
const DSP_MODEL_C = `#include <stdint.h>
#include <arm_acle.h>
#include "tvmgen_default.h"

__attribute__((section(".rodata.tvm"), ))
static const struct global_const_workspace {
  int8_t fused_constant_0[8] __attribute__((aligned(16)));
} global_const_workspace = {
  .fused_constant_0 = {${DSP_WEIGHTS.join(", ")}},
};
__attribute__((section(".bss.noinit.tvm"), aligned(16)))
static uint8_t global_workspace[32];

/* As TVM's Cortex-M kernels do: a rotate of their own beside the compiler's <arm_acle.h>. */
#ifndef ARM_CPU_INTRINSICS_EXIST
#define ARM_CPU_INTRINSICS_EXIST
__attribute__((always_inline)) uint32_t __ror(uint32_t x, uint32_t n) {
  n %= 32U;
  return n == 0U ? x : (x >> n) | (x << (32U - n));
}
#endif

int32_t tvmgen_default_run(struct tvmgen_default_inputs* inputs, struct tvmgen_default_outputs* outputs,
                           struct tvmgen_default_workspace_pools* workspace_pools) {
  const float* x = (const float*)inputs->x;
  float* y = (float*)outputs->y;
  int8_t* q = (int8_t*)global_workspace;
  uint32_t* lanes = (uint32_t*)workspace_pools->app_pool;
  const uint32_t* w = (const uint32_t*)global_const_workspace.fused_constant_0;
  int32_t acc = 0;
  int32_t sum = 0;
  for (int i = 0; i < 8; i++) {
    float v = x[i] * 16.0f;
    int32_t r = (int32_t)(v < 0 ? v - 0.5f : v + 0.5f);
    q[i] = (int8_t)(r < -128 ? -128 : r > 127 ? 127 : r);
    sum += q[i];
  }
  /* Four int8 per word: SXTB16 takes bytes 0 and 2, after a rotate by 8 bytes 1 and 3. */
  const uint32_t* qw = (const uint32_t*)q;
  for (int i = 0; i < 2; i++) {
    lanes[2 * i] = __sxtb16(qw[i]);
    lanes[2 * i + 1] = __sxtb16(__ror(qw[i], 8));
    acc = __smlad(lanes[2 * i], __sxtb16(w[i]), acc);
    acc = __smlad(lanes[2 * i + 1], __sxtb16(__ror(w[i], 8)), acc);
  }
  y[0] = (float)acc / 16.0f;
  y[1] = (float)sum;
  return 0;
}
`;

function dspReference(x: readonly number[]): [number, number] {
  const q = x.map((v) => {
    const s = v * 16;
    const r = Math.trunc(s < 0 ? s - 0.5 : s + 0.5);
    return Math.max(-128, Math.min(127, r));
  });
  return [q.reduce((a, v, i) => a + v * DSP_WEIGHTS[i]!, 0) / 16, q.reduce((a, v) => a + v, 0)];
}

async function writeDspArchive(path: string): Promise<void> {
  const inputs = [{ name: "x", dtype: "float32", shape: [1, 8] }];
  const outputs = [{ name: "y", dtype: "float32", shape: [1, 2] }];
  await writeMlf({
    sources: [{ name: "default_lib0.c", content: DSP_MODEL_C }],
    header: generateCInterfaceHeader({
      moduleName: "default",
      inputs: [{ name: "x", bytes: 32 }],
      outputs: [{ name: "y", bytes: 8 }],
      workspaceBytes: 0,
      workspacePools: [{ name: "app_pool", bytes: 64 }],
    }),
    inputs,
    outputs,
    workspaceBytes: 0,
    targets: ["c -keys=arm_cpu,cpu -mcpu=cortex-m4"],
    relay:
      '#[version = "0.0.5"]\ndef @main(%x: Tensor[(1, 8), float32], output_tensor_names=["y"]) -> Tensor[(1, 2), float32] {\n  %0\n}\n',
    exportDatetime: "2024-01-01 00:00:00Z",
    output: path,
  });
}

describe("a USMP-style C-interface model with DSP intrinsics (v7 archive)", () => {
  for (const board of ["mps2-an386", "mps2-an500"]) {
    test(`runs on ${board} and matches its reference`, async (t) => {
      if (!haveTools(t)) return;
      const archive = join(work, `dsp-${board}.tar`);
      await writeDspArchive(archive);
      const dir = await projectFor(`dsp-${board}`, archive, { board });
      const models = readFileSync(join(dir, "firmware", "models.c"), "utf8");
      assert.match(models, /struct tvmgen_default_workspace_pools pools;/);
      await withSession(dir, {}, async (session) => {
        for (const x of [
          [0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8],
          [7.9, -8, 1, 1, -1, 0.03, 2.5, -2.5],
        ]) {
          const { outputs } = await session.run([tensorFromValues(x, "float32", [1, 8])]);
          const got = tensorValues(outputs[0]!).map(Number);
          assert.deepEqual(got, dspReference(x), `${board}: x = ${x.join(",")}`);
        }
      });
    });
  }
});

describe("build failures", () => {
  test("a memory pool far above the board's RAM: the build names the region and the overflow; PSRAM fits", async (t) => {
    if (!haveTools(t)) return;
    const archive = join(work, "dsp-big.tar");
    await writeDspArchive(archive);
    const dir = join(work, "too-big");
    const template = await TemplateProject.open(TEMPLATE);
    try {
      const project = await template.generateProject(archive, dir, {
        board: "mps2-an386",
        workspace_size_bytes: 8 * 1024 * 1024,
      });
      try {
        await assert.rejects(project.build(), (error: Error) => {
          assert.match(
            error.message,
            /the firmware does not fit mps2-an386: region RAM \(4194304 bytes at 0x20000000\) overflowed by \d+ bytes/,
          );
          assert.match(error.message, /lower workspace_size_bytes or set workspace_in_psram=true/);
          return true;
        });
        assert.ok(!existsSync(join(dir, "build", "firmware.elf")), "no firmware.elf is left behind");
        // The same pool in the board's 16 MiB PSRAM fits, and the model runs from there.
        await project.build({ workspace_in_psram: true });
      } finally {
        await project.close();
      }
      await withSession(dir, { workspace_in_psram: true }, async (session) => {
        const x = [1, 2, 3, 4, -1, -2, -3, -4];
        const { outputs } = await session.run([tensorFromValues(x, "float32", [1, 8])]);
        assert.deepEqual(tensorValues(outputs[0]!).map(Number), dspReference(x));
      });
    } finally {
      await template.close();
    }
  });
});
