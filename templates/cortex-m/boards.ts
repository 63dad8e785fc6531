// The boards of the cortex-m template: one table for everything the build, the server and the
// docs need to know about a board. board.mk (what the Makefile reads) is rendered from it.
// Node built-ins only, so the template's server can bundle this file.

export interface MemoryRegion {
  /** First address. */
  origin: number;
  /** Size in bytes. */
  length: number;
}

/** How a twin board runs under QEMU. */
export interface QemuTwin {
  machine: string;
  cpu: string;
  /** -serial arguments, in order: QEMU connects its serial backends to the USARTs in order. */
  serial: readonly string[];
  /** QEMU's label of the backend that is the board's UART (from "redirected to ... (label X)"). */
  uartLabel: string;
}

export interface CortexMBoard {
  name: string;
  description: string;
  /** The microcontroller. */
  mcu: string;
  /** arm-none-eabi-gcc code generation flags. */
  cflags: readonly string[];
  /** Code, read-only data and the initial image of .data. */
  flash: MemoryRegion;
  /** Stack, .data, .bss (the memory pool, ring buffers) and heap. */
  ram: MemoryRegion;
  stackBytes: number;
  heapBytes: number;
  /** The session's largest packet (TVM_CRT_MAX_PACKET_SIZE_BYTES): the device's receive buffer. */
  packetBytes: number;
  /** The UART receive ring (a power of two). */
  uartRingBytes: number;
  /** The default memory pool (TVM_WORKSPACE_SIZE_BYTES). */
  workspaceBytes: number;
  uart: { name: string; base: number; rxIrq: number; pins: string; baud: number };
  /** External interrupt lines in the vector table. */
  externalIrqs: number;
  /** The firmware's C files for this board, beside the shared ones. */
  sources: readonly string[];
  /**
   * Device time: `dwt` (the cycle counter, at the clock the firmware set up) or `systick` at
   * `timerHz` (QEMU: its fixed virtual core clock, since it models no DWT).
   */
  timer: { kind: "dwt" } | { kind: "systick"; hz: number };
  /** The core clock the firmware sets up on silicon. */
  sysclkHz: number;
  /** Debug probes (ids in microtvm/serial's probe table) whose serial port reaches this board. */
  probes: readonly string[];
  /** Set for boards that run under QEMU: then they have no probe and flash starts QEMU. */
  qemu?: QemuTwin;
}

const KiB = 1024;

const stm32f4Common = {
  cflags: ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"],
  stackBytes: 8 * KiB,
  heapBytes: 2 * KiB,
  packetBytes: 2048,
  uartRingBytes: 2048,
  workspaceBytes: 72 * KiB,
  // USART2: the Nucleo's ST-LINK virtual COM port. IRQ 38 on every STM32F4.
  uart: { name: "USART2", base: 0x40004400, rxIrq: 38, pins: "PA2 (TX) / PA3 (RX), AF7", baud: 115200 },
  sources: ["stm32f4.c"],
  sysclkHz: 168_000_000,
} as const;

const BOARD_TABLE = {
  "nucleo-f446re": {
    name: "nucleo-f446re",
    description: "ST NUCLEO-F446RE: STM32F446RE, Cortex-M4F at 168 MHz, 512 KiB flash, 128 KiB RAM",
    mcu: "STM32F446RE",
    ...stm32f4Common,
    flash: { origin: 0x08000000, length: 512 * KiB },
    ram: { origin: 0x20000000, length: 128 * KiB },
    externalIrqs: 97,
    timer: { kind: "dwt" },
    probes: ["st-link"],
  },
  netduinoplus2: {
    name: "netduinoplus2",
    description:
      "QEMU's netduinoplus2 (STM32F405, Cortex-M4F): the STM32F4 firmware of nucleo-f446re run under " +
      "qemu-system-arm, USART2 on a pty",
    mcu: "STM32F405RG",
    ...stm32f4Common,
    flash: { origin: 0x08000000, length: 1024 * KiB },
    ram: { origin: 0x20000000, length: 128 * KiB },
    externalIrqs: 82,
    // QEMU's STM32F405 runs its core (and SysTick) at a fixed 168 MHz of virtual time.
    timer: { kind: "systick", hz: 168_000_000 },
    probes: [],
    qemu: {
      machine: "netduinoplus2",
      cpu: "cortex-m4",
      serial: ["-serial", "null", "-serial", "pty"],
      uartLabel: "serial1",
    },
  },
} as const satisfies Record<string, CortexMBoard>;

export type BoardName = keyof typeof BOARD_TABLE;
export const BOARDS: Readonly<Record<BoardName, CortexMBoard>> = BOARD_TABLE;
export const BOARD_NAMES = Object.keys(BOARDS) as BoardName[];

export function isBoardName(name: string): name is BoardName {
  return Object.hasOwn(BOARDS, name);
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;

/** board.mk: the board's entry in the Makefile's terms. */
export function renderBoardMk(b: CortexMBoard, baud: number = b.uart.baud): string {
  const defines = [
    `-DMTVM_UART_BASE=${hex(b.uart.base)}u`,
    `-DMTVM_UART_RX_IRQ=${b.uart.rxIrq}u`,
    `-DMTVM_UART_BAUD=${baud}u`,
    `-DMTVM_EXTERNAL_IRQS=${b.externalIrqs}u`,
    `-DMTVM_UART_RING_BYTES=${b.uartRingBytes}u`,
    `-DTVM_CRT_MAX_PACKET_SIZE_BYTES=${b.packetBytes}`,
    `-DMTVM_SYSCLK_HZ=${b.sysclkHz}u`,
    ...(b.timer.kind === "systick" ? [`-DMTVM_TIMER_HZ=${b.timer.hz}u`] : []),
  ];
  return `# ${b.description}
# Written by the cortex-m template's server from its board table (boards.ts); rewritten when the
# project is built for another board.
BOARD := ${b.name}
CPU_FLAGS := ${b.cflags.join(" ")}
FLASH := ${hex(b.flash.origin)} ${hex(b.flash.length)}
RAM := ${hex(b.ram.origin)} ${hex(b.ram.length)}
STACK_SIZE := ${b.stackBytes}
HEAP_MIN_SIZE := ${b.heapBytes}
BOARD_TIMER := ${b.timer.kind}
BOARD_SOURCES := ${b.sources.join(" ")}
BOARD_DEFINES := ${defines.join(" ")}
`;
}
