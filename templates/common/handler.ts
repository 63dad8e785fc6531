// What every template's Project API handler does alike: tell a template from a generated project,
// resolve the options of a call (sent, else saved, else default) and save them after a build,
// and run the firmware (or the emulator running it) as a child process that is the transport.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  DeviceError,
  effectiveBuildOptions,
  projectBuildStamp,
  readProjectFile,
  removeBuildStamp,
  writeBuildStamp,
  writeBuildStampHeader,
  writeProjectFile,
  type DeviceTimer,
  type ProjectFile,
} from "microtvm/device";
import { ServerError, TransportClosedError } from "microtvm/protocol";
import type { ProjectOption, ServerInfo, TransportTimeouts } from "microtvm/protocol";
import { describeHolder, tryLock } from "microtvm/server";
import type { DirectoryLock, GenerateProjectArgs, ProjectApiHandler, ProjectOptions } from "microtvm/server";
import { FirmwareProcess, type FirmwareLog, type FirmwareStartOptions } from "./firmware-process.js";
import { MODEL_ARCHIVE_NAME, type GenerateInputs } from "./project.js";

/** A memory of the target: first address and size in bytes. */
export interface MemoryRangeRecord {
  origin: number;
  length: number;
}

/** The built firmware, as recorded in microtvm-project.json (`firmware`); paths are project-relative. */
export interface FirmwareRecord {
  elf: string;
  map: string;
  size_tool: string;
  memory?: { flash: MemoryRangeRecord; ram: MemoryRangeRecord; external_ram?: MemoryRangeRecord };
  /** Symbols of the platform's workspace pool. */
  pool_symbols: string[];
  /** The pool's size and where it came from (see pool.ts). */
  pool?: FirmwarePoolRecord;
  /** What the target is, for the reader. */
  target: string;
}

/** `firmware.pool` in microtvm-project.json. */
export interface FirmwarePoolRecord {
  bytes: number;
  /** `archive` (need + margin), `option` (workspace_size_bytes) or `default`. */
  source: string;
  need_bytes: number | null;
  margin_bytes: number;
}

/** The project file's record of a build's pool. */
export function firmwarePool(pool: {
  bytes: number;
  source: string;
  needBytes: number | null;
  marginBytes: number;
}): FirmwarePoolRecord {
  return {
    bytes: pool.bytes,
    source: pool.source,
    need_bytes: pool.needBytes,
    margin_bytes: pool.marginBytes,
  };
}

export type { DeviceTimer };
export type TemplateLog = FirmwareLog;

/** The project file of `dir`; a file that cannot be read is the server's error to report. */
function projectFile(dir: string): ProjectFile | undefined {
  try {
    return readProjectFile(dir);
  } catch (error) {
    if (error instanceof DeviceError) throw new ServerError(error.message, null, { cause: error });
    throw error;
  }
}

export interface TemplateDescription<Options extends object> {
  /** The template's name in messages ("host" → "the host template"). */
  name: string;
  platformName: string;
  options: readonly ProjectOption[];
  resolveOptions(sent: ProjectOptions | null, saved?: Record<string, unknown>): Options;
  /** What runs as the transport, in log lines: "firmware", "QEMU". */
  firmwareName: string;
  generateProject(inputs: GenerateInputs<Options>): Promise<void>;
}

/** The lock a server holds on its project's build directory while it builds, flashes or runs it. */
export const BUILD_LOCK_FILE = ".microtvm-build.lock";

export abstract class TemplateProjectHandler<Options extends object> implements ProjectApiHandler {
  private firmware: FirmwareProcess | undefined;
  private buildLock: DirectoryLock | undefined;

  /** @param serverDir the directory of the running server: the template, or a generated project. */
  constructor(
    readonly serverDir: string,
    protected readonly log: TemplateLog,
    private readonly template: TemplateDescription<Options>,
  ) {}

  /** Stops a running build; `now` kills it at once. */
  protected abstract stopBuild(now: boolean): void;
  abstract build(sent: ProjectOptions): Promise<void>;
  abstract flash(sent: ProjectOptions): void | Promise<void>;
  abstract openTransport(sent: ProjectOptions): Promise<TransportTimeouts>;

  get isTemplate(): boolean {
    return !existsSync(join(this.serverDir, MODEL_ARCHIVE_NAME));
  }

  serverInfoQuery(_tvmVersion: string): ServerInfo {
    const isTemplate = this.isTemplate;
    return {
      platformName: this.template.platformName,
      isTemplate,
      modelLibraryFormatPath: isTemplate ? "" : join(this.serverDir, MODEL_ARCHIVE_NAME),
      projectOptions: this.template.options.map((o) => ({ ...o })),
    };
  }

  async generateProject(args: GenerateProjectArgs): Promise<void> {
    if (!this.isTemplate) {
      throw new ServerError(
        `${this.serverDir} is a generated project, not the ${this.template.name} template; run generate_project from the template`,
      );
    }
    await this.template.generateProject({
      templateDir: this.serverDir,
      modelLibraryFormatPath: args.modelLibraryFormatPath,
      projectDir: args.projectDir,
      options: this.template.resolveOptions(args.options),
      log: (line) => this.log.info(line),
    });
  }

