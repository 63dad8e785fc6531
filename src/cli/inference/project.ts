// Getting from `run`'s first argument to an open, built and flashed generated project: a project
// directory is used as it is; a model archive gets a cached project (the device layer's cache).
import type { Command } from "commander";
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { GeneratedProject, type ProjectOptions } from "../../client/index.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { parseProjectOptions, standaloneCrtDirFrom, type ServerFlags } from "../options.js";
import { serverLaunchOptions } from "../project/generated.js";
import type { Progress } from "../project/progress.js";
import { cachedProject, savedOptions, saveOptions } from "../../device/index.js";
import { checkModelArchive } from "../project/archive.js";
import { resolveTemplate } from "../project/templates.js";
import { lockProject } from "../project/lock.js";
import { parseTimeoutSeconds } from "./inputs.js";

/**
 * Adds the flags of the commands that take a project or an archive and run its model (`run`,
 * `validate`, `profile`): the cached project's template, the module, when to build, the reply timeout.
 */
export function addDeviceTargetFlags(command: Command, verb: string): Command {
  return command
    .option(
      "-t, --template <name-or-dir>",
      "with a model archive: the template of the cached project (default host)",
    )
    .option("--model <name>", `the module to ${verb} when the archive holds several`)
    .option("--build", "build first even when the build stamp says the firmware is current")
    .option("--no-build", "do not build first, whatever the build stamp says (it must be built already)")
    .option(
      "--timeout <sec>",
      "seconds to wait for each device reply (default: the session timeout the project reports)",
      parseTimeoutSeconds,
    );
}

export interface ProjectTarget {
  dir: string;
  /** Set when the argument was a model archive. */
  archive?: { path: string; sha256: string; template: string; created: boolean };
}

/** Resolves the argument of `run`: a generated project directory, or a model archive to cache. */
export async function resolveTarget(
  arg: string,
  flags: ServerFlags & { template?: string; projectOption?: string[]; standaloneCrtDir?: string },
  progress: Progress,
  /** Aborting it stops a server launched to generate the cached project. */
  signal?: AbortSignal,
): Promise<ProjectTarget> {
  const path = resolve(arg);
  if (!existsSync(path)) {
    throw new CliError(
      `${path} does not exist; give a generated project directory or a model archive (.tar)`,
      ExitCode.badInput,
    );
  }
  if (statSync(path).isDirectory()) {
    if (flags.template !== undefined) {
      throw new CliError(
        `--template applies when running a model archive; ${path} is a project directory, which already has its template`,
        ExitCode.usage,
      );
    }
    if (flags.standaloneCrtDir !== undefined) {
      throw new CliError(
        `--standalone-crt-dir applies when running a model archive with --template; ${path} is a project directory, generated already`,
        ExitCode.usage,
      );
    }
    await lockProject(path, `run ${arg}`);
    return { dir: path };
  }
  const template = resolveTemplate(flags.template ?? "host");
  const standaloneCrtDir = standaloneCrtDirFrom(flags.standaloneCrtDir);
  await checkModelArchive(path);
  const cached = await cachedProject(path, template, {
    parse: (templateProject) =>
      parseProjectOptions(flags.projectOption ?? [], templateProject.info().projectOptions),
    launch: { ...serverLaunchOptions(flags, progress, () => false), ...(signal ? { signal } : {}) },
    step: (what, work) => progress.step(what, work),
    lock: (dir) => lockProject(dir, `run ${path}`),
    ...(standaloneCrtDir !== undefined ? { standaloneCrtDir } : {}),
  });
  return {
    dir: cached.dir,
    archive: { path, sha256: cached.archiveSha256, template: template.name, created: cached.created },
  };
}

export interface OpenedRunProject {
  project: GeneratedProject;
  /** Saved options overlaid with the `-o` ones: sent with build, flash and open_transport. */
  options: ProjectOptions;
  /** The `-o` options, typed: saved into the project once the command succeeded. */
  given: ProjectOptions;
}

export interface OpenRunProjectOptions {
  /** Gets each line the server prints (whether or not it is shown). */
  onServerLine?: (line: string) => void;
  /** Aborting it stops the server (and what it started), failing the call in flight. */
  signal?: AbortSignal;
}

/** Launches the project's server and resolves the options (`-o` over the saved ones). */
export async function openRunProject(
  dir: string,
  assignments: readonly string[],
  flags: ServerFlags,
  progress: Progress,
  { onServerLine, signal }: OpenRunProjectOptions = {},
): Promise<OpenedRunProject> {
  let options: ProjectOptions = {};
  const launch = serverLaunchOptions(flags, progress, () => options.verbose === true);
  let partial = "";
  const project = await GeneratedProject.open(dir, {
    ...launch,
    ...(signal ? { signal } : {}),
    onOutput: (text, stream) => {
      launch.onOutput?.(text, stream);
      if (!onServerLine) return;
      const lines = (partial + text).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) onServerLine(line.trim());
    },
  });
  try {
    const declared = project.info().projectOptions;
    const given = parseProjectOptions(assignments, declared);
    options = { ...savedOptions(dir, declared, given), ...given };
    return { project, options, given };
  } catch (error) {
    await project.close();
    throw error;
  }
}

/**
 * Saves the `-o` options into the project once the command succeeded, as build and flash do: every
 * later command uses them until changed. Nothing is written when none were given.
 */
export function saveGivenOptions(dir: string, given: ProjectOptions): void {
  if (Object.keys(given).length > 0) saveOptions(dir, given);
}
