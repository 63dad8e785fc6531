// Running make for a generated cortex-m project: board.mk is rewritten from the board table for
// the board being built, the options become make variables, the memory report the Makefile
// prints after linking is logged and returned, and a failure becomes a ServerError with the
// command, its exit status and the last lines of its output (the "does not fit" summary first).
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MakeRunner, mtime } from "../common/make.js";
import { BOARDS, renderBoardMk } from "./boards.js";
import { archivePoolSize, type PoolSize } from "../common/pool.js";
import type { CortexMOptions } from "./options.js";

export const FIRMWARE_OUTPUTS = {
  elf: "build/firmware.elf",
  bin: "build/firmware.bin",
  hex: "build/firmware.hex",
  map: "build/firmware.map",
} as const;

export interface MemoryUse {
  region: string;
  used: number;
  total: number;
}

/** The rows of the Makefile's memory report (`  FLASH  0x08000000  7900 of 524288 bytes (1.5%)`). */
export function parseMemoryReport(lines: readonly string[]): MemoryUse[] {
  const rows: MemoryUse[] = [];
  for (const line of lines) {
    const m = /^\s+([A-Z]+)\s+0x[0-9a-f]+\s+(\d+) of\s+(\d+) bytes/.exec(line);
    if (m) rows.push({ region: m[1]!, used: Number(m[2]), total: Number(m[3]) });
  }
  return rows;
}

export class CortexMBuilder {
  private readonly make: MakeRunner;

  constructor(private readonly log: (line: string) => void) {
    this.make = new MakeRunner(log);
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
    for (const line of pool.lines) this.log(`build: ${line}`);
    const elf = join(projectDir, FIRMWARE_OUTPUTS.elf);
    const before = mtime(elf);
    const report: string[] = [];
    let inReport = false;
    await this.make.run(projectDir, {
      args: CortexMBuilder.makeArgs(options, pool.bytes),
      verbose: options.verbose,
      onLine: (line) => {
        if (/ memory use \(/.test(line)) inReport = true;
        else if (!/^\s+[A-Z]+\s+0x/.test(line)) inReport = false;
        if (inReport) report.push(line);
        return inReport;
      },
      explainFailure: (lines) => {
        const doesNotFit = lines.filter((l) => /does not fit/.test(l));
        if (doesNotFit.some((l) => /region RAM/.test(l))) {
          doesNotFit.push(
            pool.source === "archive"
              ? `the memory pool takes ${pool.bytes} bytes of ${options.board}'s RAM, sized from the model archive ` +
                  `(${pool.needBytes} needed + ${pool.marginBytes} margin): the model is too big for this board, or set ` +
                  `workspace_size_bytes=${pool.needBytes} to build without the margin`
              : `the memory pool takes ${pool.bytes} bytes of ${options.board}'s RAM: lower workspace_size_bytes`,
          );
        }
        return doesNotFit;
      },
    });
    const rebuilt = mtime(elf) !== before;
    let memory = parseMemoryReport(report);
    if (memory.length === 0) memory = await this.sizeReport(projectDir);
    this.log(
      rebuilt ? `build: built ${FIRMWARE_OUTPUTS.elf}` : `build: ${FIRMWARE_OUTPUTS.elf} is up to date`,
    );
    return { memory, rebuilt, pool };
  }

  private async sizeReport(projectDir: string): Promise<MemoryUse[]> {
    const child = spawn("make", ["--no-print-directory", "size"], {
      cwd: projectDir,
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 60_000,
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (t: string) => (out += t));
    await new Promise<void>((resolve) => {
      child.once("close", () => resolve());
      child.once("error", () => resolve());
    });
    const lines = out.split("\n").filter((l) => l.length > 0);
    for (const line of lines) this.log(`build: ${line}`);
    return parseMemoryReport(lines);
  }

  stop(now = false): void {
    this.make.stop(now);
  }
}
