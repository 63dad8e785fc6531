import { Command, CommanderError } from "commander";
import { readFileSync } from "node:fs";
import { CliError, ExitCode } from "./exit-codes.js";
import { commands } from "./commands/index.js";
import { fileErrorToCliError } from "./file-errors.js";
import { DeviceError } from "../device/index.js";
import { deviceCliError } from "./options.js";

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

/** One-line summaries for the command list of `microtvm --help` (each command's own help has the full text). */
const SUMMARIES: Record<string, string> = {
  info: "show what a Project API server says about itself",
  conformance: "check a Project API server against the protocol",
  templates: "list the built-in templates and their options",
  "create-project": "generate a project from a model archive",
  build: "build a generated project",
  flash: "flash a built project onto its device",
  doctor: "check the tools the templates need",
  inspect: "validate and describe a model archive",
  pack: "write a model archive from C sources",
  run: "run a model on a device: outputs and timing",
  monitor: "show a device's log lines",
  validate: "compare a device's outputs with a reference: error metrics",
};

export function buildProgram(): Command {
  const program = new Command("microtvm")
    .description(
      "The microTVM Project API toolkit: drive project servers, inspect models, build and run them.",
    )
    .version(packageVersion(), "-V, --version", "print the version and exit")
    .showHelpAfterError("(run microtvm --help for usage)")
    // Commander's own errors read like ours: "microtvm: <what>", not "error: <what>".
    .configureOutput({
      outputError: (text, write) => write(text.replace(/^error: /, "microtvm: ")),
    })
    .exitOverride();
  for (const add of commands) add(program);
  for (const command of program.commands) {
    const summary = SUMMARIES[command.name()];
    if (summary && !command.summary()) command.summary(summary);
    command.showHelpAfterError(`(run microtvm ${command.name()} --help for usage)`);
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
  process.exitCode = await run(argv);
}

/** Runs the CLI and returns the exit code instead of exiting, so tests can call it. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.commands.forEach((c) => c.exitOverride());
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here with code 0.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    const cliError =
      error instanceof CliError
        ? error
        : error instanceof DeviceError
          ? deviceCliError(error)
          : fileErrorToCliError(error);
    if (cliError) {
      process.stderr.write(`microtvm: ${cliError.message}\n`);
      return cliError.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`microtvm: ${message}\n`);
    if (process.env.MICROTVM_DEBUG && error instanceof Error && error.stack) {
      process.stderr.write(`${error.stack}\n`);
    }
    return ExitCode.failed;
  }
}
