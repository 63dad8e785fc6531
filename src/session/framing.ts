/**
 * Framing layer, wire-compatible with TVM's micro RPC framing (see docs/session.md):
 *
 *     [fe] ff fd | length u32 LE | payload | crc16 u16 LE
 *
 * Every 0xFF inside length, payload and CRC is doubled. The CRC covers the escaped wire bytes from
 * `ff fd` through the payload. The unframer delivers a payload only after its CRC checked out;
 * corrupted, cut-off or oversized frames are dropped whole and reported through `onDrop`.
 */
import { allocBytes } from "../protocol/index.js";
import { CRC16_INIT, crc16Step, crc16Update } from "./crc16.js";

export const ESCAPE_START = 0xff;
export const PACKET_START = 0xfd;
export const ESCAPE_NOP = 0xfe;

const START_SEQUENCE = new Uint8Array([ESCAPE_START, PACKET_START]);
const START_CRC = crc16Update(CRC16_INIT, START_SEQUENCE);

/** Below this length, escaping goes byte by byte: cheaper than a search and a copy per run. */
const SHORT_ESCAPE_BYTES = 64;

function escapedLength(data: Uint8Array): number {
  let n = data.length;
  if (n < SHORT_ESCAPE_BYTES) {
    for (let i = 0; i < data.length; i++) if (data[i] === ESCAPE_START) n++;
    return n;
  }
  for (let at = data.indexOf(ESCAPE_START); at !== -1; at = data.indexOf(ESCAPE_START, at + 1)) n++;
  return n;
}

/** Copies `data` into `out` at `at` with every ff doubled; runs without ff go in one copy each. */
function putEscaped(out: Uint8Array, at: number, data: Uint8Array): number {
  if (data.length < SHORT_ESCAPE_BYTES) {
    for (let i = 0; i < data.length; i++) {
      const byte = data[i]!;
      out[at++] = byte;
      if (byte === ESCAPE_START) out[at++] = ESCAPE_START;
    }
    return at;
  }
  let from = 0;
  for (;;) {
    const ff = data.indexOf(ESCAPE_START, from);
    const end = ff === -1 ? data.length : ff + 1;
    out.set(data.subarray(from, end), at);
    at += end - from;
    if (ff === -1) return at;
    out[at++] = ESCAPE_START;
    from = end;
  }
}

/** The wire bytes of one packet; `prefix` puts the lone `fe` first (a fresh framer does). */
export function encodeFrame(payload: Uint8Array, prefix = false): Uint8Array {
  if (payload.length > 0xffffffff)
    throw new RangeError(`payload of ${payload.length} bytes exceeds the u32 length field`);
  const n = payload.length;
  const length = new Uint8Array([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24]);
  const bodyLength = 2 + escapedLength(length) + escapedLength(payload);
  const out = allocBytes((prefix ? 1 : 0) + bodyLength + 4);
  let at = 0;
  if (prefix) out[at++] = ESCAPE_NOP;
  const bodyStart = at;
  out.set(START_SEQUENCE, at);
  at += 2;
  at = putEscaped(out, at, length);
  at = putEscaped(out, at, payload);
  const crc = crc16Update(CRC16_INIT, out, bodyStart, at);
  at = putEscaped(out, at, new Uint8Array([crc & 0xff, crc >> 8]));
  return out.subarray(0, at);
}

/** Sender side: remembers whether it has sent anything since creation or `reset()`. */
export class Framer {
  private fresh = true;

  /** Frames one payload, with the `fe` prefix if this is the first packet since a reset. */
  frame(payload: Uint8Array): Uint8Array {
    const wire = encodeFrame(payload, this.fresh);
    this.fresh = false;
    return wire;
  }

  /** The next packet gets the `fe` prefix again (use after a failed or partial write). */
  reset(): void {
    this.fresh = true;
  }
}

/** Why the unframer dropped a frame. */
export type FrameDropReason =
  | "crc-mismatch" // CRC check failed
  | "oversized" // declared length above maxPayloadBytes; read through and dropped
  | "short-packet" // `ff fd` inside a packet: a new packet started before this one ended
  | "invalid-escape"; // `ff` followed by a byte other than ff, fe, fd

export interface FrameDrop {
  reason: FrameDropReason;
  /** Declared payload length, when the length field had been read. */
  declaredLength?: number;
}

/** One line for people: "a damaged frame (crc-mismatch, 40-byte payload)". */
export function describeFrameDrop(drop: FrameDrop): string {
  return `a damaged frame (${drop.reason}${drop.declaredLength === undefined ? "" : `, ${drop.declaredLength}-byte payload`})`;
}

export interface UnframerOptions {
  /** Called with each payload whose CRC checked out. */
  onPacket: (payload: Uint8Array) => void;
  /** Called for each dropped frame. */
  onDrop?: (drop: FrameDrop) => void;
  /** Largest payload accepted (default 16 MiB); larger frames are skipped without buffering. */
  maxPayloadBytes?: number;
}

enum State {
  FindStart,
  Length,
  Payload,
  Crc,
}

