// One request line in, at most one reply line out: the reference's serve_one_request, with the
// deviations written in docs/wire-deviations.md.

import type { BoundParams, JsonValue, PyValue, TransportRequest, WireError } from "../protocol/index.js";
import {
  ErrorCode,
  JsonRpcError,
  PyFloat,
  ServerError,
  b85decode,
  b85EncodedLength,
  b85encodeInto,
  bindParams,
  matchTransportRequest,
  paramsFromWire,
  parseJsonExact,
  pyJsonDumps,
  serverInfoToWire,
  timeoutsToWire,
  toPlain,
  validateRequest,
} from "../protocol/index.js";
import type { ProjectApiHandler, ProjectOptions } from "./handler.js";
import type { ServerLog } from "./log.js";
import { silentLog } from "./log.js";
import { formatTraceback } from "./traceback.js";

export interface ServeOneResult {
  /** The reply line (without "\n"), when one is due. */
  reply?: string;
  /** True when the server must stop after this line (bad input or an invalid envelope). */
  stop: boolean;
}

/** Like ServeOneResult, but a large reply may come as its ASCII bytes (see TransportData). */
export interface ServeOneLineResult {
  reply?: string | Uint8Array;
  stop: boolean;
}

const ASCII_TEXT = new TextDecoder("utf-8");

export interface DispatchOptions {
  log?: ServerLog;
}

export interface DispatchLineOptions extends DispatchOptions {
  /**
   * Memory for a reply built as bytes (exactly `size` long). The serving loop passes a buffer
   * it reuses once the previous reply is written; by default each reply gets a new array.
   */
  allocateReply?: (size: number) => Uint8Array;
}

const newArray = (size: number) => new Uint8Array(size);

