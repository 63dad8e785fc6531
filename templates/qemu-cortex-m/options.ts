// The qemu-cortex-m template's project options, and how a value the client sent becomes the
// value used. As for the host template: TVM's client sends every declared option on every call,
// `null` where unset, and tvmc sends values as text; `null` means the value saved in the
// project's microtvm-project.json, then the default.
import { ServerError } from "microtvm/protocol";
import type { ProjectOption } from "microtvm/protocol";
import { QEMU_BOARD_NAMES, isQemuBoardName, type QemuBoardName } from "./qemu.js";

export const DEFAULT_BOARD: QemuBoardName = "mps2-an386";
/** The platform's memory pool: the runtime's buffers, tensors and operator workspace. */
export const DEFAULT_WORKSPACE_SIZE_BYTES = 1024 * 1024;

const GENERATE_AND_BUILD = ["generate_project", "build"];
const EVERY_CALL = ["generate_project", "build", "flash", "open_transport"];

export const QEMU_OPTIONS: readonly ProjectOption[] = [
  {
    name: "board",
    choices: [...QEMU_BOARD_NAMES],
    // Null, not the board's name: a client that fills in declared defaults must not switch a
    // project generated for another board back to the default one.
    default: null,
    type: "str",
    required: null,
    optional: EVERY_CALL,
    help:
      "The emulated board (QEMU machine): mps2-an385 (Cortex-M3, no FPU, no DSP instructions), " +
      "mps2-an386 (Cortex-M4F), mps2-an500 (Cortex-M7 with double-precision FPU). Unset: the board " +
      "the project was generated for; for generate_project, mps2-an386.",
  },
  {
    name: "deterministic_timing",
    choices: null,
    default: false,
    type: "bool",
    required: null,
    optional: ["open_transport"],
    help:
      "Run QEMU with -icount: every instruction advances the virtual clock by 2^icount_shift ns, so " +
      "device timings are reproducible (they count instructions, not real cycles).",
  },
  {
    name: "icount_shift",
    choices: null,
    default: 0,
    type: "int",
    required: null,
    optional: ["open_transport"],
    help: "With deterministic_timing: nanoseconds per instruction as a power of two (0 to 10).",
  },
  {
    name: "verbose",
    choices: null,
    default: false,
    type: "bool",
    required: null,
    optional: EVERY_CALL,
    help: "Show each compile step and QEMU's command line, and log more from the server.",
  },
  {
    name: "warning_as_error",
    choices: null,
    default: false,
    type: "bool",
    required: null,
    optional: GENERATE_AND_BUILD,
    help:
      "Compile this project's own C (firmware, model glue, runtime) with -Werror. The model's " +
      "generated C is compiled with its warnings off.",
  },
  {
    name: "cflags",
    choices: null,
    default: null,
    type: "str",
    required: null,
    optional: GENERATE_AND_BUILD,
    help: "Extra flags for every compile, for example '-O3' or '-DMTVM_WORKSPACE_SECTION=\".psram_bss\"'.",
  },
  {
    name: "workspace_size_bytes",
    choices: null,
    default: DEFAULT_WORKSPACE_SIZE_BYTES,
    type: "int",
    required: null,
    optional: GENERATE_AND_BUILD,
    help:
      "Size in bytes of the firmware's memory pool (TVM_WORKSPACE_SIZE_BYTES): the session's " +
      "buffers, tensors and operator workspace. It lives in the board's 4 MiB RAM, or with " +
      "workspace_in_psram in its 16 MiB PSRAM.",
  },
  {
    name: "workspace_in_psram",
    choices: null,
    default: false,
    type: "bool",
    required: null,
    optional: GENERATE_AND_BUILD,
    help:
      "Put the memory pool in the board's 16 MiB PSRAM instead of its 4 MiB RAM, for models whose " +
      "tensors and workspace do not fit beside the rest.",
  },
  {
    name: "project_type",
    choices: ["host_driven"],
    default: null,
    type: "str",
    required: null,
    optional: ["generate_project"],
    help: "Accepted for TVM compatibility; this template builds host-driven firmware only.",
  },
];

