// Wire shapes (snake_case, exactly as the reference spells them) and our TypeScript shapes
// (camelCase), mapped here and nowhere else.

import { WireFormatError } from "./errors.js";
import type { JsonValue } from "./json.js";
import { pyRepr } from "./json.js";
import { PROTOCOL_VERSION } from "./methods.js";

/** A project option on the wire; always these 7 keys, in this order. */
export interface WireProjectOption {
  name: string;
  choices: string[] | null;
  default: JsonValue;
  type: string;
  required: string[] | null;
  optional: string[] | null;
  help: string;
}

/** The result of server_info_query on the wire, keys in this order. */
export interface WireServerInfo {
  platform_name: string;
  is_template: boolean;
  model_library_format_path: string | null;
  project_options: WireProjectOption[];
  protocol_version: number;
}

/** The `timeouts` member of open_transport's result, in seconds. */
export interface WireTimeouts {
  session_start_retry_timeout_sec: number;
  session_start_timeout_sec: number;
  session_established_timeout_sec: number;
}

/**
 * A project option. `type` is advisory metadata: the reference uses "bool", "str" and "int".
 * `required`/`optional` list the methods (`generate_project`, `build`, `flash`,
 * `open_transport`) for which the option must / may be given.
 */
export interface ProjectOption {
  name: string;
  choices: string[] | null;
  default: JsonValue;
  type: string;
  required: string[] | null;
  optional: string[] | null;
  help: string;
}

/** What server_info_query reports. `protocolVersion` defaults to PROTOCOL_VERSION when sent. */
export interface ServerInfo {
  platformName: string;
  isTemplate: boolean;
  /** Absolute path of the MLF archive in a generated project; "" in a template. */
  modelLibraryFormatPath: string | null;
  projectOptions: ProjectOption[];
  protocolVersion?: number;
}

/** Session timeouts the transport asks for, in seconds; 0 turns that limit or retry off (docs/session.md, "Session"). */
export interface TransportTimeouts {
  sessionStartRetryTimeoutSec: number;
  sessionStartTimeoutSec: number;
  sessionEstablishedTimeoutSec: number;
}

export function projectOptionToWire(o: ProjectOption): WireProjectOption {
  return {
    name: o.name,
    choices: o.choices ?? null,
    default: o.default ?? null,
    type: o.type,
    required: o.required ?? null,
    optional: o.optional ?? null,
    help: o.help,
  };
}

export function serverInfoToWire(info: ServerInfo): WireServerInfo {
  return {
    platform_name: info.platformName,
    is_template: info.isTemplate,
    model_library_format_path: info.modelLibraryFormatPath ?? null,
    project_options: info.projectOptions.map(projectOptionToWire),
    protocol_version: info.protocolVersion ?? PROTOCOL_VERSION,
  };
}

/** open_transport's three session timeouts: wire name → camelCase name, in the reference's order. */
const TIMEOUT_NAMES = {
  session_start_retry_timeout_sec: "sessionStartRetryTimeoutSec",
  session_start_timeout_sec: "sessionStartTimeoutSec",
  session_established_timeout_sec: "sessionEstablishedTimeoutSec",
} as const satisfies Record<keyof WireTimeouts, keyof TransportTimeouts>;

const TIMEOUT_WIRE_NAMES = Object.keys(TIMEOUT_NAMES) as (keyof WireTimeouts)[];

/**
 * The session timeouts as open_transport sends them. A TypeError, starting with `what`, when they are
 * not three finite numbers (a server's handler returned something else).
 */
export function timeoutsToWire(t: TransportTimeouts, what = "the session timeouts"): WireTimeouts {
  const given = t as unknown;
  const wire: Record<string, number> = {};
  for (const key of TIMEOUT_WIRE_NAMES) {
    const value = isObject(given) ? given[TIMEOUT_NAMES[key]] : undefined;
    if (typeof value !== "number" || !Number.isFinite(value))
      throw new TypeError(
        `${what} must be { ${Object.values(TIMEOUT_NAMES).join(", ")} } with finite numbers (seconds)`,
      );
    wire[key] = value;
  }
  return wire as unknown as WireTimeouts;
}

// ---- reading what a server sent: checked, with messages that name the bad field ----

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function fail(where: string, want: string, got: unknown): never {
  throw new WireFormatError(`${where}: want ${want}; got ${pyRepr(got)}`);
}

function stringListOrNull(v: unknown, where: string): string[] | null {
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) fail(where, "list of str or null", v);
  return [...(v as string[])];
}

export function projectOptionFromWire(v: unknown, where = "project option"): ProjectOption {
  if (!isObject(v)) fail(where, "object", v);
  if (typeof v.name !== "string") fail(`${where}.name`, "str", v.name);
  if (typeof v.type !== "string") fail(`${where}.type`, "str", v.type);
  const help = v.help ?? "";
  if (typeof help !== "string") fail(`${where}.help`, "str", v.help);
  return {
    name: v.name,
    choices: stringListOrNull(v.choices, `${where}.choices`),
    default: (v.default ?? null) as JsonValue,
    type: v.type,
    required: stringListOrNull(v.required, `${where}.required`),
    optional: stringListOrNull(v.optional, `${where}.optional`),
    help,
  };
}

