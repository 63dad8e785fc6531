// JSON-RPC errors as the reference defines them (server.py `ErrorCode`, `JSONRPCError`,
// `ServerError` and subclasses). A ServerError subclass crosses the wire as its class name in
// `message`; `errorFromWire` maps it back.

import { pyRepr, pyTruthy } from "./json.js";

/** The reference's error codes. Only -32000, -32600, -32601 and -32602 are ever sent. */
export const ErrorCode = {
  serverError: -32000,
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const KNOWN_CODES = new Set<number>(Object.values(ErrorCode));

/** The `error` member of a JSON-RPC reply. `data` is always present (null or an object). */
export interface WireError {
  code: number;
  message: string;
  data: unknown;
}

/** An error object or reply that does not have the shape the protocol requires. */
export class WireFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WireFormatError";
  }
}

/** Python's `JSONRPCError.__str__`: `JSON-RPC error # {code}: {message}` plus traceback or data. */
export function formatJsonRpcError(code: number, message: string, data: unknown): string {
  let dataText = "";
  if (pyTruthy(data)) {
    const traceback =
      typeof data === "object" && data !== null && !Array.isArray(data)
        ? (data as Record<string, unknown>).traceback
        : undefined;
    dataText = pyTruthy(traceback) ? `\n${String(traceback)}` : `\n${pyRepr(data)}`;
  }
  return `JSON-RPC error # ${code}: ${message}${dataText}`;
}

export interface JsonRpcErrorOptions {
  /** What the client was doing, e.g. `calling method build` (shown before ServerError text). */
  context?: string;
  cause?: unknown;
}

/** An error with a JSON-RPC code, message and data. */
export class JsonRpcError extends Error {
  /** The message exactly as it travels on the wire (`message` adds code, context and traceback). */
  readonly wireMessage: string;
  readonly context: string | undefined;

  constructor(
    readonly code: number,
    message: string,
    readonly data: unknown = null,
    options: JsonRpcErrorOptions = {},
  ) {
    super("", options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.wireMessage = message;
    this.context = options.context;
    this.message = this.formatMessage();
  }

  protected formatMessage(): string {
    return formatJsonRpcError(this.code, this.wireMessage, this.data);
  }

  /** The `error` member of a reply. */
  toWire(): WireError {
    return { code: this.code, message: this.wireMessage, data: this.data ?? null };
  }

  /** Python's `str()` of the error: the same text as `message`. */
  override toString(): string {
    return this.message;
  }
}

/**
 * Code -32000: an error while running a valid request. Subclasses carry no message of their
 * own; their class name is the wire message (`IoTimeoutError`), which is how the kind of error
 * reaches the client. A plain ServerError must be given a message.
 */
export class ServerError extends JsonRpcError {
  constructor(message?: string, data: unknown = null, options: JsonRpcErrorOptions = {}) {
    let wireMessage = message;
    if (wireMessage === undefined) {
      if (new.target === ServerError) throw new TypeError("A plain ServerError must be given a message");
      wireMessage = new.target.name;
    }
    super(ErrorCode.serverError, wireMessage, data, options);
  }

  protected override formatMessage(): string {
    const prefix = this.context !== undefined ? `${this.context}: ` : "";
    return prefix + super.formatMessage();
  }
}

/** The transport can no longer move bytes (device gone, pipe closed, not open). */
export class TransportClosedError extends ServerError {
  constructor(data: unknown = null, options: JsonRpcErrorOptions = {}) {
    super("TransportClosedError", data, options);
  }
}

/** No data could be read, or not all data written, before the timeout. */
export class IoTimeoutError extends ServerError {
  constructor(data: unknown = null, options: JsonRpcErrorOptions = {}) {
    super("IoTimeoutError", data, options);
  }
}

/** The server does not support the TVM version given to server_info_query. */
export class UnsupportedTVMVersionError extends ServerError {
  constructor(data: unknown = null, options: JsonRpcErrorOptions = {}) {
    super("UnsupportedTVMVersionError", data, options);
  }
}

const SERVER_ERROR_KINDS: Record<string, new (data: unknown, options: JsonRpcErrorOptions) => ServerError> = {
  TransportClosedError,
  IoTimeoutError,
  UnsupportedTVMVersionError,
};

/**
 * The client's mapping of a reply's `error` member (the reference's `JSONRPCError.from_json`):
 * -32000 becomes the ServerError subclass named by `message` (or a plain ServerError) carrying
 * `context`; any other code, known or not, becomes a JsonRpcError. Throws `WireFormatError` when
 * the object is not `{code: integer, message: string, data?}`.
 */
export function errorFromWire(errorObject: unknown, context?: string): JsonRpcError {
  if (typeof errorObject !== "object" || errorObject === null || Array.isArray(errorObject))
    throw new WireFormatError(`error member must be an object; got ${pyRepr(errorObject)}`);
  const { code, message } = errorObject as Record<string, unknown>;
  const data = (errorObject as Record<string, unknown>).data ?? null;
  if (typeof code !== "number" || !Number.isInteger(code))
    throw new WireFormatError(`error.code must be an integer; got ${pyRepr(code)}`);
  if (typeof message !== "string")
    throw new WireFormatError(`error.message must be a string; got ${pyRepr(message)}`);
  if (code === ErrorCode.serverError) {
    const Kind = Object.prototype.hasOwnProperty.call(SERVER_ERROR_KINDS, message)
      ? SERVER_ERROR_KINDS[message]
      : undefined;
    return Kind ? new Kind(data, { context }) : new ServerError(message, data, { context });
  }
  // Unknown codes (e.g. -32001 from another implementation) are still errors, not crashes.
  return new JsonRpcError(code, message, data, { context });
}

/** True for the six codes the reference knows. */
export function isKnownErrorCode(code: number): code is ErrorCode {
  return KNOWN_CODES.has(code);
}
