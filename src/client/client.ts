// The request/reply side of the Project API: one request in flight, the reference's reply checks,
// per-request time limits, and immediate failure when the server process dies.
import { createStreamChannel, type Channel } from "../channel/index.js";
import {
  PROTOCOL_VERSION,
  b85decode,
  errorFromWire,
  isNullReply,
  matchReadTransportReply,
  paramsToWire,
  pyRepr,
  readTransportRequestLine,
  serverInfoFromWire,
  timeoutsFromWire,
  type MethodName,
  type ServerInfo,
  type TransportTimeouts,
  type WireServerInfo,
  type WireTimeouts,
  writeTransportRequestLine,
} from "../protocol/index.js";
import {
  ConnectionShutdownError,
  MalformedReplyError,
  MismatchedIdError,
  RequestTimeoutError,
  ServerExitedError,
  UnsupportedProtocolVersionError,
  type ServerExit,
} from "./errors.js";
import { launchServer, type LaunchOptions, type ServerProcess, type StopOptions } from "./launch.js";
import type { ProjectOptions } from "./options.js";

/**
 * The TVM version sent in server_info_query: the version at the reference commit, which is what
 * TVM-era servers expect to see (none of the reference templates checks it).
 */
export const DEFAULT_TVM_VERSION = "0.19.dev0";

/** Time limits (ms) for one request, by method; `default` covers methods not listed. */
export type RequestTimeouts = Partial<Record<MethodName | "default", number>>;

/**
 * Default limits: builds and flashes run compilers and programmers (30 min); generating copies
 * trees (10 min); opening a transport may boot an emulator (5 min); the first reply may wait for a
 * launch script's set-up (3 min); everything else is quick (30 s).
 * read_transport and write_transport get their own `timeout_sec` plus `transportMarginMs`.
 */
export const DEFAULT_REQUEST_TIMEOUTS: Readonly<Record<MethodName | "default", number>> = {
  default: 30_000,
  // The first reply may wait for a launch script to set up its environment (TVM's arduino
  // template creates a virtual environment and pip-installs into it).
  server_info_query: 3 * 60_000,
  generate_project: 10 * 60_000,
  build: 30 * 60_000,
  flash: 30 * 60_000,
  open_transport: 5 * 60_000,
  close_transport: 30_000,
  read_transport: 30_000,
  write_transport: 30_000,
};

export interface ClientOptions {
  /** Per-method limits replacing the defaults (ms). */
  requestTimeouts?: RequestTimeouts;
  /** Added to a transport call's own `timeout_sec`. Default 30 s. */
  transportMarginMs?: number;
  /** How long close() lets the server exit on EOF, then after SIGTERM. */
  stop?: StopOptions;
  /** Runs after a request line is written and before its reply is read (tests step a server here). */
  onRequestWritten?: (line: string) => void | Promise<void>;
  /**
   * Cancels the connection: on abort the call in flight fails with the signal's reason, and the
   * server and what it started are stopped as by close().
   */
  signal?: AbortSignal;
}

export interface GenerateProjectParams {
  modelLibraryFormatPath: string;
  standaloneCrtDir: string;
  projectDir: string;
  options?: ProjectOptions;
}

/** Outcome of waiting for one reply. */
type Wait =
  | { kind: "line"; line: string | undefined }
  | { kind: "unreadable"; error: unknown }
  | { kind: "timeout" }
  | { kind: "aborted"; error: Error }
  | { kind: "exit"; exit: ServerExit };

/**
 * A client for one Project API server. Calls are queued and sent one at a time (the protocol is
 * strictly lock-step). Request ids start at 1; each request is `{"jsonrpc", "method", "params", "id"}`
 * in that order. After EOF, a timeout, a malformed reply or close(), every call fails with
 * ConnectionShutdownError.
 */
