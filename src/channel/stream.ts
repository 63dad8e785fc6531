// Channels over Node streams and raw file descriptors (the pipes a Project API client passes
// as --read-fd / --write-fd).

import { createReadStream, createWriteStream, fstatSync, writeSync } from "node:fs";
import { Socket } from "node:net";
import type { OnReadOpts, SocketConstructorOpts } from "node:net";
import type { Readable, Writable } from "node:stream";
import { LineDecoder } from "../protocol/index.js";
import type { Channel, ChannelOptions } from "./channel.js";
import { LineQueue } from "./channel.js";

// Stop pulling from the OS while this many lines wait unread (a client that floods us).
const HIGH_WATER_LINES = 64;
const NEWLINE = Buffer.from("\n");
// The read buffer of a pipe channel; 64 KiB is a Linux pipe's whole capacity.
const READ_BUFFER_BYTES = 64 * 1024;
// Sockets created with `onread`, which deliver bytes to receive() instead of "data" events.
const readsIntoFixedBuffer = new WeakSet<Socket>();
// Largest reply kept in the reusable write buffer (a 1 MiB transport read is ~1.3 MB of text).
const MAX_SCRATCH_BYTES = 4 * 1024 * 1024;
// How long close() waits for buffered output to drain before dropping it.
const CLOSE_DRAIN_MS = 2000;
// Lines given as bytes up to this size are copied next to their "\n" and written in one piece;
// longer ones go out as two pieces in one writev, without the copy.
const MAX_COPIED_LINE_BYTES = 64 * 1024;
const RESOLVED = Promise.resolve();

class StreamChannel implements Channel {
  private readonly queue = new LineQueue();
  private readonly decoder: LineDecoder;
  private writeError: Error | undefined;
  private closed = false;
  private readonly reusesScratch: boolean;
  private scratch: Buffer | undefined;
  private scratchBusy = false;
  private readPaused = false;

  /**
   * @param writeFd the descriptor under `writable`, when it is a pipe or socket of our own: a
   *   line is then written to it at once with writeSync whenever nothing is queued in the stream,
   *   which spares the stream machinery (a reply's share of a round trip). The descriptor is
   *   non-blocking, so a full pipe writes what fits and the stream takes the rest, in order.
   */
  constructor(
    private readonly readable: Readable,
    private readonly writable: Writable,
    opts: ChannelOptions,
    private readonly writeFd?: number,
  ) {
    this.decoder = new LineDecoder(opts);
    this.reusesScratch = writable instanceof Socket;
    // A socket made with `onread` reads into one fixed buffer and reports through receive();
    // other streams emit "data" chunks.
    if (!(readable instanceof Socket && readsIntoFixedBuffer.has(readable))) {
      readable.on("data", (chunk: Buffer | string) => {
        if (!this.receive(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk)) readable.pause();
      });
    }
    readable.on("end", () => {
      try {
        for (const line of this.decoder.end()) this.queue.push(line);
        this.queue.end();
      } catch (e) {
        this.queue.fail(e);
      }
    });
    readable.on("error", (e) => this.queue.fail(e));
    readable.on("close", () => this.queue.end());
    writable.on("error", (e) => {
      this.writeError ??= e;
    });
  }

  /**
   * Bytes from the reader (valid only during the call: the decoder copies what it keeps).
   * Returns false when reading should pause because too many lines wait unread.
   */
  receive(bytes: Uint8Array): boolean {
    try {
      for (const line of this.decoder.push(bytes)) this.queue.push(line);
      if (this.decoder.error) throw this.decoder.error;
    } catch (e) {
      this.queue.fail(e);
      this.readable.destroy();
      return false;
    }
    if (this.queue.length < HIGH_WATER_LINES) return true;
    this.readPaused = true;
    return false;
  }

  hasBufferedLine(): boolean {
    return this.queue.length > 0;
  }

  readLine(): Promise<string | undefined> {
    const next = this.queue.next();
    if (this.readPaused && this.queue.length < HIGH_WATER_LINES && !this.closed) {
      this.readPaused = false;
      this.readable.resume();
    }
    return next;
  }

  writeLine(line: string | Uint8Array): Promise<void> {
    if (this.writeError) return Promise.reject(this.writeError);
    if (this.closed || this.writable.destroyed || this.writable.writableEnded)
      return Promise.reject(Object.assign(new Error("write after close"), { code: "EPIPE" }));
    const whole = typeof line === "string" || line.length <= MAX_COPIED_LINE_BYTES;
    let bytes: Uint8Array =
      typeof line === "string" ? this.encodeLine(line) : whole ? this.withNewline(line) : line;
    if (whole && this.writeFd !== undefined && this.writable.writableLength === 0) {
      let written: number;
      try {
        written = writeSync(this.writeFd, bytes);
      } catch (e) {
        if ((e as { code?: unknown }).code !== "EAGAIN") {
          if (bytes.buffer === this.scratch?.buffer) this.scratchBusy = false;
          this.writeError ??= e as Error;
          return Promise.reject(e as Error);
        }
        written = 0;
      }
      if (written === bytes.length) {
        if (bytes.buffer === this.scratch?.buffer) this.scratchBusy = false;
        return RESOLVED;
      }
      bytes = bytes.subarray(written);
    }
    return new Promise((resolve, reject) => {
      const done = (err: Error | null | undefined) => {
        if (bytes.buffer === this.scratch?.buffer) this.scratchBusy = false;
        if (err) {
          this.writeError ??= err;
          reject(err);
        } else resolve();
      };
      // One write per line so a reader never sees a reply without its terminator for long; a
      // long line given as bytes and its terminator go out corked together, as one writev.
      if (whole) this.writable.write(bytes, done);
      else {
        this.writable.cork();
        this.writable.write(bytes);
        this.writable.write(NEWLINE, done);
        this.writable.uncork();
      }
    });
  }

