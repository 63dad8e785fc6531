// The host template's firmware ends by itself when its stdin closes, whatever it was doing: after a
// graph session (the host-side graph executor's storage, linked parameters and kernel calls), when
// the project's server closes the transport, and while it is stuck writing a reply nobody reads.
// A firmware that only a signal can stop would leave the session's end to a race with SIGTERM.
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedFixture } from "../helpers/paths.js";
import { runCliSync, type CliRun } from "../helpers/processes.js";
import { requireCommand } from "../helpers/tools.js";
import { GeneratedProject } from "../../src/client/index.js";
import { createExecutor, loadProjectModel, openDevice } from "../../src/device/index.js";
import {
  RemoteRuntime,
  RpcClient,
  packetChannelOverMessages,
  tensorFromValues,
} from "../../src/rpc/index.js";
import {
  ChildProcessTransport,
  MessageType,
  SESSION_VERSION,
  Session,
  encodeFrame,
  encodeSessionMessage,
} from "../../src/session/index.js";

/** How long a firmware may take to exit after its stdin closes. */
const EXIT_WITHIN_MS = 1000;

let work: string;
let graphProject: Promise<string> | undefined;

before(() => {
  work = mkdtempSync(join(tmpdir(), "microtvm-firmware-exit-"));
});

after(() => {
  rmSync(work, { recursive: true, force: true });
});

function cli(args: string[]): CliRun {
  return runCliSync(args, { timeoutMs: 180_000 });
}

/** The yes/no graph model (MLF v4, system library) as a built host project, made once per file. */
function graphProjectDir(t: TestContext): Promise<string> | undefined {
  if (!requireCommand(t, "cc", "a C compiler (Debian: apt-get install gcc libc6-dev)")) return undefined;
  if (!requireCommand(t, "make", "GNU make (Debian: apt-get install make)")) return undefined;
  const archive = sharedFixture(t, "yes-no-kws-graph-v4", "model.tar");
  if (archive === undefined) return undefined;
  graphProject ??= (async () => {
    const dir = join(work, "kws-graph");
    const created = cli(["create-project", dir, archive, "--template", "host"]);
    assert.equal(created.code, 0, created.stderr);
    const built = cli(["build", dir]);
    assert.equal(built.code, 0, built.stderr);
    return dir;
  })();
  return graphProject;
}

const zeros = () => tensorFromValues(new Array<number>(1960).fill(0), "int8", [1, 1960]);

test("after a graph session, closing the firmware's stdin ends it within a second, without a signal", async (t) => {
  const made = graphProjectDir(t);
  if (!made) return;
  const dir = await made;
  const project = await GeneratedProject.open(dir);
  let model;
  try {
    model = await loadProjectModel(project);
  } finally {
    await project.close();
  }
  // The firmware itself, not through the server: close() ends stdin and sends a signal only after
  // the grace period, so a close that returns early proves the firmware exited on the EOF.
  const transport = new ChildProcessTransport(join(dir, "build", "firmware"), [], {
    cwd: dir,
    killGraceSec: 5,
  });
  try {
    const session = new Session(transport, {
      timeouts: {
        sessionStartRetryTimeoutSec: 1,
        sessionStartTimeoutSec: 10,
        sessionEstablishedTimeoutSec: 60,
      },
    });
    await session.open();
    const executor = await createExecutor(
      new RemoteRuntime(new RpcClient(packetChannelOverMessages(session))),
      model,
    );
    assert.equal(executor.kind, "graph");
    await executor.setInput(0, zeros());
    await executor.run();
    assert.equal((await executor.getOutputs()).length, 1);
    await executor.deviceTime(1, 1);
  } finally {
    const started = Date.now();
    await transport.close();
    const took = Date.now() - started;
    assert.ok(took < EXIT_WITHIN_MS, `the firmware took ${took} ms to exit after its stdin closed`);
    assert.match(transport.stderr, /stdin closed, exiting/);
  }
});

test("close_transport after a graph session: the firmware exits on the EOF with status 0, not by SIGTERM", async (t) => {
  const made = graphProjectDir(t);
  if (!made) return;
  const dir = await made;
  const log: string[] = [];
  for (let round = 0; round < 3; round++) {
    const project = await GeneratedProject.open(dir, { onOutput: (text) => log.push(text) });
    try {
      const device = await openDevice(project, { build: "never", flash: false });
      try {
        await (await device.loadModel()).run([zeros()]);
      } finally {
        await device.close();
      }
    } finally {
      await project.close();
    }
  }
  const ends = log.join("").match(/close_transport: firmware ended \([^)]*\)/g) ?? [];
  assert.deepEqual(
    ends,
    new Array<string>(3).fill("close_transport: firmware ended (status 0)"),
    log.join(""),
  );
});

test("a firmware blocked writing replies nobody reads still exits when its stdin closes", async (t) => {
  const made = graphProjectDir(t);
  if (!made) return;
  const dir = await made;
  if (!requireCommand(t, "mkfifo", "coreutils (mkfifo)")) return;
  // stdout is a FIFO this test holds open and never reads: after 64 KiB of replies the firmware's
  // write cannot proceed. Each StartSessionInit is answered, so enough of them fill it.
  const fifo = join(work, "unread-stdout");
  assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
  const stdoutFd = openSync(fifo, "r+");
  const child = spawn(join(dir, "build", "firmware"), [], { cwd: dir, stdio: ["pipe", stdoutFd, "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  child.stdin!.on("error", () => {});
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  try {
    const init = encodeFrame(
      encodeSessionMessage(0x41, MessageType.startSessionInit, Uint8Array.of(SESSION_VERSION)),
    );
    const inits = 20_000; // about 260 KB of replies, four times the pipe's capacity
    const burst = new Uint8Array(init.length * inits);
    for (let i = 0; i < inits; i++) burst.set(init, i * init.length);
    child.stdin!.write(burst);
    // Wait until the firmware is stuck: it stops reading, so its stdin stops draining.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.ok(child.exitCode === null, `the firmware ended early: ${stderr}`);
    const started = Date.now();
    child.stdin!.destroy();
    const outcome = await Promise.race([
      exited,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), EXIT_WITHIN_MS)),
    ]);
    assert.ok(
      outcome !== undefined,
      `the firmware still runs ${Date.now() - started} ms after its stdin closed`,
    );
    assert.deepEqual(outcome, { code: 0, signal: null }, stderr);
    assert.match(stderr, /stdin closed while a reply was unread, exiting/);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
    closeSync(stdoutFd);
  }
});
