// How a project option the client sent becomes the value a template uses, for every template.
//
// TVM's client sends every declared option on every call, `null` where the caller set nothing,
// and tvmc sends every value as a string. So: `null` (or absent) means "not set" — the value
// saved in the project's microtvm-project.json is used, then the declared default — and each
// value is accepted typed or as text (`true` / "true", 4096 / "4096").
import { ServerError } from "microtvm/protocol";
import type { ProjectOption } from "microtvm/protocol";

/** The options every template declares, once resolved. */
export interface CommonOptions {
  verbose: boolean;
  warning_as_error: boolean;
  cflags: string;
  /** The memory pool chosen by the user; null: sized from the model archive at build. */
  workspace_size_bytes: number | null;
  project_type: string;
}

const TRUE_WORDS = new Set(["true", "1", "yes", "on"]);
const FALSE_WORDS = new Set(["false", "0", "no", "off", ""]);
const EXAMPLES: Record<string, string> = { bool: "true", int: "4096", str: "text" };

function bad(name: string, want: string, value: unknown): never {
  throw new ServerError(
    `option ${name}: want ${want}, got ${JSON.stringify(value)}; ` +
      `fix the value (for example ${name}=${EXAMPLES[want]})`,
  );
}

export function toBool(name: string, value: unknown): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "number" && (value === 0 || value === 1)) return value === 1;
  if (typeof value === "string") {
    const word = value.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
  }
  return bad(name, "bool", value);
}

export function toInt(name: string, value: unknown): number {
  let n: number | undefined;
  if (typeof value === "number" && Number.isSafeInteger(value)) n = value;
  else if (typeof value === "bigint" && value <= BigInt(Number.MAX_SAFE_INTEGER)) n = Number(value);
  else if (typeof value === "string" && /^\s*[+-]?\d+\s*$/.test(value)) n = Number(value.trim());
  if (n === undefined || !Number.isSafeInteger(n)) return bad(name, "int", value);
  return n;
}

export function toStr(name: string, value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return bad(name, "str", value);
}

export function isSet(value: unknown): boolean {
  return value !== null && value !== undefined;
}

/**
 * Picks an option's raw value: the value sent (when not null), else the value saved in the
 * project, else the declared default. Names a template does not declare are never asked for, so
 * they are ignored, as TVM's templates do.
 */
export function optionPicker(
  declared: readonly ProjectOption[],
  sent: Record<string, unknown> | null | undefined,
  saved: Record<string, unknown>,
): (name: string) => unknown {
  return (name) => {
    if (sent && isSet(sent[name])) return sent[name];
    if (isSet(saved[name])) return saved[name];
    return declared.find((o) => o.name === name)?.default ?? null;
  };
}

/** A string option whose unset value means empty (flags, definitions). */
export function optionalStr(name: string, value: unknown, unset = ""): string {
  return isSet(value) ? toStr(name, value) : unset;
}

/** Both templates build host-driven firmware only; `project_type` exists for TVM compatibility. */
export function requireHostDriven(projectType: string, builder: string): void {
  if (projectType !== "host_driven") {
    throw new ServerError(
      `option project_type: ${builder} builds host-driven firmware only; got ${JSON.stringify(projectType)}`,
    );
  }
}

/** The `project_type` option, declared alike by every template. */
export function projectTypeOption(help: string): ProjectOption {
  return projectOption({
    name: "project_type",
    choices: ["host_driven"],
    type: "str",
    default: null,
    optional: ["generate_project"],
    help,
  });
}

/** A declared option; `choices` null unless given, and no option is required by any call. */
export function projectOption(declared: {
  name: string;
  choices?: string[];
  type: "bool" | "int" | "str";
  default: boolean | number | string | null;
  optional: string[];
  help: string;
}): ProjectOption {
  const { name, choices = null, type, optional, help } = declared;
  // Key order as TVM's templates send it (server_info_query output is compared as text).
  return { name, choices, default: declared.default, type, required: null, optional, help };
}
