// Errors raised on the client side of the Project API. Errors the *server* sends (JsonRpcError,
// ServerError and its subclasses) live in src/protocol; these are about the channel, the process
// and the caller's input.

/** Base class of every error this layer raises itself (the reference's ProjectAPIErrorBase). */
export class ProjectApiClientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A call was made after the client shut down, or the channel ended while waiting for a reply. */
export class ConnectionShutdownError extends ProjectApiClientError {}

/** How a server process ended: its exit code or the signal that killed it. */
export interface ServerExit {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Describes an exit for messages: `exit code 3` or `signal SIGKILL`. */
export function describeExit(exit: ServerExit): string {
  if (exit.signal) return `signal ${exit.signal}`;
  return `exit code ${exit.exitCode ?? "unknown"}`;
}

/**
 * The server process ended while a call was pending (or before it was made). Carries the exit
 * code or signal and the last lines the server wrote to stderr, which usually say why.
 */
export class ServerExitedError extends ConnectionShutdownError {
  constructor(
    readonly method: string | undefined,
    readonly exit: ServerExit,
    readonly stderrTail: string,
  ) {
    const during = method ? ` while waiting for the reply to ${method}` : "";
    const tail = stderrTail.trim() ? `; last stderr lines:\n${indent(stderrTail.trimEnd())}` : "";
    super(`Project API server exited with ${describeExit(exit)}${during}${tail}`);
  }
}

/** The reply line was not a usable JSON-RPC reply (not JSON, not an object, no id, bad keys). */
export class MalformedReplyError extends ProjectApiClientError {
  constructor(
    message: string,
    readonly line?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The reply's id is not the id of the request that is waiting for it. */
export class MismatchedIdError extends ProjectApiClientError {
  constructor(
    readonly replyId: unknown,
    readonly requestId: number,
  ) {
    super(`Reply id (${String(replyId)}) does not equal request id (${requestId})`);
  }
}

/** No reply came within the request's time limit. The client shuts down: the stream is out of step. */
export class RequestTimeoutError extends ProjectApiClientError {
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super(
      `no reply to ${method} within ${formatMs(timeoutMs)}; the server was stopped ` +
        `(raise the limit with the client's requestTimeouts option if the operation is expected to take longer)`,
    );
  }
}

/** The project directory has no server the launcher knows how to start. */
export class ProjectApiServerNotFoundError extends ProjectApiClientError {
  constructor(
    readonly projectDir: string,
    readonly tried: readonly string[],
  ) {
    super(`No Project API server found in project directory: ${projectDir}\nTried: ${tried.join(", ")}`);
  }
}

/** The server could not be started at all (spawn failed: not executable, interpreter missing...). */
export class ServerLaunchError extends ProjectApiClientError {}

/** server_info_query reported a protocol version other than the one this client speaks. */
export class UnsupportedProtocolVersionError extends ProjectApiClientError {
  constructor(
    readonly serverVersion: unknown,
    readonly wantVersion: number,
  ) {
    super(`microTVM API Server supports protocol version ${String(serverVersion)}; want ${wantVersion}`);
  }
}

/** A TemplateProject was pointed at a server reporting is_template: false. */
export class NotATemplateProjectError extends ProjectApiClientError {
  constructor(readonly projectDir: string | undefined) {
    super(
      `${projectDir ?? "the project"} is a generated project, not a template (its server reports ` +
        `is_template: false); generate from its template directory, or open it as a generated project`,
    );
  }
}

/** A GeneratedProject was pointed at a server reporting is_template: true. */
export class TemplateProjectError extends ProjectApiClientError {
  constructor(readonly projectDir: string | undefined) {
    super(
      `${projectDir ?? "the project"} is a template project, not a generated one (its server reports ` +
        `is_template: true, which usually means the model archive is missing); generate a project from it first`,
    );
  }
}

/** An option name or value the server does not declare or accept. The CLI reports it as a usage error. */
export class ProjectOptionError extends ProjectApiClientError {
  constructor(
    message: string,
    readonly option?: string,
  ) {
    super(message);
  }
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s` : `${ms} ms`;
}
