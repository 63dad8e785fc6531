/**
 * Session layer, wire-compatible with TVM's micro RPC session (see docs/session.md). Every frame
 * payload is `session_id u16 LE | message_type u8 | body`.
 *
 * `SessionCore` is the state machine shared by both ends, free of I/O: it turns calls into frames
 * and frame payloads into events. `Session` is the host side: it runs the core over a
 * ByteTransport with TVM's handshake retries and timeouts.
 */
import { EventEmitter } from "node:events";
import type { TransportTimeouts } from "../protocol/index.js";
import { allocBytes, copyBytes } from "../protocol/index.js";
import { Framer, Unframer } from "./framing.js";
import type { FrameDrop } from "./framing.js";
import type { ByteTransport } from "./transport.js";
import {
  SessionError,
  SessionFrameError,
  SessionTerminatedError,
  SessionTimeoutError,
  SessionTransportError,
  isIoTimeoutError,
  isTransportClosedError,
} from "./errors.js";

export const MessageType = {
  startSessionInit: 0x00,
  startSessionReply: 0x01,
  terminateSession: 0x02,
  log: 0x03,
  normal: 0x10,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export const SESSION_VERSION = 0x01;
export const SESSION_HEADER_BYTES = 3;
export const INVALID_NONCE = 0;

export const SessionState = {
  reset: 0,
  noSessionEstablished: 1,
  startSessionSent: 2,
  established: 3,
} as const;
export type SessionState = (typeof SessionState)[keyof typeof SessionState];

/** The nonce step applied before each use (not a rotation: `n >> 5` keeps the top 3 bits). */
export function nextNonce(nonce: number): number {
  const next = ((((nonce << 5) & 0xff) | ((nonce & 0xff) >> 5)) + 1) & 0xff;
  return next === INVALID_NONCE ? 1 : next;
}

/** A frame payload: the 3-byte header and the body. */
export function encodeSessionMessage(
  sessionId: number,
  type: number,
  body: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const out = allocBytes(SESSION_HEADER_BYTES + body.length);
  out[0] = sessionId & 0xff;
  out[1] = (sessionId >> 8) & 0xff;
  out[2] = type;
  out.set(body, SESSION_HEADER_BYTES);
  return out;
}

/** What the core reports. */
export type SessionEvent =
  | { kind: "established"; sessionId: number }
  | { kind: "terminated" }
  | { kind: "log"; body: Uint8Array }
  | { kind: "message"; type: number; body: Uint8Array };

export interface SessionCoreOptions {
  /** Receives the wire bytes of each frame to send, in order. */
  write: (wire: Uint8Array) => void;
  onEvent: (event: SessionEvent) => void;
}

/**
 * The session state machine of both ends, as TVM's, except that a StartSessionReply while
 * established is ignored (TVM drops to Reset there, quirk Q-S2).
 */
export class SessionCore {
  readonly framer = new Framer();
  private localNonce = INVALID_NONCE;
  private id = 0;
  private currentState: SessionState = SessionState.reset;

  constructor(private readonly options: SessionCoreOptions) {}

  get state(): SessionState {
    return this.currentState;
  }

  get sessionId(): number {
    return this.id;
  }

  get nonce(): number {
    return this.localNonce;
  }

  get established(): boolean {
    return this.currentState === SessionState.established;
  }

  /** Stores the local nonce and sends TerminateSession. */
  initialize(nonce: number): void {
    this.localNonce = nonce & 0xff;
    this.terminate();
  }

  terminate(): void {
    this.id = 0;
    this.currentState = SessionState.noSessionEstablished;
    this.emitFrame(0, MessageType.terminateSession);
  }

  /** Sends StartSessionInit with the next nonce. */
  start(): void {
    if (this.currentState === SessionState.reset)
      throw new SessionError("initialize the session before starting it");
    this.localNonce = nextNonce(this.localNonce);
    this.id = this.localNonce;
    this.emitFrame(this.id, MessageType.startSessionInit, new Uint8Array([SESSION_VERSION]));
    this.currentState = SessionState.startSessionSent;
  }

  /** Log goes out with id 0 in any state; anything else needs an established session. */
  send(type: number, body: Uint8Array): void {
    if (type === MessageType.log) {
      this.emitFrame(0, type, body);
      return;
    }
    if (!this.established) throw new SessionError("no session is established; open the session first");
    this.emitFrame(this.id, type, body);
  }

  /** Handles one verified frame payload. */
  processPayload(payload: Uint8Array): void {
    if (payload.length < SESSION_HEADER_BYTES) return;
    const sessionId = payload[0]! | (payload[1]! << 8);
    const type = payload[2]!;
    const body = payload.subarray(SESSION_HEADER_BYTES);
    const low = sessionId & 0xff;
    const high = sessionId >> 8;
    switch (type) {
      case MessageType.startSessionInit:
        if (low === INVALID_NONCE || body.length < 1) return;
        if (this.currentState === SessionState.startSessionSent) {
          // Both sides initiated: the lower nonce wins; equal nonces start over.
          if (low < this.localNonce) {
            if (body[0] === SESSION_VERSION) this.reply(low);
          } else if (low === this.localNonce) {
            this.start();
          }
          return;
        }
        this.reply(low);
        return;
      case MessageType.startSessionReply:
        if (high === INVALID_NONCE || body.length < 1) return;
        if (
          this.currentState === SessionState.startSessionSent &&
          low === this.localNonce &&
          body[0] === SESSION_VERSION
        ) {
          this.id = sessionId;
          this.currentState = SessionState.established;
          this.options.onEvent({ kind: "established", sessionId });
        }
        return;
      case MessageType.terminateSession:
        if (this.currentState === SessionState.established) {
          this.currentState = SessionState.noSessionEstablished;
          this.id = 0;
          this.options.onEvent({ kind: "terminated" });
        }
        return;
      case MessageType.log:
        if (sessionId === 0 || sessionId === this.id) this.options.onEvent({ kind: "log", body });
        return;
      default:
        if (this.established && sessionId === this.id) this.options.onEvent({ kind: "message", type, body });
        return;
    }
  }

  private reply(initiatorNonce: number): void {
    this.localNonce = nextNonce(this.localNonce);
    this.id = initiatorNonce | (this.localNonce << 8);
    this.emitFrame(this.id, MessageType.startSessionReply, new Uint8Array([SESSION_VERSION]));
    this.currentState = SessionState.established;
    this.options.onEvent({ kind: "established", sessionId: this.id });
  }

  private emitFrame(sessionId: number, type: number, body?: Uint8Array): void {
    this.options.write(this.framer.frame(encodeSessionMessage(sessionId, type, body)));
  }
}

/**
 * TVM's three session timeouts, in seconds; 0 means no limit, as in TVM. The names are those of
 * the Project API's open_transport reply (`TransportTimeouts`), so a server's answer is used as is.
 *   sessionStartRetryTimeoutSec: resend Terminate + Init after this long without a reply (0: never)
 *   sessionStartTimeoutSec: give up the handshake after this long (0: never)
 *   sessionEstablishedTimeoutSec: limit for each write and each wait for a reply once established
 */
export type SessionTimeouts = TransportTimeouts;

export interface SessionOptions {
  timeouts?: Partial<SessionTimeouts>;
  /** Draws the initial nonce of each handshake attempt (default: a random byte, never 0). */
  nonce?: () => number;
  /** Largest frame payload accepted from the device (default 16 MiB). */
  maxPayloadBytes?: number;
}

/**
 * Bytes asked of the transport per read. A read returns whatever has arrived (at most this), and
 * the unframer takes any number of bytes, so asking for a whole reply at once saves a transport
 * round trip per frame field (a read_transport request each, through the Project API).
 */
export const SESSION_READ_BYTES = 1 << 20;

export const DEFAULT_SESSION_TIMEOUTS: SessionTimeouts = {
  sessionStartRetryTimeoutSec: 2,
  sessionStartTimeoutSec: 5,
  sessionEstablishedTimeoutSec: 5,
};

export interface SessionEvents {
  /** The device sent a Log message (TVM prints these as `remote: <text>`). */
  log: [text: string, body: Uint8Array];
  /** The handshake completed. */
  established: [sessionId: number];
  /** The device ended the established session: it reset or restarted. */
  terminated: [error: SessionTerminatedError];
  /** A frame was dropped (corrupted, cut off or oversized); the unframer re-synchronised. */
  drop: [drop: FrameDrop];
}

class DeadlinePassed extends Error {}

/** The write half of a write-then-read failed; `failure` is what send() would have thrown. */
class WriteFailed extends Error {
  constructor(readonly failure: Error) {
    super(failure.message);
  }
}

function randomNonce(): number {
  return 1 + Math.floor(Math.random() * 255);
}

/**
 * The host end of a session. `open()` performs the handshake; then `send()` and `receive()`
 * move Normal message bodies (one minRPC packet each). Reads happen only inside `open()` and
 * `receive()`, one at a time, asking the transport for as many bytes as the unframer needs.
 */
export class Session extends EventEmitter<SessionEvents> {
  readonly timeouts: SessionTimeouts;
  private readonly core: SessionCore;
  private readonly unframer: Unframer;
  private readonly drawNonce: () => number;
  private outbox: Uint8Array[] = [];
  private readonly received: Uint8Array[] = [];
  private failure: Error | null = null;
  /**
   * Handshakes completed so far. open() waits for this to change rather than for the core to be
   * established: one read can carry the handshake reply and, after it, a reset of the device,
   * which open() must leave for the next receive() to report.
   */
  private establishments = 0;
  /** request() left its message in the outbox for the next read to carry. */
  private sendWithNextRead = false;
  private closed = false;
  private readLock: Promise<unknown> = Promise.resolve();
  private pendingReads = 0;
  /** Damaged frames dropped before the current session was established (UART junk at boot). */
  dropsBeforeEstablished = 0;
  /** Damaged frames dropped while it was established; the first fails the pending call. */
  dropsWhileEstablished = 0;

  constructor(
    readonly transport: ByteTransport,
    options: SessionOptions = {},
  ) {
    super();
    this.timeouts = { ...DEFAULT_SESSION_TIMEOUTS, ...options.timeouts };
    for (const [key, value] of Object.entries(this.timeouts))
      if (typeof value !== "number" || !(value >= 0) || !Number.isFinite(value))
        throw new RangeError(
          `session timeout ${key} must be a finite number of seconds >= 0, got ${String(value)}`,
        );
    this.drawNonce = options.nonce ?? randomNonce;
    this.core = new SessionCore({
      write: (wire) => this.outbox.push(wire),
      onEvent: (event) => this.onCoreEvent(event),
    });
    this.unframer = new Unframer({
      onPacket: (payload) => this.core.processPayload(payload),
      onDrop: (drop) => this.onDrop(drop),
      ...(options.maxPayloadBytes === undefined ? {} : { maxPayloadBytes: options.maxPayloadBytes }),
    });
  }

  get established(): boolean {
    return this.core.established && this.failure === null;
  }

  get sessionId(): number {
    return this.core.sessionId;
  }

  get state(): SessionState {
    return this.core.state;
  }

  /**
   * Performs the handshake (TVM's StartSessionInternal): Terminate + Init, then wait for the
   * reply; resend with a new nonce every `sessionStartRetryTimeoutSec`; fail after `sessionStartTimeoutSec`. Also re-establishes
   * a session after the device reset.
   */
  async open(): Promise<void> {
    this.assertOpen();
    return this.withReadLock(async () => {
      const { sessionStartRetryTimeoutSec, sessionStartTimeoutSec } = this.timeouts;
      this.failure = null;
      this.received.length = 0;
      this.dropsBeforeEstablished = 0;
      this.dropsWhileEstablished = 0;
      const before = this.establishments;
      const established = () => this.establishments !== before;
      const t0 = Date.now();
      await this.attemptStart();
      if (sessionStartRetryTimeoutSec === 0 && sessionStartTimeoutSec === 0) {
        await this.pump(null, established);
        return;
      }
      const startDeadline = t0 + sessionStartTimeoutSec * 1000;
      let deadline =
        sessionStartRetryTimeoutSec !== 0 ? t0 + sessionStartRetryTimeoutSec * 1000 : startDeadline;
      for (;;) {
        try {
          await this.pump(deadline, established);
          return;
        } catch (error) {
          if (!(error instanceof DeadlinePassed)) throw error;
        }
        if (sessionStartTimeoutSec !== 0 && deadline >= startDeadline)
          throw new SessionTimeoutError(`session start handshake failed after ${sessionStartTimeoutSec}s`);
        deadline += sessionStartRetryTimeoutSec * 1000;
        await this.attemptStart();
      }
    });
  }

  /** Sends one Normal message (one minRPC packet). */
  async send(body: Uint8Array): Promise<void> {
    this.assertOpen();
    if (this.failure !== null) throw this.failure;
    this.core.send(MessageType.normal, body);
    await this.flush(this.limit(this.timeouts.sessionEstablishedTimeoutSec));
  }

  /**
   * Waits for the next Normal message body. The wait is `timeoutSec` if given, otherwise
   * `sessionEstablishedTimeoutSec` (0: no limit). Fails with SessionTerminatedError if the device resets.
   */
  async receive(timeoutSec?: number | null): Promise<Uint8Array> {
    this.assertOpen();
    return this.withReadLock(async () => {
      const limit =
        timeoutSec === undefined ? this.limit(this.timeouts.sessionEstablishedTimeoutSec) : timeoutSec;
      if (this.received.length === 0) {
        if (this.failure !== null) throw this.failure;
        if (!this.core.established) throw new SessionError("no session is established; call open() first");
        const deadline = limit === null ? null : Date.now() + limit * 1000;
        try {
          await this.pump(deadline, () => this.received.length > 0 || this.failure !== null);
        } catch (error) {
          if (error instanceof DeadlinePassed) {
            // The device may be stuck mid-frame: the next frame starts with fe to clear that.
            this.core.framer.reset();
            throw new SessionTimeoutError(
              `failed to read reply message after timeout ${limit}s: the device stopped answering`,
            );
          }
          throw error;
        }
      }
      const body = this.received.shift();
      if (body !== undefined) return body;
      throw this.failure!;
    });
  }

  /**
   * Sends one Normal message and waits for the next one, as send() then receive(). When the
   * transport can write and read in one exchange, the message goes out with the first read of
   * the reply: one round trip less through a Project API server.
   */
  async request(body: Uint8Array, timeoutSec?: number | null): Promise<Uint8Array> {
    const [reply] = await this.requestMany([body], timeoutSec);
    return reply!;
  }

  /**
   * Sends Normal messages back to back and waits for as many replies, in order (each within
   * `timeoutSec`, as receive()): requests pipelined to a device that answers them one by one.
   * The messages go out together, with the first read of the replies where the transport can.
   */
  async requestMany(bodies: readonly Uint8Array[], timeoutSec?: number | null): Promise<Uint8Array[]> {
    this.assertOpen();
    if (this.failure !== null) throw this.failure;
    for (const body of bodies) this.core.send(MessageType.normal, body);
    if (this.transport.writeThenRead === undefined || this.received.length > 0)
      await this.flush(this.limit(this.timeouts.sessionEstablishedTimeoutSec));
    else this.sendWithNextRead = true;
    try {
      const replies: Uint8Array[] = [];
      for (let i = 0; i < bodies.length; i++) replies.push(await this.receive(timeoutSec));
      return replies;
    } finally {
      this.sendWithNextRead = false;
      // Never leave the messages behind (receive() failed before reading): send them as send() would.
      await this.flush(this.limit(this.timeouts.sessionEstablishedTimeoutSec)).catch(() => undefined);
    }
  }

  /** Closes the transport. Pending and later calls fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failure ??= new SessionError("the session was closed");
    await this.transport.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new SessionError("the session was closed");
  }

  private limit(sec: number): number | null {
    return sec === 0 ? null : sec;
  }

  private async attemptStart(): Promise<void> {
    this.unframer.reset();
    this.core.framer.reset();
    this.core.initialize(this.drawNonce() & 0xff);
    this.core.start();
    await this.flush(this.limit(this.timeouts.sessionStartTimeoutSec));
  }

  private onCoreEvent(event: SessionEvent): void {
    switch (event.kind) {
      case "established":
        this.establishments += 1;
        this.emit("established", event.sessionId);
        return;
      case "terminated": {
        const error = new SessionTerminatedError(
          "remote device terminated connection (it reset or restarted)",
        );
        this.failure = error;
        this.received.length = 0;
        this.emit("terminated", error);
        return;
      }
      case "log":
        // Always consumed, whatever its length (TVM leaves its buffer busy on some, Q-S6).
        this.emit("log", new TextDecoder().decode(event.body), event.body);
        return;
      case "message":
        if (event.type === MessageType.normal) this.received.push(copyBytes(event.body));
        return;
    }
  }

  /**
   * Before the session is established, a damaged frame is line noise (boot messages, a pty or
   * ser2net connecting): counted and skipped. Once established it is a lost message, and minRPC
   * cannot recover one: the call fails now instead of waiting for a reply that will not come.
   */
  private onDrop(drop: FrameDrop): void {
    if (!this.core.established) this.dropsBeforeEstablished++;
    else {
      this.dropsWhileEstablished++;
      if (this.failure === null || this.failure instanceof SessionFrameError) {
        const what = drop.declaredLength === undefined ? "" : `, ${drop.declaredLength}-byte payload`;
        this.failure = new SessionFrameError(
          `${this.dropsWhileEstablished} damaged frame(s) on the transport (last: ${drop.reason}${what}); the message was lost, so the call cannot complete. Check the link (wiring, baud rate, noise) and open the session again`,
        );
      }
    }
    this.emit("drop", drop);
  }

  private async flush(timeoutSec: number | null): Promise<void> {
    if (this.outbox.length === 0) return;
    const frames = this.outbox;
    this.outbox = [];
    const wire = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
    try {
      await this.transport.write(wire, timeoutSec);
    } catch (error) {
      // A partial frame may be on the wire: the next frame starts with fe again.
      this.core.framer.reset();
      if (isIoTimeoutError(error))
        throw new SessionTimeoutError(`writing to the device did not complete within ${timeoutSec}s`, {
          cause: error,
        });
      throw this.transportFailure(error, "writing to the device");
    }
  }

  /** Sends the outbox and reads, in one exchange; a failed write is reported as flush() reports it. */
  private async writeThenRead(n: number, readTimeoutSec: number | null): Promise<Uint8Array> {
    const wire = this.outbox.length === 1 ? this.outbox[0]! : Buffer.concat(this.outbox);
    this.outbox = [];
    const writeTimeoutSec = this.limit(this.timeouts.sessionEstablishedTimeoutSec);
    let result: Uint8Array | { readError: unknown };
    try {
      result = await this.transport.writeThenRead!(wire, writeTimeoutSec, n, readTimeoutSec);
    } catch (error) {
      this.core.framer.reset();
      throw new WriteFailed(
        isIoTimeoutError(error)
          ? new SessionTimeoutError(`writing to the device did not complete within ${writeTimeoutSec}s`, {
              cause: error,
            })
          : this.transportFailure(error, "writing to the device"),
      );
    }
    if (result instanceof Uint8Array) return result;
    throw result.readError;
  }

  /** Reads and processes bytes until `done()` or the deadline (epoch ms; null: none). */
  private async pump(deadline: number | null, done: () => boolean): Promise<void> {
    while (!done()) {
      if (this.failure !== null && !(this.failure instanceof SessionTerminatedError)) throw this.failure;
      let timeoutSec: number | null = null;
      if (deadline !== null) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new DeadlinePassed();
        timeoutSec = remaining / 1000;
      }
      let chunk: Uint8Array;
      try {
        const n = Math.max(this.unframer.bytesNeeded(), SESSION_READ_BYTES);
        chunk =
          this.sendWithNextRead && this.outbox.length > 0
            ? await this.writeThenRead(n, timeoutSec)
            : await this.transport.read(n, timeoutSec);
      } catch (error) {
        if (error instanceof WriteFailed) throw error.failure;
        if (isIoTimeoutError(error)) continue;
        throw this.transportFailure(error, "reading from the device");
      }
      this.unframer.write(chunk);
      // Replies the core produced (an answer to a device-initiated Init) go out at once.
      await this.flush(
        this.limit(
          this.core.established
            ? this.timeouts.sessionEstablishedTimeoutSec
            : this.timeouts.sessionStartTimeoutSec,
        ),
      );
    }
  }

  private transportFailure(error: unknown, doing: string): SessionError {
    // Protocol errors keep the useful part in `context`; their message adds the JSON-RPC framing.
    const context = (error as { context?: unknown } | null)?.context;
    const detail =
      typeof context === "string" ? context : error instanceof Error ? error.message : String(error);
    const what = isTransportClosedError(error)
      ? "the device transport closed"
      : "the device transport failed";
    const failure = new SessionTransportError(`${what} while ${doing}: ${detail}`, { cause: error });
    this.failure = failure;
    return failure;
  }

  /** Runs `fn` after earlier reads have finished: at once when none is pending. */
  private withReadLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.pendingReads === 0 ? fn() : this.readLock.then(fn, fn);
    this.pendingReads++;
    const done = () => {
      this.pendingReads--;
    };
    this.readLock = run.then(done, done);
    return run;
  }
}
