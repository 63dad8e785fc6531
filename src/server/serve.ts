// Serving a channel until the client goes away or the stream becomes untrustworthy.

import type { Channel } from "../channel/index.js";
import type { ProjectApiHandler } from "./handler.js";
import type { ServerLog } from "./log.js";
import { silentLog } from "./log.js";
import { serveOneRequest } from "./dispatch.js";

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

function isGoneError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === "EPIPE" || code === "ECONNRESET" || code === "ERR_STREAM_DESTROYED" || code === "EBADF";
}

/** Serves requests from `channel`, one at a time, until it ends. Never throws for I/O reasons. */
export async function serveChannel(
  handler: ProjectApiHandler,
  channel: Channel,
  opts: ServeOptions = {},
): Promise<ServeEnd> {
  const log = opts.log ?? silentLog;
  let replies = 0;
  for (;;) {
    let line: string | undefined;
    try {
      line = await channel.readLine();
    } catch (e) {
      log.error(`Caught error reading request: ${(e as Error).message}; stopping`);
      return { reason: "bad-input", replies };
    }
    if (line === undefined) {
      log.debug("EOF on the request channel; stopping");
      return { reason: "eof", replies };
    }
    log.debug(`read request <- ${line}`);
    const { reply, stop } = await serveOneRequest(handler, line, { log });
    if (reply !== undefined) {
      log.debug(`write reply -> ${reply}`);
      try {
        await channel.writeLine(reply);
        replies++;
      } catch (e) {
        // The client went away mid-reply: nobody is left to tell, so leave quietly.
        if (isGoneError(e)) log.debug(`client went away while replying (${(e as { code?: string }).code})`);
        else log.error(`could not write reply: ${(e as Error).message}`);
        return { reason: "client-gone", replies };
      }
    }
    if (stop) return { reason: reply === undefined ? "bad-input" : "invalid-request", replies };
  }
}
