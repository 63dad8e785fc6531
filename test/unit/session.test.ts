// Session layer: the state machine against TVM's session test vectors, and the host Session over
// an in-memory transport with a scripted device (handshake trace, retries, timeouts, logs,
// device resets, corrupted input, closed transports).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ByteQueue,
  MessageType,
  Session,
  SessionCore,
  SessionError,
  SessionTerminatedError,
  SessionTimeoutError,
  SessionTransportError,
  Unframer,
  createMemoryTransportPair,
  encodeFrame,
  encodeSessionMessage,
  isIoTimeoutError,
  isTransportClosedError,
  nextNonce,
} from "../../src/session/index.js";
import type { ByteTransport, FrameDrop, SessionEvent, SessionTimeouts } from "../../src/session/index.js";
import { hex, loadSessionVectors } from "../vectors/session-framing.js";
import { TransportClosedError } from "../../src/protocol/index.js";

const vectors = loadSessionVectors();
const text = (s: string) => new TextEncoder().encode(s);
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("session state machine", () => {
  test("nonce steps", () => {
    for (const { from, to } of vectors.nonce_steps)
      assert.equal(nextNonce(from), to, `from 0x${from.toString(16)}`);
  });

  for (const m of vectors.session_messages) {
    test(`message ${m.name}`, () => {
      assert.equal(
        toHex(encodeFrame(encodeSessionMessage(m.session_id, m.type, hex(m.body)), m.prefix)),
        m.wire,
      );
    });
  }

  test("the worked handshake trace, byte for byte", () => {
    const hs = vectors.handshake;
    const hostOut: Uint8Array[] = [];
    const deviceOut: Uint8Array[] = [];
    const hostEvents: SessionEvent[] = [];
    const host = new SessionCore({ write: (w) => hostOut.push(w), onEvent: (e) => hostEvents.push(e) });
    const device = new SessionCore({ write: (w) => deviceOut.push(w), onEvent: () => {} });
    device.initialize(hs.device_nonce);
    host.initialize(hs.host_nonce);
    host.start();
    for (const step of hs.steps) {
      const [from, to, out] =
        step.direction === "host_to_device" ? [host, device, hostOut] : [device, host, deviceOut];
      if (step.type === MessageType.normal && out.length === 0) from.send(MessageType.normal, hex(step.body));
      const wire = out.shift();
      assert.ok(wire, `nothing sent for: ${step.description}`);
      assert.equal(toHex(wire), step.wire, step.description);
      const unframer = new Unframer({ onPacket: (p) => to.processPayload(p) });
      unframer.write(wire);
    }
    assert.equal(host.sessionId, hs.session_id);
    assert.equal(device.sessionId, hs.session_id);
    assert.deepEqual(hostEvents, [
      { kind: "established", sessionId: hs.session_id },
      { kind: "message", type: MessageType.normal, body: text("olleh") },
    ]);
  });

  test("both sides initiate: the lower nonce wins", () => {
    const sim = vectors.simultaneous_start;
    const aliceOut: Uint8Array[] = [];
    const bobOut: Uint8Array[] = [];
    const alice = new SessionCore({ write: (w) => aliceOut.push(w), onEvent: () => {} });
    const bob = new SessionCore({ write: (w) => bobOut.push(w), onEvent: () => {} });
    const feed = (to: SessionCore, wires: Uint8Array[]) => {
      const unframer = new Unframer({ onPacket: (p) => to.processPayload(p) });
      for (const w of wires.splice(0)) unframer.write(w);
    };
    alice.initialize(sim.alice_nonce);
    bob.initialize(sim.bob_nonce);
    aliceOut.length = bobOut.length = 0;
    alice.start();
    bob.start();
    assert.equal(alice.nonce, sim.alice_init_nonce);
    assert.equal(bob.nonce, sim.bob_init_nonce);
    feed(bob, aliceOut);
    assert.equal(bobOut.length, 1, "bob ignores alice's init and writes nothing more");
    feed(alice, bobOut);
    assert.equal(toHex(aliceOut[0]!), sim.alice_reply_wire);
    feed(bob, aliceOut);
    assert.ok(alice.established && bob.established);
    assert.equal(alice.sessionId, sim.session_id);
    assert.equal(bob.sessionId, sim.session_id);
  });

  test("refuses Normal messages outside a session and ignores foreign ids", () => {
    const events: SessionEvent[] = [];
    const core = new SessionCore({ write: () => {}, onEvent: (e) => events.push(e) });
    assert.throws(() => core.send(MessageType.normal, text("x")), SessionError);
    assert.throws(() => core.start(), /initialize the session before starting it/);
    core.send(MessageType.log, text("early log")); // allowed in any state
    core.initialize(0x10);
    core.processPayload(encodeSessionMessage(0x1234, MessageType.normal, text("stray")));
    core.processPayload(encodeSessionMessage(0, MessageType.log, text("hi")));
    core.processPayload(new Uint8Array([1, 2]));
    assert.deepEqual(events, [{ kind: "log", body: text("hi") }]);
  });
});