/** A request without an id: we refuse to run it (the reference runs it, then fails). */
class NotificationRefused extends Error {
  constructor(method: string) {
    super(
      `request has no "id", so no reply could be addressed to it; ${method} was not called. ` +
        `Send an "id" (a string, an integer or null) with every request.`,
    );
    this.name = "NotificationRefused";
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function number(v: PyValue): number {
  if (v instanceof PyFloat) return v.value;
  if (typeof v === "bigint") return Number(v);
  return v as number;
}

function timeout(v: PyValue): number | null {
  return v === null ? null : number(v);
}

function options(v: PyValue): ProjectOptions {
  return toPlain(v) as ProjectOptions;
}

/** Runs the handler method for bound params and returns the wire result. */
async function callHandler(handler: ProjectApiHandler, bound: BoundParams): Promise<unknown> {
  // Types were checked by bindParams; the names are mapped by the table in src/protocol.
  const wire = bound.params;
  switch (bound.method) {
    case "server_info_query": {
      const p = paramsFromWire("server_info_query", wire);
      return serverInfoToWire(await handler.serverInfoQuery(p.tvmVersion as string));
    }
    case "generate_project": {
      const p = paramsFromWire("generate_project", wire);
      return handler.generateProject({
        modelLibraryFormatPath: p.modelLibraryFormatPath as string,
        standaloneCrtDir: p.standaloneCrtDir as string,
        projectDir: p.projectDir as string,
        options: options(p.options),
      });
    }
    case "build":
      return handler.build(options(paramsFromWire("build", wire).options));
    case "flash":
      return handler.flash(options(paramsFromWire("flash", wire).options));
    case "open_transport": {
      const t = await handler.openTransport(options(paramsFromWire("open_transport", wire).options));
      return { timeouts: timeoutsToWire(t, "openTransport's result") };
    }
    case "close_transport":
      return handler.closeTransport();
    case "read_transport": {
      const p = paramsFromWire("read_transport", wire);
      return readTransport(handler, number(p.n), timeout(p.timeoutSec));
    }
    case "write_transport": {
      const p = paramsFromWire("write_transport", wire);
      return writeTransport(handler, b85decode(p.data as string), timeout(p.timeoutSec));
    }
  }
}

async function readTransport(
  handler: ProjectApiHandler,
  n: number,
  timeoutSec: number | null,
): Promise<TransportData> {
  const data = await handler.readTransport(n, timeoutSec);
  if (!(data instanceof Uint8Array))
    throw new TypeError(
      `readTransport must return a Uint8Array; got ${Object.prototype.toString.call(data)}`,
    );
  return new TransportData(data);
}

async function writeTransport(
  handler: ProjectApiHandler,
  bytes: Uint8Array,
  timeoutSec: number | null,
): Promise<null> {
  await handler.writeTransport(bytes, timeoutSec);
  return null; // the reference always replies null here
}

/**
 * A transport request in one of the usual shapes, run without the general parse: the same
 * handler call, reply and errors as serveOneRequestLine's general path gives it.
 */
async function serveTransportRequest(
  handler: ProjectApiHandler,
  request: TransportRequest,
  allocate: (size: number) => Uint8Array,
): Promise<ServeOneLineResult> {
  try {
    if (request.method === "write_transport") {
      await writeTransport(handler, request.data, request.timeoutSec);
      return { reply: `{"jsonrpc": "2.0", "id": ${request.id}, "result": null}`, stop: false };
    }
    const data = await readTransport(handler, request.n, request.timeoutSec);
    return { reply: data.replyBytes(request.id, allocate), stop: false };
  } catch (e) {
    return { reply: replyLine(request.id, "error", errorToWire(e, request.method)), stop: false };
  }
}

/**
 * A read_transport result, `{"data": "<base85>"}`, kept as bytes until the reply is built: the
 * base85 text then goes straight into the reply line's bytes, with no megabyte-sized strings.
 */
class TransportData {
  constructor(readonly bytes: Uint8Array) {}

  /** The reply line as ASCII bytes (json.dumps output is ASCII, and so is base85). */
  replyBytes(id: PyValue, allocate: (size: number) => Uint8Array): Uint8Array {
    // An integer id (every transport request on the quick path) is written as json.dumps would.
    const empty =
      typeof id === "number" && Number.isSafeInteger(id)
        ? `{"jsonrpc": "2.0", "id": ${id}, "result": {"data": ""}}`
        : replyLine(id, "result", { data: "" });
    // `{"jsonrpc": "2.0", "id": 1, "result": {"data": ""}}`: the text goes between the quotes.
    const head = empty.length - 3;
    const out = allocate(empty.length + b85EncodedLength(this.bytes.length));
    for (let i = 0; i < head; i++) out[i] = empty.charCodeAt(i);
    let o = b85encodeInto(this.bytes, out, head);
    for (let i = head; i < empty.length; i++) out[o++] = empty.charCodeAt(i);
    return out;
  }
}

/** The `data` of a ServerError reply: the handler's object plus a traceback, never a crash. */
function serverErrorData(e: ServerError): JsonValue {
  const traceback = formatTraceback(e);
  const data = e.data;
  let out: unknown;
  if (data === null || data === undefined) out = { traceback };
  else if (data instanceof Map)
    out = data.has("traceback") ? data : new Map([...data, ["traceback", traceback]]);
  else if (isObject(data) && Object.getPrototypeOf(data) === Object.prototype)
    out = "traceback" in data ? data : { ...data, traceback };
  // The reference crashes on other data (a list, a string); we keep it under "data".
  else out = { data, traceback };
  try {
    pyJsonDumps(out);
    return out as JsonValue;
  } catch (err) {
    return { traceback: `${traceback}(error data dropped: ${(err as Error).message})\n` };
  }
}

/** The reply's `error` member for anything thrown while serving a valid request. */
export function errorToWire(e: unknown, method: string): WireError {
  if (e instanceof ServerError) return { code: e.code, message: e.wireMessage, data: serverErrorData(e) };
  if (e instanceof JsonRpcError) {
    let data: unknown = e.data ?? null;
    try {
      pyJsonDumps(data);
    } catch {
      data = null;
    }
    return { code: e.code, message: e.wireMessage, data };
  }
  return {
    code: ErrorCode.serverError,
    message: `calling method ${method}`,
    data: { traceback: formatTraceback(e) },
  };
}

function replyLine(id: PyValue, member: "result" | "error", value: unknown): string {
  return pyJsonDumps({ jsonrpc: "2.0", id, [member]: value });
}

/**
 * Serves one request line (without its terminator). Mirrors the reference: unparseable input →
 * no reply, stop; invalid envelope → -32600 with id null, stop; anything later → a reply with
 * the request's id, continue.
 */
export async function serveOneRequest(
  handler: ProjectApiHandler,
  line: string,
  opts: DispatchOptions = {},
): Promise<ServeOneResult> {
  const result = await serveOneRequestLine(handler, line, opts);
  if (result.reply instanceof Uint8Array)
    return { reply: ASCII_TEXT.decode(result.reply), stop: result.stop };
  return result as ServeOneResult;
}

/** serveOneRequest for the serving loop: a read_transport reply comes as bytes. */
export async function serveOneRequestLine(
  handler: ProjectApiHandler,
  line: string,
  opts: DispatchLineOptions = {},
): Promise<ServeOneLineResult> {
  const transport = matchTransportRequest(line);
  if (transport !== undefined)
    return serveTransportRequest(handler, transport, opts.allocateReply ?? newArray);
  const log = opts.log ?? silentLog;
  let request: PyValue;
  try {
    request = parseJsonExact(line);
  } catch (e) {
    log.error(`Caught error reading request: ${(e as Error).message}; the stream is not trusted, stopping`);
    return { stop: true };
  }

  let validated;
  try {
    validated = validateRequest(request);
  } catch (e) {
    const error: WireError =
      e instanceof JsonRpcError
        ? e.toWire()
        : {
            code: ErrorCode.serverError,
            message: "validating request",
            data: { traceback: formatTraceback(e) },
          };
    log.error(`Invalid request, stopping: ${error.message}`);
    return { reply: replyLine(null, "error", error), stop: true };
  }

  const id = validated.id ?? null;
  try {
    const bound = bindParams(validated.method, validated.params);
    if (validated.id === undefined) throw new NotificationRefused(validated.method);
    const result = await callHandler(handler, bound);
    if (result instanceof TransportData)
      return { reply: result.replyBytes(id, opts.allocateReply ?? newArray), stop: false };
    // Serialising inside the try: a result that is not JSON data becomes a -32000 reply.
    return { reply: replyLine(id, "result", result === undefined ? null : result), stop: false };
  } catch (e) {
    return { reply: replyLine(id, "error", errorToWire(e, validated.method)), stop: false };
  }
}
