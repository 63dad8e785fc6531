// The cortex-m template without hardware: the yes/no keyword model (AOT v5 and graph v4 archives)
// on netduinoplus2, the QEMU twin of the STM32F4 boards, through the template's serial transport —
// QEMU's USART2 on a pty opened with the serialport package copied into the project — and the same
// pty served by ser2net as RFC 2217 on 127.0.0.1. Outputs match TensorFlow's for all four samples.
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertNothingLeft, runCli } from "../helpers/processes.js";
import { sharedFixture } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";
import { GeneratedProject } from "../../src/client/index.js";
import { openDevice } from "../../src/device/index.js";
import { findPty, INFO_CHARDEV } from "../../templates/cortex-m/qemu.js";
import { repoRoot } from "../helpers/paths.js";

const SAMPLES = ["yes", "no", "silence", "unknown"] as const;
const ARCHIVES = [
  ["yes-no-kws-aot-v5", "aot"],
  ["yes-no-kws-graph-v4", "graph"],
] as const;

interface Expected {
  max_abs_difference_exclusive: number;
  samples: Record<string, number[]>;
}

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), "microtvm-board-e2e-"));
});
after(() => rmSync(work, { recursive: true, force: true }));

function haveTools(t: TestContext, withSer2net = false): boolean {
  return (
    requireCommand(t, "arm-none-eabi-gcc", "Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi") &&
    requireCommand(t, "make", "Debian: make") &&
    requireCommand(t, "qemu-system-arm", "Debian: qemu-system-arm") &&
    (!withSer2net || requireCommand(t, "ser2net", "Debian: ser2net"))
  );
}

function assertClose(got: readonly number[], want: readonly number[], within: number, what: string): void {
  assert.equal(got.length, want.length, what);
  got.forEach((v, i) =>
    assert.ok(
      Math.abs(v - want[i]!) < within,
      `${what}: got ${got.join(",")}, TensorFlow says ${want.join(",")}`,
    ),
  );
}

const projects = new Map<string, Promise<string>>();

/** create-project and build through the CLI, once per archive. */
function boardProject(name: string, archive: string): Promise<string> {
  let made = projects.get(name);
  if (!made) {
    made = (async () => {
      const dir = join(work, name);
      const created = await runCli([
        "create-project",
        dir,
        archive,
        "--template",
        "cortex-m",
        "-o",
        "board=netduinoplus2",
      ]);
      assert.equal(created.code, 0, created.stderr);
      const built = await runCli(["build", dir, "-o", "verbose=true"], { timeoutMs: 300_000 });
      assert.equal(built.code, 0, built.stderr);
      assert.match(built.stderr, /netduinoplus2 memory use \(build\/firmware\.elf\):/);
      assert.match(built.stderr, /FLASH\s+0x08000000\s+\d+ of\s+1048576 bytes/);
      assert.match(built.stderr, /RAM\s+0x20000000\s+\d+ of\s+131072 bytes/);
      return dir;
    })();
    projects.set(name, made);
  }
  return made;
}

