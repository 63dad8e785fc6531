// The host Session talking to the device runtime compiled from C (test/c/echo_device.c, which
// echoes every Normal message) over the child process's stdin/stdout: handshake, device logs,
// many messages of random sizes, injected garbage, a device reset, and a killed device.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import {
  ChildProcessTransport,
  Session,
  SessionTerminatedError,
  SessionTransportError,
} from "../../src/session/index.js";
import { requireCommand, haveCommand } from "../helpers/tools.js";
import { buildEchoDevice, sanitizerFlags } from "../c/build.js";

const install = "a C compiler (e.g. `apt-get install gcc`)";
const text = (s: string) => new TextEncoder().encode(s);
let workDir = "";
const spawned: ChildProcessTransport[] = [];

before(() => {
  workDir = mkdtempSync(join(tmpdir(), "microtvm-session-echo-"));
  if (haveCommand("cc")) {
    buildEchoDevice(join(workDir, "echo_device"));
    buildEchoDevice(join(workDir, "echo_device_asan"), sanitizerFlags);
  }
});

after(async () => {
  await Promise.all(spawned.map((t) => t.close()));
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A small deterministic PRNG, so that a failure can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function startDevice(
  t: TestContext,
  program: string,
): { transport: ChildProcessTransport; session: Session; logs: string[] } | null {
  if (!requireCommand(t, "cc", install)) return null;
  const transport = new ChildProcessTransport(join(workDir, program), [], { killGraceSec: 2 });
  spawned.push(transport);
  const session = new Session(transport, {
    timeouts: {
      sessionStartRetryTimeoutSec: 1,
      sessionStartTimeoutSec: 10,
      sessionEstablishedTimeoutSec: 10,
    },
  });
  const logs: string[] = [];
  session.on("log", (line) => logs.push(line));
  return { transport, session, logs };
}

test("a device program that cannot be started is a clear error", async () => {
  const transport = new ChildProcessTransport(join(workDir, "no-such-program"));
  const session = new Session(transport, {
    timeouts: { sessionStartRetryTimeoutSec: 0, sessionStartTimeoutSec: 5, sessionEstablishedTimeoutSec: 5 },
  });
  await assert.rejects(session.open(), (e: Error) => {
    assert.ok(e instanceof SessionTransportError);
    assert.match(
      e.message,
      /cannot run device program .*no-such-program: spawn .* ENOENT|no-such-program could not be started/,
    );
    return true;
  });
  await session.close();
});

for (const program of ["echo_device", "echo_device_asan"]) {
  describe(`session with the C echo device (${program})`, () => {
    test("handshake, logs, 100 random messages, garbage, reset", async (t) => {
      const started = startDevice(t, program);
      if (started === null) return;
      const { transport, session, logs } = started;
      await session.open();
      assert.ok(session.established);
      assert.deepEqual(logs, ["echo device ready"], "the greeting logged at boot arrives before the reply");

      const random = prng(0x5eed);
      for (let i = 0; i < 100; i++) {
        // Sizes up to the device's 4096-byte receive buffer (3 bytes go to the header).
        const size = i === 0 ? 0 : i === 1 ? 4093 : Math.floor(random() * 3000);
        const body = new Uint8Array(size);
        for (let j = 0; j < size; j++) body[j] = random() < 0.1 ? 0xff : Math.floor(random() * 256);
        await session.send(body);
        const echoed = await session.receive();
        assert.deepEqual(Buffer.from(echoed), Buffer.from(body), `message ${i} of ${size} bytes`);
      }

      // A Log in the middle of a request arrives before the reply.
      await session.send(text("log:halfway there"));
      assert.equal(Buffer.from(await session.receive()).toString(), "log:halfway there");
      assert.equal(logs.at(-1), "halfway there");

      // Unframed bytes from the device (like a boot banner) are skipped by the host.
      const drops: string[] = [];
      session.on("drop", (d) => drops.push(d.reason));
      await session.send(text("noise"));
      assert.equal(Buffer.from(await session.receive()).toString(), "noise");

      // Garbage towards the device: noise, an invalid escape, a frame cut off after its length.
      // The device drops all of it and answers the next frame.
      const garbage = new Uint8Array(200);
      for (let j = 0; j < garbage.length; j++) garbage[j] = Math.floor(random() * 256);
      garbage.set([0xff, 0x41, 0xff, 0xfd, 0x40, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03], garbage.length - 11);
      await transport.write(garbage, 5);
      await session.send(text("after garbage"));
      assert.equal(Buffer.from(await session.receive()).toString(), "after garbage");
      // stderr is a separate pipe: its line may trail the reply a little.
      for (let waited = 0; !/framing error/.test(transport.stderr) && waited < 5000; waited += 20)
        await new Promise((resolve) => setTimeout(resolve, 20));
      assert.match(transport.stderr, /framing error/, "the device reported what it skipped");

      // The device restarts its session as a freshly booted device would.
      const terminated: Error[] = [];
      session.on("terminated", (e) => terminated.push(e));
      await session.send(text("reset"));
      await assert.rejects(session.receive(), SessionTerminatedError);
      assert.equal(terminated.length, 1);
      await session.open();
      await session.send(text("back again"));
      assert.equal(Buffer.from(await session.receive()).toString(), "back again");
      assert.ok(logs.includes("echo device restarted"));

      const pid = transport.pid!;
      await session.close();
      assert.ok(transport.hasExited);
      assert.ok(!isAlive(pid), "the device process is gone after close()");
    });

    test("a killed device gives a clear error and leaves no process", async (t) => {
      const started = startDevice(t, program);
      if (started === null) return;
      const { transport, session } = started;
      await session.open();
      await session.send(text("ping"));
      assert.equal(Buffer.from(await session.receive()).toString(), "ping");
      const pid = transport.pid!;
      const pending = session.receive();
      process.kill(pid, "SIGKILL");
      await assert.rejects(pending, (e: Error) => {
        assert.ok(e instanceof SessionTransportError);
        assert.match(e.message, /the device transport closed while reading from the device/);
        assert.match(e.message, /was killed by SIGKILL/);
        return true;
      });
      await assert.rejects(session.send(text("anyone?")), SessionTransportError);
      await session.close();
      assert.ok(!isAlive(pid));
    });

    test("a device that exits reports its status and stderr", async (t) => {
      const started = startDevice(t, program);
      if (started === null) return;
      const { transport, session } = started;
      await session.open();
      await session.send(text("exit"));
      await assert.rejects(
        session.receive(),
        /: the device transport closed while reading from the device: device program \S+ exited with code 3; its stderr ends with: echo device: exit requested$/,
      );
      await session.close();
      assert.ok(!isAlive(transport.pid!));
    });
  });
}