export class ProjectApiClient {
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  /** Exchanges queued or running (see enqueue). */
  private pending = 0;
  private shutdown = false;
  private closing: Promise<void> | undefined;
  private readonly timeouts: Record<string, number>;
  private readonly marginMs: number;
  /** Ends the wait of the call in flight (a line, a timeout, the server's exit, or close()). */
  private settlePending: ((outcome: Wait) => void) | undefined;
  private markClosed: () => void = () => {};
  /** Settles when close() has finished. */
  private readonly closed = new Promise<void>((resolve) => (this.markClosed = resolve));

  constructor(
    private readonly channel: Channel,
    private readonly options: ClientOptions & { process?: ServerProcess } = {},
  ) {
    this.timeouts = { ...DEFAULT_REQUEST_TIMEOUTS, ...options.requestTimeouts };
    void options.process?.exited.then((exit) => this.settlePending?.({ kind: "exit", exit }));
    this.marginMs = options.transportMarginMs ?? 30_000;
    const { signal } = options;
    if (signal) {
      const abort = () => void this.shutDown(signal.reason).catch(() => {});
      if (signal.aborted) abort();
      else {
        signal.addEventListener("abort", abort, { once: true });
        void this.closed.then(() => signal.removeEventListener("abort", abort));
      }
    }
  }

  /** Launches the server found in `projectDir` (see findServer for the precedence) and connects. */
  static async launch(
    projectDir: string,
    options: ClientOptions & LaunchOptions = {},
  ): Promise<ProjectApiClient> {
    options.signal?.throwIfAborted();
    const server = await launchServer(projectDir, options);
    const channel = createStreamChannel(server.fromServer, server.toServer);
    return new ProjectApiClient(channel, { ...options, process: server });
  }

  /** The server process, when this client launched one. */
  get process(): ServerProcess | undefined {
    return this.options.process;
  }

  get isShutdown(): boolean {
    return this.shutdown;
  }

  /** server_info_query, with the protocol version checked; the reply as sent (snake_case). */
  async serverInfoQueryWire(tvmVersion: string = DEFAULT_TVM_VERSION): Promise<WireServerInfo> {
    const reply = await this.call("server_info_query", paramsToWire("server_info_query", { tvmVersion }));
    if (!isObject(reply)) {
      throw new MalformedReplyError(`server_info_query returned ${pyRepr(reply)}; want an object`);
    }
    if (reply.protocol_version !== PROTOCOL_VERSION) {
      throw new UnsupportedProtocolVersionError(reply.protocol_version, PROTOCOL_VERSION);
    }
    return reply as unknown as WireServerInfo;
  }

  /** server_info_query, with the protocol version checked, in camelCase. */
  async serverInfoQuery(tvmVersion: string = DEFAULT_TVM_VERSION): Promise<ServerInfo> {
    const wire = await this.serverInfoQueryWire(tvmVersion);
    try {
      return serverInfoFromWire(wire);
    } catch (error) {
      throw new MalformedReplyError(
        `server_info_query returned an unusable result: ${messageOf(error)}`,
        undefined,
        {
          cause: error,
        },
      );
    }
  }

  async generateProject(params: GenerateProjectParams): Promise<unknown> {
    return this.call(
      "generate_project",
      paramsToWire("generate_project", { ...params, options: params.options ?? {} }),
    );
  }

  async build(options: ProjectOptions = {}): Promise<unknown> {
    return this.call("build", paramsToWire("build", { options }));
  }

  async flash(options: ProjectOptions = {}): Promise<unknown> {
    return this.call("flash", paramsToWire("flash", { options }));
  }

  /** open_transport; returns the session timeouts the server reported. */
  async openTransport(options: ProjectOptions = {}): Promise<TransportTimeouts> {
    const reply = await this.call("open_transport", paramsToWire("open_transport", { options }));
    if (!isObject(reply) || !isObject(reply.timeouts)) {
      throw new MalformedReplyError(`open_transport returned ${pyRepr(reply)}; want {"timeouts": {...}}`);
    }
    try {
      return timeoutsFromWire(reply.timeouts as unknown as WireTimeouts);
    } catch (error) {
      throw new MalformedReplyError(
        `open_transport returned unusable timeouts: ${messageOf(error)}`,
        undefined,
        {
          cause: error,
        },
      );
    }
  }

