/**
 * The byte link to a device, and two implementations: an in-memory pair (tests) and a child
 * process spoken to over its stdin/stdout (the host-emulated device).
 */
import { spawn } from "node:child_process";
import type { ChildProcessByStdio } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { IoTimeoutError, TransportClosedError } from "../protocol/errors.js";

/**
 * A byte link to a device. Timeouts are in seconds; null waits without limit.
 * - `write` sends all of `data`, or throws IoTimeoutError / TransportClosedError.
 * - `read` returns 1..n bytes as soon as any are available, or throws IoTimeoutError when none
 *   arrived in time, TransportClosedError once the link is closed and drained.
 * - `close` releases the link; it is idempotent.
 */
export interface ByteTransport {
  write(data: Uint8Array, timeoutSec: number | null): Promise<void>;
  read(n: number, timeoutSec: number | null): Promise<Uint8Array>;
  close(): Promise<void>;
  /**
   * Optional: `write` then `read` as one exchange, for links where every call is a round trip of
   * its own (the Project API sends write_transport and read_transport together). Rejects as
   * `write` does when the write fails; otherwise resolves with what `read` returns, or
   * `{ readError }` with what `read` throws.
   */
  writeThenRead?(
    data: Uint8Array,
    writeTimeoutSec: number | null,
    n: number,
    readTimeoutSec: number | null,
  ): Promise<Uint8Array | { readError: unknown }>;
}

interface Waiter {
  resolve: () => void;
  timer: NodeJS.Timeout | undefined;
}

/** Received bytes waiting to be read, with at most one pending reader at a time. */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private size = 0;
  private closedBy: Error | null = null;
  private waiter: Waiter | null = null;

  constructor(private readonly describe: string) {}

  get buffered(): number {
    return this.size;
  }

  push(chunk: Uint8Array): void {
    if (this.closedBy !== null || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.wake();
  }

  /** No more bytes will come; readers get `error` once the buffered bytes are read. */
  end(error: Error): void {
    if (this.closedBy !== null) return;
    this.closedBy = error;
    this.wake();
  }

  get closed(): boolean {
    return this.closedBy !== null;
  }

  async read(n: number, timeoutSec: number | null): Promise<Uint8Array> {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`read size must be a positive integer, got ${n}`);
    if (this.waiter !== null) throw new Error(`${this.describe}: a read is already pending`);
    if (this.size === 0 && this.closedBy === null) {
      const arrived = await new Promise<boolean>((resolve) => {
        const waiter: Waiter = { resolve: () => resolve(true), timer: undefined };
        if (timeoutSec !== null) {
          waiter.timer = setTimeout(
            () => {
              this.waiter = null;
              resolve(false);
            },
            Math.max(0, timeoutSec * 1000),
          );
        }
        this.waiter = waiter;
      });
      if (!arrived)
        throw new IoTimeoutError(null, { context: `${this.describe}: no bytes within ${timeoutSec}s` });
    }
    if (this.size === 0) throw this.closedBy!;
    return this.take(n);
  }

  private take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      this.size -= n;
      return first.subarray(0, n);
    }
    // Join whole chunks up to n bytes.
    const parts: Uint8Array[] = [];
    let total = 0;
    while (this.chunks.length > 0 && total < n) {
      const chunk = this.chunks[0]!;
      const room = n - total;
      if (chunk.length <= room) {
        parts.push(chunk);
        total += chunk.length;
        this.chunks.shift();
      } else {
        parts.push(chunk.subarray(0, room));
        this.chunks[0] = chunk.subarray(room);
        total += room;
      }
    }
    this.size -= total;
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(total);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  private wake(): void {
    const waiter = this.waiter;
    if (waiter === null) return;
    this.waiter = null;
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    waiter.resolve();
  }
}

/** One end of an in-memory pair: what one end writes, the other reads. */
class MemoryTransport implements ByteTransport {
  peer: MemoryTransport | null = null;
  readonly inbox: ByteQueue;

  constructor(private readonly name: string) {
    this.inbox = new ByteQueue(`memory transport ${name}`);
  }

  async write(data: Uint8Array, _timeoutSec: number | null): Promise<void> {
    if (this.inbox.closed || this.peer === null || this.peer.inbox.closed)
      throw new TransportClosedError(null, { context: `memory transport ${this.name} is closed` });
    this.peer.inbox.push(data.slice());
  }

  read(n: number, timeoutSec: number | null): Promise<Uint8Array> {
    return this.inbox.read(n, timeoutSec);
  }

  async close(): Promise<void> {
    const closed = new TransportClosedError(null, { context: `memory transport ${this.name} was closed` });
    this.inbox.end(closed);
    this.peer?.inbox.end(
      new TransportClosedError(null, { context: `memory transport peer of ${this.peer.name} closed` }),
    );
  }
}

