// Running make for a generated cortex-m project: board.mk is rewritten from the board table for
// the board being built, the pool is sized, the options become make variables, and
// ../common/arm-build.ts runs make (memory report, "does not fit" summary).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ArmFirmwareBuilder, poolOverflowHint, type MemoryUse } from "../common/arm-build.js";
import { BOARDS, renderBoardMk } from "./boards.js";
import { archivePoolSize, type PoolSize } from "../common/pool.js";
import type { CortexMOptions } from "./options.js";

export const FIRMWARE_OUTPUTS = {
  elf: "build/firmware.elf",
  bin: "build/firmware.bin",
  hex: "build/firmware.hex",
  map: "build/firmware.map",
} as const;

export class CortexMBuilder {
  private readonly builder: ArmFirmwareBuilder;

  constructor(log: (line: string) => void) {
    this.builder = new ArmFirmwareBuilder(log);
  }

  /** The pool for this model archive on the options' board (see ../common/pool.ts). */
  static poolSize(archivePath: string, options: CortexMOptions): Promise<PoolSize> {
    const b = BOARDS[options.board];
    return archivePoolSize(
      archivePath,
      options.workspace_size_bytes,
      { pageBytes: 256, pointerBytes: 4, packetBytes: b.packetBytes },
      { bytes: b.workspaceBytes, what: `${b.name}'s default from the board table` },
    );
  }

  static makeArgs(options: CortexMOptions, poolBytes: number): string[] {
    return [
      "-j2",
      `WERROR=${options.warning_as_error ? 1 : 0}`,
      `WORKSPACE_SIZE_BYTES=${poolBytes}`,
      `EXTRA_CFLAGS=${options.cflags}`,
    ];
  }

  /** Writes board.mk for the options' board and baud rate (only when it changes, so make keeps its work). */
  static writeBoardMk(projectDir: string, options: CortexMOptions): void {
    const path = join(projectDir, "board.mk");
    const text = renderBoardMk(BOARDS[options.board], options.baud_rate);
    let current: string | undefined;
    try {
      current = readFileSync(path, "utf8");
    } catch {
      current = undefined;
    }
    if (current !== text) writeFileSync(path, text);
  }

  async build(
    projectDir: string,
    options: CortexMOptions,
    archivePath: string,
  ): Promise<{ memory: MemoryUse[]; rebuilt: boolean; pool: PoolSize }> {
    CortexMBuilder.writeBoardMk(projectDir, options);
    const pool = await CortexMBuilder.poolSize(archivePath, options);
    const result = await this.builder.build(projectDir, {
      args: CortexMBuilder.makeArgs(options, pool.bytes),
      sizeArgs: [],
      verbose: options.verbose,
      elf: FIRMWARE_OUTPUTS.elf,
      pool,
      explainFailure: (doesNotFit) => {
        if (doesNotFit.some((l) => /region RAM/.test(l))) {
          doesNotFit.push(poolOverflowHint(pool, options.board, "lower workspace_size_bytes"));
        }
        return doesNotFit;
      },
    });
    return { ...result, pool };
  }

  stop(now = false): void {
    this.builder.stop(now);
  }
}
