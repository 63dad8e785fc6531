// Running make for a generated qemu-cortex-m project: the options become make variables; the
// memory report the Makefile prints after linking is logged; a failure becomes a ServerError with
// the command, its exit status and the last lines of its output (the linker's overflow lines and
// the Makefile's "does not fit" summary among them).
import { spawn, type ChildProcess } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { ServerError } from "microtvm/protocol";
import type { QemuOptions } from "./options.js";
import { FIRMWARE_OUTPUTS } from "./qemu.js";

/** A build that has not finished after this long is stopped (the compiler is assumed stuck). */
const BUILD_TIMEOUT_MS = 30 * 60 * 1000;
const OUTPUT_TAIL_LINES = 30;

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

function mtime(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

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
  private running: ChildProcess | undefined;

  constructor(private readonly log: (line: string) => void) {}

  static makeArgs(options: QemuOptions): string[] {
    return [
      "-j2",
      `BOARD=${options.board}`,
      "APP=rpc",
      `WERROR=${options.warning_as_error ? 1 : 0}`,
      `WORKSPACE_SIZE_BYTES=${options.workspace_size_bytes}`,
      `WORKSPACE_SECTION=${options.workspace_in_psram ? ".psram_bss" : ""}`,
      `EXTRA_CFLAGS=${options.cflags}`,
    ];
  }

  async build(projectDir: string, options: QemuOptions): Promise<{ memory: MemoryUse[]; rebuilt: boolean }> {
    const args = QemuBuilder.makeArgs(options);
    const command = ["make", ...args].map(shellQuote).join(" ");
    const elf = join(projectDir, FIRMWARE_OUTPUTS.elf);
    const before = mtime(elf);
    this.log(`build: running ${command}`);
    const lines: string[] = [];
    const report: string[] = [];
    let partial = "";
    let inReport = false;
    const collect = (text: string) => {
      const parts = (partial + text).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) {
        if (/ memory use \(/.test(line)) inReport = true;
        else if (!/^\s+[A-Z]+\s+0x/.test(line)) inReport = false;
        if (inReport) report.push(line);
        if (options.verbose || inReport) this.log(`build: ${line}`);
        lines.push(line);
        if (lines.length > OUTPUT_TAIL_LINES * 4) lines.splice(0, lines.length - OUTPUT_TAIL_LINES);
      }
    };
    // Own process group, so a timeout or a shutdown stops the compilers make started too.
    const child = spawn("make", args, { cwd: projectDir, stdio: ["ignore", "pipe", "pipe"], detached: true });
    this.running = child;
    child.stdout!.setEncoding("utf8").on("data", collect);
    child.stderr!.setEncoding("utf8").on("data", collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.stop();
    }, BUILD_TIMEOUT_MS);
    let exit: { code: number | null; signal: NodeJS.Signals | null };
    try {
      exit = await new Promise((resolve, reject) => {
        child.once("error", reject);
        child.once("close", (code, signal) => resolve({ code, signal }));
      });
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
      throw new ServerError(
        missing
          ? "make was not found on PATH; install GNU make (Debian: apt-get install make)"
          : `cannot run make: ${(error as Error).message}`,
      );
    } finally {
      clearTimeout(timer);
      this.running = undefined;
    }
    if (partial) collect("\n");
    if (exit.code !== 0) {
      const how = timedOut
        ? `did not finish within ${BUILD_TIMEOUT_MS / 60000} minutes and was stopped`
        : exit.signal
          ? `was killed by ${exit.signal}`
          : `exited with status ${exit.code}`;
      const doesNotFit = lines.filter((l) => /does not fit/.test(l));
      if (doesNotFit.some((l) => /region RAM/.test(l)) && !options.workspace_in_psram) {
        doesNotFit.push(
          `the memory pool takes ${options.workspace_size_bytes} bytes of RAM: lower workspace_size_bytes ` +
            "or set workspace_in_psram=true",
        );
      }
      const tail = lines.slice(-OUTPUT_TAIL_LINES).join("\n");
      throw new ServerError(
        `build failed: ${doesNotFit.length > 0 ? `${doesNotFit.join("; ")}. ` : ""}` +
          `\`${command}\` in ${projectDir} ${how}` +
          (tail ? `. Last lines of its output:\n${tail}` : " and printed nothing"),
      );
    }
    const rebuilt = mtime(elf) !== before;
    let memory = parseMemoryReport(report);
    if (!rebuilt && memory.length === 0) {
      // Up to date: make linked nothing, so ask for the report again.
      memory = await this.sizeReport(projectDir, options);
    }
    this.log(
      rebuilt ? `build: built ${FIRMWARE_OUTPUTS.elf}` : `build: ${FIRMWARE_OUTPUTS.elf} is up to date`,
    );
    return { memory, rebuilt };
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
    const pid = this.running?.pid;
    if (!pid) return;
    const kill = (signal: NodeJS.Signals) => {
      try {
        process.kill(-pid, signal);
      } catch {
        // the group is gone already
      }
    };
    if (now) {
      kill("SIGKILL");
      return;
    }
    kill("SIGTERM");
    setTimeout(() => kill("SIGKILL"), 2000).unref();
  }
}
