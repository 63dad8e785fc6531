// Writing a Project API server: implement ProjectApiHandler, call runServer(handler).
// No runtime dependencies: this layer is bundled into generated projects.
export type { ProjectApiHandler, ProjectOptions, GenerateProjectArgs, Awaitable } from "./handler.js";
export { serveOneRequest, errorToWire } from "./dispatch.js";
export type { ServeOneResult, DispatchOptions } from "./dispatch.js";
export { serveChannel } from "./serve.js";
export type { ServeOptions, ServeEnd, ServeEndReason } from "./serve.js";
export { runServer, parseServerArgs, UsageError, SERVER_USAGE } from "./main.js";
export type { ServerArgs, RunServerOptions } from "./main.js";
export { createStderrLog, silentLog } from "./log.js";
export type { ServerLog } from "./log.js";
export { formatTraceback } from "./traceback.js";
export { acquireLock, tryLock, describeHolder, LockBusyError } from "./directory-lock.js";
export type { DirectoryLock, LockHolder, AcquireOptions } from "./directory-lock.js";
// Re-exported so a server needs one import for the errors it throws and the types it returns.
export {
  ServerError,
  IoTimeoutError,
  TransportClosedError,
  UnsupportedTVMVersionError,
  JsonRpcError,
  ErrorCode,
  defaultProjectOptions,
  PROTOCOL_VERSION,
} from "../protocol/index.js";
export type { ServerInfo, ProjectOption, TransportTimeouts, JsonValue } from "../protocol/index.js";
