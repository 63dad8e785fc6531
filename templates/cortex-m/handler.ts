// The cortex-m template's Project API handler: generate a project for a board, cross-compile it,
// and own the board's serial port as the transport — a device path through serialport, a
// socket:// or rfc2217:// port through node:net, or, for a QEMU twin, the pty of a QEMU this
// server starts.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ServerError, TransportClosedError } from "microtvm/protocol";
import type { TransportTimeouts } from "microtvm/protocol";
import type { ProjectOptions } from "microtvm/server";
import { listSerialPorts, selectBoardPort, PortSelectionError } from "microtvm/serial";
import type { FirmwareProcess } from "../common/firmware-process.js";
import { requireFirmwareFits } from "../common/fit.js";
import {
  TemplateProjectHandler,
  firmwarePool,
  type FirmwareRecord,
  type TemplateLog,
} from "../common/handler.js";
import { MODEL_ARCHIVE_NAME } from "../common/project.js";
import { BOARDS, type CortexMBoard } from "./boards.js";
import { CortexMBuilder, FIRMWARE_OUTPUTS } from "./build.js";
import { RUNNER_INSTALL, expandFlashCommand, runFlashSteps, runnerCommands } from "./flash.js";
import { PLATFORM_NAME, TEMPLATE_NAME, generateCortexMProject } from "./generate.js";
import { inspectModelForBoard } from "./model.js";
import { CORTEX_M_OPTIONS, resolveCortexMOptions, type CortexMOptions } from "./options.js";
import { INFO_CHARDEV, QEMU_NAME_PREFIX, findPty, qemuTwinCommand } from "./qemu.js";
import type { ByteLink } from "./transport/link.js";
import { SerialDeviceLink } from "./transport/serial-device.js";
import { TcpLink, parseTcpAddress } from "./transport/tcp.js";

/** A board on the desk: the firmware is running when the port opens; an inference takes ms to s. */
export const BOARD_TIMEOUTS: TransportTimeouts = {
  sessionStartRetryTimeoutSec: 2,
  sessionStartTimeoutSec: 10,
  sessionEstablishedTimeoutSec: 60,
};
/** A QEMU twin: boots in milliseconds, but an emulated core on a loaded host is slow. */
export const TWIN_TIMEOUTS: TransportTimeouts = {
  sessionStartRetryTimeoutSec: 2,
  sessionStartTimeoutSec: 20,
  sessionEstablishedTimeoutSec: 120,
};
const PTY_WAIT_MS = 10_000;
/** A device path that is missing or busy right after a board was plugged or flashed is retried. */
const OPEN_ATTEMPTS = 3;
const OPEN_RETRY_MS = 1000;

export class CortexMProjectHandler extends TemplateProjectHandler<CortexMOptions> {
  private readonly builder: CortexMBuilder;
  private link: ByteLink | undefined;
  private qemu: FirmwareProcess | undefined;
  private qemuPty: string | undefined;

  constructor(serverDir: string, log: TemplateLog) {
    super(serverDir, log, {
      name: TEMPLATE_NAME,
      platformName: PLATFORM_NAME,
      options: CORTEX_M_OPTIONS,
      resolveOptions: resolveCortexMOptions,
      generateProject: generateCortexMProject,
      firmwareName: "QEMU",
    });
    this.builder = new CortexMBuilder((line) => this.log.info(line));
  }

  async build(sent: ProjectOptions): Promise<void> {
    const options = this.projectOptions(sent, "build");
    if (this.savedOptions().board !== options.board)
      await inspectModelForBoard(join(this.serverDir, MODEL_ARCHIVE_NAME), options.board);
    const { port: _port, serial_number: _serial, ...saved } = options;
    let poolRecord: FirmwareRecord["pool"];
    await this.stampedBuild(sent, saved as CortexMOptions, join(this.serverDir, "build"), async () => {
      const archive = join(this.serverDir, MODEL_ARCHIVE_NAME);
      const { memory, pool } = await this.builder.build(this.serverDir, options, archive);
      poolRecord = firmwarePool(pool);
      for (const m of memory)
        this.log.info(`build: ${options.board} ${m.region} ${m.used} of ${m.total} bytes`);
    });
    const board = BOARDS[options.board];
    this.recordFirmware({
      elf: FIRMWARE_OUTPUTS.elf,
      map: FIRMWARE_OUTPUTS.map,
      size_tool: "arm-none-eabi-size",
      memory: { flash: board.flash, ram: board.ram },
      pool_symbols: ["g_pool"],
      pool: poolRecord,
      target: board.description,
    });
    this.saveOptions(saved as CortexMOptions);
  }