  async closeTransport(): Promise<void> {
    await this.call("close_transport", {});
  }

  /** read_transport: 1..n bytes, IoTimeoutError when none arrive within `timeoutSec` (null: wait). */
  async readTransport(n: number, timeoutSec: number | null): Promise<Uint8Array> {
    const [reply] = await this.enqueue([readRequest(n, timeoutSec, this.transportLimit(timeoutSec))]);
    if (reply!.error !== undefined) throw reply!.error;
    return readTransportData(reply!.result);
  }

  /**
   * write_transport then read_transport, sent together in one pipe write and answered in order:
   * one round trip through the server where the two calls take two. The server still runs them one
   * after the other, exactly as if they came apart. Rejects with the write's error when the write
   * fails (the read's reply is still taken off the channel); otherwise resolves with the read's
   * bytes, or `{ readError }` with the error readTransport would have thrown.
   */
  writeThenReadTransport(
    data: Uint8Array,
    writeTimeoutSec: number | null,
    n: number,
    readTimeoutSec: number | null,
  ): Promise<Uint8Array | { readError: unknown }> {
    const requests: [Request, Request] = [
      writeRequest(data, writeTimeoutSec, this.transportLimit(writeTimeoutSec)),
      readRequest(n, readTimeoutSec, this.transportLimit(readTimeoutSec)),
    ];
    return this.enqueue(requests).then(([written, read]) => {
      if (written!.error !== undefined) throw written!.error;
      if (read!.error !== undefined) return { readError: read!.error };
      try {
        return readTransportData(read!.result);
      } catch (error) {
        return { readError: error };
      }
    });
  }

  /** write_transport: all of `data` or an error (IoTimeoutError, TransportClosedError). */
  async writeTransport(data: Uint8Array, timeoutSec: number | null): Promise<void> {
    const [reply] = await this.enqueue([writeRequest(data, timeoutSec, this.transportLimit(timeoutSec))]);
    if (reply!.error !== undefined) throw reply!.error;
  }

  /** A byte transport over this client's *_transport methods (see ProjectTransport). */
  transport(options: ProjectOptions = {}): ProjectTransport {
    return new ProjectTransport(this, options);
  }

  /**
   * Sends any method with any params and returns the raw `result`. The typed methods use this;
   * it is public for tools that probe servers (conformance) and for tests.
   */
  async call(method: string, params: unknown, timeoutMs?: number): Promise<unknown> {
    const timeout = timeoutMs ?? this.timeouts[method] ?? this.timeouts.default!;
    const [reply] = await this.enqueue([{ method, params, timeoutMs: timeout }]);
    if (reply!.error !== undefined) throw reply!.error;
    return reply!.result;
  }

  /**
   * exchangeAll, once every call queued before has finished (the protocol is lock-step): at once
   * when none is pending.
   */
  private enqueue(requests: readonly Request[]): Promise<{ result?: unknown; error?: unknown }[]> {
    const exchange = () => this.exchangeAll(requests);
    const run = this.pending === 0 ? exchange() : this.queue.then(exchange, exchange);
    this.pending++;
    const done = () => {
      this.pending--;
    };
    this.queue = run.then(done, done);
    return run;
  }

  /**
   * Ends the connection and the server: pending and queued calls fail with
   * ConnectionShutdownError, the pipes close (close_transport is not sent), and a launched server
   * is stopped by the ladder (EOF, ~1 s, SIGTERM, SIGKILL) and reaped. Idempotent.
   */
  close(): Promise<void> {
    return this.shutDown();
  }

  /** close(), failing the call in flight with `reason` (an abort) when it is an Error. */
  private shutDown(reason?: unknown): Promise<void> {
    this.closing ??= this.doClose(reason).finally(() => this.markClosed());
    return this.closing;
  }

