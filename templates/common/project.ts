// What every template's generate_project shares: the file names of a project, the checks made
// before anything is written, and writing the project so that a failure leaves nothing behind.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ServerError } from "microtvm/protocol";
import type { InspectedModel } from "./model.js";
import { PROJECT_FILE_SCHEMA, writeProjectFile } from "microtvm/device";

export const SERVER_BUNDLE_NAME = "microtvm_api_server.js";
export const LAUNCH_SCRIPT_NAME = "launch_microtvm_api_server.sh";
/** Where a generated project keeps its model archive; its presence marks a generated project. */
export const MODEL_ARCHIVE_NAME = "model.tar";
/** Where the model archive is unpacked inside a project. */
export const MODEL_DIR = "model";

/** What a template's generate_project works from. */
export interface GenerateInputs<Options> {
  templateDir: string;
  modelLibraryFormatPath: string;
  projectDir: string;
  options: Options;
  log: (line: string) => void;
}

/** The runtime a template copies: the package's runtime/ beside templates/. */
export function templateRuntimeDir(templateDir: string): string {
  return resolve(templateDir, "..", "..", "runtime");
}

/** The Cortex-M firmware the templates share: templates/common/firmware beside the template. */
export function commonFirmwareDir(templateDir: string): string {
  return resolve(templateDir, "..", "common", "firmware");
}

/**
 * Copies the shared Cortex-M firmware into a project: its C and headers into firmware/ (where the
 * project's Makefile finds them beside the template's own), the linker script into ld/.
 */
export function copyCommonFirmware(templateDir: string, projectDir: string): void {
  const from = commonFirmwareDir(templateDir);
  mkdirSync(join(projectDir, "firmware"), { recursive: true });
  mkdirSync(join(projectDir, "ld"), { recursive: true });
  for (const name of readdirSync(from)) {
    if (/\.(c|h)$/.test(name)) copyFileSync(join(from, name), join(projectDir, "firmware", name));
  }
  copyFileSync(join(from, "sections.ld"), join(projectDir, "ld", "sections.ld"));
}

/** A template copies its bundled server into every project: it must have been built. */
export function requireServerBundle(templateDir: string): void {
  if (!existsSync(join(templateDir, SERVER_BUNDLE_NAME))) {
    throw new ServerError(
      `${join(templateDir, SERVER_BUNDLE_NAME)} is missing: the template's server has not been bundled; ` +
        "run `npm run build` in the microtvm package",
    );
  }
}

/** generate_project creates the project directory; it never writes into an existing one. */
export function requireNewProjectDir(projectDir: string): void {
  if (existsSync(projectDir)) {
    throw new ServerError(
      `project directory ${projectDir} already exists; generate_project creates a new directory (remove it or choose another path)`,
    );
  }
}

/** The outermost directory that mkdir -p would create for `dir` (what to remove on failure). */
function outermostMissing(dir: string): string {
  let top = dir;
  for (let parent = dirname(top); parent !== top && !existsSync(parent); parent = dirname(parent))
    top = parent;
  return top;
}

export interface ProjectRecord {
  template: string;
  platform: string;
  model: InspectedModel;
  options: object;
}

/**
 * Creates `projectDir`, lets `fill` write the project's files, then records the project in
 * microtvm-project.json and copies the model archive last: model.tar is what makes the directory
 * a generated project (is_template false). On any failure everything created is removed.
 */
export async function writeProject(
  projectDir: string,
  mlfPath: string,
  record: ProjectRecord,
  fill: () => Promise<void>,
): Promise<void> {
  const created = outermostMissing(projectDir);
  makeDirectories(projectDir);
  try {
    await fill();
    writeProjectFile(projectDir, {
      schema: PROJECT_FILE_SCHEMA,
      template: record.template,
      platform: record.platform,
      model: {
        archive: MODEL_ARCHIVE_NAME,
        names: record.model.names,
        executor: record.model.executor,
        mlfVersion: record.model.mlfVersion,
      },
      options: { ...record.options },
    });
    copyFileSync(mlfPath, join(projectDir, MODEL_ARCHIVE_NAME));
  } catch (error) {
    rmSync(created, { recursive: true, force: true });
    if (error instanceof ServerError) throw error;
    throw new ServerError(
      `generate_project failed, nothing was left behind: ${(error as Error).message}`,
      null,
      { cause: error },
    );
  }
}

/**
 * Creates `dir` and its missing parents one level at a time. Node's recursive mkdir loops
 * forever when a level fails with ENOENT (as under /proc); this fails with that level's error.
 */
function makeDirectories(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) mkdirSync(d);
}
