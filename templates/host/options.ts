// The host template's project options (how a sent value is resolved: ../common/options.ts).
import { ServerError } from "microtvm/protocol";
import type { ProjectOption } from "microtvm/protocol";
import {
  type CommonOptions,
  isSet,
  optionPicker,
  projectOption,
  optionalStr,
  projectTypeOption,
  requireHostDriven,
  toBool,
  toInt,
  toStr,
} from "../common/options.js";

/** The pool when the model archive cannot be read for its needs. */
export const DEFAULT_WORKSPACE_SIZE_BYTES = 2 * 1024 * 1024;
/** The session's largest packet on the host: big, so that tensor copies take few round trips. */
export const HOST_PACKET_SIZE_BYTES = 128 * 1024;

/** The largest packet for a pool: HOST_PACKET_SIZE_BYTES, less when a small pool was chosen. */
export function hostPacketSize(poolBytes: number): number {
  if (poolBytes >= 1024 * 1024) return HOST_PACKET_SIZE_BYTES;
  return poolBytes >= 256 * 1024 ? 16 * 1024 : 2048;
}

const GENERATE_AND_BUILD = ["generate_project", "build"];

export const HOST_OPTIONS: readonly ProjectOption[] = [
  projectOption({
    name: "verbose",
    type: "bool",
    default: false,
    optional: ["generate_project", "build", "flash", "open_transport"],
    help: "Show each compiler command and its output, and log more from the server.",
  }),
  projectOption({
    name: "warning_as_error",
    type: "bool",
    default: false,
    optional: GENERATE_AND_BUILD,
    help:
      "Compile this project's own C sources (firmware, model glue, runtime) with -Werror. " +
      "The model's generated C is compiled with its warnings allowed.",
  }),
  projectOption({
    name: "cc",
    type: "str",
    default: "cc",
    optional: GENERATE_AND_BUILD,
    help: "The C compiler command, for example gcc, clang or 'ccache cc'.",
  }),
  projectOption({
    name: "cflags",
    type: "str",
    default: null,
    optional: GENERATE_AND_BUILD,
    help: "Extra flags for every compile and the link, for example '-O3 -march=native'.",
  }),
  projectOption({
    name: "compile_definitions",
    type: "str",
    default: null,
    optional: GENERATE_AND_BUILD,
    help: "Extra preprocessor definitions for every compile, for example '-DFOO=1 -DBAR'.",
  }),
  projectOption({
    name: "workspace_size_bytes",
    type: "int",
    default: null,
    optional: GENERATE_AND_BUILD,
    help:
      "Size in bytes of the firmware's memory pool (TVM_WORKSPACE_SIZE_BYTES). Unset: sized at build " +
      "from the model archive's needs plus a 25% margin.",
  }),
  projectTypeOption("Accepted for TVM compatibility; the host template builds host-driven firmware only."),
];

/** Every option's value once resolved: the types the template works with. */
export interface HostOptions extends CommonOptions {
  cc: string;
  compile_definitions: string;
}

/** Resolves and checks every option (sent, else saved, else default: see optionPicker). */
export function resolveOptions(
  sent: Record<string, unknown> | null | undefined,
  saved: Record<string, unknown> = {},
): HostOptions {
  const pick: (name: keyof HostOptions) => unknown = optionPicker(HOST_OPTIONS, sent, saved);
  const options: HostOptions = {
    verbose: toBool("verbose", pick("verbose")),
    warning_as_error: toBool("warning_as_error", pick("warning_as_error")),
    cc: toStr("cc", pick("cc")).trim(),
    cflags: optionalStr("cflags", pick("cflags")),
    compile_definitions: optionalStr("compile_definitions", pick("compile_definitions")),
    workspace_size_bytes: isSet(pick("workspace_size_bytes"))
      ? toInt("workspace_size_bytes", pick("workspace_size_bytes"))
      : null,
    project_type: optionalStr("project_type", pick("project_type"), "host_driven"),
  };
  if (options.cc === "") throw new ServerError("option cc is empty; name a C compiler, for example cc=gcc");
  const pool = options.workspace_size_bytes;
  if (pool !== null && (pool < 4096 || pool > 0x7fffffff)) {
    throw new ServerError(
      `option workspace_size_bytes: ${pool} is out of range; ` +
        `use 4096 to 2147483647 bytes, or leave it unset to size the pool from the model archive`,
    );
  }
  requireHostDriven(options.project_type, "the host template");
  return options;
}