  private async doClose(reason?: unknown): Promise<void> {
    this.shutdown = true;
    this.settlePending?.({
      kind: "aborted",
      error:
        reason instanceof Error
          ? reason
          : new ConnectionShutdownError("connection closed while waiting for a reply"),
    });
    const closed = this.channel.close().catch(() => {});
    const server = this.options.process;
    // With a process, the ladder closes the pipes itself and must not wait for a full pipe to drain.
    if (server) await server.stop(this.options.stop);
    else await closed;
  }

  private transportLimit(timeoutSec: number | null): number {
    if (timeoutSec === null || !Number.isFinite(timeoutSec)) return this.timeouts.build!;
    return Math.max(0, timeoutSec) * 1000 + this.marginMs;
  }

  /**
   * Writes the requests' lines in one write, then takes their replies in order. A failure that
   * ends the connection (a broken pipe, EOF, an unreadable or mismatched reply) is thrown; a reply
   * that is an error is returned in its slot, after the later replies were taken too.
   */
  private async exchangeAll(requests: readonly Request[]): Promise<{ result?: unknown; error?: unknown }[]> {
    this.options.signal?.throwIfAborted();
    if (this.shutdown) throw new ConnectionShutdownError("connection already closed");
    const ids = requests.map(() => this.nextId++);
    const lines = requests.map(
      (r, i): string | Uint8Array =>
        r.line?.(ids[i]!) ??
        JSON.stringify({ jsonrpc: "2.0", method: r.method, params: r.params, id: ids[i] }),
    );
    const server = this.options.process;
    try {
      await this.channel.writeLine(joinLines(lines));
      const { onRequestWritten } = this.options;
      if (onRequestWritten)
        for (const line of lines)
          await onRequestWritten(typeof line === "string" ? line : ASCII_TEXT.decode(line));
    } catch (error) {
      // The pipe broke: the server is gone or going; report its exit when it comes.
      const exit = server ? (server.exit ?? (await within(server.exited, 500))) : undefined;
      this.shutDownInBackground();
      const method = requests[0]!.method;
      if (server && exit) throw new ServerExitedError(method, exit, server.stderrTail());
      throw new ConnectionShutdownError(`cannot send ${method}: ${messageOf(error)}`, { cause: error });
    }

    const replies: { result?: unknown; error?: unknown }[] = [];
    for (let i = 0; i < requests.length; i++) {
      const { method, timeoutMs } = requests[i]!;
      const reply = await this.awaitLine(method, timeoutMs);
      if (reply === undefined) {
        // EOF: usually the server exited; give its exit a moment to be reported with the code.
        const exit = server ? (server.exit ?? (await within(server.exited, 500))) : undefined;
        this.shutDownInBackground();
        if (server && exit) throw new ServerExitedError(method, exit, server.stderrTail());
        throw new ConnectionShutdownError("got EOF reading reply from API server");
      }
      const quick = requests[i]!.quickResult?.(reply, ids[i]!);
      if (quick !== undefined) {
        replies.push({ result: quick });
        continue;
      }
      try {
        replies.push({ result: this.checkReply(method, ids[i]!, reply) });
      } catch (error) {
        // A reply the stream cannot be trusted after ends the connection; an error reply does not.
        if (this.shutdown) throw error;
        replies.push({ error });
      }
    }
    return replies;
  }

