// The host template end to end: generate a project from each C-source model, build it with the
// real C compiler, open the transport through our client and complete the session handshake
// with the firmware, then close — with no process left behind.
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { GeneratedProject, generateProjectFromMlf } from "../../src/client/index.js";
import { IoTimeoutError, ServerError, TransportClosedError } from "../../src/protocol/index.js";
import { Device } from "../../src/device/index.js";
import {
  AotExecutor,
  RemoteRuntime,
  RpcClient,
  packetChannelOverMessages,
  readTensorFile,
} from "../../src/rpc/index.js";
import { Session, encodeFrame } from "../../src/session/index.js";
import { repoRoot, sharedFixture } from "../helpers/paths.js";
import { processesRunning, survivors } from "../helpers/processes.js";
import { requireCommand } from "../helpers/tools.js";

const hostTemplate = join(repoRoot, "templates", "host");
const exampleSine = join(repoRoot, "examples", "sine-model", "sine.tar");

let scratch: string;
before(() => {
  scratch = mkdtempSync(join(tmpdir(), "microtvm-host-e2e-"));
});
after(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** Skips without a C toolchain; fails when the template's server has not been bundled. */
function ready(t: TestContext): boolean {
  if (!requireCommand(t, "cc", "a C compiler (apt-get install gcc libc6-dev)")) return false;
  if (!requireCommand(t, "make", "GNU make (apt-get install make)")) return false;
  assert.ok(
    existsSync(join(hostTemplate, "microtvm_api_server.js")),
    "templates/host/microtvm_api_server.js is missing: run `npm run build` first",
  );
  return true;
}

async function handshake(
  project: GeneratedProject,
): Promise<{ session: Session; close: () => Promise<void> }> {
  const transport = project.transport();
  const timeouts = await transport.open();
  const session = new Session(transport, {
    timeouts,
  });
  await session.open();
  return { session, close: () => transport.close() };
}

/** The boot message every freshly started firmware sends: fe + a framed TerminateSession. */
const BOOT_TERMINATE = "fefffd030000000000026677";

async function readAvailable(project: GeneratedProject, quietSec = 0.3): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (;;) {
    try {
      parts.push(Buffer.from(await project.apiClient.readTransport(4096, quietSec)));
    } catch (error) {
      if (error instanceof IoTimeoutError) return Buffer.concat(parts);
      throw error;
    }
  }
}

const MODELS = [
  { name: "yes-no-kws-graph-v4", fixture: ["yes-no-kws-graph-v4", "model.tar"], executor: "graph" },
  { name: "yes-no-kws-aot-v5", fixture: ["yes-no-kws-aot-v5", "model.tar"], executor: "aot" },
  { name: "sine-aot-v5-crt", fixture: ["sine-aot-v5-crt", "sine.tar"], executor: "aot" },
  { name: "examples-sine-model", fixture: undefined, executor: "aot" },
];

describe("host template: every C-source model builds and completes the session handshake", () => {
  for (const model of MODELS) {
    test(model.name, async (t) => {
      const mlf = model.fixture ? sharedFixture(t, ...model.fixture) : exampleSine;
      if (!mlf || !ready(t)) return;
      const dir = join(scratch, model.name);
      // warning_as_error: this project's own C must compile with -Werror, while the model's
      // generated C (which has warnings, e.g. the yes/no model's discarded qualifiers) must not fail.
      const project = await generateProjectFromMlf(hostTemplate, dir, mlf, { warning_as_error: true });
      const serverPid = project.apiClient.process!.pid;
      const firmware = join(dir, "build", "firmware");
      try {
        const info = project.info();
        assert.equal(info.platformName, "host");
        assert.equal(info.isTemplate, false);
        assert.equal(info.modelLibraryFormatPath, join(dir, "model.tar"));
        const recorded = JSON.parse(readFileSync(join(dir, "microtvm-project.json"), "utf8"));
        assert.equal(recorded.template, "host");
        assert.equal(recorded.model.executor, model.executor);
        assert.equal(recorded.options.warning_as_error, true);
        for (const file of [
          "Makefile",
          "firmware/main.c",
          "firmware/models.c",
          "launch_microtvm_api_server.sh",
          "microtvm_api_server.js",
        ]) {
          assert.ok(existsSync(join(dir, file)), `${file} is in the generated project`);
        }

        await project.build();
        assert.ok(existsSync(firmware), "build/firmware was built");
        await project.flash();

        const { session, close } = await handshake(project);
        assert.ok(session.established, "the session is established");
        assert.ok(session.sessionId !== 0);
        const running = processesRunning(firmware);
        assert.equal(running.length, 1, "exactly one firmware process runs while the transport is open");
        await close();
        assert.deepEqual(await survivors(running), [], "close_transport ended and reaped the firmware");
      } finally {
        await project.close();
      }
      assert.deepEqual(await survivors([serverPid]), [], "the project's server exited");
      assert.deepEqual(processesRunning(firmware), [], "no firmware process is left");
    });
  }
});

