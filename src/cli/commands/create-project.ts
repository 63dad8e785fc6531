// `microtvm create-project <project-dir> <mlf> --template host|<dir>`: generate a project from a
// Model Library Format archive with a template's Project API server.
import type { Command } from "commander";
import { existsSync, readdirSync, realpathSync, rmSync, statSync } from "node:fs";
import { relative, resolve, sep } from "node:path";
import { TemplateProject, type ProjectOptions } from "../../client/index.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { addProjectOptionFlag, addServerFlags, parseProjectOptions, type ServerFlags } from "../options.js";
import { printJson } from "../output.js";
import { builtInOptionsHelp } from "../project/describe.js";
import { projectCallError } from "../project/errors.js";
import { serverLaunchOptions } from "../project/generated.js";
import { hasProjectFile, saveOptions } from "../project/project-file.js";
import { Progress } from "../project/progress.js";
import { hasServer, resolveTemplate } from "../project/templates.js";

interface CreateFlags extends ServerFlags {
  template: string;
  projectOption: string[];
  force?: boolean;
  json?: boolean;
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
  addServerFlags(command)
    .option("--json", "print one JSON document (schema microtvm.create-project/1)")
    .addHelpText("after", () => builtInOptionsHelp())
    .action(async (projectDirArg: string, mlfArg: string, flags: CreateFlags) => {
      await createProject(projectDirArg, mlfArg, flags);
    });
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

async function createProject(projectDirArg: string, mlfArg: string, flags: CreateFlags): Promise<void> {
  // Everything is checked before anything is deleted or created.
  const template = resolveTemplate(flags.template);
  const mlf = resolve(mlfArg);
  if (!existsSync(mlf)) throw new CliError(`model archive ${mlf} does not exist`, ExitCode.badInput);
  if (!statSync(mlf).isFile()) throw new CliError(`model archive ${mlf} is not a file`, ExitCode.badInput);
  const target = resolve(projectDirArg);
  const exists = existsSync(target);
  if (exists && !flags.force) {
    throw new CliError(
      `${target} already exists; choose a new directory, or pass --force to replace it`,
      ExitCode.badInput,
    );
  }
  if (exists) checkReplaceable(target, { mlf, templateDir: template.dir });

  const progress = new Progress();
  let given: ProjectOptions = {};
  let templateProject: TemplateProject | undefined;
  try {
    templateProject = await TemplateProject.open(
      template.dir,
      serverLaunchOptions(flags, progress, () => given.verbose === true),
    );
    given = parseProjectOptions(flags.projectOption, templateProject.info().projectOptions);
    if (exists) rmSync(target, { recursive: true, force: true });
    const tp = templateProject;
    const generated = await progress.step(`generating ${target} from ${mlf}`, () =>
      tp.generateProject(mlf, target, given),
    );
    const info = generated.info();
    await generated.close();
    saveOptions(target, given, template.name);
    if (flags.json) {
      printJson("microtvm.create-project/1", {
        projectDir: target,
        template: { name: template.name, path: template.dir, builtIn: template.builtIn },
        modelLibraryFormatPath: info.modelLibraryFormatPath,
        platformName: info.platformName,
        options: given,
        replaced: exists,
      });
    } else {
      process.stdout.write(
        `created ${target} (template ${template.name}, platform ${info.platformName})\n` +
          `next: microtvm build ${projectDirArg}\n`,
      );
    }
  } catch (error) {
    throw projectCallError(error, "create-project");
  } finally {
    await templateProject?.close();
  }
}
