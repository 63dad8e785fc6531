// The one way a command is cancelled: Ctrl-C aborts an AbortSignal that the command passes to
// everything it starts (Project API clients, hence servers and their builds, device sessions,
// waits). What was aborted fails; the failure becomes exit code 130.
import { CliError, ExitCode } from "./exit-codes.js";

export const INTERRUPTED_MESSAGE = "interrupted; everything the command started was stopped";

/** The error a cancelled command ends with (exit 130). */
export function interruptedError(): CliError {
  return new CliError(INTERRUPTED_MESSAGE, ExitCode.interrupted);
}

/** Aborted by the first Ctrl-C; one per process, as there is one command per process. */
const controller = new AbortController();
let listening = false;

/**
 * From now on Ctrl-C aborts the command's signal instead of killing the process. Called at
 * start-up, before the command's module loads, so that an early Ctrl-C is not lost.
 */
export function handleInterrupts(): void {
  if (listening) return;
  listening = true;
  process.on("SIGINT", () => controller.abort(interruptedError()));
}

/** The signal Ctrl-C aborts, for waits that happen outside {@link cancellable} (a busy project's lock). */
export function interruptSignal(): AbortSignal {
  return controller.signal;
}

/** True once Ctrl-C was pressed. */
export function interrupted(): boolean {
  return controller.signal.aborted;
}

/**
 * Runs `work` with the signal that Ctrl-C aborts. However `work` then fails (a closed server, a
 * closed session, the signal's own reason), the command ends as interrupted; work that finished
 * before the abort took effect stands. With `immediate` (work that starts no process and leaves
 * nothing to undo: reading an archive, probing tools) the command ends at once instead.
 */
export async function cancellable<T>(
  work: (signal: AbortSignal) => Promise<T>,
  { immediate = false }: { immediate?: boolean } = {},
): Promise<T> {
  handleInterrupts();
  const { signal } = controller;
  signal.throwIfAborted();
  const aborted = new Promise<never>((_, reject) =>
    signal.addEventListener("abort", () => reject(interruptedError()), { once: true }),
  );
  aborted.catch(() => {});
  try {
    return await (immediate ? Promise.race([work(signal), aborted]) : work(signal));
  } catch (error) {
    if (signal.aborted) throw interruptedError();
    throw error;
  }
}
