// The qemu-cortex-m template's Project API handler: generate a project from a model, cross-compile
// it for an MPS2 board, and talk to the firmware running under qemu-system-arm over the board's
// UART (QEMU's stdin/stdout).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ServerError, TransportClosedError } from "microtvm/protocol";
import type { ServerInfo, TransportTimeouts } from "microtvm/protocol";
import type { GenerateProjectArgs, ProjectApiHandler, ProjectOptions } from "microtvm/server";
import { FirmwareProcess } from "../host/firmware-process.js";
import { readProjectFile, writeProjectFile } from "../host/project-file.js";
import { QemuBuilder } from "./build.js";
import { MODEL_ARCHIVE_NAME, PLATFORM_NAME, generateQemuProject } from "./generate.js";
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

export interface QemuLog {
  info(message: string): void;
  error(message: string): void;
}

export class QemuProjectHandler implements ProjectApiHandler {
  private qemu: FirmwareProcess | undefined;
  private readonly builder: QemuBuilder;

  /** @param serverDir the directory of the running server: the template, or a generated project. */
  constructor(
    readonly serverDir: string,
    private readonly log: QemuLog,
  ) {
    this.builder = new QemuBuilder((line) => this.log.info(line));
  }

  get isTemplate(): boolean {
    return !existsSync(join(this.serverDir, MODEL_ARCHIVE_NAME));
  }

  serverInfoQuery(_tvmVersion: string): ServerInfo {
    const isTemplate = this.isTemplate;
    return {
      platformName: PLATFORM_NAME,
      isTemplate,
      modelLibraryFormatPath: isTemplate ? "" : join(this.serverDir, MODEL_ARCHIVE_NAME),
      projectOptions: QEMU_OPTIONS.map((o) => ({ ...o })),
    };
  }

  async generateProject(args: GenerateProjectArgs): Promise<void> {
    if (!this.isTemplate) {
      throw new ServerError(
        `${this.serverDir} is a generated project, not the qemu-cortex-m template; run generate_project from the template`,
      );
    }
    await generateQemuProject({
      templateDir: this.serverDir,
      modelLibraryFormatPath: args.modelLibraryFormatPath,
      projectDir: args.projectDir,
      options: resolveQemuOptions(args.options),
      log: (line) => this.log.info(line),
    });
  }

  async build(sent: ProjectOptions): Promise<void> {
    const options = this.projectOptions(sent, "build");
    const saved = readProjectFile(this.serverDir)?.options.board;
    // Another board than last time: its core may lack what the model's code needs (DSP).
    if (saved !== options.board)
      await inspectModelForBoard(join(this.serverDir, MODEL_ARCHIVE_NAME), options.board);
    const { memory } = await this.builder.build(this.serverDir, options);
    const ram = memory.find((m) => m.region === "RAM");
    if (ram) this.log.info(`build: ${options.board} RAM ${ram.used} of ${ram.total} bytes`);
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
    await this.closeTransport();
    const icount = options.deterministic_timing ? options.icount_shift : null;
    const { command, args } = qemuCommand(options.board, elf, {
      icount,
      name: `${QEMU_NAME_PREFIX}-${process.pid}`,
    });
    if (options.verbose) this.log.info(`open_transport: ${[command, ...args].join(" ")}`);
    try {
      this.qemu = await FirmwareProcess.start(command, this.serverDir, this.log, args);
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
      throw new ServerError(
        missing
          ? `${command} was not found on PATH; install QEMU (Debian: apt-get install qemu-system-arm)`
          : `cannot start QEMU: ${(error as Error).message}`,
      );
    }
    const hz = qemuBoard(options.board).sysclkHz;
    this.log.info(
      `open_transport: QEMU ${options.board} started (pid ${this.qemu.pid}); device time is SysTick at ` +
        `${hz / 1e6} MHz of QEMU's virtual clock` +
        (icount === null
          ? " (follows the host clock: timings vary with host load)"
          : `, -icount shift=${icount}: each instruction is ${2 ** icount} ns, so timings are deterministic ` +
            `(seconds x ${hz} = SysTick ticks)`),
    );
    return { ...QEMU_TIMEOUTS };
  }

  async closeTransport(): Promise<void> {
    const qemu = this.qemu;
    if (!qemu) return;
    this.qemu = undefined;
    // QEMU does not exit when its stdin closes, which is what FirmwareProcess.close() waits for
    // first; SIGTERM ends it at once ("terminating on signal 15"), so send that now.
    if (!qemu.exit && qemu.pid !== undefined) {
      try {
        process.kill(qemu.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
    await qemu.close();
    const exit = qemu.exit;
    this.log.info(
      `close_transport: QEMU ended (${exit?.signal ? `signal ${exit.signal}` : `status ${exit?.code ?? "unknown"}`})`,
    );
  }

  async readTransport(n: number, timeoutSec: number | null): Promise<Uint8Array> {
    if (!this.qemu) throw new TransportClosedError();
    return this.qemu.read(n, timeoutSec);
  }

  async writeTransport(data: Uint8Array, timeoutSec: number | null): Promise<void> {
    if (!this.qemu) throw new TransportClosedError();
    await this.qemu.write(data, timeoutSec);
  }

  /** The client went away or the server is being stopped: leave nothing running. */
  async shutdown(): Promise<void> {
    this.builder.stop(true);
    await this.closeTransport();
  }

  /** Synchronous last resort for process exit. */
  killChildren(): void {
    this.builder.stop(true);
    this.qemu?.killNow();
  }

  /** Options for a call on a generated project: sent values, else saved ones, else defaults. */
  private projectOptions(sent: ProjectOptions | null, method: string): QemuOptions {
    if (this.isTemplate) {
      throw new ServerError(
        `${method}: ${this.serverDir} is the qemu-cortex-m template, not a generated project; generate a project first`,
      );
    }
    const saved = readProjectFile(this.serverDir)?.options ?? {};
    const options = resolveQemuOptions(sent, saved);
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

  private saveOptions(options: QemuOptions): void {
    const file = readProjectFile(this.serverDir);
    if (!file) return;
    file.options = { ...file.options, ...options };
    writeProjectFile(this.serverDir, file);
  }

  private requireFirmware(method: string, options: QemuOptions): string {
    const elf = join(this.serverDir, FIRMWARE_OUTPUTS.elf);
    if (!existsSync(elf)) {
      throw new ServerError(
        `${method}: ${FIRMWARE_OUTPUTS.elf} does not exist in ${this.serverDir}; run build first (board ${options.board})`,
      );
    }
    return elf;
  }
}