  async flash(sent: ProjectOptions): Promise<void> {
    const options = this.projectOptions(sent, "flash");
    const elf = this.requireFirmware("flash", options);
    const b = BOARDS[options.board];
    if (b.qemu && !options.port) {
      await this.startQemu(b, elf, options);
      this.log.info(`flash: QEMU ${b.qemu.machine} started with ${FIRMWARE_OUTPUTS.elf}`);
      return;
    }
    if (b.qemu) {
      this.log.info(`flash: port ${options.port} given: connecting to a running ${b.name}, nothing to load`);
      return;
    }
    await this.flashBoard(b, options);
  }

  /** Programs a real board with its runner (or the user's flash_command). */
  private async flashBoard(b: CortexMBoard, options: CortexMOptions): Promise<void> {
    const files = {
      elf: join(this.serverDir, FIRMWARE_OUTPUTS.elf),
      hex: join(this.serverDir, FIRMWARE_OUTPUTS.hex),
      bin: join(this.serverDir, FIRMWARE_OUTPUTS.bin),
    };
    const run = {
      cwd: this.serverDir,
      timeoutSec: options.flash_timeout_sec,
      retries: options.flash_retries,
      log: (line: string) => this.log.info(line),
    };
    if (options.flash_command) {
      const command = expandFlashCommand(options.flash_command, files, options.serial_number);
      await runFlashSteps([["sh", "-c", command]], { ...run, runnerName: "flash_command" });
      this.log.info(`flash: ${b.name} programmed by flash_command`);
      return;
    }
    const runner = options.flash_runner ?? b.flashing.runners[0];
    if (!runner) throw new ServerError(`flash: no runner knows ${b.name}; give -o flash_command=...`);
    if (!b.flashing.runners.includes(runner)) {
      throw new ServerError(
        `flash: ${runner} is not set up for ${b.name}; use one of ${b.flashing.runners.join(", ")}, or flash_command`,
      );
    }
    const steps = runnerCommands({
      runner,
      board: b.name,
      flashing: b.flashing,
      files,
      serialNumber: options.serial_number,
      recover: options.nrfjprog_recover,
    });
    await runFlashSteps(steps, { ...run, runnerName: runner, install: RUNNER_INSTALL[runner] });
    this.log.info(`flash: ${b.name} programmed with ${runner}`);
  }

  async openTransport(sent: ProjectOptions): Promise<TransportTimeouts> {
    const options = this.projectOptions(sent, "open_transport");
    const b = BOARDS[options.board];
    await this.closeLink();
    if (options.port) {
      this.link = await this.openPort(options.port, options);
      this.log.info(`open_transport: connected to ${this.link.description}`);
      this.recordTimer(b);
      return { ...(b.qemu ? TWIN_TIMEOUTS : BOARD_TIMEOUTS) };
    }
    if (b.qemu) {
      if (options.serial_number) {
        throw new ServerError(
          `open_transport: ${b.name} runs under QEMU, which has no USB serial number; drop serial_number, ` +
            "or give the port of a running twin with -o port=...",
        );
      }
      const elf = this.requireFirmware("open_transport", options);
      if (!this.qemu || this.qemu.exit) await this.startQemu(b, elf, options);
      const pty = await this.waitForPty(b);
      this.link = await this.openDevice(pty, options.baud_rate);
      this.log.info(
        `open_transport: QEMU ${b.qemu.machine} (pid ${this.qemu!.pid}), its ${b.uart.name} on ${pty}`,
      );
      this.recordTimer(b);
      return { ...TWIN_TIMEOUTS };
    }
    let path: string;
    try {
      path = selectBoardPort(listSerialPorts(), b.name, options.serial_number || undefined).path;
    } catch (error) {
      if (error instanceof PortSelectionError) throw new ServerError(`open_transport: ${error.message}`);
      throw error;
    }
    this.link = await this.openDevice(path, options.baud_rate);
    this.log.info(`open_transport: ${this.link.description}`);
    this.recordTimer(b);
    return { ...BOARD_TIMEOUTS };
  }

  override async closeTransport(): Promise<void> {
    await this.closeLink();
    this.qemu = undefined;
    this.qemuPty = undefined;
    await super.closeTransport();
  }

  override async readTransport(n: number, timeoutSec: number | null): Promise<Uint8Array> {
    if (!this.link) throw new TransportClosedError();
    return this.link.read(n, timeoutSec);
  }

  override async writeTransport(data: Uint8Array, timeoutSec: number | null): Promise<void> {
    if (!this.link) throw new TransportClosedError();
    await this.link.write(data, timeoutSec);
  }

  protected stopBuild(now: boolean): void {
    this.builder.stop(now);
  }

  /** A project runs only on the board it was last built for. */
  protected override projectOptions(sent: ProjectOptions | null, method: string): CortexMOptions {
    const options = super.projectOptions(sent, method);
    const saved = this.savedOptions().board;
    if (saved !== undefined && saved !== null && saved !== options.board && method !== "build") {
      throw new ServerError(
        `${method}: the project was built for ${String(saved)}, not ${options.board}; run build with board=${options.board} first`,
      );
    }
    return options;
  }

