// `microtvm monitor`: the handshake with real firmware, the raw byte dump, --duration, Ctrl-C,
// and (against an in-memory device) device log lines and a device reset.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertNothingLeft, runCli, type CliRun } from "../helpers/processes.js";
import { repoRoot } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";
import { monitorDevice } from "../../src/device/index.js";
import {
  MessageType,
  SessionCore,
  Unframer,
  createMemoryTransportPair,
  type ByteTransport,
} from "../../src/session/index.js";

const BOOT_TERMINATE = "fe ff fd 03 00 00 00 00 00 02 66 77";

let work: string;
let project: string | undefined;

before(() => {
  work = mkdtempSync(join(tmpdir(), "microtvm-monitor-e2e-"));
});
after(() => {
  rmSync(work, { recursive: true, force: true });
});

function cli(args: string[], onStdout?: (soFar: string, pid: number) => void): Promise<CliRun> {
  return runCli(args, { onStdout, timeoutMs: 60_000 });
}

async function sineProject(): Promise<string> {
  if (project) return project;
  const dir = join(work, "sine");
  const created = await cli(["create-project", dir, join(repoRoot, "examples", "sine-model", "sine.tar")]);
  assert.equal(created.code, 0, created.stderr);
  const built = await cli(["build", dir]);
  assert.equal(built.code, 0, built.stderr);
  project = dir;
  return dir;
}

/** The bytes of the `<` (device → host) or `>` lines of a raw dump, as spaced hex. */
function dumped(stdout: string, mark: "<" | ">"): string {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith(`${mark} `))
    .map((line) => line.slice(2))
    .join(" ");
}

test("monitor --raw --duration: handshake with the firmware, both directions dumped", async (t) => {
  if (!requireCommand(t, "cc", "a C compiler (Debian: apt-get install gcc libc6-dev)")) return;
  if (!requireCommand(t, "make", "GNU make (Debian: apt-get install make)")) return;
  const dir = await sineProject();
  const started = Date.now();
  const result = await cli(["monitor", dir, "--raw", "--duration", "1"]);
  assert.equal(result.code, 0, result.stderr);
  assert.ok(Date.now() - started >= 1000, "ran for the duration");
  assert.match(result.stdout, /session established \(id 0x[0-9a-f]{4}\)/);
  // Both ends start with the same boot TerminateSession (a fresh framer sends fe first).
  assert.ok(dumped(result.stdout, "<").startsWith(BOOT_TERMINATE), result.stdout);
  assert.ok(dumped(result.stdout, ">").startsWith(BOOT_TERMINATE), result.stdout);
  // Then the host's StartSessionInit and the device's StartSessionReply (type 01, version 01).
  assert.match(dumped(result.stdout, ">"), / ff fd 04 00 00 00 [0-9a-f]{2} 00 00 01 /);
  assert.match(dumped(result.stdout, "<"), / ff fd 04 00 00 00 [0-9a-f]{2} [0-9a-f]{2} 01 01 /);
  assert.match(result.stderr, /monitor ended after [\d.]+ s: 0 log lines, 24 bytes in, 24 bytes out/);
  await assertNothingLeft(dir);
});

test("monitor ends on Ctrl-C (SIGINT) and closes everything; --json prints a summary", async (t) => {
  if (!requireCommand(t, "cc", "a C compiler (Debian: apt-get install gcc libc6-dev)")) return;
  if (!requireCommand(t, "make", "GNU make (Debian: apt-get install make)")) return;
  const dir = await sineProject();
  let sent = false;
  const result = await cli(["monitor", dir], (soFar, pid) => {
    if (!sent && soFar.includes("session established")) {
      sent = true;
      setTimeout(() => process.kill(pid, "SIGINT"), 300);
    }
  });
  assert.ok(sent, result.stderr);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /monitor ended \(interrupted\)/);
  await assertNothingLeft(dir);

  const json = await cli(["monitor", dir, "--duration", "0.3", "--json"]);
  assert.equal(json.code, 0, json.stderr);
  const doc = JSON.parse(json.stdout) as Record<string, unknown>;
  assert.equal(doc.schema, "microtvm.monitor/1");
  assert.equal(doc.bytes_in, 24);
  assert.equal(doc.interrupted, false);
  await assertNothingLeft(dir);
});

/**
 * A device on an in-memory transport: the session state machine of the device end, which logs
 * `lines` once a session is established and, if `resetAfterLog`, then resets once (boot Terminate).
 */
function fakeDevice(transport: ByteTransport, lines: string[], resetAfterLog: boolean): { stop: () => void } {
  let running = true;
  let resets = resetAfterLog ? 1 : 0;
  const core: SessionCore = new SessionCore({
    write: (wire) => void transport.write(wire, null).catch(() => undefined),
    onEvent: (event) => {
      if (event.kind !== "established") return;
      for (const line of lines) core.send(MessageType.log, new TextEncoder().encode(`${line}\n`));
      if (resets > 0) {
        resets -= 1;
        core.framer.reset();
        core.initialize(0x21);
      }
    },
  });
  const unframer = new Unframer({ onPacket: (payload) => core.processPayload(payload) });
  core.initialize(0xab);
  void (async () => {
    while (running) {
      try {
        unframer.write(await transport.read(unframer.bytesNeeded(), 0.05));
      } catch (error) {
        if ((error as Error).name !== "IoTimeoutError") return;
      }
    }
  })();
  return { stop: () => (running = false) };
}

test("monitor shows device log lines, and starts a new session when the device resets", async () => {
  const [host, device] = createMemoryTransportPair();
  const fake = fakeDevice(device, ["microTVM runtime - running", "two\nlines"], true);
  const printed: string[] = [];
  const started = Date.now();
  const summary = await monitorDevice(host, {
    timeouts: { sessionStartRetryTimeoutSec: 1, sessionStartTimeoutSec: 5, sessionEstablishedTimeoutSec: 5 },
    durationSec: 0.5,
    stopped: () => false,
    print: (line) => printed.push(line),
    pollSec: 0.05,
  });
  fake.stop();
  assert.ok(Date.now() - started >= 500);
  assert.deepEqual(
    printed.filter((line) => line.startsWith("device: ")),
    [
      "device: microTVM runtime - running",
      "device: two",
      "device: lines",
      "device: microTVM runtime - running",
      "device: two",
      "device: lines",
    ],
  );
  assert.ok(
    printed.includes("the device reset and ended the session; starting a new one"),
    printed.join("\n"),
  );
  assert.equal(printed.filter((line) => line.startsWith("session established")).length, 2);
  assert.equal(summary.logLines, 4);
  await device.close();
});