/** A host transport that records what the host writes. */
function recording(inner: ByteTransport): ByteTransport & { written: Uint8Array[]; reads: number[] } {
  const written: Uint8Array[] = [];
  const reads: number[] = [];
  return {
    written,
    reads,
    write: (data, t) => {
      written.push(data.slice());
      return inner.write(data, t);
    },
    read: (n, t) => {
      reads.push(n);
      return inner.read(n, t);
    },
    close: () => inner.close(),
  };
}

interface DeviceOptions {
  nonce?: number;
  greeting?: string;
  /** Number of StartSessionInit messages to ignore before answering. */
  ignoreInits?: number;
  /** Never answer anything. */
  silent?: boolean;
  /** Reply to a Normal message; default: the body reversed. Return null for no reply. */
  onMessage?: (body: Uint8Array, device: ScriptedDevice) => Uint8Array | null;
}

/** A device built from SessionCore, answering over the device end of a memory pair. */
class ScriptedDevice {
  core: SessionCore;
  inits = 0;
  private readonly unframer: Unframer;
  private stopped = false;
  readonly done: Promise<void>;

  constructor(
    readonly transport: ByteTransport,
    private readonly options: DeviceOptions = {},
  ) {
    this.core = this.makeCore();
    this.unframer = new Unframer({ onPacket: (p) => this.onPayload(p) });
    this.boot();
    this.done = this.run();
  }

  private makeCore(): SessionCore {
    return new SessionCore({
      write: (wire) => void this.transport.write(wire, null).catch(() => {}),
      onEvent: (event) => {
        if (event.kind !== "message") return;
        const reply = (this.options.onMessage ?? ((b) => b.slice().reverse()))(event.body, this);
        if (reply !== null) this.core.send(MessageType.normal, reply);
      },
    });
  }

  /** Boots (again): fresh framer, boot Terminate, greeting. */
  boot(nonce = this.options.nonce ?? 0xab): void {
    this.core = this.makeCore();
    this.core.initialize(nonce);
    if (this.options.greeting !== undefined) this.core.send(MessageType.log, text(this.options.greeting));
  }

  writeRaw(bytes: Uint8Array): void {
    void this.transport.write(bytes, null);
  }

  private onPayload(payload: Uint8Array): void {
    if (payload[2] === MessageType.startSessionInit) this.inits++;
    if (this.options.silent) return;
    if (payload[2] === MessageType.startSessionInit && this.inits <= (this.options.ignoreInits ?? 0)) return;
    this.core.processPayload(payload);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        this.unframer.write(await this.transport.read(4096, null));
      } catch {
        return;
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.transport.close();
    await this.done;
  }
}

