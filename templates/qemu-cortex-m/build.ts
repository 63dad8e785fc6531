// Running make for a generated qemu-cortex-m project: the pool is sized, the options become make
// variables, and ../common/arm-build.ts runs make (memory report, "does not fit" summary).
import { ArmFirmwareBuilder, poolOverflowHint, type MemoryUse } from "../common/arm-build.js";
import { archivePoolSize, type PoolSize } from "../common/pool.js";
import { DEFAULT_WORKSPACE_SIZE_BYTES, type QemuOptions } from "./options.js";
import { FIRMWARE_OUTPUTS, QEMU_PACKET_SIZE_BYTES } from "./qemu.js";

export class QemuBuilder {
  private readonly builder: ArmFirmwareBuilder;

  constructor(log: (line: string) => void) {
    this.builder = new ArmFirmwareBuilder(log);
  }

  /** The pool for this model archive and these options (see ../common/pool.ts). */
  static poolSize(archivePath: string, options: QemuOptions): Promise<PoolSize> {
    return archivePoolSize(
      archivePath,
      options.workspace_size_bytes,
      { pageBytes: 256, pointerBytes: 4, packetBytes: QEMU_PACKET_SIZE_BYTES },
      { bytes: DEFAULT_WORKSPACE_SIZE_BYTES, what: "the template's default" },
    );
  }

  static makeArgs(options: QemuOptions, poolBytes: number): string[] {
    return [
      "-j2",
      `BOARD=${options.board}`,
      "APP=rpc",
      `WERROR=${options.warning_as_error ? 1 : 0}`,
      `WORKSPACE_SIZE_BYTES=${poolBytes}`,
      `WORKSPACE_SECTION=${options.workspace_in_psram ? ".psram_bss" : ""}`,
      `EXTRA_CFLAGS=${options.cflags}`,
    ];
  }

  async build(
    projectDir: string,
    options: QemuOptions,
    archivePath: string,
  ): Promise<{ memory: MemoryUse[]; rebuilt: boolean; pool: PoolSize }> {
    const pool = await QemuBuilder.poolSize(archivePath, options);
    const result = await this.builder.build(projectDir, {
      args: QemuBuilder.makeArgs(options, pool.bytes),
      sizeArgs: [`BOARD=${options.board}`],
      verbose: options.verbose,
      elf: FIRMWARE_OUTPUTS.elf,
      pool,
      explainFailure: (doesNotFit) => {
        if (doesNotFit.some((l) => /region RAM/.test(l)) && !options.workspace_in_psram) {
          doesNotFit.push(
            poolOverflowHint(
              pool,
              options.board,
              "lower workspace_size_bytes or set workspace_in_psram=true",
            ) + (pool.source === "archive" ? "; or set workspace_in_psram=true to put it in the PSRAM" : ""),
          );
        }
        return doesNotFit;
      },
    });
    return { ...result, pool };
  }

  /** Stops a running build (its whole process group): SIGTERM, SIGKILL 2 s later; `now` kills at once. */
  stop(now = false): void {
    this.builder.stop(now);
  }
}
