// The one way a command is cancelled: Ctrl-C aborts an AbortSignal that the command passes to
// everything it starts (Project API clients, hence servers and their builds, device sessions,
// waits). What was aborted fails; the failure becomes exit code 130.
import { CliError, ExitCode } from "./exit-codes.js";

export const INTERRUPTED_MESSAGE = "interrupted; everything the command started was stopped";

/** The error a cancelled command ends with (exit 130). */
export function interruptedError(): CliError {
  return new CliError(INTERRUPTED_MESSAGE, ExitCode.interrupted);
}

/**
 * Runs `work` with a signal that SIGINT aborts. However `work` then fails (a closed server, a
 * closed session, the signal's own reason), the command ends as interrupted; work that finished
 * before the abort took effect stands. With `immediate` (work that starts no process and leaves
 * nothing to undo: reading an archive, probing tools) the command ends at once instead.
 */
export async function cancellable<T>(
  work: (signal: AbortSignal) => Promise<T>,
  { immediate = false }: { immediate?: boolean } = {},
): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => controller.abort(interruptedError());
  process.on("SIGINT", onSigint);
  const aborted = new Promise<never>((_, reject) =>
    controller.signal.addEventListener("abort", () => reject(interruptedError()), { once: true }),
  );
  aborted.catch(() => {});
  try {
    return await (immediate ? Promise.race([work(controller.signal), aborted]) : work(controller.signal));
  } catch (error) {
    if (controller.signal.aborted) throw interruptedError();
    throw error;
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
}
