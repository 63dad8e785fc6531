// Finding templates: the built-in ones shipped in the package's templates/ directory, or any
// directory the user names that holds a Project API server.
import { existsSync, readdirSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { CliError, ExitCode } from "../exit-codes.js";
import { builtInTemplatesDir } from "../../device/index.js";

/** Files that make a directory a Project API project (see the client's findServer). */
export const SERVER_FILES = [
  "launch_microtvm_api_server.sh",
  "microtvm_api_server.py",
  "microtvm_api_server.sh",
  "microtvm_api_server.js",
  "microtvm_api_server.mjs",
];

export interface TemplateRef {
  /** The built-in name, or the directory's base name for a user template. */
  name: string;
  /** Absolute path of the template directory. */
  dir: string;
  builtIn: boolean;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** True when `dir` holds a file the client can launch a server from. */
export function hasServer(dir: string): boolean {
  return SERVER_FILES.some((name) => existsSync(join(dir, name)));
}

/** The built-in templates, sorted by name. */
export function listBuiltInTemplates(): TemplateRef[] {
  if (!isDirectory(builtInTemplatesDir)) return [];
  return readdirSync(builtInTemplatesDir)
    .filter(
      (name) => isDirectory(join(builtInTemplatesDir, name)) && hasServer(join(builtInTemplatesDir, name)),
    )
    .sort()
    .map((name) => ({ name, dir: join(builtInTemplatesDir, name), builtIn: true }));
}

/**
 * Resolves `--template`: a built-in name (`host`), or a path to a template directory. A bare word
 * is a built-in name; anything with a slash, a leading dot or an existing directory is a path.
 */
export function resolveTemplate(spec: string): TemplateRef {
  const builtIns = listBuiltInTemplates();
  const looksLikePath = spec.includes("/") || spec.startsWith(".") || isAbsolute(spec);
  if (!looksLikePath) {
    const found = builtIns.find((t) => t.name === spec);
    if (found) return found;
    if (!isDirectory(spec)) {
      throw new CliError(
        `unknown template ${JSON.stringify(spec)}; built-in templates: ${builtIns.map((t) => t.name).join(", ") || "(none)"}` +
          ` (or give the path of a template directory)`,
        ExitCode.badInput,
      );
    }
  }
  const dir = resolve(spec);
  if (!isDirectory(dir)) {
    throw new CliError(`template directory ${dir} does not exist`, ExitCode.badInput);
  }
  if (!hasServer(dir)) {
    throw new CliError(
      `${dir} is not a template: it has no Project API server (looked for ${SERVER_FILES.join(", ")})`,
      ExitCode.badInput,
    );
  }
  const builtIn = builtIns.find((t) => t.dir === dir);
  return builtIn ?? { name: dir.split("/").pop() || dir, dir, builtIn: false };
}

/**
 * The directory a command that launches a server (`info`, `conformance`) was given: a path, or a
 * built-in template's name when no file or directory of that name exists here. It is checked to
 * be a directory; whether it holds a server is left to the launch (its error names what it tried).
 */
export function serverDirArgument(arg: string): string {
  const path = resolve(arg);
  if (!existsSync(path)) {
    const looksLikePath = arg.includes("/") || arg.startsWith(".") || isAbsolute(arg);
    const builtIn = looksLikePath ? undefined : listBuiltInTemplates().find((t) => t.name === arg);
    if (builtIn) return builtIn.dir;
    throw new CliError(
      `${path} does not exist; give a template or project directory, or a built-in template's name ` +
        `(${listBuiltInTemplates()
          .map((t) => t.name)
          .join(", ")})`,
      ExitCode.badInput,
    );
  }
  if (!isDirectory(path)) {
    throw new CliError(`${path} is a file; give a template or project directory`, ExitCode.badInput);
  }
  return path;
}