  private async awaitLine(method: string, timeoutMs: number): Promise<string | undefined> {
    // A line already here (the second of two replies that came together) needs no wait.
    if (this.channel.hasBufferedLine?.() === true) return this.channel.readLine();
    const server = this.options.process;
    const read = this.channel.readLine().then(
      (line): Wait => ({ kind: "line", line }),
      (error: unknown): Wait => ({ kind: "unreadable", error }),
    );
    let timer: NodeJS.Timeout | undefined;
    // One settle function per call, fed by the read, the timer, the exit watcher and close().
    // (Racing the long-lived exit promise each call would pile up reactions on it.)
    const first = new Promise<Wait>((settle) => {
      this.settlePending = settle;
      void read.then(settle);
      timer = setTimeout(() => settle({ kind: "timeout" }), timeoutMs);
      if (server?.exit) settle({ kind: "exit", exit: server.exit });
    });
    try {
      let outcome = await first;
      if (outcome.kind === "aborted") throw outcome.error;
      if (outcome.kind === "exit") {
        // A reply written just before exiting may still be in the pipe; anything later is lost.
        // (Waiting for EOF is not enough: a child of the server may hold the pipe open.)
        outcome = (await within(read, 200)) ?? outcome;
      }
      if (outcome.kind === "line") return outcome.line;
      this.shutDownInBackground();
      if (outcome.kind === "unreadable") {
        // Invalid UTF-8 or an endless line: the stream cannot be trusted any more.
        throw new MalformedReplyError(
          `reply to ${method} is unreadable: ${messageOf(outcome.error)}`,
          undefined,
          {
            cause: outcome.error,
          },
        );
      }
      if (outcome.kind === "timeout") throw new RequestTimeoutError(method, timeoutMs);
      if (outcome.kind === "aborted") throw outcome.error;
      throw new ServerExitedError(method, outcome.exit, server!.stderrTail());
    } finally {
      clearTimeout(timer);
      this.settlePending = undefined;
    }
  }

  private checkReply(method: string, id: number, line: string): unknown {
    let reply: unknown;
    try {
      reply = JSON.parse(line);
    } catch (error) {
      this.shutDownInBackground();
      throw new MalformedReplyError(
        `reply to ${method} is not JSON (${messageOf(error)}): ${clip(line)}`,
        line,
        {
          cause: error,
        },
      );
    }
    if (!isObject(reply)) {
      this.shutDownInBackground();
      throw new MalformedReplyError(`reply to ${method} is not a JSON object: ${clip(line)}`, line);
    }
    if (reply.jsonrpc !== "2.0") {
      this.shutDownInBackground();
      throw new MalformedReplyError(
        `Server reply should include 'jsonrpc': '2.0'; saw jsonrpc=${pyRepr(reply.jsonrpc ?? null)}`,
        line,
      );
    }
    if (!Object.hasOwn(reply, "id")) {
      this.shutDownInBackground();
      throw new MalformedReplyError(`reply to ${method} has no "id": ${clip(line)}`, line);
    }
    if (reply.id !== id) {
      // The stream is out of step: later replies would be matched with the wrong requests.
      this.shutDownInBackground();
      throw new MismatchedIdError(reply.id, id);
    }
    if (Object.hasOwn(reply, "error")) {
      if (!isObject(reply.error)) {
        this.shutDownInBackground();
        throw new MalformedReplyError(
          `reply to ${method} has "error": ${pyRepr(reply.error)}; want an object`,
          line,
        );
      }
      let mapped: Error;
      try {
        mapped = errorFromWire(reply.error, `calling method ${method}`);
      } catch (error) {
        this.shutDownInBackground();
        throw new MalformedReplyError(
          `reply to ${method} has a malformed "error": ${messageOf(error)}`,
          line,
          {
            cause: error,
          },
        );
      }
      throw mapped;
    }
    if (!Object.hasOwn(reply, "result")) {
      this.shutDownInBackground();
      throw new MalformedReplyError(`Expected 'result' key in server reply, got ${pyRepr(reply)}`, line);
    }
    return reply.result;
  }

  /** Marks the client shut down now and stops the server without making the caller wait for it. */
  private shutDownInBackground(): void {
    this.shutdown = true;
    void this.close().catch(() => {});
  }
}

/**
 * The byte transport of a project over the Project API, for sessions: open (open_transport),
 * read/write with timeouts, close (close_transport). Unlike the reference, close() does not shut
 * the client down, so a project can open its transport again.
 */
export class ProjectTransport {
  private openTimeouts: TransportTimeouts | undefined;

  constructor(
    private readonly client: ProjectApiClient,
    private readonly options: ProjectOptions,
  ) {}

  async open(): Promise<TransportTimeouts> {
    this.openTimeouts = await this.client.openTransport(this.options);
    return this.openTimeouts;
  }

