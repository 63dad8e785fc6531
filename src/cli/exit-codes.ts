/**
 * The exit codes of the `microtvm` command: the one table the docs reproduce (README, "Exit codes").
 * Scripts rely on these numbers; never renumber one.
 */
export const ExitCode = {
  /** The command did what it was asked. */
  ok: 0,
  /** The operation failed: a server error, a build failure, a device error, a failed check. */
  failed: 1,
  /** Usage error: an unknown flag, a missing argument, an option value of the wrong type. */
  usage: 2,
  /** The input cannot be used: a missing or invalid archive, project or template directory. */
  badInput: 3,
  /** Another command holds the project (build, flash, run, monitor, create-project --force on it). */
  busy: 4,
  /** Interrupted by the user (SIGINT). */
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * The name of an exit code as `--json` error documents give it (`kind`): the code's key in
 * {@link ExitCode} in snake_case (`bad_input`), or `failed` for a code not in the table.
 */
export function exitKind(code: number): string {
  const entry = Object.entries(ExitCode).find(([, value]) => value === code);
  return entry ? entry[0].replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : "failed";
}

/** An error the CLI reports as one line on stderr and turns into an exit code, with no stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.failed,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "CliError";
  }
}
