// Running make for a generated host project: the options become make variables, and the
// compiler and make are looked for on PATH first so that a missing one is named plainly.
import { accessSync, constants } from "node:fs";
import { availableParallelism } from "node:os";
import { delimiter, isAbsolute, join } from "node:path";
import { ServerError } from "microtvm/protocol";
import { MakeRunner, mtime } from "../common/make.js";
import { archivePoolSize, projectPoolSize, type PoolPlatform, type PoolSize } from "../common/pool.js";
import {
  DEFAULT_WORKSPACE_SIZE_BYTES,
  HOST_PACKET_SIZE_BYTES,
  hostPacketSize,
  type HostOptions,
} from "./options.js";

export const BUILD_DIR = "build";
export const FIRMWARE_PATH = join(BUILD_DIR, "firmware");

export interface BuildResult {
  /** False when make found everything up to date. */
  rebuilt: boolean;
  command: string;
}

function onPath(command: string): boolean {
  if (isAbsolute(command) || command.includes("/")) {
    try {
      accessSync(command, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

export class Builder {
  private readonly make: MakeRunner;

  constructor(private readonly log: (line: string) => void) {
    this.make = new MakeRunner(log);
  }

  /** The make command line for these options (run in the project directory). */
  /** The pool of this build, logged line by line (sized from the project's model archive unless set). */
  static async poolSize(
    projectDir: string,
    options: HostOptions,
    isArchive = false,
  ): Promise<{ pool: PoolSize; packetBytes: number }> {
    const override = options.workspace_size_bytes;
    const packetBytes = override === null ? HOST_PACKET_SIZE_BYTES : hostPacketSize(override);
    const platform: PoolPlatform = { pageBytes: 256, pointerBytes: 8, packetBytes };
    const pool = await (isArchive ? archivePoolSize : projectPoolSize)(projectDir, override, platform, {
      bytes: DEFAULT_WORKSPACE_SIZE_BYTES,
      what: "the host template's default",
    });
    return { pool, packetBytes };
  }

  static makeArgs(options: HostOptions, pool: { bytes: number; packetBytes: number }): string[] {
    return [
      `-j${Math.max(1, Math.min(availableParallelism(), 8))}`,
      `CC=${options.cc}`,
      `CFLAGS_EXTRA=${options.cflags}`,
      `DEFINES=${options.compile_definitions}`,
      `WERROR=${options.warning_as_error ? 1 : 0}`,
      `WORKSPACE_SIZE_BYTES=${pool.bytes}`,
      `PACKET_SIZE_BYTES=${pool.packetBytes}`,
      `V=${options.verbose ? 1 : 0}`,
    ];
  }

  async build(projectDir: string, options: HostOptions): Promise<BuildResult & { pool: PoolSize }> {
    const compiler = options.cc.split(/\s+/)[0]!;
    if (!onPath(compiler)) {
      throw new ServerError(
        `the C compiler ${JSON.stringify(compiler)} was not found on PATH; install one (Debian: apt-get install gcc ` +
          `libc6-dev) or name another with the cc option (for example cc=clang)`,
      );
    }
    if (!onPath("make")) {
      throw new ServerError("make was not found on PATH; install GNU make (Debian: apt-get install make)");
    }
    const { pool, packetBytes } = await Builder.poolSize(projectDir, options);
    for (const line of pool.lines) this.log(`build: ${line}`);
    const before = mtime(join(projectDir, FIRMWARE_PATH));
    const command = await this.make.run(projectDir, {
      args: Builder.makeArgs(options, { bytes: pool.bytes, packetBytes }),
      verbose: options.verbose,
    });
    const after = mtime(join(projectDir, FIRMWARE_PATH));
    const rebuilt = after !== before;
    this.log(rebuilt ? `build: built ${FIRMWARE_PATH}` : `build: ${FIRMWARE_PATH} is up to date`);
    return { rebuilt, command, pool };
  }

  /** Stops a running build (its whole process group): SIGTERM, SIGKILL 2 s later; `now` kills at once. */
  stop(now = false): void {
    this.make.stop(now);
  }
}
