// A template's transport: the firmware (or the emulator running it) as a child process, bytes
// over its stdin/stdout.
import { spawn, type ChildProcess } from "node:child_process";
import { clampTimerMs, IoTimeoutError, timeoutMs, TransportClosedError } from "microtvm/protocol";

/** Stop reading from the firmware while this many bytes wait for read_transport. */
const QUEUE_HIGH_WATER = 1 << 20;
const STDERR_TAIL_LINES = 40;
/** How long the firmware gets to exit by itself once its stdin is closed (when it exits on EOF). */
const EOF_GRACE_MS = 1000;
const TERM_GRACE_MS = 2000;
const KILL_WAIT_MS = 5000;

export interface FirmwareExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface FirmwareStartOptions {
  /** Arguments for the command. */
  args?: readonly string[];
  /**
   * Whether the process exits by itself when its stdin closes (the host firmware does). False for
   * one that does not (QEMU): close() then sends SIGTERM at once instead of waiting for it.
   */
  exitsOnStdinEof?: boolean;
}

export interface FirmwareLog {
  info(message: string): void;
  error(message: string): void;
}

function describeExit(exit: FirmwareExit): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with status ${exit.code}`;
}

/**
 * One running firmware process. read() returns 1..n bytes or throws IoTimeoutError /
 * TransportClosedError; write() writes everything or throws; close() ends the process (SIGTERM,
 * then SIGKILL) and reaps it. Reads and writes are serialised by the server (one request at a time).
 */
export class FirmwareProcess {
  private readonly chunks: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private closing = false;
  /** Whether close() has sent the firmware a signal (a signal death is then ours, not news). */
  private signalled = false;
  private exitInfo: FirmwareExit | undefined;
  private readonly exitPromise: Promise<FirmwareExit>;
  private wake: (() => void) | undefined;
  /** Writes waiting for their callback; failed at once if the firmware exits meanwhile. */
  private readonly pendingWrites = new Set<(error?: Error) => void>();
  private stderrLines: string[] = [];
  private stderrPartial = "";

  private constructor(
    private readonly child: ChildProcess,
    readonly binary: string,
    private readonly log: FirmwareLog,
    private readonly exitsOnStdinEof: boolean,
  ) {
    this.exitPromise = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        // A death by a signal we did not send is news even when it is noticed during close_transport
        // (the host closes the transport when it sees the pipe end).
        if (!this.closing || (signal !== null && !this.signalled))
          this.log.info(`firmware ${describeExit(this.exitInfo)}${this.tailForLog()}`);
        this.notify();
        for (const settle of [...this.pendingWrites]) settle(new TransportClosedError());
        resolve(this.exitInfo);
      });
    });
    const stdout = child.stdout!;
    stdout.on("data", (chunk: Buffer) => {
      if (this.closing) return;
      this.chunks.push(chunk);
      this.queued += chunk.length;
      if (this.queued >= QUEUE_HIGH_WATER) stdout.pause();
      this.notify();
    });
    stdout.on("end", () => {
      this.ended = true;
      this.notify();
    });
    stdout.on("error", () => {
      this.ended = true;
      this.notify();
    });
    // EPIPE once the firmware is gone: reported by write() through its callback.
    child.stdin!.on("error", () => {});
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (text: string) => this.onStderr(text));
  }

  /** Starts `binary` with piped stdio in `cwd`; rejects when it cannot be started at all. */
  static async start(
    binary: string,
    cwd: string,
    log: FirmwareLog,
    { args = [], exitsOnStdinEof = true }: FirmwareStartOptions = {},
  ): Promise<FirmwareProcess> {
    const child = spawn(binary, args, { cwd, stdio: ["pipe", "pipe", "pipe"] });
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    return new FirmwareProcess(child, binary, log, exitsOnStdinEof);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** How the firmware ended, once it has. */
  get exit(): FirmwareExit | undefined {
    return this.exitInfo;
  }

  /** The last lines the firmware wrote to stderr. */
  stderrTail(): string {
    return [...this.stderrLines, this.stderrPartial].filter((l) => l.length > 0).join("\n");
  }

  async read(n: number, timeoutSec: number | null): Promise<Uint8Array> {
    if (!Number.isInteger(n) || n < 1)
      throw new RangeError(`read_transport: n must be a positive integer, got ${n}`);
    const deadline = timeoutSec === null ? undefined : Date.now() + Math.max(0, timeoutSec) * 1000;
    let polled = false;
    for (;;) {
      if (this.closing) throw new TransportClosedError();
      if (this.queued > 0) return this.take(n);
      if (this.ended) throw new TransportClosedError();
      // A zero timeout still lets pending pipe data arrive: wait one turn of the event loop.
      const remaining = deadline === undefined ? undefined : deadline - Date.now();
      if (remaining !== undefined && remaining <= 0 && polled) throw new IoTimeoutError();
      polled = true;
      await this.waitForChange(remaining === undefined ? undefined : Math.max(remaining, 0));
    }
  }

  async write(data: Uint8Array, timeoutSec: number | null): Promise<void> {
    const stdin = this.child.stdin!;
    if (this.closing || this.exitInfo || stdin.destroyed || !stdin.writable) throw new TransportClosedError();
    if (data.length === 0) return;
    await new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let settled = false;
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        this.pendingWrites.delete(settle);
        if (timer) clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      // The callback fires once the bytes are in the pipe, or with EPIPE when the firmware is gone.
      stdin.write(data, (error) => settle(error ? new TransportClosedError() : undefined));
      this.pendingWrites.add(settle);
      if (timeoutSec !== null) {
        timer = setTimeout(() => settle(new IoTimeoutError()), timeoutMs(timeoutSec));
      }
    });
  }

  /**
   * Ends the firmware: closes its stdin, which it answers by exiting with status 0; SIGTERM if it
   * has not exited after a grace period (at once if it does not exit on EOF), SIGKILL after
   * another; waits until it is reaped.
   */
  async close(): Promise<void> {
    if (this.closing) {
      await this.exitPromise;
      return;
    }
    this.closing = true;
    this.notify();
    // The firmware exits by itself on EOF; a signal sent together with the close arrives before
    // it has read the EOF and kills it in whatever state it is in. Its output is drained meanwhile
    // (and dropped) so that a pending reply cannot keep it blocked in a write.
    this.child.stdin!.destroy();
    this.chunks.length = 0;
    this.queued = 0;
    this.child.stdout!.resume();
    const exitedOnEof = this.exitsOnStdinEof && (await this.waitExit(EOF_GRACE_MS));
    if (!exitedOnEof) {
      if (this.exitsOnStdinEof) {
        this.log.info(
          `firmware (pid ${this.child.pid}) did not exit on EOF within ${EOF_GRACE_MS} ms; sending SIGTERM`,
        );
      }
      this.signal("SIGTERM");
      if (!(await this.waitExit(TERM_GRACE_MS))) {
        this.log.error(
          `firmware (pid ${this.child.pid}) ignored SIGTERM for ${TERM_GRACE_MS} ms; killing it`,
        );
        this.signal("SIGKILL");
        await this.waitExit(KILL_WAIT_MS);
      }
    }
    this.child.stdout!.destroy();
    this.child.stderr!.destroy();
    this.chunks.length = 0;
    this.queued = 0;
  }

  /** Last resort at process exit: no waiting possible, so SIGKILL at once. */
  killNow(): void {
    if (!this.exitInfo) this.signal("SIGKILL");
  }

  private signal(signal: NodeJS.Signals): void {
    this.signalled = true;
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
  }

  private async waitExit(ms: number): Promise<boolean> {
    if (this.exitInfo) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const result = await Promise.race([this.exitPromise.then(() => true as const), timedOut]);
    clearTimeout(timer);
    return result;
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
    this.queued -= out.length;
    if (this.queued < QUEUE_HIGH_WATER / 2 && this.child.stdout!.isPaused()) this.child.stdout!.resume();
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
      // Clamped: a longer wait (timeout_sec 1e308) wakes after ~24.8 days and waits again.
      if (ms !== undefined) timer = setTimeout(done, clampTimerMs(ms));
    });
  }

  private notify(): void {
    this.wake?.();
  }

  private onStderr(text: string): void {
    const lines = (this.stderrPartial + text).split("\n");
    this.stderrPartial = lines.pop() ?? "";
    for (const line of lines) {
      this.log.info(`firmware: ${line}`);
      this.stderrLines.push(line);
    }
    if (this.stderrLines.length > STDERR_TAIL_LINES)
      this.stderrLines = this.stderrLines.slice(-STDERR_TAIL_LINES);
  }

  private tailForLog(): string {
    const tail = this.stderrTail();
    return tail ? `; its last stderr lines:\n${tail}` : "";
  }
}
