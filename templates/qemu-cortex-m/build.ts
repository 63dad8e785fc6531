// Running make for a generated qemu-cortex-m project: the options become make variables; the
// memory report the Makefile prints after linking is logged; a failure becomes a ServerError with
// the command, its exit status and the last lines of its output (the linker's overflow lines and
// the Makefile's "does not fit" summary among them).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { MakeRunner, mtime } from "../common/make.js";
import { archivePoolSize, type PoolSize } from "../common/pool.js";
import { DEFAULT_WORKSPACE_SIZE_BYTES, type QemuOptions } from "./options.js";
import { FIRMWARE_OUTPUTS, QEMU_PACKET_SIZE_BYTES } from "./qemu.js";

export interface MemoryUse {
  region: string;
  used: number;
  total: number;
}

/** The rows of the Makefile's memory report (`  FLASH  0x00000000  7900 of 4194304 bytes (0.2%)`). */
export function parseMemoryReport(lines: readonly string[]): MemoryUse[] {
  const rows: MemoryUse[] = [];
  for (const line of lines) {
    const m = /^\s+([A-Z]+)\s+0x[0-9a-f]+\s+(\d+) of\s+(\d+) bytes/.exec(line);
    if (m) rows.push({ region: m[1]!, used: Number(m[2]), total: Number(m[3]) });
  }
  return rows;
}

export class QemuBuilder {
  private readonly make: MakeRunner;

  constructor(private readonly log: (line: string) => void) {
    this.make = new MakeRunner(log);
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
    for (const line of pool.lines) this.log(`build: ${line}`);
    const elf = join(projectDir, FIRMWARE_OUTPUTS.elf);
    const before = mtime(elf);
    const report: string[] = [];
    let inReport = false;
    await this.make.run(projectDir, {
      args: QemuBuilder.makeArgs(options, pool.bytes),
      verbose: options.verbose,
      // The memory report after the link is always logged.
      onLine: (line) => {
        if (/ memory use \(/.test(line)) inReport = true;
        else if (!/^\s+[A-Z]+\s+0x/.test(line)) inReport = false;
        if (inReport) report.push(line);
        return inReport;
      },
      // The linker's overflow lines and the Makefile's "does not fit" summary say what to change.
      explainFailure: (lines) => {
        const doesNotFit = lines.filter((l) => /does not fit/.test(l));
        if (doesNotFit.some((l) => /region RAM/.test(l)) && !options.workspace_in_psram) {
          doesNotFit.push(
            `the memory pool takes ${pool.bytes} bytes of RAM (${pool.source === "option" ? "workspace_size_bytes" : pool.source === "archive" ? "sized from the model archive" : "the default"}): ` +
              "lower workspace_size_bytes or set workspace_in_psram=true",
          );
        }
        return doesNotFit;
      },
    });
    const rebuilt = mtime(elf) !== before;
    let memory = parseMemoryReport(report);
    if (!rebuilt && memory.length === 0) {
      // Up to date: make linked nothing, so ask for the report again.
      memory = await this.sizeReport(projectDir, options);
    }
    this.log(
      rebuilt ? `build: built ${FIRMWARE_OUTPUTS.elf}` : `build: ${FIRMWARE_OUTPUTS.elf} is up to date`,
    );
    return { memory, rebuilt, pool };
  }

  private async sizeReport(projectDir: string, options: QemuOptions): Promise<MemoryUse[]> {
    const child = spawn("make", ["--no-print-directory", "size", `BOARD=${options.board}`], {
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