  /** The timeouts open() returned. */
  timeouts(): TransportTimeouts {
    if (!this.openTimeouts) throw new Error("transport not open yet: call open() first");
    return this.openTimeouts;
  }

  get isOpen(): boolean {
    return this.openTimeouts !== undefined;
  }

  read(n: number, timeoutSec: number | null): Promise<Uint8Array> {
    return this.client.readTransport(n, timeoutSec);
  }

  write(data: Uint8Array, timeoutSec: number | null): Promise<void> {
    return this.client.writeTransport(data, timeoutSec);
  }

  /** write() then read() in one round trip (see ProjectApiClient.writeThenReadTransport). */
  writeThenRead(
    data: Uint8Array,
    writeTimeoutSec: number | null,
    n: number,
    readTimeoutSec: number | null,
  ): Promise<Uint8Array | { readError: unknown }> {
    return this.client.writeThenReadTransport(data, writeTimeoutSec, n, readTimeoutSec);
  }

  /** close_transport, unless the client is already shut down (then there is nothing to close). */
  async close(): Promise<void> {
    this.openTimeouts = undefined;
    if (!this.client.isShutdown) await this.client.closeTransport();
  }
}

interface Request {
  method: string;
  params: unknown;
  /** Builds the request line for an id, instead of JSON.stringify of the envelope. */
  line?: (id: number) => string | Uint8Array;
  timeoutMs: number;
  /**
   * The result straight from a success reply in the usual shape (see transport-lines);
   * undefined sends the line through checkReply.
   */
  quickResult?: (line: string, id: number) => unknown;
}

function writeRequest(data: Uint8Array, timeoutSec: number | null, timeoutMs: number): Request {
  return {
    method: "write_transport",
    params: null,
    line: (id) => writeTransportRequestLine(data, timeoutSec, id),
    timeoutMs,
    quickResult: (line, id) => (isNullReply(line, id) ? null : undefined),
  };
}

function readRequest(n: number, timeoutSec: number | null, timeoutMs: number): Request {
  return {
    method: "read_transport",
    params: null,
    line: (id) => readTransportRequestLine(n, timeoutSec, id),
    timeoutMs,
    quickResult: matchReadTransportReply,
  };
}

const ASCII_TEXT = new TextDecoder("utf-8");

/** Request lines joined by "\n", as one string, or as bytes when any line is bytes. */
function joinLines(lines: readonly (string | Uint8Array)[]): string | Uint8Array {
  if (lines.length === 1) return lines[0]!;
  if (lines.every((l) => typeof l === "string")) return lines.join("\n");
  let size = lines.length - 1;
  for (const line of lines) size += typeof line === "string" ? Buffer.byteLength(line, "utf8") : line.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  lines.forEach((line, i) => {
    if (i > 0) out[at++] = 0x0a;
    // A string goes straight into the joined buffer: no buffer of its own.
    if (typeof line === "string") at += out.write(line, at, "utf8");
    else {
      out.set(line, at);
      at += line.length;
    }
  });
  return out;
}

/** The bytes of a read_transport result ({"data": "<base85>"}, or its bytes already decoded). */
function readTransportData(reply: unknown): Uint8Array {
  if (reply instanceof Uint8Array) return reply;
  if (!isObject(reply) || typeof reply.data !== "string") {
    throw new MalformedReplyError(`read_transport returned ${pyRepr(reply)}; want {"data": "<base85>"}`);
  }
  try {
    return b85decode(reply.data);
  } catch (error) {
    throw new MalformedReplyError(
      `read_transport returned invalid base85 data: ${messageOf(error)}`,
      undefined,
      {
        cause: error,
      },
    );
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function clip(line: string, max = 200): string {
  return line.length > max ? `${line.slice(0, max)}… (${line.length} characters)` : line;
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((res) => {
    const timer = setTimeout(() => res(undefined), ms);
    void promise.then(
      (v) => {
        clearTimeout(timer);
        res(v);
      },
      () => {
        clearTimeout(timer);
        res(undefined);
      },
    );
  });
}
