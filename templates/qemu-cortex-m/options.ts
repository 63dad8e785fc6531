// The qemu-cortex-m template's project options (how a sent value is resolved:
// ../common/options.ts).
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
import { QEMU_BOARD_NAMES, isQemuBoardName, type QemuBoardName } from "./qemu.js";

export const DEFAULT_BOARD: QemuBoardName = "mps2-an386";
/** The platform's memory pool when the model archive cannot be read for its needs. */
export const DEFAULT_WORKSPACE_SIZE_BYTES = 1024 * 1024;

const GENERATE_AND_BUILD = ["generate_project", "build"];
const EVERY_CALL = ["generate_project", "build", "flash", "open_transport"];

export const QEMU_OPTIONS: readonly ProjectOption[] = [
  projectOption({
    name: "board",
    choices: [...QEMU_BOARD_NAMES],
    type: "str",
    // Null, not the board's name: a client that fills in declared defaults must not switch a
    // project generated for another board back to the default one.
    default: null,
    optional: EVERY_CALL,
    help:
      "The emulated board (QEMU machine): mps2-an385 (Cortex-M3, no FPU, no DSP instructions), " +
      "mps2-an386 (Cortex-M4F), mps2-an500 (Cortex-M7 with double-precision FPU). Unset: the board " +
      "the project was generated for; for generate_project, mps2-an386.",
  }),
  projectOption({
    name: "deterministic_timing",
    type: "bool",
    default: false,
    optional: ["open_transport"],
    help:
      "Run QEMU with -icount: every instruction advances the virtual clock by 2^icount_shift ns, so " +
      "device timings are reproducible (they count instructions, not real cycles).",
  }),
  projectOption({
    name: "icount_shift",
    type: "int",
    default: 0,
    optional: ["open_transport"],
    help: "With deterministic_timing: nanoseconds per instruction as a power of two (0 to 10).",
  }),
  projectOption({
    name: "verbose",
    type: "bool",
    default: false,
    optional: EVERY_CALL,
    help: "Show each compile step and QEMU's command line, and log more from the server.",
  }),
  projectOption({
    name: "warning_as_error",
    type: "bool",
    default: false,
    optional: GENERATE_AND_BUILD,
    help:
      "Compile this project's own C (firmware, model glue, runtime) with -Werror. The model's " +
      "generated C is compiled with its warnings off.",
  }),
  projectOption({
    name: "cflags",
    type: "str",
    default: null,
    optional: GENERATE_AND_BUILD,
    help: "Extra flags for every compile, for example '-O3' or '-DMTVM_WORKSPACE_SECTION=\".psram_bss\"'.",
  }),
  projectOption({
    name: "workspace_size_bytes",
    type: "int",
    default: null,
    optional: GENERATE_AND_BUILD,
    help:
      "Size in bytes of the firmware's memory pool (TVM_WORKSPACE_SIZE_BYTES): the session's " +
      "buffers, tensors and operator workspace. Unset: sized at build from the model archive's needs " +
      "plus a 25% margin. It lives in the board's 4 MiB RAM, or with " +
      "workspace_in_psram in its 16 MiB PSRAM.",
  }),
  projectOption({
    name: "workspace_in_psram",
    type: "bool",
    default: false,
    optional: GENERATE_AND_BUILD,
    help:
      "Put the memory pool in the board's 16 MiB PSRAM instead of its 4 MiB RAM, for models whose " +
      "tensors and workspace do not fit beside the rest.",
  }),
  projectTypeOption("Accepted for TVM compatibility; this template builds host-driven firmware only."),
];

/** Every option's value once resolved. */
export interface QemuOptions extends CommonOptions {
  board: QemuBoardName;
  deterministic_timing: boolean;
  icount_shift: number;
  workspace_in_psram: boolean;
}

/** Resolves and checks every option (sent, else saved, else default: see optionPicker). */
export function resolveQemuOptions(
  sent: Record<string, unknown> | null | undefined,
  saved: Record<string, unknown> = {},
): QemuOptions {
  const declared = optionPicker(QEMU_OPTIONS, sent, saved);
  // The board's declared default is null (see above); unset everywhere, it is DEFAULT_BOARD.
  const pick = (name: keyof QemuOptions): unknown =>
    declared(name) ?? (name === "board" ? DEFAULT_BOARD : null);
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
    cflags: optionalStr("cflags", pick("cflags")),
    workspace_size_bytes: isSet(pick("workspace_size_bytes"))
      ? toInt("workspace_size_bytes", pick("workspace_size_bytes"))
      : null,
    workspace_in_psram: toBool("workspace_in_psram", pick("workspace_in_psram")),
    project_type: optionalStr("project_type", pick("project_type"), "host_driven"),
  };
  if (options.icount_shift < 0 || options.icount_shift > 10) {
    throw new ServerError(`option icount_shift: ${options.icount_shift} is out of range; use 0 to 10`);
  }
  // The platform's allocator counts 256-byte blocks in 16 bits: at most 16 MiB.
  const pool = options.workspace_size_bytes;
  if (pool !== null && (pool < 4096 || pool > 16 * 1024 * 1024)) {
    throw new ServerError(
      `option workspace_size_bytes: ${pool} is out of range; use 4096 to 16777216 bytes, or leave it ` +
        "unset to size the pool from the model archive; the board's RAM holds 4 MiB, its PSRAM 16 MiB",
    );
  }
  requireHostDriven(options.project_type, "this template");
  return options;
}
