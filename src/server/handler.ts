// The interface a platform implements to be a Project API server: one method per wire method,
// camelCase, with bytes as Uint8Array. Every method may return a promise.

import type { JsonValue, ServerInfo, TransportTimeouts } from "../protocol/index.js";

export type Awaitable<T> = T | Promise<T>;

/** Option values as the client sent them (the reference sends every option, often null). */
export type ProjectOptions = Record<string, JsonValue>;

export interface GenerateProjectArgs {
  /** Path of the Model Library Format archive (tar) to put into the project. */
  modelLibraryFormatPath: string;
  /** Root of TVM's standalone C runtime (may be irrelevant to a platform). */
  standaloneCrtDir: string;
  /** A directory that should not exist yet; create it and fill it with the project. */
  projectDir: string;
  options: ProjectOptions;
}

/**
 * A Project API implementation. Throw `ServerError` (with a message) or one of its subclasses
 * (`IoTimeoutError`, `TransportClosedError`, `UnsupportedTVMVersionError`) to send that error;
 * any other exception becomes -32000 `calling method <name>` with its stack in data.traceback.
 */
export interface ProjectApiHandler {
  /** Metadata about this server and project; may throw UnsupportedTVMVersionError. */
  serverInfoQuery(tvmVersion: string): Awaitable<ServerInfo>;
  /** Create `projectDir` from the template, the model and the options. */
  generateProject(args: GenerateProjectArgs): Awaitable<void>;
  /** Build the project so flash() can run. */
  build(options: ProjectOptions): Awaitable<void>;
  /** Program the build onto the device. */
  flash(options: ProjectOptions): Awaitable<void>;
  /** Open the byte link to the device and say which session timeouts it needs. */
  openTransport(options: ProjectOptions): Awaitable<TransportTimeouts>;
  /** Close the byte link; a no-op when it is not open. */
  closeTransport(): Awaitable<void>;
  /**
   * Return 1..n bytes. Wait up to `timeoutSec` for the first byte (0 = poll, null = block)
   * and throw IoTimeoutError if none came; throw TransportClosedError when the link is gone.
   */
  readTransport(n: number, timeoutSec: number | null): Awaitable<Uint8Array>;
  /** Write all bytes within `timeoutSec` (null = block) or throw IoTimeoutError / TransportClosedError. */
  writeTransport(data: Uint8Array, timeoutSec: number | null): Awaitable<void>;
  /** Optional: release resources when the client goes away (EOF) or the server is terminated. */
  shutdown?(): Awaitable<void>;
}