export const DEFAULT_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

/** Receiver side: a resumable state machine fed with arbitrary chunks of wire bytes. */
export class Unframer {
  private readonly onPacket: (payload: Uint8Array) => void;
  private readonly onDrop: (drop: FrameDrop) => void;
  private readonly maxPayloadBytes: number;
  private state = State.FindStart;
  private sawEscape = false;
  private crc = CRC16_INIT;
  private readonly field = new Uint8Array(4);
  private fieldLength = 0;
  private payloadLength = 0;
  private received = 0;
  private payload: Uint8Array | null = null;

  constructor(options: UnframerOptions) {
    this.onPacket = options.onPacket;
    this.onDrop = options.onDrop ?? (() => {});
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  }

  /** Drops any frame in progress and hunts for the next `ff fd`. */
  reset(): void {
    this.state = State.FindStart;
    this.sawEscape = false;
    this.crc = CRC16_INIT;
    this.fieldLength = 0;
    this.payloadLength = 0;
    this.received = 0;
    this.payload = null;
  }

  /** True while inside a frame (after `ff fd`, before its CRC). */
  get inFrame(): boolean {
    return this.state !== State.FindStart;
  }

  /** A lower bound on the bytes that complete the current step (1 while hunting). */
  bytesNeeded(): number {
    switch (this.state) {
      case State.Length:
        return 4 - this.fieldLength;
      case State.Payload:
        return this.payloadLength - this.received;
      case State.Crc:
        return 2 - this.fieldLength;
      default:
        return 1;
    }
  }

  /** Consumes all of `data`; payloads and drops are reported synchronously. */
  write(data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      // Inside a payload, a run of bytes up to the next ff is copied and checksummed in one go:
      // the byte-by-byte machine below only sees escapes and the fields around the payload.
      if (this.state === State.Payload && !this.sawEscape) {
        const room = this.payloadLength - this.received;
        const limit = Math.min(data.length, i + room);
        let end = data.indexOf(ESCAPE_START, i);
        if (end === -1 || end > limit) end = limit;
        if (end > i) {
          this.crc = crc16Update(this.crc, data, i, end);
          if (this.payload !== null) this.payload.set(data.subarray(i, end), this.received);
          this.received += end - i;
          if (this.received === this.payloadLength) this.state = State.Crc;
          i = end - 1;
          continue;
        }
      }
      const byte = data[i]!;
      if (this.state === State.FindStart) {
        if (this.sawEscape && byte === PACKET_START) this.beginPacket();
        else this.sawEscape = byte === ESCAPE_START;
        continue;
      }
      if (this.sawEscape) {
        this.sawEscape = false;
        if (byte === PACKET_START) {
          // A new packet starts inside this one: drop this one and begin the next.
          this.drop("short-packet");
          this.beginPacket();
          continue;
        }
        if (byte !== ESCAPE_START && byte !== ESCAPE_NOP) {
          this.drop("invalid-escape");
          continue;
        }
        if (this.state !== State.Crc) this.crc = crc16Step(this.crc, byte);
        if (byte === ESCAPE_START) this.acceptByte(byte);
        continue;
      }
      if (this.state !== State.Crc) this.crc = crc16Step(this.crc, byte);
      if (byte === ESCAPE_START) this.sawEscape = true;
      else this.acceptByte(byte);
    }
  }

  private beginPacket(): void {
    this.reset();
    this.state = State.Length;
    this.crc = START_CRC;
  }

  private drop(reason: FrameDropReason): void {
    const declaredLength =
      this.state === State.Payload || this.state === State.Crc ? this.payloadLength : undefined;
    this.reset();
    this.onDrop(declaredLength === undefined ? { reason } : { reason, declaredLength });
  }

  private acceptByte(byte: number): void {
    switch (this.state) {
      case State.Length:
        this.field[this.fieldLength++] = byte;
        if (this.fieldLength === 4) {
          const f = this.field;
          this.payloadLength = (f[0]! | (f[1]! << 8) | (f[2]! << 16) | (f[3]! << 24)) >>> 0;
          this.fieldLength = 0;
          this.received = 0;
          this.payload = this.payloadLength <= this.maxPayloadBytes ? allocBytes(this.payloadLength) : null;
          this.state = this.payloadLength === 0 ? State.Crc : State.Payload;
        }
        break;
      case State.Payload:
        if (this.payload !== null) this.payload[this.received] = byte;
        if (++this.received === this.payloadLength) this.state = State.Crc;
        break;
      case State.Crc:
        this.field[this.fieldLength++] = byte;
        if (this.fieldLength === 2) this.finishPacket();
        break;
      default:
        break;
    }
  }

  private finishPacket(): void {
    const received = this.field[0]! | (this.field[1]! << 8);
    const payload = this.payload;
    const declaredLength = this.payloadLength;
    const valid = received === this.crc;
    this.reset();
    if (payload === null) this.onDrop({ reason: "oversized", declaredLength });
    else if (!valid) this.onDrop({ reason: "crc-mismatch", declaredLength });
    else this.onPacket(payload);
  }
}
