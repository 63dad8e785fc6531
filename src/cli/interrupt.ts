// Ctrl-C for the commands that wait on a project's server (build, flash, create-project): close
// what is open, so the server and its children (make, the compiler) are reaped, and end with 130.
import { CliError, ExitCode } from "./exit-codes.js";

/**
 * Runs `work` with SIGINT handled: `onInterrupt` closes whatever is open (which makes the pending
 * call fail), and that failure becomes exit code 130. A Ctrl-C that came while nothing was open
 * yet (a server still starting) is acted on at the next `checkpoint()` the work calls. Work that
 * finished anyway stands.
 */
export async function interruptible<T>(
  onInterrupt: () => Promise<unknown> | void,
  work: (checkpoint: () => void) => Promise<T>,
): Promise<T> {
  let interrupted = false;
  const handler = () => {
    interrupted = true;
    void Promise.resolve(onInterrupt()).catch(() => undefined);
  };
  const stopped = () =>
    new CliError("interrupted; the project's server and what it started were stopped", ExitCode.interrupted);
  const checkpoint = () => {
    if (interrupted) throw stopped();
  };
  process.on("SIGINT", handler);
  try {
    return await work(checkpoint);
  } catch (error) {
    if (interrupted) throw stopped();
    throw error;
  } finally {
    process.removeListener("SIGINT", handler);
  }
}
