// Channels over Node streams and raw file descriptors (the pipes a Project API client passes
// as --read-fd / --write-fd).

import { createReadStream, createWriteStream, fstatSync } from "node:fs";
import { Socket } from "node:net";
import type { Readable, Writable } from "node:stream";
import { LineDecoder } from "../protocol/index.js";
import type { Channel, ChannelOptions } from "./channel.js";
import { LineQueue } from "./channel.js";

// Stop pulling from the OS while this many lines wait unread (a client that floods us).
const HIGH_WATER_LINES = 64;
// How long close() waits for buffered output to drain before dropping it.
const CLOSE_DRAIN_MS = 2000;

class StreamChannel implements Channel {
  private readonly queue = new LineQueue();
  private readonly decoder: LineDecoder;
  private writeError: Error | undefined;
  private closed = false;

  constructor(
    private readonly readable: Readable,
    private readonly writable: Writable,
    opts: ChannelOptions,
  ) {
    this.decoder = new LineDecoder(opts);
    readable.on("data", (chunk: Buffer | string) => {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
      try {
        for (const line of this.decoder.push(bytes)) this.queue.push(line);
        if (this.decoder.error) throw this.decoder.error;
      } catch (e) {
        this.queue.fail(e);
        readable.destroy();
        return;
      }
      if (this.queue.length >= HIGH_WATER_LINES) readable.pause();
    });
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

  readLine(): Promise<string | undefined> {
    const next = this.queue.next();
    if (this.queue.length < HIGH_WATER_LINES && this.readable.isPaused() && !this.closed)
      this.readable.resume();
    return next;
  }

  writeLine(line: string): Promise<void> {
    if (this.writeError) return Promise.reject(this.writeError);
    if (this.closed || this.writable.destroyed || this.writable.writableEnded)
      return Promise.reject(Object.assign(new Error("write after close"), { code: "EPIPE" }));
    return new Promise((resolve, reject) => {
      // One write per line so a reader never sees a reply without its terminator for long.
      this.writable.write(`${line}\n`, "utf8", (err) => {
        if (err) {
          this.writeError ??= err;
          reject(err);
        } else resolve();
      });
    });
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
  const readable: Readable = isPipeLike(readFd)
    ? new Socket({ fd: readFd, readable: true, writable: false, allowHalfOpen: true })
    : createReadStream("", { fd: readFd, autoClose: true });
  const writable: Writable = isPipeLike(writeFd)
    ? new Socket({ fd: writeFd, readable: false, writable: true, allowHalfOpen: true })
    : createWriteStream("", { fd: writeFd, autoClose: true });
  return new StreamChannel(readable, writable, opts);
}
