// A byte link to a board (a serial device, a TCP socket, an RFC 2217 port): what the cortex-m
// server's transport calls use. ReceiveQueue is the receiving half every link shares.
import { IoTimeoutError, TransportClosedError } from "microtvm/protocol";

export interface ByteLink {
  /** 1..n bytes; IoTimeoutError when none came in time; TransportClosedError once closed. */
  read(n: number, timeoutSec: number | null): Promise<Uint8Array>;
  /** All of data, or IoTimeoutError / TransportClosedError. */
  write(data: Uint8Array, timeoutSec: number | null): Promise<void>;
  close(): Promise<void>;
  /** What the link is, for messages: "/dev/ttyACM0 at 115200 baud". */
  readonly description: string;
}

/** Pause the source while this many received bytes wait for read_transport. */
const QUEUE_HIGH_WATER = 1 << 20;

/**
 * Received bytes waiting for read_transport. Bytes that arrive before the host's first write are
 * what the board printed before the session (a boot banner, the end of an earlier session): they
 * are dropped at that first write, so the session starts from a clean line.
 */
export class ReceiveQueue {
  private readonly chunks: Buffer[] = [];
  private queued = 0;
  private closedError: Error | undefined;
  private wake: (() => void) | undefined;
  private wrote = false;
  /** Bytes dropped as pre-session output. */
  skipped = 0;

  constructor(
    private readonly pause: () => void,
    private readonly resume: () => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.closedError) return;
    this.chunks.push(chunk);
    this.queued += chunk.length;
    if (this.queued >= QUEUE_HIGH_WATER) this.pause();
    this.wake?.();
  }

  /** Ends the queue: reads fail with `error` once the queue is empty (at once for a local close). */
  end(error: Error = new TransportClosedError(), discard = false): void {
    this.closedError ??= error;
    if (discard) this.clear();
    this.wake?.();
  }

  get ended(): boolean {
    return this.closedError !== undefined;
  }

  /** Called before every write: the first one drops what the board sent before the session. */
  beforeWrite(): number {
    if (this.wrote) return 0;
    this.wrote = true;
    const dropped = this.queued;
    this.skipped += dropped;
    this.clear();
    return dropped;
  }

  async read(n: number, timeoutSec: number | null): Promise<Uint8Array> {
    if (!Number.isInteger(n) || n < 1)
      throw new RangeError(`read_transport: n must be a positive integer, got ${n}`);
    const deadline = timeoutSec === null ? undefined : Date.now() + Math.max(0, timeoutSec) * 1000;
    let polled = false;
    for (;;) {
      if (this.queued > 0) return this.take(n);
      if (this.closedError) throw this.closedError;
      const remaining = deadline === undefined ? undefined : deadline - Date.now();
      if (remaining !== undefined && remaining <= 0 && polled) throw new IoTimeoutError();
      polled = true;
      await this.waitForChange(remaining === undefined ? undefined : Math.max(remaining, 0));
    }
  }

  private clear(): void {
    const wasPaused = this.queued >= QUEUE_HIGH_WATER;
    this.chunks.length = 0;
    this.queued = 0;
    if (wasPaused) this.resume();
  }

  private take(n: number): Uint8Array {
    const parts: Buffer[] = [];
    let wanted = n;
    while (wanted > 0 && this.chunks.length > 0) {
      const head = this.chunks[0]!;
      if (head.length <= wanted) {
        parts.push(head);
        this.chunks.shift();
        wanted -= head.length;
      } else {
        parts.push(head.subarray(0, wanted));
        this.chunks[0] = head.subarray(wanted);
        wanted = 0;
      }
    }
    const out = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const before = this.queued;
    this.queued -= out.length;
    if (before >= QUEUE_HIGH_WATER && this.queued < QUEUE_HIGH_WATER / 2) this.resume();
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }

  private waitForChange(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      this.wake = done;
      if (ms !== undefined) timer = setTimeout(done, ms);
    });
  }
}

/**
 * Splits a write into pieces of at most `maxInFlight` bytes and waits until each piece has left
 * (`sendPiece` resolves when the bytes are out of our buffers: tcdrain, a socket's drain), so no
 * more than that is ever unacknowledged: a large write to a pty whose reader is slow (QEMU takes
 * one byte per UART read) would otherwise stall in the kernel's buffer.
 */
export async function writeInPieces(
  data: Uint8Array,
  timeoutSec: number | null,
  maxInFlight: number,
  sendPiece: (piece: Buffer) => Promise<void>,
): Promise<void> {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.length);
  const all = (async () => {
    for (let offset = 0; offset < bytes.length; offset += maxInFlight) {
      await sendPiece(bytes.subarray(offset, Math.min(bytes.length, offset + maxInFlight)));
    }
  })();
  if (timeoutSec === null) return all;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new IoTimeoutError()), Math.max(0, timeoutSec) * 1000);
  });
  try {
    await Promise.race([all, timeout]);
  } finally {
    clearTimeout(timer);
    all.catch(() => {});
  }
}
