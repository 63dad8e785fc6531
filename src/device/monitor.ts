// `monitor`: hold a session open and report what the device says (Log messages), and with
// `raw` every byte in both directions, until told to stop or the duration is over.
import {
  describeFrameDrop,
  Session,
  SessionFrameError,
  SessionTerminatedError,
  SessionTimeoutError,
  type ByteTransport,
  type SessionTimeouts,
} from "../session/index.js";
import { TappedTransport, hexLines, type TapDirection } from "./transport.js";

export interface MonitorOptions {
  timeouts: SessionTimeouts;
  /** Also report the raw bytes. */
  raw?: boolean;
  /** Stop after this many seconds (default: only when `stopped()` says so). */
  durationSec?: number;
  /** Checked between reads; true ends the monitor. */
  stopped: () => boolean;
  /** One line of output (a device log line, a byte dump line, a status line). */
  print: (line: string) => void;
  /** How long one read may wait before `stopped` is checked again (default 0.25 s). */
  pollSec?: number;
}

export interface MonitorSummary {
  logLines: number;
  bytesIn: number;
  bytesOut: number;
  normalMessages: number;
  sessionId: number;
}

/**
 * Performs the handshake over `transport`, then reads until stopped. The transport is closed
 * when this returns or throws.
 */
export async function monitorDevice(
  transport: ByteTransport,
  options: MonitorOptions,
): Promise<MonitorSummary> {
  const summary: MonitorSummary = { logLines: 0, bytesIn: 0, bytesOut: 0, normalMessages: 0, sessionId: 0 };
  // The session reads a frame in small pieces; bytes are gathered into 16-byte lines per direction.
  let pending: { direction: TapDirection; bytes: number[] } | undefined;
  const flush = () => {
    if (pending && pending.bytes.length > 0) {
      for (const line of hexLines(Uint8Array.from(pending.bytes), pending.direction === "in" ? "< " : "> "))
        options.print(line);
    }
    pending = undefined;
  };
  const tap = (direction: TapDirection, bytes: Uint8Array) => {
    if (direction === "in") summary.bytesIn += bytes.length;
    else summary.bytesOut += bytes.length;
    if (!options.raw) return;
    if (pending?.direction !== direction) flush();
    pending ??= { direction, bytes: [] };
    pending.bytes.push(...bytes);
    const whole = pending.bytes.length - (pending.bytes.length % 16);
    if (whole > 0) {
      for (const line of hexLines(
        Uint8Array.from(pending.bytes.slice(0, whole)),
        direction === "in" ? "< " : "> ",
      ))
        options.print(line);
      pending.bytes = pending.bytes.slice(whole);
    }
  };
  const session = new Session(new TappedTransport(transport, tap), { timeouts: options.timeouts });
  session.on("log", (text) => {
    flush();
    summary.logLines += 1;
    for (const line of text.replace(/\r?\n$/, "").split("\n")) options.print(`device: ${line}`);
  });
  session.on("drop", (drop) => {
    flush();
    options.print(
      `session: dropped ${describeFrameDrop(drop)}${session.established ? "" : " before the session was established"}`,
    );
  });
  try {
    await session.open();
    flush();
    summary.sessionId = session.sessionId;
    options.print(`session established (id 0x${session.sessionId.toString(16).padStart(4, "0")})`);
    const pollSec = options.pollSec ?? 0.25;
    const deadline = options.durationSec === undefined ? Infinity : Date.now() + options.durationSec * 1000;
    while (!options.stopped()) {
      const remaining = (deadline - Date.now()) / 1000;
      if (remaining <= 0) break;
      try {
        const body = await session.receive(Math.min(pollSec, remaining));
        flush();
        summary.normalMessages += 1;
        options.print(`device sent an RPC message of ${body.length} bytes nobody asked for`);
      } catch (error) {
        flush();
        if (error instanceof SessionTerminatedError || error instanceof SessionFrameError) {
          // The device reset, or a message was lost: say so and start a new session, as TVM's host may (Q-S4).
          options.print(
            error instanceof SessionFrameError
              ? `${error.message.split(";")[0]}; starting a new session`
              : "the device reset and ended the session; starting a new one",
          );
          await session.open();
          flush();
          options.print(`session established (id 0x${session.sessionId.toString(16).padStart(4, "0")})`);
        } else if (!(error instanceof SessionTimeoutError)) {
          throw error;
        }
      }
    }
    flush();
    return summary;
  } finally {
    await session.close().catch(() => undefined);
  }
}
