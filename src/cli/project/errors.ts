// Turning what a Project API call threw into the CLI's one-line error and exit code.
import { JsonRpcError, ServerError } from "../../protocol/index.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { cliErrorFrom } from "../options.js";

/**
 * The line of a traceback that names the error: the last line of a Python traceback, the first
 * line of a JavaScript stack (the lines after it are `at ...` frames, which mean nothing to a user).
 */
function tracebackErrorLine(data: unknown): string | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const traceback = (data as { traceback?: unknown }).traceback;
  if (typeof traceback !== "string") return undefined;
  const lines = traceback
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const isJsFrame = (line: string) => /^at\s/.test(line);
  if (lines.some(isJsFrame)) return lines.find((l) => !isJsFrame(l));
  return lines.pop();
}

/** True when `detail` ("Name: message" or "message") says nothing `text` does not say already. */
function repeats(text: string, detail: string): boolean {
  const message = detail.replace(/^[\w.]*(Error|Exception)\w*:\s*/, "");
  const firstLine = text.split("\n")[0] ?? text;
  return text.includes(message) || message.includes(firstLine);
}

/**
 * Maps an error from a call to a CliError: a server-side error (the server's own message, plus
 * the exception line for unexpected ones) exits 1; client-side errors keep their mapping
 * (bad options 2, missing project or server 3).
 */
export function projectCallError(error: unknown, what: string): unknown {
  if (error instanceof JsonRpcError) {
    let text = error.wireMessage;
    const detail = tracebackErrorLine(error.data);
    if (detail && !repeats(text, detail)) text += ` (${detail})`;
    const prefix =
      error instanceof ServerError
        ? `${what} failed on the Project API server`
        : `${what}: JSON-RPC error ${error.code}`;
    return new CliError(`${prefix}: ${text}`, ExitCode.failed, { cause: error });
  }
  return cliErrorFrom(error);
}