  /** `line` and "\n" in one buffer (the scratch buffer when it is free, as for strings). */
  private withNewline(line: Uint8Array): Uint8Array {
    const out = (this.scratchFor(line.length + 1) ?? Buffer.allocUnsafe(line.length + 1)).subarray(
      0,
      line.length + 1,
    );
    out.set(line);
    out[line.length] = 0x0a;
    return out;
  }

  /**
   * `line` + "\n" as UTF-8. Passing bytes rather than a string spares Node a 3-bytes-per-character
   * staging buffer per write, and for a socket one scratch buffer serves every line whose write
   * has completed: a socket is done with the bytes when it calls back, whereas other streams
   * (a PassThrough) may still hold them, so those get a fresh buffer.
   */
  private encodeLine(line: string): Buffer {
    if (!this.reusesScratch || this.scratchBusy || line.length > MAX_SCRATCH_BYTES)
      return Buffer.from(`${line}\n`, "utf8");
    // UTF-8 needs at most 3 bytes per UTF-16 unit; measure exactly only when that bound is too big.
    const bound = line.length * 3 + 1;
    const scratch =
      this.scratch && this.scratch.length >= bound
        ? this.scratchFor(bound)
        : this.scratchFor(Buffer.byteLength(line, "utf8") + 1);
    if (!scratch) return Buffer.from(`${line}\n`, "utf8");
    const length = scratch.write(line, 0, "utf8");
    scratch[length] = 0x0a;
    return scratch.subarray(0, length + 1);
  }

  /**
   * The scratch buffer (at least `size` bytes, marked busy until the write that uses it is
   * done), or undefined when there is none to use: not a socket, busy, or `size` too large.
   */
  private scratchFor(size: number): Buffer | undefined {
    if (!this.reusesScratch || this.scratchBusy || size > MAX_SCRATCH_BYTES) return undefined;
    let scratch = this.scratch;
    if (!scratch || scratch.length < size) {
      scratch = Buffer.allocUnsafeSlow(
        Math.min(MAX_SCRATCH_BYTES, Math.max(size, 2 * (scratch?.length ?? 0), 4096)),
      );
      this.scratch = scratch;
    }
    this.scratchBusy = true;
    return scratch;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queue.clear();
    this.readable.destroy();
    const w = this.writable;
    if (w.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        w.destroy();
        resolve();
      }, CLOSE_DRAIN_MS);
      timer.unref?.();
      w.end(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    w.destroy();
  }
}

/** A channel reading lines from `readable` and writing lines to `writable` (may be one duplex). */
export function createStreamChannel(
  readable: Readable,
  writable: Writable,
  opts: ChannelOptions = {},
): Channel {
  return new StreamChannel(readable, writable, opts);
}

function isPipeLike(fd: number): boolean {
  const st = fstatSync(fd);
  return st.isFIFO() || st.isSocket();
}

/**
 * A channel over two inherited file descriptors. Pipes and sockets go through libuv's
 * non-blocking handles; other descriptors (files, ttys) through fs streams. Throws the OS
 * error (EBADF) when a descriptor is not open.
 */
export function createFdChannel(readFd: number, writeFd: number, opts: ChannelOptions = {}): Channel {
  const writable: Writable = isPipeLike(writeFd)
    ? new Socket({ fd: writeFd, readable: false, writable: true, allowHalfOpen: true })
    : createWriteStream("", { fd: writeFd, autoClose: true });
  if (!isPipeLike(readFd)) {
    return new StreamChannel(
      createReadStream("", { fd: readFd, autoClose: true }),
      writable,
      opts,
      writable instanceof Socket ? writeFd : undefined,
    );
  }
  // A pipe reads into one reused buffer: a megabyte request then costs no allocation per read.
  // `onread` is a constructor option since Node 12.1, but missing from the constructor's typings.
  const socketOptions: SocketConstructorOpts & { onread: OnReadOpts } = {
    fd: readFd,
    readable: true,
    writable: false,
    allowHalfOpen: true,
    onread: {
      buffer: Buffer.allocUnsafeSlow(READ_BUFFER_BYTES),
      callback: (n: number, buffer: Uint8Array) => channel.receive(buffer.subarray(0, n)),
    },
  };
  const readable = new Socket(socketOptions);
  readsIntoFixedBuffer.add(readable);
  const channel = new StreamChannel(
    readable,
    writable,
    opts,
    writable instanceof Socket ? writeFd : undefined,
  );
  return channel;
}
