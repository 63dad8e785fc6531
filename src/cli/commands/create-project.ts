// `microtvm create-project <project-dir> <mlf> --template host|<dir>`: generate a project from a
// Model Library Format archive with a template's Project API server.
import type { Command } from "commander";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
} from "node:fs";
import { dirname, relative, resolve, sep } from "node:path";
import { TemplateProject, type ProjectOptions } from "../../client/index.js";
import { CliError, ExitCode } from "../exit-codes.js";
import {
  addProjectOptionFlag,
  addServerFlags,
  addStandaloneCrtFlag,
  parseProjectOptions,
  standaloneCrtDirFrom,
  type ServerFlags,
} from "../options.js";
import { fileErrorToCliError, makeDirectories, removeEmptyDirectories } from "../file-errors.js";
import { cancellable } from "../cancel.js";
import { printJson } from "../output.js";
import { checkModelArchive } from "../project/archive.js";
import { builtInOptionsHelp } from "../project/describe.js";
import { projectCallError } from "../project/errors.js";
import { lockProject } from "../project/lock.js";
import { serverLaunchOptions } from "../project/generated.js";
import { hasProjectFile, saveOptions } from "../../device/index.js";
import { Progress } from "../project/progress.js";
import { hasServer, resolveTemplate } from "../project/templates.js";

interface CreateFlags extends ServerFlags {
  template: string;
  projectOption?: string[];
  force?: boolean;
  json?: boolean;
  standaloneCrtDir?: string;
}

export function createProjectCommand(program: Command): void {
  const command = program
    .command("create-project")
    .alias("create")
    .description("generate a project from a Model Library Format archive with a template")
    .argument("<project-dir>", "the directory to create (must not exist, unless --force)")
    .argument("<mlf>", "the model: a Model Library Format archive (.tar or .tar.gz)")
    .option("-t, --template <name-or-dir>", "a built-in template name, or a template directory", "host")
    .option(
      "-f, --force",
      "replace <project-dir> if it is an existing generated project (checked first, deleted last)",
    );
  addProjectOptionFlag(command);
  addStandaloneCrtFlag(command);
  addServerFlags(command)
    .option("--json", "print one JSON document (schema microtvm.create-project/2)")
    .addHelpText("after", () => builtInOptionsHelp(["generate_project"]))
    .action(async (projectDirArg: string, mlfArg: string, flags: CreateFlags) => {
      await createProject(projectDirArg, mlfArg, flags);
    });
}

/** Makes `target`'s missing parents and checks `target` itself can be made; returns the parents made. */
function prepareNewDirectory(target: string): string[] {
  let made: string[] = [];
  try {
    made = makeDirectories(dirname(target));
    mkdirSync(target);
    rmdirSync(target);
    return made;
  } catch (error) {
    removeEmptyDirectories(made);
    const reason = fileErrorToCliError(error)?.message ?? (error as Error).message;
    throw new CliError(`cannot create the project directory ${target}: ${reason}`, ExitCode.badInput, {
      cause: error,
    });
  }
}

