// Serving a channel until the client goes away or the stream becomes untrustworthy.

import type { Channel } from "../channel/index.js";
import type { ProjectApiHandler } from "./handler.js";
import type { ServerLog } from "./log.js";
import { silentLog } from "./log.js";
import { serveOneRequestLine } from "./dispatch.js";

export interface ServeOptions {
  log?: ServerLog;
}

/**
 * Why serving ended: `eof` (the client closed its end — the normal way), `bad-input` (a line
 * that is not JSON or not UTF-8: no reply, as the reference), `invalid-request` (a -32600 reply
 * was sent), `client-gone` (the reply could not be written).
 */
export type ServeEndReason = "eof" | "bad-input" | "invalid-request" | "client-gone";

export interface ServeEnd {
  reason: ServeEndReason;
  /** Requests answered. */
  replies: number;
}

const ASCII_TEXT = new TextDecoder("utf-8");
// Largest reply built in the reused buffer (a 1 MiB transport read makes a ~1.3 MB reply),
// and how much of it stays allocated between replies.
const MAX_REUSED_REPLY_BYTES = 16 * 1024 * 1024;
const KEPT_REPLY_BYTES = 256 * 1024;

/** An ArrayBuffer made with `maxByteLength` (ES2024; Node 20 has it, our TS lib does not). */
interface ResizableArrayBuffer extends ArrayBuffer {
  resize(byteLength: number): void;
}

function resizableBuffer(maxByteLength: number): ResizableArrayBuffer {
  const Ctor = ArrayBuffer as unknown as new (
    byteLength: number,
    options: { maxByteLength: number },
  ) => ResizableArrayBuffer;
  return new Ctor(0, { maxByteLength });
}

function isGoneError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === "EPIPE" || code === "ECONNRESET" || code === "ERR_STREAM_DESTROYED" || code === "EBADF";
}

/** Longest reply held back to go out with the next one (see serveChannel). */
const MAX_HELD_REPLY_CHARS = 256;

/** `held` (when there is one) and `reply` as one line's worth of bytes: two lines, one write. */
function withHeld(held: string | undefined, reply: string | Uint8Array): string | Uint8Array {
  if (held === undefined) return reply;
  if (typeof reply === "string") return `${held}\n${reply}`;
  // Written straight into one buffer from Node's pool: no buffer of its own for the held line.
  const size = Buffer.byteLength(held, "utf8") + 1;
  const joined = Buffer.allocUnsafe(size + reply.length);
  joined.write(held, 0, "utf8");
  joined[size - 1] = 0x0a;
  joined.set(reply, size);
  return joined;
}

/** Serves requests from `channel`, one at a time, until it ends. Never throws for I/O reasons. */
export async function serveChannel(
  handler: ProjectApiHandler,
  channel: Channel,
  opts: ServeOptions = {},
): Promise<ServeEnd> {
  const log = opts.log ?? silentLog;
  let replies = 0;
  // Replies built as bytes (transport reads) share one buffer: each reply is written before
  // the next request is read, so the buffer is free again by then. It is a resizable
  // ArrayBuffer, sized to each reply in place and shrunk after a large one, so megabyte
  // replies neither leave garbage behind nor keep their pages while the server waits.
  let replyStorage: ResizableArrayBuffer | undefined;
  const allocateReply = (size: number): Uint8Array => {
    if (size > MAX_REUSED_REPLY_BYTES) return new Uint8Array(size);
    replyStorage ??= resizableBuffer(MAX_REUSED_REPLY_BYTES);
    if (replyStorage.byteLength < size) replyStorage.resize(size);
    return new Uint8Array(replyStorage, 0, size);
  };
  // A tiny reply (write_transport's null) to a request the client followed at once with another
  // is held and written together with the next reply: a client that sends write_transport and
  // read_transport together then wakes once for both.
  let held: string | undefined;
  const flushHeld = async (): Promise<void> => {
    if (held === undefined) return;
    const line = held;
    held = undefined;
    await channel.writeLine(line).catch(() => undefined);
  };
  for (;;) {
    let line: string | undefined;
    try {
      line = await channel.readLine();
    } catch (e) {
      await flushHeld();
      log.error(`Caught error reading request: ${(e as Error).message}; stopping`);
      return { reason: "bad-input", replies };
    }
    if (line === undefined) {
      await flushHeld();
      log.debug("EOF on the request channel; stopping");
      return { reason: "eof", replies };
    }
    log.debug(`read request <- ${line}`);
    const { reply, stop } = await serveOneRequestLine(handler, line, { log, allocateReply });
    if (reply !== undefined) {
      if (log.debugEnabled !== false)
        log.debug(`write reply -> ${typeof reply === "string" ? reply : ASCII_TEXT.decode(reply)}`);
      if (
        !stop &&
        held === undefined &&
        typeof reply === "string" &&
        reply.length <= MAX_HELD_REPLY_CHARS &&
        channel.hasBufferedLine?.() === true
      ) {
        held = reply;
        replies++;
        continue;
      }
      try {
        await channel.writeLine(withHeld(held, reply));
        held = undefined;
        replies++;
        if (replyStorage && replyStorage.byteLength > KEPT_REPLY_BYTES) replyStorage.resize(0);
      } catch (e) {
        // The client went away mid-reply: nobody is left to tell, so leave quietly.
        if (isGoneError(e)) log.debug(`client went away while replying (${(e as { code?: string }).code})`);
        else log.error(`could not write reply: ${(e as Error).message}`);
        return { reason: "client-gone", replies };
      }
    } else {
      await flushHeld();
    }
    if (stop) return { reason: reply === undefined ? "bad-input" : "invalid-request", replies };
  }
}
