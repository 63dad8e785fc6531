// The transport requests and their replies, recognised and built without a general JSON pass.
// They carry every byte of a session, several times per inference, so both ends take them in
// the shapes the two clients and the two servers write (ours with JSON.stringify; TVM's with
// json.dumps, which puts a space after ":" and ","): fixed key order, any JSON whitespace, plain
// integer ids. Any other line, however valid, is left to the general parser, which reaches the
// same result more slowly; so is a line whose base85 text does not decode, so that its error
// comes from the one place that reports it.

import { b85decode, b85EncodedLength, b85encodeInto } from "./base85.js";
import { allocBytes } from "./bytes.js";

// JSON whitespace ("\n" ends a line, so it is not inside one).
const S = "[ \\t\\r]*";
/** A non-negative JSON number (a negative timeout, and its -0, is left to the general parse). */
const NUMBER = "(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?";
/** Ids up to 15 digits: exact as doubles, so the reply echoes them unchanged. */
const ID = "(0|[1-9][0-9]{0,14})";
/** A JSON string with no escapes and no control characters: its text is its value. */
const PLAIN_STRING = '"([^"\\\\\\u0000-\\u001f]*)"';

function member(name: string, value: string): string {
  return `${S}"${name}"${S}:${S}${value}${S}`;
}

function request(method: string, params: string): RegExp {
  return new RegExp(
    `^${S}\\{${member("jsonrpc", '"2\\.0"')},${member("method", `"${method}"`)},${S}"params"${S}:${S}\\{${params}\\}${S},${member("id", ID)}\\}${S}$`,
  );
}
const TIMEOUT = member("timeout_sec", `(null|${NUMBER})`);
const WRITE_REQUEST = request("write_transport", `${member("data", PLAIN_STRING)},${TIMEOUT}`);
const READ_REQUEST = request("read_transport", `${member("n", "(0|[1-9][0-9]{0,14})")},${TIMEOUT}`);

/** A transport request as the server runs it: the same call the general path would make. */
export type TransportRequest =
  | { method: "write_transport"; id: number; data: Uint8Array; timeoutSec: number | null }
  | { method: "read_transport"; id: number; n: number; timeoutSec: number | null };

/**
 * The write_transport or read_transport request on `line`, when it has one of the usual shapes
 * and its data decodes; undefined for every other line (then parse it in full).
 */
export function matchTransportRequest(line: string): TransportRequest | undefined {
  // A line names its method once, so one search picks the pattern to try.
  const write = line.includes('"write_transport"');
  const m = (write ? WRITE_REQUEST : READ_REQUEST).exec(line);
  if (m === null) return undefined;
  const timeoutSec = m[2] === "null" ? null : Number(m[2]);
  if (timeoutSec !== null && !Number.isFinite(timeoutSec)) return undefined;
  const id = Number(m[3]);
  if (!write) return { method: "read_transport", id, n: Number(m[1]), timeoutSec };
  let data: Uint8Array;
  try {
    data = b85decode(m[1]!);
  } catch {
    return undefined;
  }
  return { method: "write_transport", id, data, timeoutSec };
}

/** The JSON text of a timeout as JSON.stringify writes it (null for no limit). */
function timeoutJson(timeoutSec: number | null): string {
  return JSON.stringify(timeoutSec);
}

/**
 * A write_transport request line, byte for byte what JSON.stringify writes for
 * `{"jsonrpc": "2.0", "method": "write_transport", "params": {"data", "timeout_sec"}, "id"}`,
 * built straight into bytes: the base85 text needs no escaping (its alphabet has no quote,
 * backslash or control character), so no megabyte string is made.
 */
export function writeTransportRequestLine(
  data: Uint8Array,
  timeoutSec: number | null,
  id: number,
): Uint8Array {
  const head = '{"jsonrpc":"2.0","method":"write_transport","params":{"data":"';
  const tail = `","timeout_sec":${timeoutJson(timeoutSec)}},"id":${id}}`;
  const out = allocBytes(head.length + b85EncodedLength(data.length) + tail.length);
  let at = asciiInto(head, out, 0);
  at = b85encodeInto(data, out, at);
  asciiInto(tail, out, at);
  return out;
}

/** A read_transport request line, as JSON.stringify writes it. */
export function readTransportRequestLine(n: number, timeoutSec: number | null, id: number): string {
  return `{"jsonrpc":"2.0","method":"read_transport","params":{"n":${n},"timeout_sec":${timeoutJson(timeoutSec)}},"id":${id}}`;
}

const READ_REPLY = new RegExp(
  `^${S}\\{${member("jsonrpc", '"2\\.0"')},${member("id", ID)},${S}"result"${S}:${S}\\{${member("data", PLAIN_STRING)}\\}${S}\\}${S}$`,
);
const NULL_REPLY = new RegExp(
  `^${S}\\{${member("jsonrpc", '"2\\.0"')},${member("id", ID)},${member("result", "null")}\\}${S}$`,
);

/**
 * The bytes of a read_transport reply to request `id`, when the reply has the usual shape and
 * its data decodes; undefined for any other line (an error, another id, another shape).
 */
export function matchReadTransportReply(line: string, id: number): Uint8Array | undefined {
  const m = READ_REPLY.exec(line);
  if (m === null || Number(m[1]) !== id) return undefined;
  try {
    return b85decode(m[2]!);
  } catch {
    return undefined;
  }
}

/** Whether `line` is the null result write_transport replies with, to request `id`. */
export function isNullReply(line: string, id: number): boolean {
  const m = NULL_REPLY.exec(line);
  return m !== null && Number(m[1]) === id;
}

function asciiInto(text: string, out: Uint8Array, at: number): number {
  for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i);
  return at;
}
