// The host template's Project API handler: generate a project from a model, build it with the
// system C compiler, and talk to the firmware as a child process over its stdin/stdout.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ServerError, TransportClosedError } from "microtvm/protocol";
import type { ServerInfo, TransportTimeouts } from "microtvm/protocol";
import type { GenerateProjectArgs, ProjectApiHandler, ProjectOptions } from "microtvm/server";
import { Builder, FIRMWARE_PATH } from "./build.js";
import { FirmwareProcess } from "./firmware-process.js";
import { generateHostProject } from "./generate.js";
import { HOST_OPTIONS, resolveOptions, type HostOptions } from "./options.js";
import { readProjectFile, writeProjectFile } from "./project-file.js";

export const PLATFORM_NAME = "host";
/** Where a generated project keeps its model archive; its presence marks a generated project. */
export const MODEL_ARCHIVE_NAME = "model.tar";

/**
 * Session timeouts for the firmware process. It starts in milliseconds, so the session start is
 * retried quickly; once established, a reply may take as long as the slowest operator on the host.
 */
export const HOST_TIMEOUTS: TransportTimeouts = {
  sessionStartRetryTimeoutSec: 1,
  sessionStartTimeoutSec: 10,
  sessionEstablishedTimeoutSec: 60,
};

export interface HostLog {
  info(message: string): void;
  error(message: string): void;
}

export class HostProjectHandler implements ProjectApiHandler {
  private firmware: FirmwareProcess | undefined;
  private readonly builder: Builder;

  /** @param serverDir the directory of the running server: the template, or a generated project. */
  constructor(
    readonly serverDir: string,
    private readonly log: HostLog,
  ) {
    this.builder = new Builder((line) => this.log.info(line));
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
      projectOptions: HOST_OPTIONS.map((o) => ({ ...o })),
    };
  }

  async generateProject(args: GenerateProjectArgs): Promise<void> {
    if (!this.isTemplate) {
      throw new ServerError(
        `${this.serverDir} is a generated project, not the host template; run generate_project from the template`,
      );
    }
    const options = resolveOptions(args.options);
    await generateHostProject({
      templateDir: this.serverDir,
      modelLibraryFormatPath: args.modelLibraryFormatPath,
      projectDir: args.projectDir,
      options,
      log: (line) => this.log.info(line),
    });
  }

  async build(sent: ProjectOptions): Promise<void> {
    const options = this.projectOptions(sent, "build");
    await this.builder.build(this.serverDir, options);
    this.saveOptions(options);
  }

  flash(sent: ProjectOptions): void {
    this.projectOptions(sent, "flash");
    this.requireFirmware("flash");
    this.log.info(
      `flash: nothing to do on the host; ${FIRMWARE_PATH} is started as a child process when the transport opens`,
    );
  }

  async openTransport(sent: ProjectOptions): Promise<TransportTimeouts> {
    this.projectOptions(sent, "open_transport");
    const binary = this.requireFirmware("open_transport");
    await this.closeTransport();
    try {
      this.firmware = await FirmwareProcess.start(binary, this.serverDir, this.log);
    } catch (error) {
      throw new ServerError(`cannot start ${binary}: ${(error as Error).message}; rebuild the project`);
    }
    this.log.info(`open_transport: started ${FIRMWARE_PATH} (pid ${this.firmware.pid})`);
    return { ...HOST_TIMEOUTS };
  }

  async closeTransport(): Promise<void> {
    const firmware = this.firmware;
    if (!firmware) return;
    this.firmware = undefined;
    await firmware.close();
    const exit = firmware.exit;
    this.log.info(
      `close_transport: firmware ended (${exit?.signal ? `signal ${exit.signal}` : `status ${exit?.code ?? "unknown"}`})`,
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
    this.builder.stop(true);
    await this.closeTransport();
  }

  /** Synchronous last resort for process exit. */
  killChildren(): void {
    this.builder.stop(true);
    this.firmware?.killNow();
  }

  /** Options for a call on a generated project: sent values, else saved ones, else defaults. */
  private projectOptions(sent: ProjectOptions | null, method: string): HostOptions {
    if (this.isTemplate) {
      throw new ServerError(
        `${method}: ${this.serverDir} is the host template, not a generated project; generate a project first`,
      );
    }
    const saved = readProjectFile(this.serverDir)?.options ?? {};
    return resolveOptions(sent, saved);
  }

  private saveOptions(options: HostOptions): void {
    const file = readProjectFile(this.serverDir);
    if (!file) return;
    file.options = { ...file.options, ...options };
    writeProjectFile(this.serverDir, file);
  }

  private requireFirmware(method: string): string {
    const binary = join(this.serverDir, FIRMWARE_PATH);
    if (!existsSync(binary)) {
      throw new ServerError(
        `${method}: ${FIRMWARE_PATH} does not exist in ${this.serverDir}; run build first`,
      );
    }
    return binary;
  }
}
