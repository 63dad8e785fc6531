// The qemu-cortex-m template's Project API handler: generate a project from a model, cross-compile
// it for an MPS2 board, and talk to the firmware running under qemu-system-arm over the board's
// UART (QEMU's stdin/stdout).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ServerError } from "microtvm/protocol";
import type { TransportTimeouts } from "microtvm/protocol";
import type { ProjectOptions } from "microtvm/server";
import {
  TemplateProjectHandler,
  firmwarePool,
  type FirmwareRecord,
  type TemplateLog,
} from "../common/handler.js";
import { requireFirmwareFits } from "../common/fit.js";
import { MODEL_ARCHIVE_NAME } from "../common/project.js";
import { QemuBuilder } from "./build.js";
import { PLATFORM_NAME, TEMPLATE_NAME, generateQemuProject } from "./generate.js";
import { inspectModelForBoard } from "./model.js";
import { QEMU_OPTIONS, resolveQemuOptions, type QemuOptions } from "./options.js";
import { FIRMWARE_OUTPUTS, qemuBoard, qemuCommand } from "./qemu.js";

/**
 * Session timeouts under emulation. QEMU boots the firmware in tens of milliseconds, so the
 * session start is retried every 2 s; a reply may wait for a long inference, and without KVM
 * (or under -icount) an emulated Cortex-M is slower than the real one on a loaded host.
 */
export const QEMU_TIMEOUTS: TransportTimeouts = {
  sessionStartRetryTimeoutSec: 2,
  sessionStartTimeoutSec: 20,
  sessionEstablishedTimeoutSec: 120,
};

/** Marks every QEMU this template starts (`-name`), so `pgrep -f microtvm-qemu` finds them. */
export const QEMU_NAME_PREFIX = "microtvm-qemu";

export class QemuProjectHandler extends TemplateProjectHandler<QemuOptions> {
  private readonly builder: QemuBuilder;

  /** @param serverDir the directory of the running server: the template, or a generated project. */
  constructor(serverDir: string, log: TemplateLog) {
    super(serverDir, log, {
      name: TEMPLATE_NAME,
      platformName: PLATFORM_NAME,
      options: QEMU_OPTIONS,
      resolveOptions: resolveQemuOptions,
      generateProject: generateQemuProject,
      firmwareName: "QEMU",
    });
    this.builder = new QemuBuilder((line) => this.log.info(line));
  }

  async build(sent: ProjectOptions): Promise<void> {
    const options = this.projectOptions(sent, "build");
    const saved = this.savedOptions().board;
    // Another board than last time: its core may lack what the model's code needs (DSP).
    if (saved !== options.board)
      await inspectModelForBoard(join(this.serverDir, MODEL_ARCHIVE_NAME), options.board);
    let poolRecord: FirmwareRecord["pool"];
    await this.stampedBuild(sent, options, join(this.serverDir, "build"), async () => {
      const archive = join(this.serverDir, MODEL_ARCHIVE_NAME);
      const { memory, pool } = await this.builder.build(this.serverDir, options, archive);
      poolRecord = firmwarePool(pool);
      const ram = memory.find((m) => m.region === "RAM");
      if (ram) this.log.info(`build: ${options.board} RAM ${ram.used} of ${ram.total} bytes`);
    });
    const board = qemuBoard(options.board);
    this.recordFirmware({
      elf: FIRMWARE_OUTPUTS.elf,
      map: FIRMWARE_OUTPUTS.map,
      size_tool: "arm-none-eabi-size",
      memory: { flash: board.flash, ram: board.ram, external_ram: board.psram },
      pool_symbols: ["g_pool"],
      pool: poolRecord,
      target: `${options.board} (${board.cpu}) under QEMU`,
    });
    this.saveOptions(options);
  }

  flash(sent: ProjectOptions): void {
    const options = this.projectOptions(sent, "flash");
    const elf = this.requireFirmware("flash", options);
    this.log.info(
      `flash: nothing to write under QEMU; ${FIRMWARE_OUTPUTS.elf} is loaded with -kernel when the transport ` +
        `opens. On a real ${options.board} (Arm MPS2 board with the ${options.board.slice(5).toUpperCase()} image) ` +
        `load ${elf} with a debug probe (openocd/pyocd/gdb 'load'), or put ${FIRMWARE_OUTPUTS.bin} on the ` +
        "board's configuration USB drive and name it in images.txt",
    );
  }

  async openTransport(sent: ProjectOptions): Promise<TransportTimeouts> {
    const options = this.projectOptions(sent, "open_transport");
    const elf = this.requireFirmware("open_transport", options);
    const icount = options.deterministic_timing ? options.icount_shift : null;
    const { command, args } = qemuCommand(options.board, elf, {
      icount,
      name: `${QEMU_NAME_PREFIX}-${process.pid}`,
    });
    if (options.verbose) this.log.info(`open_transport: ${[command, ...args].join(" ")}`);
    // QEMU does not exit when its stdin closes: closing the transport sends SIGTERM at once,
    // which QEMU obeys ("terminating on signal 15").
    const qemu = await this.startFirmware(command, { args, exitsOnStdinEof: false }, (error) =>
      (error as NodeJS.ErrnoException).code === "ENOENT"
        ? `${command} was not found on PATH; install QEMU (Debian: apt-get install qemu-system-arm)`
        : `cannot start QEMU: ${error.message}`,
    );
    const hz = qemuBoard(options.board).sysclkHz;
    this.recordDeviceTimer({
      hz,
      deterministic: icount !== null,
      source:
        icount === null
          ? `SysTick of QEMU's ${options.board} virtual clock`
          : `SysTick of QEMU's ${options.board} virtual clock, -icount shift=${icount}`,
    });
    this.log.info(
      `open_transport: QEMU ${options.board} started (pid ${qemu.pid}); device time is SysTick at ` +
        `${hz / 1e6} MHz of QEMU's virtual clock` +
        (icount === null
          ? " (follows the host clock: timings vary with host load)"
          : `, -icount shift=${icount}: each instruction is ${2 ** icount} ns, so timings are deterministic ` +
            `(seconds x ${hz} = SysTick ticks)`),
    );
    return { ...QEMU_TIMEOUTS };
  }

  protected stopBuild(now: boolean): void {
    this.builder.stop(now);
  }

  /** A project runs only on the board it was last built for. */
  protected override projectOptions(sent: ProjectOptions | null, method: string): QemuOptions {
    const options = super.projectOptions(sent, method);
    const saved = this.savedOptions();
    if (
      saved.board !== undefined &&
      saved.board !== null &&
      saved.board !== options.board &&
      method !== "build"
    ) {
      throw new ServerError(
        `${method}: the project was built for ${String(saved.board)}, not ${options.board}; run build with board=${options.board} first`,
      );
    }
    return options;
  }

  private requireFirmware(method: string, options: QemuOptions): string {
    const elf = join(this.serverDir, FIRMWARE_OUTPUTS.elf);
    if (!existsSync(elf)) {
      throw new ServerError(
        `${method}: ${FIRMWARE_OUTPUTS.elf} does not exist in ${this.serverDir}; run build first (board ${options.board})`,
      );
    }
    // Checked again from the ELF: the board may have changed since the build, or the file been replaced.
    const b = qemuBoard(options.board);
    requireFirmwareFits(
      elf,
      options.board,
      [
        { name: "FLASH", ...b.flash },
        { name: "RAM", ...b.ram, loadsFromFlash: true },
        { name: "PSRAM", ...b.psram },
      ],
      method,
    );
    return elf;
  }
}
