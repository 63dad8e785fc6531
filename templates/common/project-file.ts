// microtvm-project.json: what a generated project records about itself — the template, the
// model, and the options used — so later calls (and the CLI) need not repeat the options.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ServerError } from "microtvm/protocol";

export const PROJECT_FILE_NAME = "microtvm-project.json";
export const PROJECT_FILE_SCHEMA = "microtvm-project/1";

export interface ProjectFile {
  schema: string;
  template: string;
  platform: string;
  model: {
    archive: string;
    names: string[];
    executor: string;
    mlfVersion: number;
  };
  /** The options used, by name: set by generate_project, updated by every build. */
  options: Record<string, unknown>;
  [key: string]: unknown;
}

/** Reads the project file of `dir`; undefined when there is none (a template directory). */
export function readProjectFile(dir: string): ProjectFile | undefined {
  const path = join(dir, PROJECT_FILE_NAME);
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ServerError(
      `cannot read ${path}: ${(error as Error).message}; fix it, delete it, or regenerate the project`,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ServerError(`${path} is not a JSON object; fix it, delete it, or regenerate the project`);
  }
  const file = parsed as ProjectFile;
  if (typeof file.options !== "object" || file.options === null) file.options = {};
  return file;
}

/** Writes the project file atomically (a reader never sees half a file). */
export function writeProjectFile(dir: string, file: ProjectFile): void {
  const path = join(dir, PROJECT_FILE_NAME);
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`);
  renameSync(temporary, path);
}
