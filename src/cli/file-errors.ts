// Node's file-system errors ("ENOENT: no such file or directory, open 'x'") as one plain sentence
// naming the path and what to do, for errors no command turned into a CliError itself.
import { existsSync, mkdirSync, rmdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { CliError, ExitCode } from "./exit-codes.js";

const REASONS: Record<string, string> = {
  ENOENT: "does not exist",
  ENOTDIR: "has a part that is not a directory",
  EISDIR: "is a directory, where a file is needed",
  EACCES: "cannot be accessed (permission denied)",
  EPERM: "cannot be changed (operation not permitted)",
  EEXIST: "already exists",
  ENOTEMPTY: "is a directory that is not empty",
  EROFS: "is on a read-only file system",
  ENOSPC: "cannot be written: the disk is full",
};

/** A CliError for a Node system error on a path (exit 3: the path given cannot be used), else undefined. */
export function fileErrorToCliError(error: unknown): CliError | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, path, dest } = error as NodeJS.ErrnoException & { dest?: string };
  if (typeof code !== "string" || typeof path !== "string") return undefined;
  const { syscall } = error as NodeJS.ErrnoException;
  // mkdir says ENOENT for a parent that exists but takes no new directories (/proc, /sys).
  const reason =
    syscall === "mkdir" && code === "ENOENT"
      ? "cannot be made: its file system takes no new directories there"
      : REASONS[code];
  if (reason === undefined) return undefined;
  // A rename fails on its destination when that is a directory or not empty.
  const subject =
    dest !== undefined && (code === "EISDIR" || code === "ENOTEMPTY" || code === "EEXIST") ? dest : path;
  const exitCode = code === "ENOSPC" ? ExitCode.failed : ExitCode.badInput;
  return new CliError(`${subject} ${reason}`, exitCode, { cause: error });
}

/**
 * `mkdir -p` one directory at a time. Node's recursive mkdir never returns where mkdir fails
 * with ENOENT on an existing parent (under /proc, for example); this fails at once instead.
 * Returns the directories it made, outermost first; on failure removes them and rethrows.
 */
export function makeDirectories(path: string): string[] {
  const missing: string[] = [];
  for (let dir = resolve(path); !existsSync(dir); dir = dirname(dir)) {
    missing.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  const made: string[] = [];
  try {
    for (const dir of missing) {
      mkdirSync(dir);
      made.push(dir);
    }
  } catch (error) {
    removeEmptyDirectories(made);
    throw error;
  }
  return made;
}

/** Removes directories made by {@link makeDirectories}, innermost first, where they are empty. */
export function removeEmptyDirectories(dirs: readonly string[]): void {
  for (const dir of [...dirs].reverse()) {
    try {
      rmdirSync(dir);
    } catch {
      // Not empty, or already gone: leave it.
    }
  }
}
