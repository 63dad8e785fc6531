// The wire contract of the microTVM Project API: no I/O, no dependencies.
export {
  PROTOCOL_VERSION,
  METHODS,
  METHOD_NAMES,
  isMethodName,
  paramsToWire,
  paramsFromWire,
} from "./methods.js";
export type { ApiParams, MethodName, MethodDescriptor, ParamType, WireParams } from "./methods.js";
export {
  ErrorCode,
  JsonRpcError,
  ServerError,
  IoTimeoutError,
  TransportClosedError,
  UnsupportedTVMVersionError,
  WireFormatError,
  errorFromWire,
  formatJsonRpcError,
  isKnownErrorCode,
} from "./errors.js";
export type { WireError, JsonRpcErrorOptions } from "./errors.js";
export { allocBytes, copyBytes } from "./bytes.js";
export { b85encode, b85encodeInto, b85EncodedLength, b85decode, Base85Error } from "./base85.js";
export {
  matchTransportRequest,
  matchReadTransportReply,
  isNullReply,
  readTransportRequestLine,
  writeTransportRequestLine,
} from "./transport-lines.js";
export type { TransportRequest } from "./transport-lines.js";
export { LineDecoder, InvalidUtf8Error, LineTooLongError, DEFAULT_MAX_LINE_BYTES } from "./line-decoder.js";
export type { LineDecoderOptions } from "./line-decoder.js";
export {
  PyFloat,
  JsonSyntaxError,
  parseJson,
  parseJsonExact,
  toPlain,
  pyJsonDumps,
  pyJsonString,
  pyRepr,
  pyStrRepr,
  pyFloatRepr,
  pyTypeName,
  pyTruthy,
} from "./json.js";
export type { JsonValue, PyValue } from "./json.js";
export {
  serverInfoToWire,
  serverInfoFromWire,
  timeoutsToWire,
  timeoutsFromWire,
  projectOptionToWire,
  projectOptionFromWire,
  defaultProjectOptions,
} from "./types.js";
export type {
  WireProjectOption,
  WireServerInfo,
  WireTimeouts,
  ProjectOption,
  ServerInfo,
  TransportTimeouts,
} from "./types.js";
export { validateRequest, bindParams } from "./validate.js";
export { MAX_TIMER_MS, timeoutMs, clampTimerMs } from "./timer.js";
export type { ValidatedRequest, BoundParams } from "./validate.js";
