// `microtvm run` end to end: real archives, the host template, the system C compiler, the real
// firmware, the session and minRPC over the Project API transport. Each project is generated and
// built once in this file; every check runs the CLI as a child process, as a user would.
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertNothingLeft, pidMentioning, runCli, spawnCli, type CliRun } from "../helpers/processes.js";
import { repoRoot, sharedFixture } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";
import { openDevice } from "../../src/device/index.js";
import { parseNpy, tensorFromValues, tensorValues } from "../../src/rpc/index.js";
import { predict, trainSine } from "../../examples/sine-model/model.js";

const SAMPLES = ["yes", "no", "silence", "unknown"] as const;
type CliResult = CliRun;

/** Runs the CLI from source; `onStderr` sees stderr as it arrives. */
function cli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; onStderr?: (soFar: string) => void } = {},
): Promise<CliResult> {
  return runCli(args, options);
}

function firmwarePid(dir: string): number | undefined {
  return pidMentioning(join(dir, "build", "firmware"));
}

let work: string;
const projects = new Map<string, Promise<string>>();

before(() => {
  work = mkdtempSync(join(tmpdir(), "microtvm-run-e2e-"));
});

after(() => {
  rmSync(work, { recursive: true, force: true });
});

function haveToolchain(t: TestContext): boolean {
  return (
    requireCommand(t, "cc", "a C compiler (Debian: apt-get install gcc libc6-dev)") &&
    requireCommand(t, "make", "GNU make (Debian: apt-get install make)")
  );
}

/** Generates and builds a project for `archive` once per file; later callers share it. */
function projectFor(name: string, archive: string): Promise<string> {
  let made = projects.get(name);
  if (!made) {
    made = (async () => {
      const dir = join(work, name);
      const created = await cli(["create-project", dir, archive]);
      assert.equal(created.code, 0, created.stderr);
      const built = await cli(["build", dir]);
      assert.equal(built.code, 0, built.stderr);
      return dir;
    })();
    projects.set(name, made);
  }
  return made;
}

interface OutputDocument {
  name: string;
  dtype: string;
  shape: number[];
  values: number[];
}

interface RunDocument {
  schema: string;
  model: { name: string; executor: string };
  samples: { name: string; inputs: Record<string, unknown>[]; outputs: OutputDocument[] }[];
  outputs: OutputDocument[];
  timing: { device_us_median: number; round_trip_us_median: number; device_us: number[]; repeat: number };
  archive?: { project_created: boolean; sha256: string };
  files: string[];
}

function runJson(result: CliResult): RunDocument {
  assert.equal(result.code, 0, `run failed:\n${result.stderr}`);
  return JSON.parse(result.stdout) as RunDocument;
}