  private async closeLink(): Promise<void> {
    const link = this.link;
    this.link = undefined;
    if (link) await link.close();
  }

  private async openPort(port: string, options: CortexMOptions): Promise<ByteLink> {
    const tcp = parseTcpAddress(port);
    if (tcp) return TcpLink.open(tcp, options.baud_rate);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(port)) {
      throw new ServerError(
        `option port: ${JSON.stringify(port)} has an unknown scheme; give a device path (/dev/ttyACM0, COM3), ` +
          "socket://HOST:PORT or rfc2217://HOST:PORT",
      );
    }
    return this.openDevice(port, options.baud_rate);
  }

  private async openDevice(path: string, baud: number): Promise<ByteLink> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await SerialDeviceLink.open(this.serverDir, path, baud);
      } catch (error) {
        const transient = /does not exist|is busy/.test((error as Error).message);
        if (!transient || attempt >= OPEN_ATTEMPTS) throw error;
        this.log.info(`open_transport: ${(error as Error).message}; retrying in ${OPEN_RETRY_MS} ms`);
        await new Promise((resolve) => setTimeout(resolve, OPEN_RETRY_MS));
      }
    }
  }

  private async startQemu(b: CortexMBoard, elf: string, options: CortexMOptions): Promise<void> {
    const { command, args } = qemuTwinCommand(b, elf, `${QEMU_NAME_PREFIX}-${process.pid}`);
    if (options.verbose) this.log.info(`flash: ${[command, ...args].join(" ")}`);
    await this.closeLink();
    this.qemuPty = undefined;
    this.qemu = await this.startFirmware(command, { args, exitsOnStdinEof: false }, (error) =>
      (error as NodeJS.ErrnoException).code === "ENOENT"
        ? `${command} was not found on PATH; install QEMU (Debian: apt-get install qemu-system-arm)`
        : `cannot start QEMU: ${error.message}`,
    );
  }

  /** QEMU prints the pty of each `-serial pty` on its stdout (qemu_printf), once, at start. */
  private async waitForPty(b: CortexMBoard): Promise<string> {
    const qemu = this.qemu!;
    if (this.qemuPty) return this.qemuPty;
    const deadline = Date.now() + PTY_WAIT_MS;
    let text = "";
    await qemu.write(new TextEncoder().encode(INFO_CHARDEV), 5);
    for (;;) {
      const pty = findPty(text, b.qemu!.uartLabel);
      if (pty) {
        this.qemuPty = pty;
        return pty;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new ServerError(
          `QEMU ${b.qemu!.machine} did not report its pty within ${PTY_WAIT_MS / 1000} s; its output: ${text || qemu.stderrTail() || "none"}`,
        );
      }
      try {
        text += Buffer.from(await qemu.read(4096, left / 1000)).toString("utf8");
      } catch (error) {
        if (error instanceof TransportClosedError) {
          const exit = qemu.exit;
          throw new ServerError(
            `QEMU ${b.qemu!.machine} exited (${exit?.signal ?? `status ${exit?.code}`}) before it opened a pty: ${qemu.stderrTail() || text || "no output"}`,
          );
        }
      }
    }
  }

  private recordTimer(b: CortexMBoard): void {
    if (b.timer.kind === "systick") {
      this.recordDeviceTimer({
        hz: b.timer.hz,
        deterministic: false,
        source: `SysTick of QEMU's ${b.qemu?.machine ?? b.name} virtual clock`,
      });
    } else if (b.timer.kind === "timer0") {
      this.recordDeviceTimer({
        hz: 1_000_000,
        deterministic: false,
        source: b.qemu ? `TIMER0 of QEMU's ${b.qemu.machine} (${b.mcu})` : `TIMER0 of the ${b.mcu}`,
      });
    } else {
      this.recordDeviceTimer({
        hz: b.sysclkHz,
        deterministic: false,
        source: `DWT cycle counter of the ${b.mcu} at ${b.sysclkHz / 1e6} MHz`,
      });
    }
  }

  private requireFirmware(method: string, options: CortexMOptions): string {
    const elf = join(this.serverDir, FIRMWARE_OUTPUTS.elf);
    if (!existsSync(elf)) {
      throw new ServerError(
        `${method}: ${FIRMWARE_OUTPUTS.elf} does not exist in ${this.serverDir}; run build first (board ${options.board})`,
      );
    }
    // Checked again from the ELF: the board may have changed since the build, or the file been replaced.
    const b = BOARDS[options.board];
    const use = requireFirmwareFits(
      elf,
      b.name,
      [
        { name: "FLASH", ...b.flash },
        { name: "RAM", ...b.ram, loadsFromFlash: true },
      ],
      method,
    );
    this.log.info(
      `${method}: ${FIRMWARE_OUTPUTS.elf} fits ${b.name}: ` +
        use.map((r) => `${r.name} ${r.used} of ${r.length} bytes`).join(", "),
    );
    return elf;
  }
}