/** Two connected in-memory transports, for tests: `[host, device]`. */
export function createMemoryTransportPair(): [ByteTransport, ByteTransport] {
  const a = new MemoryTransport("a");
  const b = new MemoryTransport("b");
  a.peer = b;
  b.peer = a;
  return [a, b];
}

export interface ChildProcessTransportOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Seconds between closing stdin and SIGTERM, and between SIGTERM and SIGKILL (default 1). */
  killGraceSec?: number;
  /** Called with each chunk the program writes to stderr (it never carries protocol bytes). */
  onStderr?: (chunk: Buffer) => void;
}

const STDERR_TAIL_BYTES = 2048;

/**
 * Runs a device program and talks to it over its stdin/stdout. stderr is kept (its tail goes
 * into the error raised when the program exits) and passed to `onStderr`.
 */
export class ChildProcessTransport implements ByteTransport {
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private readonly inbox: ByteQueue;
  private stderrTail = "";
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exited: Promise<void>;
  private closing: Promise<void> | null = null;
  private readonly killGraceMs: number;

  constructor(
    readonly command: string,
    readonly args: readonly string[] = [],
    options: ChildProcessTransportOptions = {},
  ) {
    this.killGraceMs = (options.killGraceSec ?? 1) * 1000;
    this.inbox = new ByteQueue(`device process ${command}`);
    this.child = spawn(command, [...args], {
      cwd: options.cwd,
      env: options.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const onStderr = options.onStderr;
    this.child.stdout.on("data", (chunk: Buffer) => this.inbox.push(new Uint8Array(chunk)));
    this.child.stderr.on("data", (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString("utf8")).slice(-STDERR_TAIL_BYTES);
      onStderr?.(chunk);
    });
    // A write after the program died fails with EPIPE; the exit is reported by read/write.
    this.child.stdin.on("error", () => {});
    this.exited = new Promise<void>((resolve) => {
      this.child.on("error", (error) => {
        this.inbox.end(
          new TransportClosedError(null, {
            context: `cannot run device program ${command}: ${error.message}`,
            cause: error,
          }),
        );
        if (this.exitInfo === null) this.exitInfo = { code: null, signal: null };
        resolve();
      });
      this.child.on("close", (code, signal) => {
        this.exitInfo = { code, signal };
        this.inbox.end(new TransportClosedError(null, { context: this.exitDescription() }));
        resolve();
      });
    });
  }

  /** The process id, undefined if the program could not be started. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** True once the program has exited. */
  get hasExited(): boolean {
    return this.exitInfo !== null;
  }

  /** The last lines the program wrote to stderr. */
  get stderr(): string {
    return this.stderrTail;
  }

  private exitDescription(): string {
    const info = this.exitInfo;
    const how =
      info === null
        ? "is not running"
        : info.signal !== null
          ? `was killed by ${info.signal}`
          : info.code === null
            ? "could not be started"
            : `exited with code ${info.code}`;
    const tail = this.stderrTail.trim();
    return `device program ${this.command} ${how}${tail ? `; its stderr ends with: ${tail.split("\n").slice(-5).join(" | ")}` : ""}`;
  }

  read(n: number, timeoutSec: number | null): Promise<Uint8Array> {
    return this.inbox.read(n, timeoutSec);
  }

  async write(data: Uint8Array, timeoutSec: number | null): Promise<void> {
    if (this.exitInfo !== null || this.closing !== null || this.child.stdin.destroyed)
      throw new TransportClosedError(null, { context: this.exitDescription() });
    await new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      if (timeoutSec !== null) {
        timer = setTimeout(
          () =>
            reject(
              new IoTimeoutError(null, {
                context: `writing ${data.length} bytes to ${this.command} took over ${timeoutSec}s`,
              }),
            ),
          timeoutSec * 1000,
        );
      }
      this.child.stdin.write(data, (error) => {
        if (timer !== undefined) clearTimeout(timer);
        if (error) reject(new TransportClosedError(null, { context: this.exitDescription(), cause: error }));
        else resolve();
      });
    });
  }

  /** Closes stdin, then SIGTERM, then SIGKILL, each after the grace period; waits for the exit. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const waitExit = (ms: number) =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), ms);
        void this.exited.then(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    this.child.stdin.end();
    if (this.exitInfo === null && !(await waitExit(this.killGraceMs))) {
      this.child.kill("SIGTERM");
      if (!(await waitExit(this.killGraceMs))) {
        this.child.kill("SIGKILL");
        await this.exited;
      }
    }
    this.inbox.end(
      new TransportClosedError(null, { context: `device program ${this.command} transport was closed` }),
    );
  }
}
