// The host template's Project API handler: generate a project from a model, build it with the
// system C compiler, and talk to the firmware as a child process over its stdin/stdout.
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
import { BUILD_DIR, Builder, FIRMWARE_PATH } from "./build.js";
import { generateHostProject } from "./generate.js";
import { HOST_OPTIONS, resolveOptions, type HostOptions } from "./options.js";

export const PLATFORM_NAME = "host";

/**
 * Session timeouts for the firmware process. It starts in milliseconds, so the session start is
 * retried quickly; once established, a reply may take as long as the slowest operator on the host.
 */
export const HOST_TIMEOUTS: TransportTimeouts = {
  sessionStartRetryTimeoutSec: 1,
  sessionStartTimeoutSec: 10,
  sessionEstablishedTimeoutSec: 60,
};

export class HostProjectHandler extends TemplateProjectHandler<HostOptions> {
  private readonly builder: Builder;

  /** @param serverDir the directory of the running server: the template, or a generated project. */
  constructor(serverDir: string, log: TemplateLog) {
    super(serverDir, log, {
      name: "host",
      platformName: PLATFORM_NAME,
      options: HOST_OPTIONS,
      resolveOptions,
      generateProject: generateHostProject,
      firmwareName: "firmware",
    });
    this.builder = new Builder((line) => this.log.info(line));
  }

  async build(sent: ProjectOptions): Promise<void> {
    const options = this.projectOptions(sent, "build");
    let pool: FirmwareRecord["pool"];
    await this.stampedBuild(sent, options, join(this.serverDir, BUILD_DIR), async () => {
      pool = firmwarePool((await this.builder.build(this.serverDir, options)).pool);
    });
    this.recordFirmware({
      elf: FIRMWARE_PATH,
      map: `${FIRMWARE_PATH}.map`,
      size_tool: "size",
      pool_symbols: ["g_pool"],
      pool,
      target: "host process (no fixed memory limits)",
    });
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
    const firmware = await this.startFirmware(
      binary,
      {},
      (error) => `cannot start ${binary}: ${error.message}; rebuild the project`,
    );
    this.log.info(`open_transport: started ${FIRMWARE_PATH} (pid ${firmware.pid})`);
    return { ...HOST_TIMEOUTS };
  }

  protected stopBuild(now: boolean): void {
    this.builder.stop(now);
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
