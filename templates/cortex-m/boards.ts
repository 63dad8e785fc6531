// The boards of the cortex-m template: one table for everything the build, the server and the
// docs need to know about a board. board.mk (what the Makefile reads) is rendered from it.
// Node built-ins only, so the template's server can bundle this file.
import type { BoardFlashing } from "./flash.js";

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
  uart: {
    name: string;
    base: number;
    rxIrq: number;
    pins: string;
    baud: number;
    /** Nordic parts: the PSELTXD/PSELRXD values. */
    txPin?: number;
    rxPin?: number;
  };
  /** External interrupt lines in the vector table. */
  externalIrqs: number;
  /** The firmware's C files for this board, beside the shared ones. */
  sources: readonly string[];
  /**
   * Device time: `dwt` (the cycle counter, at the clock the firmware set up), `systick` at `hz`
   * (QEMU's STM32: its fixed virtual core clock, since it models no DWT), or `timer0` (Nordic
   * parts: TIMER0 at 1 MHz, in the board's own C file).
   */
  timer: { kind: "dwt" } | { kind: "systick"; hz: number } | { kind: "timer0" };
  /** The core clock the firmware sets up on silicon. */
  sysclkHz: number;
  /** Debug probes (ids in microtvm/serial's probe table) whose serial port reaches this board. */
  probes: readonly string[];
  /** How the flash runners program the board (none for a QEMU twin). */
  flashing: BoardFlashing;
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

const stm32f7Common = {
  cflags: ["-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard"],
  stackBytes: 16 * KiB,
  heapBytes: 4 * KiB,
  packetBytes: 4096,
  uartRingBytes: 4096,
  workspaceBytes: 192 * KiB,
  sources: ["stm32f7.c"],
  sysclkHz: 168_000_000,
} as const;

// Nordic UART0 at 0x40002000 (IRQ 2) and TIMER0: the same on the nRF51 and the nRF52.
const nordicUart = { name: "UART0", base: 0x40002000, rxIrq: 2, baud: 115200 } as const;

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
    flashing: {
      runners: ["openocd", "st-flash", "pyocd", "probe-rs"],
      openocdConfig: "board/st_nucleo_f4.cfg",
      pyocdTarget: "stm32f446retx",
      probeRsChip: "STM32F446RETx",
      stFlashAddress: "0x08000000",
    },
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
    flashing: { runners: [] },
    qemu: {
      machine: "netduinoplus2",
      cpu: "cortex-m4",
      serial: ["-serial", "null", "-serial", "pty"],
      uartLabel: "serial1",
    },
  },
  "nucleo-f746zg": {
    name: "nucleo-f746zg",
    description:
      "ST NUCLEO-F746ZG: STM32F746ZG, Cortex-M7 (single-precision FPU) at 168 MHz, 1 MiB flash, 320 KiB RAM",
    mcu: "STM32F746ZG",
    ...stm32f7Common,
    flash: { origin: 0x08000000, length: 1024 * KiB },
    // DTCM (64 KiB) and SRAM1/SRAM2 are one contiguous range from 0x20000000.
    ram: { origin: 0x20000000, length: 320 * KiB },
    // USART3: the Nucleo-144's ST-LINK virtual COM port. IRQ 39.
    uart: { name: "USART3", base: 0x40004800, rxIrq: 39, pins: "PD8 (TX) / PD9 (RX), AF7", baud: 115200 },
    externalIrqs: 98,
    timer: { kind: "dwt" },
    probes: ["st-link"],
    flashing: {
      runners: ["openocd", "st-flash", "pyocd", "probe-rs"],
      openocdConfig: "board/st_nucleo_f7.cfg",
      pyocdTarget: "stm32f746zgtx",
      probeRsChip: "STM32F746ZGTx",
      stFlashAddress: "0x08000000",
    },
  },
  nrf52840dk: {
    name: "nrf52840dk",
    description: "Nordic nRF52840 DK: nRF52840, Cortex-M4F at 64 MHz, 1 MiB flash, 256 KiB RAM",
    mcu: "nRF52840",
    cflags: ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"],
    flash: { origin: 0x00000000, length: 1024 * KiB },
    ram: { origin: 0x20000000, length: 256 * KiB },
    stackBytes: 16 * KiB,
    heapBytes: 4 * KiB,
    packetBytes: 4096,
    uartRingBytes: 4096,
    workspaceBytes: 160 * KiB,
    // The J-Link OB's virtual COM port is wired to P0.06 (TX) and P0.08 (RX).
    uart: { ...nordicUart, pins: "P0.06 (TX) / P0.08 (RX)", txPin: 6, rxPin: 8 },
    externalIrqs: 48,
    sources: ["nrf_uart.c"],
    timer: { kind: "timer0" },
    sysclkHz: 64_000_000,
    probes: ["j-link"],
    flashing: {
      runners: ["nrfjprog", "pyocd", "probe-rs"],
      pyocdTarget: "nrf52840",
      probeRsChip: "nRF52840_xxAA",
      nrfFamily: "NRF52",
    },
  },
  microbit: {
    name: "microbit",
    description:
      "QEMU's microbit (nRF51822, Cortex-M0, 256 KiB flash, 16 KiB RAM): the Nordic firmware of nrf52840dk " +
      "built for the M0, UART0 on a pty",
    mcu: "nRF51822",
    cflags: ["-mcpu=cortex-m0", "-mthumb", "-mfloat-abi=soft"],
    flash: { origin: 0x00000000, length: 256 * KiB },
    ram: { origin: 0x20000000, length: 16 * KiB },
    // 16 KiB in all: stack 6 KiB (running the example sine model needs more than 4 KiB),
    // heap 256 B, receive buffer 512 B, ring 256 B, pool 5 KiB, the rest .data/.bss.
    stackBytes: 6 * KiB,
    heapBytes: 256,
    packetBytes: 512,
    uartRingBytes: 256,
    workspaceBytes: 5 * KiB,
    // micro:bit v1 edge connector: UART0 on P0.24 (TX) and P0.25 (RX) to the KL26 interface chip.
    uart: { ...nordicUart, pins: "P0.24 (TX) / P0.25 (RX)", txPin: 24, rxPin: 25 },
    externalIrqs: 32,
    sources: ["nrf_uart.c"],
    timer: { kind: "timer0" },
    sysclkHz: 16_000_000,
    probes: [],
    flashing: { runners: [] },
    qemu: { machine: "microbit", cpu: "cortex-m0", serial: ["-serial", "pty"], uartLabel: "serial0" },
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
    ...(b.uart.txPin !== undefined ? [`-DMTVM_UART_TX_PIN=${b.uart.txPin}u`] : []),
    ...(b.uart.rxPin !== undefined ? [`-DMTVM_UART_RX_PIN=${b.uart.rxPin}u`] : []),
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