/** `text` as one shell word, so the suggested next command can be pasted as it is. */
function shellQuote(text: string): string {
  return /^[\w./=:@%+-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (!rel.startsWith("..") && !rel.startsWith(sep) && rel !== "..");
}

function realOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Checks that --force may delete `target`: a generated project (or an empty directory), holding none of the inputs. */
function checkReplaceable(target: string, inputs: { mlf: string; templateDir: string }): void {
  const stat = statSync(target);
  if (!stat.isDirectory()) {
    throw new CliError(`${target} exists and is not a directory; remove it yourself`, ExitCode.badInput);
  }
  const empty = readdirSync(target).length === 0;
  if (!empty && !hasProjectFile(target) && !hasServer(target)) {
    throw new CliError(
      `refusing to replace ${target}: it does not look like a generated project (no microtvm-project.json or ` +
        "Project API server in it); remove it yourself if it should go",
      ExitCode.badInput,
    );
  }
  const real = realOr(target);
  if (isInside(realOr(inputs.mlf), real)) {
    throw new CliError(
      `the model archive ${inputs.mlf} is inside ${target}, which --force would delete; move it first`,
      ExitCode.badInput,
    );
  }
  if (isInside(realOr(inputs.templateDir), real)) {
    throw new CliError(
      `the template ${inputs.templateDir} is inside ${target}, which --force would delete`,
      ExitCode.badInput,
    );
  }
}

/**
 * When the model argument cannot be used and the project argument is an archive file, the two
 * were most likely given the other way round: say so, with the command as it should be.
 */
function swappedArgumentsHint(error: unknown, projectDirArg: string, mlfArg: string): unknown {
  if (!(error instanceof CliError)) return error;
  let projectArgIsFile = false;
  try {
    projectArgIsFile = statSync(projectDirArg).isFile();
  } catch {
    return error;
  }
  if (!projectArgIsFile || !/\.(tar|tar\.gz|tgz)$/i.test(projectDirArg)) return error;
  return new CliError(
    `${error.message}. The arguments look swapped: the project directory comes first, then the archive: ` +
      `microtvm create-project ${shellQuote(mlfArg)} ${shellQuote(projectDirArg)}`,
    error.exitCode,
    { cause: error },
  );
}

async function createProject(projectDirArg: string, mlfArg: string, flags: CreateFlags): Promise<void> {
  // Everything is checked before anything is deleted or created.
  const template = resolveTemplate(flags.template);
  const mlf = resolve(mlfArg);
  const standaloneCrtDir = standaloneCrtDirFrom(flags.standaloneCrtDir);
  try {
    await checkModelArchive(mlf);
  } catch (error) {
    throw swappedArgumentsHint(error, projectDirArg, mlfArg);
  }
  const target = resolve(projectDirArg);
  await lockProject(target, `create-project ${projectDirArg}`);
  const exists = existsSync(target);
  if (exists && !flags.force) {
    throw new CliError(
      `${target} already exists; choose a new directory, or pass --force to replace it`,
      ExitCode.badInput,
    );
  }
  if (exists) checkReplaceable(target, { mlf, templateDir: template.dir });
  // A new project's place is tried before the server starts: its parents are made, and the
  // directory itself is made and removed again, so a place that cannot take it fails here.
  const madeParents = exists ? [] : prepareNewDirectory(target);

  const progress = new Progress();
  let given: ProjectOptions = {};
  let templateProject: TemplateProject | undefined;
  // With --force the old project is moved aside, and comes back if generating the new one fails.
  let aside: string | undefined;
  let started = false;
  let info: { platformName: string; modelLibraryFormatPath: string | null } = {
    platformName: "",
    modelLibraryFormatPath: "",
  };
  try {
    // Ctrl-C aborts the signal: the template's server, and what it started, stop.
    await cancellable(async (signal) => {
      templateProject = await TemplateProject.open(template.dir, {
        ...serverLaunchOptions(flags, progress, () => given.verbose === true),
        signal,
      });
      given = parseProjectOptions(flags.projectOption, templateProject.info().projectOptions);
      signal.throwIfAborted();
      if (exists) {
        aside = `${target}.replaced-${process.pid}`;
        renameSync(target, aside);
      }
      started = true;
      const tp = templateProject;
      const generated = await progress.step(`generating ${target} from ${mlf}`, () =>
        tp.generateProject(mlf, target, given, standaloneCrtDir ? { standaloneCrtDir } : {}),
      );
      info = generated.info();
      await generated.close();
      saveOptions(target, given, template.name);
    });
  } catch (error) {
    await templateProject?.close();
    // Nothing half-made is left behind: the new directory goes, the old one comes back.
    if (started) rmSync(target, { recursive: true, force: true });
    if (aside) renameSync(aside, target);
    removeEmptyDirectories(madeParents);
    throw projectCallError(error, "create-project");
  } finally {
    await templateProject?.close();
  }
  if (aside) rmSync(aside, { recursive: true, force: true });
  if (flags.json) {
    printJson("microtvm.create-project/2", {
      project_dir: target,
      template: { name: template.name, path: template.dir, built_in: template.builtIn },
      model_library_format_path: info.modelLibraryFormatPath,
      platform_name: info.platformName,
      options: given,
      replaced: exists,
    });
  } else {
    process.stdout.write(
      `created ${target} (template ${template.name}, platform ${info.platformName})\n` +
        `next: microtvm build ${shellQuote(projectDirArg)}\n`,
    );
  }
}