function setup(deviceOptions: DeviceOptions = {}, timeouts: Partial<SessionTimeouts> = {}, nonces = [0x3c]) {
  const [hostEnd, deviceEnd] = createMemoryTransportPair();
  const transport = recording(hostEnd);
  const device = new ScriptedDevice(deviceEnd, deviceOptions);
  let next = 0;
  const session = new Session(transport, {
    timeouts: {
      sessionStartRetryTimeoutSec: 0,
      sessionStartTimeoutSec: 2,
      sessionEstablishedTimeoutSec: 2,
      ...timeouts,
    },
    nonce: () => nonces[Math.min(next++, nonces.length - 1)]!,
  });
  const logs: string[] = [];
  session.on("log", (t) => logs.push(t));
  return { session, device, transport, logs };
}

describe("host Session over a byte transport", () => {
  test("handshake and first message match the worked trace byte for byte", async () => {
    const { session, device, transport, logs } = setup({ greeting: "device ready" });
    await session.open();
    assert.ok(session.established);
    assert.equal(session.sessionId, vectors.handshake.session_id);
    const hostSteps = vectors.handshake.steps.filter((s) => s.direction === "host_to_device");
    await session.send(text("hello"));
    assert.deepEqual(
      transport.written.map(toHex),
      [hostSteps[0]!.wire + hostSteps[1]!.wire, hostSteps[2]!.wire],
      "Terminate + Init in one write, then Normal hello",
    );
    assert.deepEqual(Buffer.from(await session.receive()).toString(), "olleh");
    assert.deepEqual(logs, ["device ready"]);
    await session.close();
    await device.stop();
  });

  test("a whole reply frame is taken in one read (one read_transport through the Project API)", async () => {
    const big = new Uint8Array(3000).map((_, i) => i & 0xff);
    const { session, device, transport } = setup({ onMessage: () => big });
    await session.open();
    await session.send(text("give"));
    transport.reads.length = 0;
    assert.deepEqual(await session.receive(), big);
    assert.equal(transport.reads.length, 1, `reads asked for ${transport.reads.join(", ")} bytes`);
    assert.ok(transport.reads[0]! >= 3000 + 9, "the read asks for at least the whole frame");
    await session.close();
    await device.stop();
  });

  test("request() sends with the first read when the transport can write and read at once", async () => {
    const { session, device, transport } = setup();
    await session.open();
    let combined = 0;
    const both = transport as ByteTransport;
    both.writeThenRead = async (data, writeTimeoutSec, n, readTimeoutSec) => {
      combined += 1;
      await transport.write(data, writeTimeoutSec);
      try {
        return await transport.read(n, readTimeoutSec);
      } catch (readError) {
        return { readError };
      }
    };
    const writesBefore = transport.written.length;
    assert.deepEqual(Buffer.from(await session.request(text("abc"))).toString(), "cba");
    assert.deepEqual(Buffer.from(await session.request(text("xy"))).toString(), "yx");
    assert.equal(combined, 2, "one combined exchange per request");
    assert.equal(transport.written.length - writesBefore, 2);
    // A failed write is the request's error, reported as send() reports it.
    both.writeThenRead = () => Promise.reject(new TransportClosedError());
    await assert.rejects(session.request(text("z")), /the device transport closed while writing/);
    await session.close();
    await device.stop();
  });

  test("retries with a new nonce until the device answers", async () => {
    const { session, device, transport } = setup(
      { ignoreInits: 2 },
      { sessionStartRetryTimeoutSec: 0.05, sessionStartTimeoutSec: 5 },
      [0x3c, 0x10, 0x20],
    );
    await session.open();
    assert.equal(device.inits, 3);
    // Each attempt is Terminate + Init with the next nonce of a fresh draw.
    const inits = transport.written.map((w) => toHex(w));
    assert.equal(inits.length, 3);
    assert.ok(
      inits.every((w) => w.startsWith("fefffd03000000000002")),
      "each attempt restarts with a fresh framer",
    );
    assert.equal(session.sessionId & 0xff, nextNonce(0x20));
    await session.close();
    await device.stop();
  });

  test("gives up the handshake after sessionStartTimeoutSec, having retried every sessionStartRetryTimeoutSec", async () => {
    const { session, device } = setup(
      { silent: true },
      { sessionStartRetryTimeoutSec: 0.05, sessionStartTimeoutSec: 0.175 },
    );
    await assert.rejects(session.open(), (e: Error) => {
      assert.ok(e instanceof SessionTimeoutError);
      assert.equal(e.message, "session start handshake failed after 0.175s");
      return true;
    });
    assert.equal(device.inits, 4, "inits at 0, 0.05, 0.1 and 0.15 s; fail at the 0.2 s deadline");
    await session.close();
    await device.stop();
  });

  test("without retries, one attempt until sessionStartTimeoutSec", async () => {
    const { session, device } = setup(
      { silent: true },
      { sessionStartRetryTimeoutSec: 0, sessionStartTimeoutSec: 0.1 },
    );
    await assert.rejects(session.open(), /session start handshake failed after 0.1s/);
    assert.equal(device.inits, 1);
    await session.close();
    await device.stop();
  });

  test("a reply that does not come in sessionEstablishedTimeoutSec is a clear timeout", async () => {
    const { session, device, transport } = setup(
      { onMessage: () => null },
      { sessionEstablishedTimeoutSec: 0.1 },
    );
    await session.open();
    await session.send(text("anyone there?"));
    await assert.rejects(session.receive(), (e: Error) => {
      assert.ok(e instanceof SessionTimeoutError);
      assert.match(
        e.message,
        /failed to read reply message after timeout 0.1s: the device stopped answering/,
      );
      return true;
    });
    // The next frame carries fe, which clears a device left in the middle of a frame.
    const before = transport.written.length;
    await session.send(text("again"));
    assert.ok(toHex(transport.written[before]!).startsWith("fefffd"));
    await session.close();
    await device.stop();
  });

  test("device Log messages arrive as events, also in the middle of a request", async () => {
    const order: string[] = [];
    const { session, device } = setup({
      onMessage: (body, d) => {
        d.core.send(MessageType.log, text("working on it"));
        d.core.send(MessageType.log, new Uint8Array(0)); // TVMLogf("\n") sends an empty Log
        return body;
      },
    });
    session.on("log", (t) => order.push(`log:${t}`));
    await session.open();
    await session.send(text("job"));
    order.push(`reply:${Buffer.from(await session.receive()).toString()}`);
    assert.deepEqual(order, ["log:working on it", "log:", "reply:job"]);
    // The empty log did not wedge anything (TVM's Q-S6): the next round trip works.
    await session.send(text("again"));
    assert.equal(Buffer.from(await session.receive()).toString(), "again");
    await session.close();
    await device.stop();
  });

  test("once established, a damaged frame fails the pending call at once, naming the count", async () => {
    const drops: FrameDrop[] = [];
    const { session, device } = setup(
      {
        onMessage: (_body, d) => {
          d.writeRaw(text("\r\n*** Booting ***\r\n")); // junk between frames is not a frame
          const corrupt = encodeFrame(
            encodeSessionMessage(d.core.sessionId, MessageType.normal, text("corrupted")),
          );
          corrupt[9] ^= 0x20;
          d.writeRaw(corrupt);
          d.writeRaw(
            encodeFrame(
              encodeSessionMessage(d.core.sessionId, MessageType.normal, text("cut short")),
            ).subarray(0, 10),
          );
          return null; // the reply was the damaged frame: nothing else comes
        },
      },
      { sessionEstablishedTimeoutSec: 30 },
    );
    session.on("drop", (d) => drops.push(d));
    await session.open();
    await session.send(text("payload"));
    const started = Date.now();
    await assert.rejects(session.receive(), (e: Error) => {
      assert.equal(e.name, "SessionFrameError");
      assert.match(
        e.message,
        /^1 damaged frame\(s\) on the transport \(last: crc-mismatch, \d+-byte payload\)/,
      );
      return true;
    });
    assert.ok(Date.now() - started < 10_000, "failed without waiting the 30 s reply timeout");
    assert.equal(drops[0]!.reason, "crc-mismatch");
    assert.equal(session.dropsBeforeEstablished, 0);
    await assert.rejects(session.send(text("again")), /damaged frame\(s\) on the transport/);
    await session.close();
    await device.stop();
  });

  test("before establishment, damaged frames are skipped and counted", async () => {
    const { session, device } = setup({});
    const corrupt = encodeFrame(encodeSessionMessage(0, MessageType.log, text("boot noise")));
    corrupt[6] ^= 0x01;
    device.writeRaw(corrupt);
    device.writeRaw(text("U-Boot 2024\r\n"));
    await session.open();
    assert.equal(session.dropsBeforeEstablished, 1);
    await session.send(text("payload"));
    assert.equal(
      Buffer.from(await session.receive()).toString(),
      "daolyap",
      "the default device answers with the bytes reversed",
    );
    await session.close();
    await device.stop();
  });

  test("a device reset fails the pending request and a new open() recovers", async () => {
    let reset = false;
    const { session, device, logs } = setup({
      greeting: "booted",
      onMessage: (body, d) => {
        if (Buffer.from(body).toString() === "reset") {
          reset = true;
          d.boot(0x55);
          return null;
        }
        return body;
      },
    });
    const terminated: Error[] = [];
    session.on("terminated", (e) => terminated.push(e));
    await session.open();
    await session.send(text("reset"));
    await assert.rejects(session.receive(), (e: Error) => {
      assert.ok(e instanceof SessionTerminatedError);
      assert.match(e.message, /remote device terminated connection/);
      return true;
    });
    assert.ok(reset);
    assert.equal(terminated.length, 1);
    assert.ok(!session.established);
    await assert.rejects(session.send(text("x")), SessionTerminatedError);
    await session.open();
    await session.send(text("after reset"));
    assert.equal(Buffer.from(await session.receive()).toString(), "after reset");
    assert.deepEqual(logs, ["booted", "booted"]);
    await session.close();
    await device.stop();
  });

  test("a closed transport is reported as such, for pending and later calls", async () => {
    const { session, device } = setup({ onMessage: () => null });
    await session.open();
    const pending = session.receive(null);
    await device.stop();
    await assert.rejects(pending, (e: Error) => {
      assert.ok(e instanceof SessionTransportError);
      assert.match(e.message, /the device transport closed while reading from the device/);
      return true;
    });
    await assert.rejects(session.send(text("x")), SessionTransportError);
    await session.close();
    await assert.rejects(session.open(), /the session was closed/);
  });

  test("rejects bad timeouts", () => {
    const [a] = createMemoryTransportPair();
    assert.throws(
      () => new Session(a, { timeouts: { sessionStartRetryTimeoutSec: -1 } }),
      /sessionStartRetryTimeoutSec must be a finite number of seconds >= 0/,
    );
    assert.throws(() => new Session(a, { timeouts: { sessionStartTimeoutSec: Number.NaN } }), RangeError);
  });
});

