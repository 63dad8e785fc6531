// The cortex-m template's project options (how a sent value is resolved: ../common/options.ts).
import { ServerError } from "microtvm/protocol";
import type { ProjectOption } from "microtvm/protocol";
import {
  type CommonOptions,
  optionPicker,
  projectOption,
  optionalStr,
  projectTypeOption,
  requireHostDriven,
  toBool,
  toInt,
  toStr,
} from "../common/options.js";
import { BOARD_NAMES, BOARDS, isBoardName, type BoardName } from "./boards.js";
import { FLASH_RUNNERS, type FlashRunner } from "./flash.js";

const GENERATE_AND_BUILD = ["generate_project", "build"];
const EVERY_CALL = ["generate_project", "build", "flash", "open_transport"];
const TRANSPORT_CALLS = ["flash", "open_transport"];

/** Baud rates the firmware's dividers and the usual USB serial bridges handle. */
export const MIN_BAUD = 1200;
export const MAX_BAUD = 4_000_000;

export const CORTEX_M_OPTIONS: readonly ProjectOption[] = [
  projectOption({
    name: "board",
    choices: [...BOARD_NAMES],
    type: "str",
    // Null, not a board's name: a client that fills in declared defaults must not switch a
    // project generated for another board back to the default one.
    default: null,
    optional: EVERY_CALL,
    help:
      "The board: " +
      BOARD_NAMES.map((n) => `${n} (${BOARDS[n].mcu}${"qemu" in BOARDS[n] ? ", runs under QEMU" : ""})`).join(
        ", ",
      ) +
      ". Required by generate_project; unset later: the board the project was generated for.",
  }),
  projectOption({
    name: "port",
    type: "str",
    default: null,
    optional: TRANSPORT_CALLS,
    help:
      "The board's serial port: a device path (/dev/ttyACM0, COM3), socket://HOST:PORT (raw TCP) or " +
      "rfc2217://HOST:PORT (a port shared with ser2net and the like). Unset: the one connected probe " +
      "compatible with the board (see `microtvm devices`); for a QEMU board, QEMU is started with its " +
      "UART on a pty.",
  }),
  projectOption({
    name: "serial_number",
    type: "str",
    default: null,
    optional: TRANSPORT_CALLS,
    help: "Use the serial port of the probe with this USB serial number (see `microtvm devices`).",
  }),
  projectOption({
    name: "baud_rate",
    type: "int",
    default: null,
    optional: [...GENERATE_AND_BUILD, ...TRANSPORT_CALLS],
    help: "The UART's baud rate, built into the firmware and used on the port. Unset: the board's (115200).",
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
    help: "Extra flags for every compile, for example '-O3'.",
  }),
  projectOption({
    name: "workspace_size_bytes",
    type: "int",
    default: null,
    optional: GENERATE_AND_BUILD,
    help:
      "Size in bytes of the firmware's memory pool (TVM_WORKSPACE_SIZE_BYTES): the session's buffers, " +
      "tensors and operator workspace, in the board's RAM. Unset: sized at build from the model archive's needs plus a 25% margin.",
  }),
  projectOption({
    name: "flash_runner",
    choices: [...FLASH_RUNNERS],
    type: "str",
    default: null,
    optional: ["flash"],
    help:
      "The tool that programs a real board: openocd, pyocd, probe-rs, st-flash or nrfjprog. Unset: the " +
      "board's first (nucleo: openocd, nrf52840dk: nrfjprog). QEMU twins are not flashed (QEMU loads the ELF).",
  }),
  projectOption({
    name: "flash_command",
    type: "str",
    default: null,
    optional: ["flash"],
    help:
      "Program the board with this shell command instead of a runner; {elf}, {hex}, {bin} and " +
      "{serial_number} are replaced by the image's paths and the probe's serial number.",
  }),
  projectOption({
    name: "flash_timeout_sec",
    type: "int",
    default: 120,
    optional: ["flash"],
    help: "Stop a flash step that has not finished after this many seconds.",
  }),
  projectOption({
    name: "flash_retries",
    type: "int",
    default: 1,
    optional: ["flash"],
    help: "Attempts after a failed one (a probe that was busy or not yet enumerated).",
  }),
  projectOption({
    name: "nrfjprog_recover",
    type: "bool",
    default: false,
    optional: ["flash"],
    help: "nrfjprog: run --recover first (erases the chip and clears its read-back protection).",
  }),
  projectTypeOption("Accepted for TVM compatibility; this template builds host-driven firmware only."),
];

