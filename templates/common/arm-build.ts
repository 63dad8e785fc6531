// Running make for a Cortex-M project (both Cortex-M templates): the memory report the Makefile
// prints after linking is logged and returned (asked for again with `make size` when nothing was
// linked), a failure keeps the linker's "does not fit" summary and what the pool has to do with
// it, and the pool the build uses is logged line by line.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { MakeRunner, mtime } from "./make.js";
import type { PoolSize } from "./pool.js";

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

/** What the pool has to do with a RAM overflow: its size, where it came from, what to change. */
export function poolOverflowHint(pool: PoolSize, board: string, otherwise: string): string {
  return pool.source === "archive"
    ? `the memory pool takes ${pool.bytes} bytes of ${board}'s RAM, sized from the model archive ` +
        `(${pool.needBytes} needed + ${pool.marginBytes} margin): the model is too big for this board, or set ` +
        `workspace_size_bytes=${pool.needBytes} to build without the margin`
    : `the memory pool takes ${pool.bytes} bytes of ${board}'s RAM (${pool.source === "option" ? "workspace_size_bytes" : "the default"}): ${otherwise}`;
}

export interface ArmBuild {
  /** make's variables. */
  args: string[];
  /** Variables `make size` needs to find the board. */
  sizeArgs: string[];
  verbose: boolean;
  /** The ELF, project-relative. */
  elf: string;
  pool: PoolSize;
  /** Adds to the "does not fit" lines of a failed link. */
  explainFailure(doesNotFit: string[]): string[];
}

export class ArmFirmwareBuilder {
  private readonly make: MakeRunner;

  constructor(private readonly log: (line: string) => void) {
    this.make = new MakeRunner(log);
  }

  async build(projectDir: string, build: ArmBuild): Promise<{ memory: MemoryUse[]; rebuilt: boolean }> {
    for (const line of build.pool.lines) this.log(`build: ${line}`);
    const elf = join(projectDir, build.elf);
    const before = mtime(elf);
    const report: string[] = [];
    let inReport = false;
    await this.make.run(projectDir, {
      args: build.args,
      verbose: build.verbose,
      // The memory report after the link is always logged.
      onLine: (line) => {
        if (/ memory use \(/.test(line)) inReport = true;
        else if (!/^\s+[A-Z]+\s+0x/.test(line)) inReport = false;
        if (inReport) report.push(line);
        return inReport;
      },
      // The linker's overflow lines and the Makefile's "does not fit" summary say what to change.
      explainFailure: (lines) => build.explainFailure(lines.filter((l) => /does not fit/.test(l))),
    });
    const rebuilt = mtime(elf) !== before;
    let memory = parseMemoryReport(report);
    // Up to date: make linked nothing, so ask for the report again.
    if (memory.length === 0) memory = await this.sizeReport(projectDir, build.sizeArgs);
    this.log(rebuilt ? `build: built ${build.elf}` : `build: ${build.elf} is up to date`);
    return { memory, rebuilt };
  }

  private async sizeReport(projectDir: string, args: string[]): Promise<MemoryUse[]> {
    const child = spawn("make", ["--no-print-directory", "size", ...args], {
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

  /** Stops a running build (its whole process group): SIGTERM, SIGKILL 2 s later; `now` kills at once. */
  stop(now = false): void {
    this.make.stop(now);
  }
}