/** Checks and converts a server_info_query result. Throws WireFormatError naming the bad field. */
export function serverInfoFromWire(v: unknown): ServerInfo {
  const where = "server_info_query result";
  if (!isObject(v)) fail(where, "object", v);
  if (typeof v.platform_name !== "string") fail(`${where}.platform_name`, "str", v.platform_name);
  if (typeof v.is_template !== "boolean") fail(`${where}.is_template`, "bool", v.is_template);
  const mlf = v.model_library_format_path ?? null;
  if (mlf !== null && typeof mlf !== "string") fail(`${where}.model_library_format_path`, "str or null", mlf);
  if (!Array.isArray(v.project_options)) fail(`${where}.project_options`, "list", v.project_options);
  if (typeof v.protocol_version !== "number") fail(`${where}.protocol_version`, "int", v.protocol_version);
  return {
    platformName: v.platform_name,
    isTemplate: v.is_template,
    modelLibraryFormatPath: mlf,
    projectOptions: v.project_options.map((o, i) =>
      projectOptionFromWire(o, `${where}.project_options[${i}]`),
    ),
    protocolVersion: v.protocol_version,
  };
}

/** Checks and converts open_transport's `timeouts` (exactly the three keys, numbers ≥ 0). */
export function timeoutsFromWire(v: unknown): TransportTimeouts {
  const where = "open_transport result.timeouts";
  if (!isObject(v)) fail(where, "object", v);
  const keys: readonly string[] = TIMEOUT_WIRE_NAMES;
  const extra = Object.keys(v).filter((k) => !keys.includes(k));
  if (extra.length > 0) throw new WireFormatError(`${where}: unexpected keys ${extra.join(", ")}`);
  const timeouts: Record<string, number> = {};
  for (const k of TIMEOUT_WIRE_NAMES) {
    const x = v[k];
    if (typeof x !== "number" || !Number.isFinite(x) || x < 0) fail(`${where}.${k}`, "a number >= 0", x);
    timeouts[TIMEOUT_NAMES[k]] = x;
  }
  return timeouts as unknown as TransportTimeouts;
}

const DEFAULT_OPTIONS: readonly ProjectOption[] = [
  {
    name: "verbose",
    choices: null,
    default: false,
    type: "bool",
    required: null,
    optional: ["generate_project"],
    help: "Run build with verbose output.",
  },
  {
    name: "project_type",
    choices: null,
    default: null,
    type: "str",
    required: ["generate_project"],
    optional: null,
    help: "Type of project to generate.",
  },
  {
    name: "board",
    choices: null,
    default: null,
    type: "str",
    required: ["generate_project"],
    optional: null,
    help: "Name of the board to build for.",
  },
  {
    name: "cmsis_path",
    choices: null,
    default: null,
    type: "str",
    required: null,
    optional: ["generate_project"],
    help: "Path to the CMSIS directory.",
  },
  {
    name: "warning_as_error",
    choices: null,
    default: false,
    type: "bool",
    required: null,
    optional: ["generate_project"],
    help: "Treat warnings as errors and raise an Exception.",
  },
  {
    name: "compile_definitions",
    choices: null,
    default: null,
    type: "str",
    required: null,
    optional: ["generate_project"],
    help: "Extra definitions added project compile.",
  },
  {
    name: "extra_files_tar",
    choices: null,
    default: null,
    type: "str",
    required: null,
    optional: ["generate_project"],
    help: "If given, during generate_project, uncompress the tarball at this path into the project dir.",
  },
];

const OPTION_FIELDS = new Set(["name", "choices", "default", "type", "required", "optional", "help"]);

/**
 * The reference's `default_project_options(**overrides)`: the seven common options in order,
 * with fields replaced per option name, e.g. `{ board: { choices: ["a", "b"] } }`.
 */
export function defaultProjectOptions(
  overrides: Record<string, Partial<ProjectOption>> = {},
): ProjectOption[] {
  const options = DEFAULT_OPTIONS.map((o) => ({
    ...o,
    choices: o.choices && [...o.choices],
    required: o.required && [...o.required],
    optional: o.optional && [...o.optional],
  }));
  for (const [name, fields] of Object.entries(overrides)) {
    const index = options.findIndex((o) => o.name === name);
    if (index < 0) throw new Error(`Option ${name} was not found in default ProjectOptions.`);
    const unknown = Object.keys(fields).filter((k) => !OPTION_FIELDS.has(k));
    if (unknown.length > 0) throw new Error(`Got unexpected field names: ${unknown.join(", ")}`);
    options[index] = { ...options[index]!, ...fields };
  }
  return options;
}