/** All four samples through one session; `port` set: connect there instead of starting QEMU. */
async function runSamples(dir: string, samples: string, expected: Expected, port?: string): Promise<void> {
  const project = await GeneratedProject.open(dir);
  try {
    const device = await openDevice(project, {
      build: "never",
      flash: false,
      ...(port ? { options: { port } } : {}),
    });
    try {
      const session = await device.loadModel();
      for (const sample of SAMPLES) {
        const data = new Uint8Array(readFileSync(join(samples, `${sample}.bin`)));
        const { outputs } = await session.run([{ dtype: "int8", shape: [1, 1960], data }]);
        const out = outputs[0]!;
        const got = Array.from(new Int8Array(out.data.buffer, out.data.byteOffset, out.data.length));
        assertClose(
          got,
          expected.samples[sample]!,
          expected.max_abs_difference_exclusive,
          `${dir} ${sample}`,
        );
      }
    } finally {
      await device.close();
    }
  } finally {
    await project.close();
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A running twin with its UART on a pty, as a lab would keep it, and ser2net serving it as RFC 2217. */
async function sharedTwin(t: TestContext, dir: string, marker: string): Promise<string> {
  const stop = (child: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  const qemu = spawn(
    "qemu-system-arm",
    ["-machine", "netduinoplus2", "-cpu", "cortex-m4", "-display", "none", "-monitor", "stdio"].concat([
      "-serial",
      "null",
      "-serial",
      "pty",
      "-kernel",
      join(dir, "build", "firmware.elf"),
      "-name",
      marker,
    ]),
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  t.after(() => stop(qemu));
  let text = "";
  qemu.stdout!.setEncoding("utf8").on("data", (s: string) => (text += s));
  qemu.stdin!.write(INFO_CHARDEV);
  const deadline = Date.now() + 10_000;
  let pty: string | undefined;
  while (!(pty = findPty(text, "serial1"))) {
    assert.ok(Date.now() < deadline, `QEMU reported no pty: ${text}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const port = await freePort();
  const config = join(work, `${marker}.yaml`);
  writeFileSync(
    config,
    [
      "connection: &board",
      `  accepter: telnet(rfc2217),tcp,127.0.0.1,${port}`,
      `  connector: serialdev,${pty},115200n81,local`,
      "  options:",
      "    kickolduser: true",
      "    mdns: false",
      "",
    ].join("\n"),
  );
  const ser2net = spawn("ser2net", ["-n", "-d", "-c", config, "-P", join(work, `${marker}.pid`)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  t.after(() => stop(ser2net));
  let ser2netErr = "";
  ser2net.stderr!.setEncoding("utf8").on("data", (s: string) => (ser2netErr += s));
  // Listening once a TCP connection is accepted.
  for (const until = Date.now() + 10_000; ;) {
    const up = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once("error", () => resolve(true));
      probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(false)));
    });
    if (up) break;
    assert.ok(Date.now() < until && ser2net.exitCode === null, `ser2net did not start: ${ser2netErr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return `rfc2217://127.0.0.1:${port}`;
}

for (const [name, executor] of ARCHIVES) {
  describe(`netduinoplus2, ${name} (${executor})`, () => {
    test("over QEMU's pty through the serial transport: run gives the reference outputs for every sample", async (t) => {
      if (!haveTools(t)) return;
      const archive = sharedFixture(t, name, "model.tar");
      const samples = sharedFixture(t, "kws-samples");
      if (!archive || !samples) return;
      const expected = JSON.parse(readFileSync(join(samples, "expected.json"), "utf8")) as Expected;
      const dir = await boardProject(name, archive);
      // As a user would: microtvm run, QEMU started by the project's server, USART2 on a pty.
      const run = await runCli(["run", dir, "--input", `Reshape_1=${join(samples, "yes.bin")}`, "--json"]);
      assert.equal(run.code, 0, run.stderr);
      const doc = JSON.parse(run.stdout) as { outputs: { values: number[] }[] };
      assertClose(
        doc.outputs[0]!.values,
        expected.samples.yes!,
        expected.max_abs_difference_exclusive,
        "run yes",
      );
      await runSamples(dir, samples, expected);
      await assertNothingLeft(join(dir, "build", "firmware.elf"));
    });

    test("through ser2net serving the twin's pty as RFC 2217 on 127.0.0.1", async (t) => {
      if (!haveTools(t, true)) return;
      const archive = sharedFixture(t, name, "model.tar");
      const samples = sharedFixture(t, "kws-samples");
      if (!archive || !samples) return;
      const expected = JSON.parse(readFileSync(join(samples, "expected.json"), "utf8")) as Expected;
      const dir = await boardProject(name, archive);
      const marker = `microtvm-board-e2e-${process.pid}-${executor}`;
      const port = await sharedTwin(t, dir, marker);
      const run = await runCli([
        "run",
        dir,
        "--input",
        `Reshape_1=${join(samples, "no.bin")}`,
        "-o",
        `port=${port}`,
        "--json",
      ]);
      assert.equal(run.code, 0, run.stderr);
      const doc = JSON.parse(run.stdout) as { outputs: { values: number[] }[] };
      assertClose(
        doc.outputs[0]!.values,
        expected.samples.no!,
        expected.max_abs_difference_exclusive,
        "run no",
      );
      await runSamples(dir, samples, expected, port);
      // With a port given the server started nothing: only the test's own QEMU runs the firmware.
      assert.deepEqual(
        (await import("../helpers/processes.js"))
          .processesMentioning("microtvm-board-qemu")
          .filter((p) => p.includes(dir)),
        [],
      );
    });
  });
}

describe("microbit (nRF51, Cortex-M0, 16 KiB RAM)", () => {
  test("the example sine model runs through the serial transport on QEMU's pty", async (t) => {
    if (!haveTools(t)) return;
    const dir = join(work, "sine-microbit");
    const archive = join(repoRoot, "examples", "sine-model", "sine.tar");
    const created = await runCli([
      "create-project",
      dir,
      archive,
      "--template",
      "cortex-m",
      "-o",
      "board=microbit",
    ]);
    assert.equal(created.code, 0, created.stderr);
    const built = await runCli(["build", dir, "-o", "verbose=true"], { timeoutMs: 300_000 });
    assert.equal(built.code, 0, built.stderr);
    assert.match(built.stderr, /RAM\s+0x20000000\s+\d+ of\s+16384 bytes/);
    const device = await openDevice(dir, { build: "never" });
    try {
      const session = await device.loadModel();
      {
        let worst = 0;
        for (let i = 0; i < 16; i++) {
          const x = (2 * Math.PI * i) / 15;
          const data = new Uint8Array(new Float32Array([x]).buffer);
          const { outputs } = await session.run([{ dtype: "float32", shape: [1, 1], data }]);
          const out = outputs[0]!;
          const y = new Float32Array(out.data.slice().buffer)[0]!;
          worst = Math.max(worst, Math.abs(y - Math.sin(x)));
        }
        t.diagnostic(`microbit: max |y - sin(x)| over 16 points = ${worst.toFixed(4)}`);
        // The example is fitted to within 0.02 of sin(x); soft float on the M0 computes the same.
        assert.ok(worst < 0.02, `max error ${worst}`);
      }
    } finally {
      await device.close();
    }
    await assertNothingLeft(join(dir, "build", "firmware.elf"));
  });
});