  /** Starts the transport's process (ending one still running); `describeFailure` words a failed start. */
  protected async startFirmware(
    command: string,
    start: FirmwareStartOptions,
    describeFailure: (error: Error) => string,
  ): Promise<FirmwareProcess> {
    await this.stopFirmware();
    try {
      this.firmware = await FirmwareProcess.start(command, this.serverDir, this.log, start);
    } catch (error) {
      throw new ServerError(describeFailure(error as Error));
    }
    return this.firmware;
  }

  /**
   * Ends the transport and releases the build directory: another server (TVM's client leaves its
   * first server running) may now build, flash or open this project.
   */
  async closeTransport(): Promise<void> {
    await this.stopFirmware();
    this.releaseBuildLock();
  }

  /** Stops the firmware process the transport talks to, if one runs. */
  protected async stopFirmware(): Promise<void> {
    const firmware = this.firmware;
    if (!firmware) return;
    this.firmware = undefined;
    await firmware.close();
    const exit = firmware.exit;
    this.log.info(
      `close_transport: ${this.template.firmwareName} ended (${exit?.signal ? `signal ${exit.signal}` : `status ${exit?.code ?? "unknown"}`})`,
    );
  }

  async readTransport(n: number, timeoutSec: number | null): Promise<Uint8Array> {
    if (!this.firmware) throw new TransportClosedError();
    return this.firmware.read(n, timeoutSec);
  }

  async writeTransport(data: Uint8Array, timeoutSec: number | null): Promise<void> {
    if (!this.firmware) throw new TransportClosedError();
    await this.firmware.write(data, timeoutSec);
  }

  /** The client went away or the server is being stopped: leave nothing running. */
  async shutdown(): Promise<void> {
    this.stopBuild(true);
    await this.closeTransport();
    this.releaseBuildLock();
  }

  private releaseBuildLock(): void {
    this.buildLock?.release();
    this.buildLock = undefined;
  }

  /** Synchronous last resort for process exit. */
  killChildren(): void {
    this.stopBuild(true);
    this.firmware?.killNow();
  }

  /** Options for a call on a generated project: sent values, else saved ones, else defaults. */
  protected projectOptions(sent: ProjectOptions | null, method: string): Options {
    if (this.isTemplate) {
      throw new ServerError(
        `${method}: ${this.serverDir} is the ${this.template.name} template, not a generated project; generate a project first`,
      );
    }
    this.lockBuildDirectory(method);
    return this.template.resolveOptions(sent, this.savedOptions());
  }

  /**
   * One server at a time builds, flashes or runs a project: the first such call takes the lock and
   * the server keeps it until close_transport or until it exits; another server's call meanwhile
   * is refused naming the holder.
   */
  private lockBuildDirectory(method: string): void {
    if (this.buildLock) return;
    const held = tryLock(
      join(this.serverDir, BUILD_LOCK_FILE),
      `${this.template.name} server ${method} in ${this.serverDir}`,
    );
    if ("release" in held) {
      this.buildLock = held;
      return;
    }
    throw new ServerError(
      `${method}: the build directory of ${this.serverDir} is busy: ${describeHolder(held)}; wait for it to finish`,
    );
  }

  /** The options saved in the project's microtvm-project.json (by generate_project and build). */
  protected savedOptions(): Record<string, unknown> {
    return projectFile(this.serverDir)?.options ?? {};
  }

  /**
   * Runs `build` so that the result carries its build stamp: the stamp's digest goes into
   * `buildDir`/microtvm_build_stamp.h before compiling (the firmware returns it from
   * microtvm.build_stamp), and microtvm-build-stamp.json is written once the build succeeded.
   * `options` are the call's resolved options, which the build saves in the project file.
   */
  protected async stampedBuild(
    sent: ProjectOptions,
    options: Options,
    buildDir: string,
    build: () => Promise<void>,
  ): Promise<void> {
    removeBuildStamp(this.serverDir);
    const stamp = projectBuildStamp(this.serverDir, {
      archivePath: join(this.serverDir, MODEL_ARCHIVE_NAME),
      // As a client computes it after this build saved the resolved options.
      options: effectiveBuildOptions(this.template.options, sent ?? {}, {
        ...this.savedOptions(),
        ...options,
      }),
      templateName: this.template.name,
    });
    mkdirSync(buildDir, { recursive: true });
    writeBuildStampHeader(buildDir, stamp);
    await build();
    writeBuildStamp(this.serverDir, stamp);
  }

  /**
   * Records how the device measures time, as `device_timer` in microtvm-project.json, so a
   * client can report device times in the device's own units (e.g. deterministic ticks).
   */
  protected recordDeviceTimer(timer: DeviceTimer): void {
    const file = projectFile(this.serverDir);
    if (!file) return;
    file.device_timer = timer;
    writeProjectFile(this.serverDir, file);
  }

  /**
   * Records where the built firmware and its linker map are, and the target's memories, so the
   * CLI can report the footprint by component (`firmware` in microtvm-project.json).
   */
  protected recordFirmware(firmware: FirmwareRecord): void {
    const file = projectFile(this.serverDir);
    if (!file) return;
    file.firmware = firmware;
    writeProjectFile(this.serverDir, file);
  }

  protected saveOptions(options: Options): void {
    const file = projectFile(this.serverDir);
    if (!file) return;
    file.options = { ...file.options, ...options };
    writeProjectFile(this.serverDir, file);
  }
}