test("the yes/no keyword model runs on the host firmware and answers as TensorFlow does", async (t) => {
  const mlf = sharedFixture(t, "yes-no-kws-aot-v5", "model.tar");
  const samples = sharedFixture(t, "kws-samples");
  if (!mlf || !samples || !ready(t)) return;
  const expected = JSON.parse(readFileSync(join(samples, "expected.json"), "utf8")) as {
    max_abs_difference_exclusive: number;
    samples: Record<string, number[]>;
  };
  const project = await generateProjectFromMlf(hostTemplate, join(scratch, "kws-inference"), mlf, {});
  try {
    await project.build();
    const { session, close } = await handshake(project);
    const executor = await AotExecutor.create(
      new RemoteRuntime(new RpcClient(packetChannelOverMessages(session))),
    );
    for (const [name, want] of Object.entries(expected.samples)) {
      await executor.setInput(0, new Uint8Array(readFileSync(join(samples, `${name}.bin`))));
      await executor.run();
      const output = await executor.getOutput(0);
      const got = Array.from(new Int8Array(output.data.buffer, output.data.byteOffset, output.data.length));
      got.forEach((value, i) =>
        assert.ok(
          Math.abs(value - want[i]!) < expected.max_abs_difference_exclusive,
          `${name}: output ${i} is ${value}, TensorFlow says ${want[i]}`,
        ),
      );
    }
    await close();
  } finally {
    await project.close();
  }
});

test("an inference through the device API is one transport round trip on our firmware, with run()'s outputs", async (t) => {
  const mlf = sharedFixture(t, "yes-no-kws-aot-v5", "model.tar");
  const samples = sharedFixture(t, "kws-samples");
  if (!mlf || !samples || !ready(t)) return;
  const dir = join(scratch, "kws-pipelined");
  await (await generateProjectFromMlf(hostTemplate, dir, mlf, {})).close();
  const sent: string[] = [];
  const project = await GeneratedProject.open(dir, {
    onRequestWritten: (line) => void sent.push((JSON.parse(line) as { method: string }).method),
  });
  const device = await Device.open(project, { build: "auto", flash: false });
  try {
    const model = await device.loadModel();
    for (const name of ["yes", "no", "silence", "unknown"]) {
      const input = await readTensorFile(join(samples, `${name}.bin`), model.model.inputs[0]!);
      const { outputs: stepwise } = await model.run([input]);
      sent.length = 0;
      const pipelined = await model.infer([input]);
      assert.deepEqual(sent, ["write_transport", "read_transport"], `${name}: requests of one inference`);
      assert.deepEqual(pipelined, stepwise, `${name}: infer() and run() agree`);
    }
  } finally {
    await device.close();
    await project.close();
  }
});

