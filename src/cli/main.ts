// The `microtvm` entry point. Start-up loads as little as possible: `--version` and the top-level
// help come from the catalog alone; any other command loads commander and that command's module
// only, and the command's module loads what its work needs.
import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { handleInterrupts, interrupted, interruptedError } from "./cancel.js";
import { COMMANDS, PROGRAM_DESCRIPTION, findCommand, topLevelHelp } from "./catalog.js";
import { CliError, ExitCode, exitKind } from "./exit-codes.js";
import { fileErrorToCliError } from "./file-errors.js";
import { printJson } from "./output.js";

export const ERROR_SCHEMA = "microtvm.error/1";

/** A device-layer error as the CLI reports it; loaded only when something failed. */
async function deviceError(error: unknown): Promise<CliError | undefined> {
  const { DeviceError } = await import("../device/errors.js");
  if (!(error instanceof DeviceError)) return undefined;
  const { deviceCliError } = await import("./options.js");
  return deviceCliError(error);
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

/**
 * The program with `name`'s command fully defined (its module loaded) and every other command
 * as a name and summary only, enough for commander's "unknown command" suggestions.
 */
export async function buildProgram(name?: string): Promise<Command> {
  const { Command: CommandClass } = await import("commander");
  const program = new CommandClass("microtvm")
    .description(PROGRAM_DESCRIPTION)
    .version(packageVersion(), "-V, --version", "print the version and exit")
    .showHelpAfterError("(run microtvm --help for usage)")
    // Commander's own errors read like ours: "microtvm: <what>", not "error: <what>".
    .configureOutput({
      outputError: (text, write) => write(text.replace(/^error: /, "microtvm: ")),
    })
    .exitOverride();
  for (const entry of COMMANDS) {
    if (entry.name === name) {
      (await entry.load())(program);
      const command = program.commands.at(-1)!;
      command.summary(entry.summary);
      command.showHelpAfterError(`(run microtvm ${entry.name} --help for usage)`);
      command.exitOverride();
    } else {
      program.command(entry.name).aliases(entry.aliases).summary(entry.summary);
    }
  }
  return program;
}

/** Runs the CLI with `argv` (without node and the script) and exits the process with its code. */
export async function main(argv: string[]): Promise<void> {
  // A reader that goes away (`microtvm … | head`) ends the output, not the process with a crash.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
  const code = await run(argv);
  // An interrupted command has stopped what it started; what is left (a file read still under
  // way) must not print after the error.
  if (code === ExitCode.interrupted) process.exit(code);
  process.exitCode = code;
}

/** True when `--json` is among the options (before a `--`). */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
}

/** Reports a failure: one line on stderr and, with `--json`, the error document on stdout. */
function reportFailure(message: string, exitCode: number, json: boolean, command?: string): number {
  process.stderr.write(`microtvm: ${message}\n`);
  if (json) {
    printJson(ERROR_SCHEMA, {
      error: { exit_code: exitCode, kind: exitKind(exitCode), message, ...(command ? { command } : {}) },
    });
  }
  return exitCode;
}

/** Runs the CLI and returns the exit code instead of exiting, so tests can call it. */
export async function run(argv: string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === "-V" || argv[0] === "--version")) {
    process.stdout.write(`${packageVersion()}\n`);
    return ExitCode.ok;
  }
  if (argv.length === 0 || (argv.length === 1 && (argv[0] === "-h" || argv[0] === "--help"))) {
    // Bare `microtvm` is a usage error that shows the help, as commander does.
    (argv.length === 0 ? process.stderr : process.stdout).write(topLevelHelp());
    return argv.length === 0 ? ExitCode.usage : ExitCode.ok;
  }
  if (argv[0] === "help") {
    if (argv.length === 1) {
      process.stdout.write(topLevelHelp());
      return ExitCode.ok;
    }
    if (argv.length === 2 && findCommand(argv[1]!)) argv = [argv[1]!, "--help"];
  }
  const entry = findCommand(argv[0]!);
  const json = wantsJson(argv);
  handleInterrupts();
  const program = await buildProgram(entry?.name);
  try {
    // A Ctrl-C while the command was loading ends it before it starts anything.
    if (interrupted()) throw interruptedError();
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.ok;
  } catch (error) {
    if (isCommanderError(error)) {
      // --help ends through here with code 0; commander has printed its own error already.
      if (error.exitCode === 0) return ExitCode.ok;
      if (json) {
        printJson(ERROR_SCHEMA, {
          error: {
            exit_code: ExitCode.usage,
            kind: exitKind(ExitCode.usage),
            message: error.message.replace(/^error: /, ""),
            ...(entry ? { command: entry.name } : {}),
          },
        });
      }
      return ExitCode.usage;
    }
    const cliError =
      error instanceof CliError ? error : ((await deviceError(error)) ?? fileErrorToCliError(error));
    if (cliError) return reportFailure(cliError.message, cliError.exitCode, json, entry?.name);
    const message = error instanceof Error ? error.message : String(error);
    const code = reportFailure(message, ExitCode.failed, json, entry?.name);
    if (process.env.MICROTVM_DEBUG && error instanceof Error && error.stack) {
      process.stderr.write(`${error.stack}\n`);
    }
    return code;
  }
}

function isCommanderError(error: unknown): error is Error & { exitCode: number; code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === "string" && code.startsWith("commander.");
}