export interface CortexMOptions extends CommonOptions {
  board: BoardName;
  /** Null when unset (saved as null: the board's default runner). */
  flash_runner: FlashRunner | null;
  flash_command: string;
  flash_timeout_sec: number;
  flash_retries: number;
  nrfjprog_recover: boolean;
  port: string;
  serial_number: string;
  baud_rate: number;
}

/** Resolves and checks every option (sent, else saved, else default: see optionPicker). */
export function resolveCortexMOptions(
  sent: Record<string, unknown> | null | undefined,
  saved: Record<string, unknown> = {},
): CortexMOptions {
  const pick = optionPicker(CORTEX_M_OPTIONS, sent, saved);
  const boardValue = pick("board");
  if (boardValue === null || boardValue === undefined) {
    throw new ServerError(`option board is required: choose one of ${BOARD_NAMES.join(", ")} (-o board=...)`);
  }
  const name = toStr("board", boardValue).trim();
  if (!isBoardName(name)) {
    throw new ServerError(
      `option board: unknown board ${JSON.stringify(name)}; choose one of ${BOARD_NAMES.join(", ")}`,
    );
  }
  const b = BOARDS[name];
  const options: CortexMOptions = {
    board: name,
    port: optionalStr("port", pick("port")).trim(),
    serial_number: optionalStr("serial_number", pick("serial_number")).trim(),
    baud_rate: pick("baud_rate") === null ? b.uart.baud : toInt("baud_rate", pick("baud_rate")),
    verbose: toBool("verbose", pick("verbose")),
    warning_as_error: toBool("warning_as_error", pick("warning_as_error")),
    cflags: optionalStr("cflags", pick("cflags")),
    workspace_size_bytes:
      pick("workspace_size_bytes") === null
        ? null
        : toInt("workspace_size_bytes", pick("workspace_size_bytes")),
    project_type: optionalStr("project_type", pick("project_type"), "host_driven"),
    flash_runner: null,
    flash_command: optionalStr("flash_command", pick("flash_command")).trim(),
    flash_timeout_sec: toInt("flash_timeout_sec", pick("flash_timeout_sec")),
    flash_retries: toInt("flash_retries", pick("flash_retries")),
    nrfjprog_recover: toBool("nrfjprog_recover", pick("nrfjprog_recover")),
  };
  const runner = optionalStr("flash_runner", pick("flash_runner")).trim();
  if (runner) {
    if (!(FLASH_RUNNERS as readonly string[]).includes(runner)) {
      throw new ServerError(
        `option flash_runner: unknown runner ${JSON.stringify(runner)}; choose one of ${FLASH_RUNNERS.join(", ")}, or give flash_command`,
      );
    }
    options.flash_runner = runner as FlashRunner;
  }
  if (options.flash_timeout_sec < 1 || options.flash_timeout_sec > 3600) {
    throw new ServerError(
      `option flash_timeout_sec: ${options.flash_timeout_sec} is out of range; use 1 to 3600`,
    );
  }
  if (options.flash_retries < 0 || options.flash_retries > 10) {
    throw new ServerError(`option flash_retries: ${options.flash_retries} is out of range; use 0 to 10`);
  }
  if (options.baud_rate < MIN_BAUD || options.baud_rate > MAX_BAUD) {
    throw new ServerError(
      `option baud_rate: ${options.baud_rate} is out of range; use ${MIN_BAUD} to ${MAX_BAUD} (the board's is ${b.uart.baud})`,
    );
  }
  const pool = options.workspace_size_bytes;
  if (pool !== null && (pool < 4096 || pool >= b.ram.length)) {
    throw new ServerError(
      `option workspace_size_bytes: ${pool} is out of range for ${name}; use 4096 to ` +
        `less than its ${b.ram.length} bytes of RAM, or leave it unset to size the pool from the model archive`,
    );
  }
  requireHostDriven(options.project_type, "this template");
  return options;
}
