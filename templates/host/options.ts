// The host template's project options, and how a value the client sent becomes the value used.
//
// TVM's client sends every declared option on every call, `null` where the caller set nothing,
// and tvmc sends every value as a string. So: `null` (or absent) means "not set" — the value
// saved in the project's microtvm-project.json is used, then the declared default — and each
// value is accepted typed or as text (`true` / "true", 4096 / "4096").
import { ServerError } from "microtvm/protocol";
import type { ProjectOption } from "microtvm/protocol";

export const DEFAULT_WORKSPACE_SIZE_BYTES = 2 * 1024 * 1024;

const GENERATE_AND_BUILD = ["generate_project", "build"];

export const HOST_OPTIONS: readonly ProjectOption[] = [
  {
    name: "verbose",
    choices: null,
    default: false,
    type: "bool",
    required: null,
    optional: ["generate_project", "build", "flash", "open_transport"],
    help: "Show each compiler command and its output, and log more from the server.",
  },
  {
    name: "warning_as_error",
    choices: null,
    default: false,
    type: "bool",
    required: null,
    optional: GENERATE_AND_BUILD,
    help:
      "Compile this project's own C sources (firmware, model glue, runtime) with -Werror. " +
      "The model's generated C is compiled with its warnings allowed.",
  },
  {
    name: "cc",
    choices: null,
    default: "cc",
    type: "str",
    required: null,
    optional: GENERATE_AND_BUILD,
    help: "The C compiler command, for example gcc, clang or 'ccache cc'.",
  },
  {
    name: "cflags",
    choices: null,
    default: null,
    type: "str",
    required: null,
    optional: GENERATE_AND_BUILD,
    help: "Extra flags for every compile and the link, for example '-O3 -march=native'.",
  },
  {
    name: "compile_definitions",
    choices: null,
    default: null,
    type: "str",
    required: null,
    optional: GENERATE_AND_BUILD,
    help: "Extra preprocessor definitions for every compile, for example '-DFOO=1 -DBAR'.",
  },
  {
    name: "workspace_size_bytes",
    choices: null,
    default: DEFAULT_WORKSPACE_SIZE_BYTES,
    type: "int",
    required: null,
    optional: GENERATE_AND_BUILD,
    help: "Size in bytes of the firmware's memory pool (TVM_WORKSPACE_SIZE_BYTES).",
  },
  {
    name: "project_type",
    choices: ["host_driven"],
    default: null,
    type: "str",
    required: null,
    optional: ["generate_project"],
    help: "Accepted for TVM compatibility; the host template builds host-driven firmware only.",
  },
];

/** Every option's value once resolved: the types the template works with. */
export interface HostOptions {
  verbose: boolean;
  warning_as_error: boolean;
  cc: string;
  cflags: string;
  compile_definitions: string;
  workspace_size_bytes: number;
  project_type: string;
}

const TRUE_WORDS = new Set(["true", "1", "yes", "on"]);
const FALSE_WORDS = new Set(["false", "0", "no", "off", ""]);

function bad(name: string, want: string, value: unknown): never {
  throw new ServerError(
    `option ${name}: want ${want}, got ${JSON.stringify(value)}; ` +
      `fix the value (for example ${name}=${want === "bool" ? "true" : want === "int" ? "4096" : "text"})`,
  );
}

function toBool(name: string, value: unknown): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "number" && (value === 0 || value === 1)) return value === 1;
  if (typeof value === "string") {
    const word = value.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
  }
  return bad(name, "bool", value);
}

function toInt(name: string, value: unknown): number {
  let n: number | undefined;
  if (typeof value === "number" && Number.isSafeInteger(value)) n = value;
  else if (typeof value === "bigint" && value <= BigInt(Number.MAX_SAFE_INTEGER)) n = Number(value);
  else if (typeof value === "string" && /^\s*[+-]?\d+\s*$/.test(value)) n = Number(value.trim());
  if (n === undefined || !Number.isSafeInteger(n)) return bad(name, "int", value);
  return n;
}

function toStr(name: string, value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return bad(name, "str", value);
}

function isSet(value: unknown): boolean {
  return value !== null && value !== undefined;
}

/**
 * Resolves every option: the value sent (when not null), else the value saved in the project,
 * else the default. Option names the template does not declare are ignored, as TVM's templates do.
 */
export function resolveOptions(
  sent: Record<string, unknown> | null | undefined,
  saved: Record<string, unknown> = {},
): HostOptions {
  const pick = (name: keyof HostOptions): unknown => {
    if (sent && isSet(sent[name])) return sent[name];
    if (isSet(saved[name])) return saved[name];
    return HOST_OPTIONS.find((o) => o.name === name)?.default ?? null;
  };
  const options: HostOptions = {
    verbose: toBool("verbose", pick("verbose")),
    warning_as_error: toBool("warning_as_error", pick("warning_as_error")),
    cc: toStr("cc", pick("cc")).trim(),
    cflags: isSet(pick("cflags")) ? toStr("cflags", pick("cflags")) : "",
    compile_definitions: isSet(pick("compile_definitions"))
      ? toStr("compile_definitions", pick("compile_definitions"))
      : "",
    workspace_size_bytes: toInt("workspace_size_bytes", pick("workspace_size_bytes")),
    project_type: isSet(pick("project_type")) ? toStr("project_type", pick("project_type")) : "host_driven",
  };
  if (options.cc === "") throw new ServerError("option cc is empty; name a C compiler, for example cc=gcc");
  if (options.workspace_size_bytes < 4096 || options.workspace_size_bytes > 0x7fffffff) {
    throw new ServerError(
      `option workspace_size_bytes: ${options.workspace_size_bytes} is out of range; ` +
        `use 4096 to 2147483647 bytes (default ${DEFAULT_WORKSPACE_SIZE_BYTES})`,
    );
  }
  if (options.project_type !== "host_driven") {
    throw new ServerError(
      `option project_type: the host template builds host-driven firmware only; got ${JSON.stringify(options.project_type)}`,
    );
  }
  return options;
}
