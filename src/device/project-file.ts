// microtvm-project.json: what a generated project records about itself — the template, the model,
// the options used so far (so later calls need not repeat them) and how its device measures time.
// Our templates write it at generate_project and update it at build; for other templates the CLI
// creates it. Keys this module does not know are kept as they are.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ProjectOption } from "../protocol/index.js";
import { DeviceError } from "./errors.js";
import { writeJsonFileAtomically } from "./json-file.js";

export const PROJECT_FILE_NAME = "microtvm-project.json";
export const PROJECT_FILE_SCHEMA = "microtvm-project/1";

/** How a device's timer counts (`device_timer`). */
export interface DeviceTimer {
  /** Timer ticks per second of device time. */
  hz: number;
  /** True when the time is derived from executed instructions (repeatable), not from a host clock. */
  deterministic: boolean;
  /** What the timer is, for people: e.g. "SysTick of QEMU's virtual clock". */
  source: string;
}

export interface ProjectFile {
  schema?: string;
  /** The template's name (a built-in name, or the template directory's base name). */
  template?: string;
  platform?: string;
  model?: { archive: string; names: string[]; executor: string; mlfVersion: number };
  /** The options used, by name: set by generate_project, updated by build. */
  options: Record<string, unknown>;
  device_timer?: DeviceTimer;
  [key: string]: unknown;
}

/** The project file of `dir`, or undefined when there is none (a template, or a foreign project). */
export function readProjectFile(dir: string): ProjectFile | undefined {
  const path = join(dir, PROJECT_FILE_NAME);
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new DeviceError(
      `${path} is not valid JSON (${(error as Error).message}); fix it, delete it, or regenerate the project`,
      "bad-file",
      { cause: error },
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new DeviceError(
      `${path} must hold a JSON object; fix it, delete it, or regenerate the project`,
      "bad-file",
    );
  }
  const file = parsed as ProjectFile;
  if (typeof file.options !== "object" || file.options === null || Array.isArray(file.options))
    file.options = {};
  return file;
}

/** Writes the project file atomically (a reader never sees half a file). */
export function writeProjectFile(dir: string, file: ProjectFile): void {
  writeJsonFileAtomically(join(dir, PROJECT_FILE_NAME), file);
}

/** True when `dir` has a project file. */
export function hasProjectFile(dir: string): boolean {
  return existsSync(join(dir, PROJECT_FILE_NAME));
}

/** Why `value` does not fit `option`'s declared type or choices, or undefined when it does. */
function misfit(option: ProjectOption, value: unknown): string | undefined {
  const fits =
    option.type === "bool"
      ? typeof value === "boolean"
      : option.type === "int"
        ? Number.isInteger(value)
        : option.type === "str"
          ? typeof value === "string"
          : true;
  if (!fits) return `it is ${JSON.stringify(value)}, not a ${option.type}`;
  const choices: unknown[] = Array.isArray(option.choices) ? option.choices : [];
  if (choices.length > 0 && !choices.some((c) => c === value || String(c) === String(value)))
    return `it is ${JSON.stringify(value)}, not one of ${choices.map(String).join(", ")}`;
  return undefined;
}

/**
 * The options saved in the project, restricted to names the server declares now; null values
 * (never set) are left out so the server's defaults apply. A saved value that does not fit its
 * option is an error naming the file, unless `given` replaces it.
 */
export function savedOptions(
  dir: string,
  declared: readonly ProjectOption[],
  given: Record<string, unknown> = {},
): Record<string, unknown> {
  const saved = readProjectFile(dir)?.options ?? {};
  const byName = new Map(declared.map((o) => [o.name, o]));
  const kept = Object.entries(saved).filter(([name, value]) => byName.has(name) && value !== null);
  for (const [name, value] of kept) {
    const why = name in given ? undefined : misfit(byName.get(name)!, value);
    if (why) {
      throw new DeviceError(
        `${join(dir, PROJECT_FILE_NAME)}: the saved option ${name} does not fit (${why}); ` +
          `give -o ${name}=VALUE to replace it, or fix the file`,
        "bad-file",
      );
    }
  }
  return Object.fromEntries(kept);
}

/**
 * Merges `options` into the project's saved options, creating the file (with `template`) when
 * there is none. Nothing is written when there is nothing to add to an existing file.
 */
export function saveOptions(dir: string, options: Record<string, unknown>, template?: string): void {
  if (Object.keys(options).length === 0 && hasProjectFile(dir)) return;
  const file: ProjectFile = readProjectFile(dir) ?? {
    schema: PROJECT_FILE_SCHEMA,
    ...(template ? { template } : {}),
    options: {},
  };
  file.options = { ...file.options, ...options };
  writeProjectFile(dir, file);
}

/** The device timer the project's server recorded, or undefined when it recorded none. */
export function deviceTimer(dir: string): DeviceTimer | undefined {
  const timer = readProjectFile(dir)?.device_timer as Partial<DeviceTimer> | undefined;
  if (!timer || typeof timer !== "object") return undefined;
  const { hz, deterministic, source } = timer;
  if (typeof hz !== "number" || !(hz > 0) || typeof deterministic !== "boolean") return undefined;
  return { hz, deterministic, source: typeof source === "string" ? source : "device timer" };
}