describe("host template: transport behaviour", () => {
  let dir: string;
  before(async () => {
    if (!existsSync(join(hostTemplate, "microtvm_api_server.js"))) return;
    dir = join(scratch, "transport");
    const project = await generateProjectFromMlf(hostTemplate, dir, exampleSine, {});
    try {
      await project.build();
    } catch {
      // the tests below report the missing toolchain or the failure themselves
    } finally {
      await project.close();
    }
  });

  test("the firmware boots with TerminateSession, reads time out, a second open replaces the first", async (t) => {
    if (!ready(t)) return;
    const project = await GeneratedProject.open(dir);
    const firmware = join(dir, "build", "firmware");
    try {
      const timeouts = await project.apiClient.openTransport({});
      for (const value of Object.values(timeouts)) assert.ok(value > 0, "every session timeout is non-zero");
      assert.equal((await readAvailable(project)).toString("hex"), BOOT_TERMINATE);
      await assert.rejects(
        project.apiClient.readTransport(16, 0),
        IoTimeoutError,
        "a poll with nothing to read",
      );
      await assert.rejects(
        project.apiClient.readTransport(16, 0.2),
        IoTimeoutError,
        "a timed read with nothing to read",
      );
      const [first] = processesRunning(firmware);
      assert.ok(first);

      await project.apiClient.openTransport({});
      const now = processesRunning(firmware);
      assert.equal(now.length, 1, "one firmware after the second open");
      assert.notEqual(now[0], first);
      assert.deepEqual(await survivors([first!]), [], "the first firmware was ended");
      assert.equal((await readAvailable(project)).toString("hex"), BOOT_TERMINATE, "the new firmware booted");

      await project.apiClient.closeTransport();
      await project.apiClient.closeTransport(); // closing twice is a no-op
      await assert.rejects(project.apiClient.readTransport(1, 0), TransportClosedError);
      await assert.rejects(project.apiClient.writeTransport(new Uint8Array([1]), 1), TransportClosedError);
    } finally {
      await project.close();
    }
    assert.deepEqual(processesRunning(firmware), []);
  });

  test("garbage on the wire is skipped: the session still starts afterwards", async (t) => {
    if (!ready(t)) return;
    const output: string[] = [];
    const project = await GeneratedProject.open(dir, { onOutput: (text) => output.push(text) });
    try {
      const transport = project.transport();
      const timeouts = await transport.open();
      // Noise without 0xff (no frame start), then a real frame with a broken CRC, then noise.
      const noise = Uint8Array.from({ length: 300 }, (_, i) => (i * 37 + 11) % 255);
      const damaged = encodeFrame(Uint8Array.from([0, 0, 0x10, 1, 2, 3, 4]));
      damaged[damaged.length - 1]! ^= 0x55;
      await transport.write(noise, 5);
      await transport.write(damaged, 5);
      await transport.write(noise, 5);
      const session = new Session(transport, {
        timeouts,
      });
      await session.open();
      assert.ok(session.established);
      assert.equal(
        processesRunning(join(dir, "build", "firmware")).length,
        1,
        "the firmware survived the garbage",
      );
      await transport.close();
    } finally {
      await project.close();
    }
    assert.match(
      output.join(""),
      /dropped a damaged frame/,
      "the firmware reported the damaged frame on stderr",
    );
  });

  test("when the client goes away without close_transport, the firmware does not outlive the server", async (t) => {
    if (!ready(t)) return;
    const firmware = join(dir, "build", "firmware");
    // 1. The channel hits EOF (the client closes its pipes).
    let project = await GeneratedProject.open(dir);
    await project.apiClient.openTransport({});
    let running = processesRunning(firmware);
    assert.equal(running.length, 1);
    await project.close();
    assert.deepEqual(await survivors(running), [], "EOF on the channel ended the firmware");

    // 2. The server is killed outright: the firmware sees EOF on its stdin and exits.
    project = await GeneratedProject.open(dir);
    try {
      await project.apiClient.openTransport({});
      running = processesRunning(firmware);
      assert.equal(running.length, 1);
      process.kill(project.apiClient.process!.pid, "SIGKILL");
      assert.deepEqual(await survivors(running), [], "a killed server's firmware exits on stdin EOF");
    } finally {
      await project.close();
    }
  });

  test("a firmware that exits at once gives TransportClosedError, and the server keeps serving", async (t) => {
    if (!ready(t)) return;
    const crashDir = join(scratch, "crash");
    const generated = await generateProjectFromMlf(hostTemplate, crashDir, exampleSine, {});
    await generated.close();
    // Stand in a firmware that dies immediately, as a crashing build would.
    const { mkdirSync, writeFileSync, chmodSync } = await import("node:fs");
    mkdirSync(join(crashDir, "build"));
    writeFileSync(join(crashDir, "build", "firmware"), "#!/bin/sh\necho 'simulated crash' >&2\nexit 3\n");
    chmodSync(join(crashDir, "build", "firmware"), 0o755);
    const output: string[] = [];
    const project = await GeneratedProject.open(crashDir, { onOutput: (text) => output.push(text) });
    try {
      await project.apiClient.openTransport({});
      await assert.rejects(project.apiClient.readTransport(64, 5), TransportClosedError);
      await assert.rejects(project.apiClient.writeTransport(new Uint8Array([0xfe]), 1), TransportClosedError);
      await project.apiClient.closeTransport();
      assert.equal(project.info().platformName, "host");
      assert.equal((await project.apiClient.serverInfoQuery()).isTemplate, false, "the server still answers");
    } finally {
      await project.close();
    }
    const log = output.join("");
    assert.match(log, /exited with status 3/);
    assert.match(log, /simulated crash/);
  });

  test("a generated project serves on its own with only node on PATH", async (t) => {
    if (!ready(t)) return;
    const project = await GeneratedProject.open(dir, { env: { PATH: dirname(process.execPath) } });
    try {
      const info = project.info();
      assert.equal(info.isTemplate, false);
      assert.equal(info.modelLibraryFormatPath, join(dir, "model.tar"));
      await project.apiClient.openTransport({});
      assert.equal((await readAvailable(project)).toString("hex"), BOOT_TERMINATE);
      await project.apiClient.closeTransport();
    } finally {
      await project.close();
    }
  });

  test("transport calls before a build say to build first", async (t) => {
    if (!ready(t)) return;
    const unbuilt = join(scratch, "unbuilt");
    const project = await generateProjectFromMlf(hostTemplate, unbuilt, exampleSine, {});
    try {
      await assert.rejects(project.apiClient.openTransport({}), (error: unknown) => {
        assert.ok(error instanceof ServerError);
        assert.match(error.message, /build\/firmware does not exist.*run build first/);
        return true;
      });
      await assert.rejects(project.flash(), /run build first/);
    } finally {
      await project.close();
    }
  });
});
