// Turning what a Project API call threw into the CLI's one-line error and exit code.
import { JsonRpcError, ServerError } from "../../protocol/index.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { cliErrorFrom } from "../options.js";

/** The traceback's last non-empty line: for an unexpected exception, the error itself. */
function lastTracebackLine(data: unknown): string | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const traceback = (data as { traceback?: unknown }).traceback;
  if (typeof traceback !== "string") return undefined;
  return traceback
    .trim()
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .pop();
}

/**
 * Maps an error from a call to a CliError: a server-side error (the server's own message, plus
 * the exception line for unexpected ones) exits 1; client-side errors keep their mapping
 * (bad options 2, missing project or server 3).
 */
export function projectCallError(error: unknown, what: string): unknown {
  if (error instanceof JsonRpcError) {
    let text = error.wireMessage;
    const detail = lastTracebackLine(error.data);
    if (detail && !text.includes(detail)) text += ` (${detail})`;
    const prefix =
      error instanceof ServerError
        ? `${what} failed on the Project API server`
        : `${what}: JSON-RPC error ${error.code}`;
    return new CliError(`${prefix}: ${text}`, ExitCode.failed, { cause: error });
  }
  return cliErrorFrom(error);
}
