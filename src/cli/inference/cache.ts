// `microtvm run <model.tar> --template NAME`: the project is generated once into a cache
// directory keyed by the archive's content, the template and the options, and reused after.
import { createHash } from "node:crypto";
import { createReadStream, existsSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { TemplateProject, type LaunchOptions, type ProjectOptions } from "../../client/index.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { fileErrorToCliError, makeDirectories } from "../file-errors.js";
import { parseProjectOptions } from "../options.js";
import type { Progress } from "../project/progress.js";
import { saveOptions } from "../project/project-file.js";
import type { TemplateRef } from "../project/templates.js";

/** `$MICROTVM_CACHE_DIR`, else `$XDG_CACHE_HOME/microtvm`, else `~/.cache/microtvm`. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MICROTVM_CACHE_DIR) return resolve(env.MICROTVM_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return join(resolve(env.XDG_CACHE_HOME), "microtvm");
  return join(homedir(), ".cache", "microtvm");
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Options as canonical text: sorted by name, so `-o a=1 -o b=2` and `-o b=2 -o a=1` share a project. */
function canonicalOptions(options: ProjectOptions): string {
  return JSON.stringify(
    Object.keys(options)
      .sort()
      .map((k) => [k, options[k]]),
  );
}

export interface CachedProject {
  dir: string;
  /** False when an earlier run had generated it already. */
  created: boolean;
  archiveSha256: string;
}

/**
 * The cached project for (archive, template, options), generated when missing. Generation goes
 * into a temporary sibling that is renamed into place, so an interrupted run never leaves a
 * half-made project where a later run would trust it.
 */
export async function cachedProject(
  archive: string,
  template: TemplateRef,
  assignments: readonly string[],
  launch: LaunchOptions,
  progress: Progress,
): Promise<CachedProject> {
  const archiveSha256 = await sha256File(archive);
  const templateProject = await TemplateProject.open(template.dir, launch);
  try {
    const given = parseProjectOptions(assignments, templateProject.info().projectOptions);
    const key = createHash("sha256")
      .update(
        `${archiveSha256}\n${template.builtIn ? template.name : template.dir}\n${canonicalOptions(given)}`,
      )
      .digest("hex")
      .slice(0, 20);
    const projects = join(cacheRoot(), "projects");
    const dir = join(projects, `${template.name.replace(/[^\w.-]/g, "_")}-${key}`);
    if (existsSync(dir)) return { dir, created: false, archiveSha256 };
    try {
      makeDirectories(projects);
    } catch (error) {
      throw new CliError(
        `cannot create the project cache ${projects}: ${fileErrorToCliError(error)?.message ?? (error as Error).message}; set MICROTVM_CACHE_DIR to a writable directory`,
        ExitCode.badInput,
        { cause: error },
      );
    }
    const temporary = `${dir}.partial-${process.pid}`;
    rmSync(temporary, { recursive: true, force: true });
    try {
      const generated = await progress.step(`generating a ${template.name} project for ${archive}`, () =>
        templateProject.generateProject(archive, temporary, given),
      );
      await generated.close();
      saveOptions(temporary, given, template.name);
      try {
        renameSync(temporary, dir);
      } catch (error) {
        // Another run finished the same project first: use that one.
        if (!existsSync(dir)) throw error;
        rmSync(temporary, { recursive: true, force: true });
      }
    } catch (error) {
      rmSync(temporary, { recursive: true, force: true });
      throw error;
    }
    return { dir, created: true, archiveSha256 };
  } finally {
    await templateProject.close();
  }
}
