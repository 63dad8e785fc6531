// Command-line pieces shared by the commands that talk to a Project API server: the repeatable
// `-o key=value` flag, the flags that control how a server is launched, and the mapping of
// client errors to the documented exit codes.
import type { Command } from "commander";
import { statSync } from "node:fs";
import { resolve } from "node:path";
import {
  NotATemplateProjectError,
  ProjectApiServerNotFoundError,
  ProjectOptionError,
  ServerExitedError,
  ServerLaunchError,
  TemplateProjectError,
  parseOptionAssignments,
  type LaunchOptions,
  type ProjectOptions,
} from "../client/index.js";
import type { ProjectOption } from "../protocol/index.js";
import { DeviceError } from "../device/index.js";
import { CliError, ExitCode } from "./exit-codes.js";
import { startupFailureHint } from "./server-start.js";

/** Commander collector for flags given once per value (`-o a=1 -o b=2`). */
export function collectRepeated(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Adds `-o, --project-option <key=value>` (repeatable; split at the first `=`). */
export function addProjectOptionFlag(command: Command, saved = false): Command {
  return command.option(
    "-o, --project-option <key=value>",
    "a project option, converted to its declared type (repeatable; bool: true/false, int: base 10)" +
      (saved
        ? "; given on a project directory it is saved there, once the command succeeded, for every later command"
        : ""),
    collectRepeated,
  );
}

/** Adds the flags that control how the project's server is started. */
export function addServerFlags(command: Command): Command {
  return command
    .option("--python <interpreter>", "Python interpreter for microtvm_api_server.py (default: python3)")
    .option("--verbose", "copy the server's stdout and stderr to stderr");
}

export interface ServerFlags {
  python?: string;
  verbose?: boolean;
}

/**
 * Adds `--standalone-crt-dir <dir>`: the C runtime sent to a template as `standalone_crt_dir`.
 * Only foreign templates (TVM's `crt`, `zephyr`, `arduino`) use it; ours copy this package's runtime.
 */
export function addStandaloneCrtFlag(command: Command): Command {
  return command.option(
    "--standalone-crt-dir <dir>",
    "the C runtime sent to the template as standalone_crt_dir, e.g. TVM's standalone_crt " +
      "(default: $TVM_STANDALONE_CRT_DIR when set, else this package's runtime/); the built-in " +
      "templates ignore it and always use this package's runtime/",
  );
}

/**
 * The `standalone_crt_dir` to send: the flag, else `$TVM_STANDALONE_CRT_DIR`, else undefined (the
 * client then sends this package's runtime). A named directory must exist.
 */
export function standaloneCrtDirFrom(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const given = flag ?? (env.TVM_STANDALONE_CRT_DIR || undefined);
  if (given === undefined) return undefined;
  const dir = resolve(given);
  const where = flag !== undefined ? "--standalone-crt-dir" : "$TVM_STANDALONE_CRT_DIR";
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new CliError(
      `${where} ${dir} does not exist; give TVM's standalone_crt directory`,
      ExitCode.badInput,
    );
  }
  if (!isDir) {
    throw new CliError(
      `${where} ${dir} is not a directory; give TVM's standalone_crt directory`,
      ExitCode.badInput,
    );
  }
  return dir;
}

/** Launch options from the server flags: server output goes to our stderr only with --verbose. */
export function launchOptionsFrom(flags: ServerFlags): LaunchOptions {
  return {
    python: flags.python,
    onOutput: flags.verbose ? (text) => process.stderr.write(text) : undefined,
  };
}

/** Parses `-o` assignments against the server's options; a bad one is a usage error (exit 2). */
export function parseProjectOptions(
  assignments: readonly string[] | undefined,
  projectOptions: readonly ProjectOption[],
  method?: string,
): ProjectOptions {
  try {
    return parseOptionAssignments(assignments ?? [], projectOptions, method);
  } catch (error) {
    throw cliErrorFrom(error);
  }
}

/** What a command expects to find in a directory: a generated project, a template, or either. */
export type ServerDirKind = "project" | "template" | "template-or-project";

/** The one line for a directory without a Project API server, saying what to give instead. */
export function notAProjectMessage(dir: string, expected: ServerDirKind = "project"): string {
  const create = `create one with \`microtvm create-project ${dir} <model.tar>\``;
  if (expected === "project") return `${dir}: not a microtvm project; ${create}`;
  const builtIn = "a built-in template's name (see microtvm templates)";
  if (expected === "template")
    return `${dir}: not a template (no Project API server in it); give a template directory or ${builtIn}`;
  return `${dir}: not a microtvm project or template (no Project API server in it); give a template directory or ${builtIn}, or ${create}`;
}

/** Maps an error from the client layer to a CliError carrying the documented exit code. */
export function cliErrorFrom(error: unknown, expected: ServerDirKind = "project"): unknown {
  if (error instanceof CliError) return error;
  if (error instanceof DeviceError) return deviceCliError(error);
  if (error instanceof ProjectOptionError)
    return new CliError(error.message, ExitCode.usage, { cause: error });
  if (error instanceof ServerExitedError) {
    const hint = startupFailureHint(error.stderrTail);
    if (hint) return new CliError(hint, ExitCode.badInput, { cause: error });
  }
  if (error instanceof ProjectApiServerNotFoundError) {
    return new CliError(notAProjectMessage(error.projectDir, expected), ExitCode.badInput, { cause: error });
  }
  if (
    error instanceof ServerLaunchError ||
    error instanceof NotATemplateProjectError ||
    error instanceof TemplateProjectError
  ) {
    return new CliError(error.message, ExitCode.badInput, { cause: error });
  }
  return error;
}

/** A device-layer error as the CLI reports it: a wrong argument exits 2, a bad file 3, firmware 1. */
export function deviceCliError(error: DeviceError): CliError {
  const exitCode =
    error.kind === "bad-argument"
      ? ExitCode.usage
      : error.kind === "bad-file"
        ? ExitCode.badInput
        : ExitCode.failed;
  return new CliError(error.message, exitCode, { cause: error });
}
