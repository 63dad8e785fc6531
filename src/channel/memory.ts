// Two connected in-memory channel ends for tests. Lines travel as UTF-8 bytes through the same
// LineDecoder as real pipes, so framing behaves identically.

import { LineDecoder } from "../protocol/index.js";
import type { Channel, ChannelOptions } from "./channel.js";
import { LineQueue } from "./channel.js";

class MemoryEnd implements Channel {
  readonly queue = new LineQueue();
  private readonly decoder: LineDecoder;
  peer!: MemoryEnd;
  private closed = false;
  private inputEnded = false;

  constructor(opts: ChannelOptions) {
    this.decoder = new LineDecoder(opts);
  }

  /** Bytes arriving from the peer. */
  receive(bytes: Uint8Array): void {
    if (this.inputEnded) return;
    try {
      for (const line of this.decoder.push(bytes)) this.queue.push(line);
      if (this.decoder.error) throw this.decoder.error;
    } catch (e) {
      this.inputEnded = true;
      this.queue.fail(e);
    }
  }

  /** The peer closed: end of stream. */
  endInput(): void {
    if (this.inputEnded) return;
    this.inputEnded = true;
    try {
      for (const line of this.decoder.end()) this.queue.push(line);
      this.queue.end();
    } catch (e) {
      this.queue.fail(e);
    }
  }

  hasBufferedLine(): boolean {
    return this.queue.length > 0;
  }

  readLine(): Promise<string | undefined> {
    return this.queue.next();
  }

  async writeLine(line: string | Uint8Array): Promise<void> {
    if (this.closed) throw Object.assign(new Error("write after close"), { code: "EPIPE" });
    if (this.peer.closed) throw Object.assign(new Error("peer closed the channel"), { code: "EPIPE" });
    let bytes: Uint8Array;
    if (typeof line === "string") bytes = new TextEncoder().encode(`${line}\n`);
    else {
      bytes = new Uint8Array(line.length + 1);
      bytes.set(line);
      bytes[line.length] = 0x0a;
    }
    // Deliver asynchronously, as a pipe would.
    await Promise.resolve();
    this.peer.receive(bytes);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.inputEnded = true;
    this.queue.clear();
    this.peer.endInput();
  }
}

/** Two connected channel ends: what one writes, the other reads. */
export function createMemoryChannelPair(opts: ChannelOptions = {}): [Channel, Channel] {
  const a = new MemoryEnd(opts);
  const b = new MemoryEnd(opts);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