describe("yes/no keyword model on the four kws samples", () => {
  for (const [fixture, executor] of [
    ["yes-no-kws-graph-v4", "graph"],
    ["yes-no-kws-aot-v5", "aot"],
  ] as const) {
    test(`${fixture} (${executor} executor): every output within 2 of TensorFlow's`, async (t) => {
      if (!haveToolchain(t)) return;
      const archive = sharedFixture(t, fixture, "model.tar");
      const samples = sharedFixture(t, "kws-samples");
      if (!archive || !samples) return;
      const expected = JSON.parse(readFileSync(join(samples, "expected.json"), "utf8")) as {
        samples: Record<string, number[]>;
        max_abs_difference_exclusive: number;
      };
      const dir = await projectFor(fixture, archive);
      const measured: Record<string, number[]> = {};
      // The folder holds the four samples (and expected.json, which is not taken for one): all
      // four run in one session, sorted by name.
      const doc = runJson(
        await cli(["run", dir, "--input", `Reshape_1=${samples}`, "--repeat", "3", "--json"]),
      );
      assert.equal(doc.schema, "microtvm.run/2");
      assert.equal(doc.model.executor, executor);
      assert.deepEqual(
        doc.samples.map((s) => s.name),
        [...SAMPLES].sort(),
      );
      assert.equal(doc.outputs, undefined, "several samples: no top-level outputs");
      for (const sampleDoc of doc.samples) {
        const sample = sampleDoc.name;
        assert.deepEqual(sampleDoc.inputs, [
          { name: "Reshape_1", dtype: "int8", shape: [1, 1960], file: join(samples, `${sample}.bin`) },
        ]);
        assert.equal(sampleDoc.outputs.length, 1);
        const [output] = sampleDoc.outputs;
        assert.equal(output!.dtype, "int8");
        assert.deepEqual(output!.shape, [1, 4]);
        const want = expected.samples[sample]!;
        output!.values.forEach((value, i) =>
          assert.ok(
            Math.abs(value - want[i]!) < expected.max_abs_difference_exclusive,
            `${sample}[${i}]: device ${value}, TensorFlow ${want[i]}`,
          ),
        );
        measured[sample] = output!.values;
      }
      assert.equal(doc.timing.repeat, 3);
      assert.equal(doc.timing.device_us.length, 3);
      assert.ok(doc.timing.device_us_median > 0, "device time is positive");
      assert.ok(doc.timing.round_trip_us_median > 0, "round trip is positive");
      // One sample keeps the run/1 fields at the top level.
      const single = runJson(
        await cli([
          "run",
          dir,
          "--input",
          `Reshape_1=${join(samples, "yes.bin")}`,
          "--repeat",
          "1",
          "--json",
        ]),
      );
      assert.deepEqual(single.outputs[0]!.values, measured.yes);
      assert.deepEqual(single.samples[0]!.outputs[0]!.values, measured.yes);
      assert.equal(single.samples[0]!.name, "yes");
      t.diagnostic(`${fixture} outputs: ${JSON.stringify(measured)}`);
      await assertNothingLeft(dir);
    });
  }

  test("the text output names the input file, the top-N and the timing", async (t) => {
    if (!haveToolchain(t)) return;
    const archive = sharedFixture(t, "yes-no-kws-aot-v5", "model.tar");
    const samples = sharedFixture(t, "kws-samples");
    if (!archive || !samples) return;
    const dir = await projectFor("yes-no-kws-aot-v5", archive);
    const result = await cli([
      "run",
      dir,
      "--input",
      `0=${join(samples, "no.bin")}`,
      "--print-top",
      "2",
      "--repeat",
      "2",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /output output: int8 \[1, 4\]/);
    assert.match(result.stdout, /top 2 {2}#1 = 4, #3 = -9/);
    assert.match(result.stdout, /device time +[\d.]+ (µs|ms) per inference/);
    assert.match(result.stdout, /round trip +[\d.]+ (µs|ms) per run call/);
  });
});

describe("sine models", () => {
  test("sine-aot-v5-crt (TVM's tvmc output): within 0.15 of sin(x) over [0, 2π]", async (t) => {
    if (!haveToolchain(t)) return;
    const archive = sharedFixture(t, "sine-aot-v5-crt", "sine.tar");
    if (!archive) return;
    const dir = await projectFor("sine-aot-v5-crt", archive);
    // The CLI path, with the input given by index and as JSON.
    const xFile = join(work, "x-1.json");
    writeFileSync(xFile, "[1.0]\n");
    const doc = runJson(await cli(["run", dir, "--input", `0=${xFile}`, "--json", "--repeat", "2"]));
    assert.equal(doc.outputs[0]!.name, "Identity");
    assert.ok(Math.abs(doc.outputs[0]!.values[0]! - Math.sin(1)) < 0.15);
    // A grid through one session: TVM's hello-world sine model is coarse (measured max error 0.104).
    const worst = await sineGridError(dir);
    t.diagnostic(`sine-aot-v5-crt: max |y - sin(x)| over 64 points = ${worst.toFixed(4)}`);
    assert.ok(worst < 0.15, `max error ${worst}`);
  });

  test("the example sine model from its archive: cached project, equal to its float reference", async (t) => {
    if (!haveToolchain(t)) return;
    const cache = join(work, "cache");
    const archive = join(repoRoot, "examples", "sine-model", "sine.tar");
    const weights = trainSine();
    const outDir = join(work, "sine-out");
    const x = 2.0;
    const xFile = join(work, "x-2.json");
    writeFileSync(xFile, `[${x}]\n`);
    const env = { MICROTVM_CACHE_DIR: cache };
    const first = runJson(
      await cli(
        ["run", archive, "--template", "host", "--input", `x=${xFile}`, "--output-dir", outDir, "--json"],
        { env },
      ),
    );
    assert.equal(first.archive?.project_created, true);
    const y = first.outputs[0]!.values[0]!;
    assert.ok(Math.abs(y - Math.sin(x)) < 0.02, `y = ${y}, sin(x) = ${Math.sin(x)}`);
    assert.ok(
      Math.abs(y - predict(weights, x)) < 1e-5,
      `device ${y}, float reference ${predict(weights, x)}`,
    );
    // The outputs as files: raw little-endian float32 and .npy.
    const raw = readFileSync(join(outDir, "y.bin"));
    assert.equal(raw.length, 4);
    assert.equal(raw.readFloatLE(0), y);
    const npy = parseNpy(new Uint8Array(readFileSync(join(outDir, "y.npy"))));
    assert.deepEqual([npy.dtype, npy.shape], ["float32", [1, 1]]);
    assert.equal(Number(tensorValues(npy)[0]), y);
    // Second run: the cached project is reused.
    const second = runJson(await cli(["run", archive, "--input", `x=${xFile}`, "--json"], { env }));
    assert.equal(second.archive?.project_created, false);
    assert.equal(second.archive?.sha256, first.archive?.sha256);
    assert.equal(second.outputs[0]!.values[0], y);
    // Over a grid: the example is fitted to within 0.02 of sin(x) (measured max 0.0127).
    const projectsDir = join(cache, "projects");
    const [projectName] = readdirSync(projectsDir);
    const worst = await sineGridError(join(projectsDir, projectName!), (v) => predict(weights, v));
    t.diagnostic(`example sine: max |y - sin(x)| over 64 points = ${worst.toFixed(4)}`);
    assert.ok(worst < 0.02, `max error ${worst}`);
    await assertNothingLeft(cache);
  });
});

/** Runs 64 x values in [0, 2π] through one session; returns max |y - sin(x)| (and checks `reference`). */
async function sineGridError(dir: string, reference?: (x: number) => number): Promise<number> {
  const device = await openDevice(dir, { build: "never", flash: false });
  try {
    const session = await device.loadModel();
    let worst = 0;
    for (let i = 0; i < 64; i++) {
      const x = (2 * Math.PI * i) / 63;
      const { outputs } = await session.run([tensorFromValues([x], "float32", [1, 1])]);
      const y = Number(tensorValues(outputs[0]!)[0]);
      worst = Math.max(worst, Math.abs(y - Math.sin(x)));
      if (reference)
        assert.ok(Math.abs(y - reference(x)) < 1e-5, `x = ${x}: device ${y}, reference ${reference(x)}`);
    }
    return worst;
  } finally {
    await device.close();
  }
}

describe("bad paths end with a clear error and leave nothing running", () => {
  async function kwsProject(t: TestContext): Promise<{ dir: string; sample: string } | undefined> {
    if (!haveToolchain(t)) return undefined;
    const archive = sharedFixture(t, "yes-no-kws-aot-v5", "model.tar");
    const samples = sharedFixture(t, "kws-samples");
    if (!archive || !samples) return undefined;
    return { dir: await projectFor("yes-no-kws-aot-v5", archive), sample: join(samples, "yes.bin") };
  }

  test("an unknown input name is a usage error listing the model's inputs", async (t) => {
    const kws = await kwsProject(t);
    if (!kws) return;
    const result = await cli(["run", kws.dir, "--input", `speech=${kws.sample}`]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /no input named or numbered "speech"/);
    assert.match(result.stderr, /#0 "Reshape_1" int8 \[1, 1960\] \(1960 bytes\)/);
    await assertNothingLeft(kws.dir);
  });

  test("a file of the wrong size names the expected size", async (t) => {
    const kws = await kwsProject(t);
    if (!kws) return;
    const short = join(work, "short.bin");
    writeFileSync(short, new Uint8Array(100));
    const result = await cli(["run", kws.dir, "--input", `Reshape_1=${short}`]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /raw file is 100 bytes, but int8 with shape \(1, 1960\) needs 1960/);
    await assertNothingLeft(kws.dir);
  });

  test("a device that aborts mid-run: the error says the device went away", async (t) => {
    const kws = await kwsProject(t);
    if (!kws) return;
    let signalled: number | undefined;
    // 100 × 100 runs of ~0.2 ms keep the device busy inside one time-evaluator call.
    const result = await cli(
      ["run", kws.dir, "--input", `0=${kws.sample}`, "--repeat", "100", "--number", "100"],
      {
        onStderr: (soFar) => {
          if (signalled === undefined && /timing 100 repetitions\.\.\./.test(soFar)) {
            signalled = firmwarePid(kws.dir) ?? -1;
            if (signalled > 0) setTimeout(() => process.kill(signalled!, "SIGABRT"), 200);
          }
        },
      },
    );
    assert.ok(
      signalled !== undefined && signalled > 0,
      `the firmware process was found (stderr: ${result.stderr})`,
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /microtvm: device: .*(transport closed|SIGABRT)/);
    await assertNothingLeft(kws.dir);
  });

  test("Ctrl-C (SIGINT) mid-run: exit 130, everything closed", async (t) => {
    const kws = await kwsProject(t);
    if (!kws) return;
    let sent = false;
    const child = spawnCli([
      "run",
      kws.dir,
      "--input",
      `0=${kws.sample}`,
      "--repeat",
      "100",
      "--number",
      "100",
    ]);
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (text: string) => {
      stderr += text;
      if (!sent && /timing 100 repetitions\.\.\./.test(stderr)) {
        sent = true;
        setTimeout(() => child.kill("SIGINT"), 200);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    assert.ok(sent, stderr);
    assert.equal(code, 130, stderr);
    assert.match(stderr, /^microtvm: interrupted; everything the command started was stopped$/m);
    await assertNothingLeft(kws.dir);
  });

  test("a device that stops answering: a timeout error, then everything is closed", async (t) => {
    const kws = await kwsProject(t);
    if (!kws) return;
    let stopped: number | undefined;
    const started = Date.now();
    const result = await cli(["run", kws.dir, "--input", `0=${kws.sample}`, "--timeout", "2"], {
      onStderr: (soFar) => {
        if (stopped === undefined && /running default \(aot executor\)\.\.\./.test(soFar)) {
          stopped = firmwarePid(kws.dir) ?? -1;
          if (stopped > 0) process.kill(stopped, "SIGSTOP");
        }
      },
    });
    assert.ok(
      stopped !== undefined && stopped > 0,
      `the firmware process was found (stderr: ${result.stderr})`,
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /got no reply \(failed to read reply message after timeout 2s: the device stopped answering\)/,
    );
    assert.ok(Date.now() - started < 60_000);
    await assertNothingLeft(kws.dir);
  });
});
