// One command at a time per project: build, flash, run, monitor and create-project --force take
// the project's lock for as long as the command runs (it is released when the process exits).
// The lock files live in the cache directory, keyed by the project's real path, so a project
// that is renamed aside (create-project --force) or not generated yet (run <archive>) is covered.
import { interruptSignal, interruptedError } from "../cancel.js";
import { createHash } from "node:crypto";
import { existsSync, realpathSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { acquireLock, describeHolder, LockBusyError } from "../../server/index.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { fileErrorToCliError, makeDirectories } from "../file-errors.js";
import { cacheRoot } from "../../device/index.js";

/** `MICROTVM_LOCK_WAIT_SEC`: how long a command waits for a busy project (default 0: refuse at once). */
function waitMs(env: NodeJS.ProcessEnv): number {
  const text = env.MICROTVM_LOCK_WAIT_SEC;
  if (text === undefined || text.trim() === "") return 0;
  const sec = Number(text);
  if (!Number.isFinite(sec) || sec < 0)
    throw new CliError(
      `MICROTVM_LOCK_WAIT_SEC=${JSON.stringify(text)} is not a number of seconds >= 0`,
      ExitCode.usage,
    );
  return sec * 1000;
}

/** The real path of `dir`, or of its nearest existing parent joined with the rest. */
function realPath(dir: string): string {
  const path = resolve(dir);
  if (existsSync(path)) return realpathSync(path);
  const parent = dirname(path);
  return parent === path ? path : join(realPath(parent), basename(path));
}

/** The lock file for a project directory. */
export function projectLockFile(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  const key = createHash("sha256").update(realPath(dir)).digest("hex").slice(0, 32);
  return join(cacheRoot(env), "locks", `${key}.lock`);
}

/**
 * Takes the lock of the project `dir` for `command` until this process exits. A busy project is
 * waited for up to MICROTVM_LOCK_WAIT_SEC (saying so on stderr), else refused with exit code 4
 * naming the command that holds it. A lock left by a process that is gone is taken over.
 */
export async function lockProject(
  dir: string,
  command: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const file = projectLockFile(dir, env);
  const what = `project ${resolve(dir)}`;
  try {
    // One level at a time: a recursive mkdir under /proc never returns.
    try {
      makeDirectories(dirname(file));
    } catch (error) {
      throw new CliError(
        `cannot create the project cache lock directory ${dirname(file)}: ${fileErrorToCliError(error)?.message ?? (error as Error).message}; set MICROTVM_CACHE_DIR to a writable directory`,
        ExitCode.badInput,
        { cause: error },
      );
    }
    await acquireLock(file, `microtvm ${command}`, {
      waitMs: waitMs(env),
      // Ctrl-C ends a wait for a busy project.
      signal: interruptSignal(),
      what,
      onWait: (holder) => process.stderr.write(`microtvm: waiting for ${what}: ${describeHolder(holder)}\n`),
    });
  } catch (error) {
    if (interruptSignal().aborted) throw interruptedError();
    if (error instanceof LockBusyError)
      throw new CliError(
        `${error.message}; wait for it to finish (or set MICROTVM_LOCK_WAIT_SEC to wait)`,
        ExitCode.busy,
      );
    if (error instanceof CliError) throw error;
    throw new CliError(
      `cannot lock ${what} in ${dirname(file)}: ${(error as Error).message}; set MICROTVM_CACHE_DIR to a writable directory`,
      ExitCode.badInput,
      { cause: error },
    );
  }
}
