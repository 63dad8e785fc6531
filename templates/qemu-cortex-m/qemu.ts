// The boards of the qemu-cortex-m template and how QEMU is launched for them. The memory map
// matches boards.mk (what the Makefile links against); both were read from QEMU 7.2's
// `info mtree` for each machine. Node built-ins only, so a template server can bundle this file.
import { killedWithParent } from "../common/parent-death.js";

export interface MemoryRegion {
  /** First address. */
  origin: number;
  /** Size in bytes. */
  length: number;
}

export interface QemuBoard {
  /** QEMU's -machine name, also the template's `board` option value. */
  machine: string;
  /** QEMU's -cpu; each MPS2 machine accepts only its own CPU. */
  cpu: string;
  description: string;
  /** arm-none-eabi-gcc code generation flags (also in boards.mk). */
  cflags: readonly string[];
  /** Code and read-only data, plus the initial image of .data. */
  flash: MemoryRegion;
  /** Stack, .data, .bss and heap. */
  ram: MemoryRegion;
  /** Large buffers (section .psram_bss). */
  psram: MemoryRegion;
  /** The system clock, which drives the core and SysTick (the platform timer's tick rate). */
  sysclkHz: number;
}

const MiB = 1024 * 1024;
/** Every board's <board>_PACKET_SIZE in boards.mk: the session's largest packet. */
export const QEMU_PACKET_SIZE_BYTES = 16384;
const codeSsram: MemoryRegion = { origin: 0x00000000, length: 4 * MiB };
const dataSsram: MemoryRegion = { origin: 0x20000000, length: 4 * MiB };

export const QEMU_BOARDS = {
  "mps2-an385": {
    machine: "mps2-an385",
    cpu: "cortex-m3",
    description: "Arm MPS2 with the AN385 FPGA image: Cortex-M3, no FPU",
    cflags: ["-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"],
    flash: codeSsram,
    ram: dataSsram,
    psram: { origin: 0x21000000, length: 16 * MiB },
    sysclkHz: 25_000_000,
  },
  "mps2-an386": {
    machine: "mps2-an386",
    cpu: "cortex-m4",
    description: "Arm MPS2 with the AN386 FPGA image: Cortex-M4, single-precision FPU",
    cflags: ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"],
    flash: codeSsram,
    ram: dataSsram,
    psram: { origin: 0x21000000, length: 16 * MiB },
    sysclkHz: 25_000_000,
  },
  "mps2-an500": {
    machine: "mps2-an500",
    cpu: "cortex-m7",
    description: "Arm MPS2 with the AN500 FPGA image: Cortex-M7, double-precision FPU",
    cflags: ["-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard"],
    flash: codeSsram,
    ram: dataSsram,
    // Not at 0x21000000 as on the AN385/AN386: there QEMU maps only an unimplemented placeholder.
    psram: { origin: 0x60000000, length: 16 * MiB },
    sysclkHz: 25_000_000,
  },
} as const satisfies Record<string, QemuBoard>;

export type QemuBoardName = keyof typeof QEMU_BOARDS;

export const QEMU_BOARD_NAMES = Object.keys(QEMU_BOARDS) as QemuBoardName[];

export function isQemuBoardName(name: string): name is QemuBoardName {
  return Object.hasOwn(QEMU_BOARDS, name);
}

/** The board's entry, or an error naming the boards there are. */
export function qemuBoard(name: string): QemuBoard {
  if (!isQemuBoardName(name))
    throw new Error(`unknown board ${JSON.stringify(name)}: choose one of ${QEMU_BOARD_NAMES.join(", ")}`);
  return QEMU_BOARDS[name];
}

/** Where the Makefile puts its outputs, relative to the directory make runs in (BUILD_DIR=build). */
export const FIRMWARE_OUTPUTS = {
  elf: "build/firmware.elf",
  bin: "build/firmware.bin",
  map: "build/firmware.map",
} as const;

export interface QemuArgsOptions {
  /**
   * Deterministic timing: QEMU's -icount shift (each instruction advances virtual time by
   * 2^shift ns, so SysTick counts executed instructions) or "auto" (QEMU adjusts the shift to
   * track host time). Undefined or null: no -icount, virtual time follows the host clock.
   */
  icount?: number | "auto" | null;
  /** -name, shown by `ps`: lets a caller find (and tests check for) this very process. */
  name?: string;
  /** Listen for GDB on this TCP port (-gdb tcp::port) and, with `waitForGdb`, start halted (-S). */
  gdbPort?: number;
  waitForGdb?: boolean;
}

/**
 * QEMU's arguments for running `elf` on `board` with UART0 on QEMU's stdin/stdout.
 *
 * - `-display none`: no window and no VNC server (whose fixed port makes parallel runs collide).
 * - `-monitor none`: nothing else reads stdin. Not `-nographic`, which multiplexes the monitor
 *   onto stdio and takes byte 0x01 as its escape character, corrupting binary traffic.
 * - `-serial stdio`: the first serial port is UART0 at 0x40004000. QEMU writes its own messages
 *   to stderr only, so stdout carries nothing but the UART's bytes.
 * Not `-nodefaults`: the board's Ethernet controller then has no backend and QEMU warns about
 * it on every start; the defaults claim nothing that -serial and -monitor do not override.
 */
export function qemuArgs(boardName: string, elf: string, options: QemuArgsOptions = {}): string[] {
  const board = qemuBoard(boardName);
  const args = ["-machine", board.machine, "-cpu", board.cpu];
  args.push("-display", "none", "-monitor", "none", "-serial", "stdio", "-kernel", elf);
  const { icount } = options;
  if (icount !== undefined && icount !== null) {
    if (icount !== "auto" && !(Number.isInteger(icount) && icount >= 0 && icount <= 10))
      throw new RangeError(`icount must be "auto" or a shift from 0 to 10, got ${String(icount)}`);
    // The default sleep=on is kept: while the core waits in wfi, virtual time advances with the
    // host clock. With sleep=off QEMU would jump to each SysTick deadline at once and keep a
    // host core busy while the firmware idles.
    args.push("-icount", `shift=${icount}`);
  }
  if (options.name !== undefined) args.push("-name", options.name);
  if (options.gdbPort !== undefined) {
    args.push("-gdb", `tcp::${options.gdbPort}`);
    if (options.waitForGdb) args.push("-S");
  }
  return args;
}

export interface QemuCommand {
  command: string;
  args: string[];
}

/**
 * The command line that runs QEMU for `board`. QEMU does not exit when its stdin closes or its
 * parent dies, so on Linux it is started through `setpriv --pdeathsig KILL` (util-linux): the
 * kernel kills it when the process that spawned it exits, however that happens. The spawner
 * still ends it on close (SIGTERM, which QEMU obeys at once) and reaps it.
 */
export function qemuCommand(
  boardName: string,
  elf: string,
  options: QemuArgsOptions & { qemu?: string } = {},
): QemuCommand {
  const qemu = options.qemu ?? "qemu-system-arm";
  return killedWithParent(qemu, qemuArgs(boardName, elf, options));
}
