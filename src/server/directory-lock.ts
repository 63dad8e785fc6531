// One writer per directory: a lock file created with O_EXCL holding the holder's pid, command and
// start time. A lock whose process is gone (killed, crashed, rebooted) is taken over. Used by the
// template servers for their build directory and by the CLI for whole projects.
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";

/** Who holds a lock, as written in the lock file. */
export interface LockHolder {
  readonly pid: number;
  /** What the holder is doing, for people: `microtvm run ./proj`. */
  readonly command: string;
  /** ISO time the lock was taken. */
  readonly since: string;
  readonly host: string;
  /** The holder's start time in clock ticks since boot (Linux), to tell a reused pid apart. */
  readonly startTicks?: number;
}

/** The lock is held by a live process. */
export class LockBusyError extends Error {
  constructor(
    readonly lockFile: string,
    readonly holder: LockHolder,
    what: string,
  ) {
    super(`${what} is busy: ${describeHolder(holder)}`);
    this.name = "LockBusyError";
  }
}

export function describeHolder(holder: LockHolder): string {
  return `\`${holder.command}\` (pid ${holder.pid}${holder.host !== hostname() ? ` on ${holder.host}` : ""}) has held it since ${holder.since}`;
}

/** A held lock; release() is idempotent and also runs when the process exits. */
export interface DirectoryLock {
  readonly file: string;
  release(): void;
}

/** This process's start time in clock ticks since boot, from /proc (undefined elsewhere). */
function startTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[19]); // field 22 of stat(5), counted after the command name
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true; // cannot tell: assume it is
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  // The same pid, but a different process started since (pid reuse after a reboot or wrap).
  const ticks = startTicks(holder.pid);
  return !(holder.startTicks !== undefined && ticks !== undefined && ticks !== holder.startTicks);
}

function readHolder(file: string): LockHolder | undefined | "missing" {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as LockHolder;
    if (Number.isSafeInteger(parsed.pid) && typeof parsed.command === "string") return parsed;
  } catch {
    // being written, or damaged
  }
  return undefined;
}

/** A lock file that cannot be read as a holder and is older than this is damaged: taken over. */
const UNREADABLE_GRACE_MS = 2000;

function createLockFile(file: string, holder: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(file, "wx", 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  try {
    writeSync(fd, `${JSON.stringify(holder)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Removes a stale lock file, once: the takeover itself is guarded by an O_EXCL file, so two
 * processes that both find the holder dead cannot both remove a lock the other has just taken.
 */
function removeStale(file: string, stale: LockHolder | undefined): void {
  const guard = `${file}.takeover`;
  let fd: number;
  try {
    fd = openSync(guard, "wx");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    // Another process is taking over; a guard left by one that died is removed after a while.
    try {
      if (Date.now() - statSync(guard).mtimeMs > UNREADABLE_GRACE_MS) unlinkSync(guard);
    } catch {
      // gone already
    }
    return;
  }
  closeSync(fd);
  try {
    const now = readHolder(file);
    const same =
      now !== "missing" &&
      (now === undefined
        ? stale === undefined
        : stale !== undefined && now.pid === stale.pid && now.since === stale.since);
    if (same) unlinkSync(file);
  } finally {
    unlinkSync(guard);
  }
}

/** Tries once: the lock, or who holds it. Throws only on file-system errors (EACCES, ENOENT). */
export function tryLock(file: string, command: string): DirectoryLock | LockHolder {
  const me: LockHolder = {
    pid: process.pid,
    command,
    since: new Date().toISOString(),
    host: hostname(),
    startTicks: startTicks(process.pid),
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createLockFile(file, me)) return heldLock(file, me);
    const holder = readHolder(file);
    if (holder === "missing") continue; // released meanwhile
    if (holder === undefined) {
      let age = 0;
      try {
        age = Date.now() - statSync(file).mtimeMs;
      } catch {
        continue;
      }
      if (age < UNREADABLE_GRACE_MS)
        return {
          pid: 0,
          command: "(a process that is just taking the lock)",
          since: "now",
          host: hostname(),
        };
      removeStale(file, undefined);
      continue;
    }
    if (holder.pid === process.pid && holder.startTicks === me.startTicks)
      return { ...holder, command: `${holder.command} (this same process)` };
    if (isAlive(holder)) return holder;
    removeStale(file, holder);
  }
  const holder = readHolder(file);
  return typeof holder === "object"
    ? holder
    : { pid: 0, command: "(unknown)", since: "now", host: hostname() };
}

export interface AcquireOptions {
  /** How long to wait for a busy lock before giving up (default 0: refuse at once). */
  readonly waitMs?: number;
  /** Called once when the lock is busy and we wait for it. */
  readonly onWait?: (holder: LockHolder) => void;
  /** How the locked thing is named in the busy error: "project /x". */
  readonly what?: string;
  /** Cancels the wait. */
  readonly signal?: AbortSignal;
}

/** Takes the lock, waiting up to `waitMs` while a live process holds it; throws {@link LockBusyError}. */
export async function acquireLock(
  file: string,
  command: string,
  { waitMs = 0, onWait, what = file, signal }: AcquireOptions = {},
): Promise<DirectoryLock> {
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    const result = tryLock(file, command);
    if ("release" in result) return result;
    if (Date.now() >= deadline || signal?.aborted) throw new LockBusyError(file, result, what);
    if (!told) onWait?.(result);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, Math.min(200, Math.max(1, deadline - Date.now()))));
  }
}

function heldLock(file: string, me: LockHolder): DirectoryLock {
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off("exit", release);
    try {
      const now = readHolder(file);
      if (typeof now === "object" && now.pid === me.pid && now.since === me.since) unlinkSync(file);
    } catch {
      // the directory is gone: nothing to release
    }
  };
  process.on("exit", release);
  return { file, release };
}
