export { CRC16_INIT, crc16, crc16Update } from "./crc16.js";
export {
  DEFAULT_MAX_PAYLOAD_BYTES,
  ESCAPE_NOP,
  ESCAPE_START,
  Framer,
  PACKET_START,
  Unframer,
  describeFrameDrop,
  encodeFrame,
} from "./framing.js";
export type { FrameDrop, FrameDropReason, UnframerOptions } from "./framing.js";
export {
  DEFAULT_SESSION_TIMEOUTS,
  INVALID_NONCE,
  MessageType,
  SESSION_HEADER_BYTES,
  SESSION_VERSION,
  Session,
  SessionCore,
  SessionState,
  encodeSessionMessage,
  nextNonce,
} from "./session.js";
export type {
  SessionCoreOptions,
  SessionEvent,
  SessionEvents,
  SessionOptions,
  SessionTimeouts,
} from "./session.js";
export {
  SessionError,
  SessionFrameError,
  SessionTerminatedError,
  SessionTimeoutError,
  SessionTransportError,
  isIoTimeoutError,
  isTransportClosedError,
} from "./errors.js";
export { ByteQueue, ChildProcessTransport, createMemoryTransportPair } from "./transport.js";
export type { ByteTransport, ChildProcessTransportOptions } from "./transport.js";