describe("ByteQueue and the in-memory transport", () => {
  test("read returns 1..n bytes, times out with IoTimeoutError, ends with TransportClosedError", async () => {
    const q = new ByteQueue("test queue");
    q.push(text("abc"));
    q.push(text("defg"));
    assert.equal(Buffer.from(await q.read(5, 0)).toString(), "abcde");
    assert.equal(Buffer.from(await q.read(5, 0)).toString(), "fg");
    await assert.rejects(q.read(1, 0.01), (e) => isIoTimeoutError(e));
    const waiting = q.read(4, null);
    q.push(text("late"));
    assert.equal(Buffer.from(await waiting).toString(), "late");
    q.push(text("z"));
    q.end(new SessionError("gone"));
    assert.equal(
      Buffer.from(await q.read(2, null)).toString(),
      "z",
      "buffered bytes are read before the end",
    );
    await assert.rejects(q.read(1, null), /gone/);
  });

  test("a closed memory transport refuses writes on both ends", async () => {
    const [a, b] = createMemoryTransportPair();
    await a.write(text("x"), null);
    assert.equal(Buffer.from(await b.read(10, 0)).toString(), "x");
    await a.close();
    await assert.rejects(b.write(text("y"), null), (e) => isTransportClosedError(e));
    await assert.rejects(b.read(1, null), (e) => isTransportClosedError(e));
  });
});
