// Running make for a generated host project: the options become make variables, the output is
// kept (and shown with `verbose`), and a failure becomes a ServerError that names the command,
// its exit status and the last lines the compiler printed.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { delimiter, isAbsolute, join } from "node:path";
import { ServerError } from "microtvm/protocol";
import type { HostOptions } from "./options.js";

/** A build that has not finished after this long is stopped (the compiler is assumed stuck). */
const BUILD_TIMEOUT_MS = 30 * 60 * 1000;
const OUTPUT_TAIL_LINES = 30;

export const FIRMWARE_PATH = join("build", "firmware");

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

function mtime(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Quotes an argument for the command shown in messages, so it can be pasted into a shell. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export class Builder {
  private running: ChildProcess | undefined;

  constructor(private readonly log: (line: string) => void) {}

  /** The make command line for these options (run in the project directory). */
  static makeArgs(options: HostOptions): string[] {
    return [
      `-j${Math.max(1, Math.min(availableParallelism(), 8))}`,
      `CC=${options.cc}`,
      `CFLAGS_EXTRA=${options.cflags}`,
      `DEFINES=${options.compile_definitions}`,
      `WERROR=${options.warning_as_error ? 1 : 0}`,
      `WORKSPACE_SIZE_BYTES=${options.workspace_size_bytes}`,
      `V=${options.verbose ? 1 : 0}`,
    ];
  }

  async build(projectDir: string, options: HostOptions): Promise<BuildResult> {
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
    const args = Builder.makeArgs(options);
    const command = ["make", ...args].map(shellQuote).join(" ");
    const before = mtime(join(projectDir, FIRMWARE_PATH));
    this.log(`build: running ${command}`);
    const lines: string[] = [];
    let partial = "";
    const collect = (text: string) => {
      const parts = (partial + text).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) {
        if (options.verbose) this.log(`build: ${line}`);
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
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve, reject) => {
        child.once("error", reject);
        child.once("close", (code, signal) => resolve({ code, signal }));
      },
    ).finally(() => {
      clearTimeout(timer);
      this.running = undefined;
    });
    if (partial) collect("\n");
    if (exit.code !== 0) {
      const how = timedOut
        ? `did not finish within ${BUILD_TIMEOUT_MS / 60000} minutes and was stopped`
        : exit.signal
          ? `was killed by ${exit.signal}`
          : `exited with status ${exit.code}`;
      const tail = lines.slice(-OUTPUT_TAIL_LINES).join("\n");
      throw new ServerError(
        `build failed: \`${command}\` in ${projectDir} ${how}` +
          (tail ? `. Last lines of its output:\n${tail}` : " and printed nothing"),
      );
    }
    const after = mtime(join(projectDir, FIRMWARE_PATH));
    const rebuilt = after !== before;
    this.log(rebuilt ? `build: built ${FIRMWARE_PATH}` : `build: ${FIRMWARE_PATH} is up to date`);
    return { rebuilt, command };
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