/** Every option's value once resolved. */
export interface QemuOptions {
  board: QemuBoardName;
  deterministic_timing: boolean;
  icount_shift: number;
  verbose: boolean;
  warning_as_error: boolean;
  cflags: string;
  workspace_size_bytes: number;
  workspace_in_psram: boolean;
  project_type: string;
}

const TRUE_WORDS = new Set(["true", "1", "yes", "on"]);
const FALSE_WORDS = new Set(["false", "0", "no", "off", ""]);

function bad(name: string, want: string, value: unknown, example: string): never {
  throw new ServerError(
    `option ${name}: want ${want}, got ${JSON.stringify(value)}; fix the value (for example ${name}=${example})`,
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
  return bad(name, "bool", value, "true");
}

function toInt(name: string, value: unknown): number {
  let n: number | undefined;
  if (typeof value === "number" && Number.isSafeInteger(value)) n = value;
  else if (typeof value === "string" && /^\s*[+-]?\d+\s*$/.test(value)) n = Number(value.trim());
  if (n === undefined || !Number.isSafeInteger(n)) return bad(name, "int", value, "4096");
  return n;
}

function toStr(name: string, value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return bad(name, "str", value, "text");
}

function isSet(value: unknown): boolean {
  return value !== null && value !== undefined;
}

/**
 * Resolves every option: the value sent (when not null), else the saved one, else the default.
 * Names the template does not declare are ignored, as TVM's templates do.
 */
export function resolveQemuOptions(
  sent: Record<string, unknown> | null | undefined,
  saved: Record<string, unknown> = {},
): QemuOptions {
  const pick = (name: keyof QemuOptions): unknown => {
    if (sent && isSet(sent[name])) return sent[name];
    if (isSet(saved[name])) return saved[name];
    if (name === "board") return DEFAULT_BOARD;
    return QEMU_OPTIONS.find((o) => o.name === name)?.default ?? null;
  };
  const board = toStr("board", pick("board")).trim();
  if (!isQemuBoardName(board)) {
    throw new ServerError(
      `option board: unknown board ${JSON.stringify(board)}; choose one of ${QEMU_BOARD_NAMES.join(", ")}`,
    );
  }
  const options: QemuOptions = {
    board,
    deterministic_timing: toBool("deterministic_timing", pick("deterministic_timing")),
    icount_shift: toInt("icount_shift", pick("icount_shift")),
    verbose: toBool("verbose", pick("verbose")),
    warning_as_error: toBool("warning_as_error", pick("warning_as_error")),
    cflags: isSet(pick("cflags")) ? toStr("cflags", pick("cflags")) : "",
    workspace_size_bytes: toInt("workspace_size_bytes", pick("workspace_size_bytes")),
    workspace_in_psram: toBool("workspace_in_psram", pick("workspace_in_psram")),
    project_type: isSet(pick("project_type")) ? toStr("project_type", pick("project_type")) : "host_driven",
  };
  if (options.icount_shift < 0 || options.icount_shift > 10) {
    throw new ServerError(`option icount_shift: ${options.icount_shift} is out of range; use 0 to 10`);
  }
  // The platform's allocator counts 256-byte blocks in 16 bits: at most 16 MiB.
  if (options.workspace_size_bytes < 4096 || options.workspace_size_bytes > 16 * 1024 * 1024) {
    throw new ServerError(
      `option workspace_size_bytes: ${options.workspace_size_bytes} is out of range; use 4096 to 16777216 ` +
        `bytes (default ${DEFAULT_WORKSPACE_SIZE_BYTES}); the board's RAM holds 4 MiB, its PSRAM 16 MiB`,
    );
  }
  if (options.project_type !== "host_driven") {
    throw new ServerError(
      `option project_type: this template builds host-driven firmware only; got ${JSON.stringify(options.project_type)}`,
    );
  }
  return options;
}
