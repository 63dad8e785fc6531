// Opening a generated project for build / flash: the server is launched, the `-o` options are
// parsed against what it declares, and merged over the options saved in the project.
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { GeneratedProject, type LaunchOptions, type ProjectOptions } from "../../client/index.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { parseProjectOptions, type ServerFlags } from "../options.js";
import type { Progress } from "./progress.js";
import { savedOptions } from "../../device/index.js";

export interface OpenedProject {
  dir: string;
  project: GeneratedProject;
  /** The `-o` options given on this command line (typed). */
  given: ProjectOptions;
  /** Saved options overlaid with the given ones: what the call sends (defaults fill the rest). */
  options: ProjectOptions;
}

/**
 * Launch options that pass the server's output to stderr (through `progress`, so a spinner is
 * not garbled) while `show()` says so: with --verbose, or when the call's own `verbose` option
 * is on (the server then prints the compiler commands).
 */
export function serverLaunchOptions(
  flags: ServerFlags,
  progress: Progress,
  show: () => boolean,
): LaunchOptions {
  // Whole lines only, so a line that arrives in pieces is not broken around a spinner redraw.
  const partial = { stdout: "", stderr: "" };
  return {
    python: flags.python,
    onOutput: (text, stream) => {
      const lines = (partial[stream] + text).split("\n");
      partial[stream] = lines.pop() ?? "";
      if (lines.length > 0 && (flags.verbose || show())) progress.log(lines.join("\n"));
    },
  };
}

/**
 * Checks `dirArg` is a directory, launches its server and resolves the options for `method`.
 * The server's output is shown when --verbose is given, when the resolved `verbose` option is
 * true, or always with `showOutput`. Aborting `signal` stops the server and fails the call in flight.
 */
export async function openGeneratedProject(
  dirArg: string,
  assignments: readonly string[] | undefined,
  method: string,
  flags: ServerFlags,
  progress: Progress,
  { showOutput = false, signal }: { showOutput?: boolean; signal?: AbortSignal } = {},
): Promise<OpenedProject> {
  const dir = resolve(dirArg);
  if (!existsSync(dir))
    throw new CliError(
      `project directory ${dir} does not exist; create it with microtvm create-project`,
      ExitCode.badInput,
    );
  if (!statSync(dir).isDirectory())
    throw new CliError(`${dir} is a file; give a generated project directory`, ExitCode.badInput);
  let options: ProjectOptions = {};
  const project = await GeneratedProject.open(dir, {
    ...serverLaunchOptions(flags, progress, () => showOutput || options.verbose === true),
    signal,
  });
  try {
    const declared = project.info().projectOptions;
    const given = parseProjectOptions(assignments, declared, method);
    options = { ...savedOptions(dir, declared, given), ...given };
    return { dir, project, given, options };
  } catch (error) {
    await project.close();
    throw error;
  }
}
