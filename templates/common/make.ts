// Running make in a generated project, for every template: the output is kept (its last lines
// explain a failure), a build that hangs is stopped, and a failure becomes a ServerError that
// names the command, its exit status and the last lines the compiler printed.
import { spawn, type ChildProcess } from "node:child_process";
import { statSync } from "node:fs";
import { ServerError } from "microtvm/protocol";

/** A build that has not finished after this long is stopped (the compiler is assumed stuck). */
const BUILD_TIMEOUT_MS = 30 * 60 * 1000;
const OUTPUT_TAIL_LINES = 30;

/** Quotes an argument for the command shown in messages, so it can be pasted into a shell. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** A file's modification time, or undefined when it does not exist (tells whether make rebuilt it). */
export function mtime(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

export interface MakeRun {
  /** make's arguments (run in the project directory). */
  args: string[];
  /** Called with every line make prints; returns whether to log it. */
  onLine?: (line: string) => boolean;
  /** Log every line make prints. */
  verbose: boolean;
  /** What the failure means, from make's output lines, put before the command in the error. */
  explainFailure?: (lines: readonly string[]) => string[];
}

export class MakeRunner {
  private running: ChildProcess | undefined;

  constructor(private readonly log: (line: string) => void) {}

  /** Runs make; resolves with the command as shown in messages, or throws a ServerError. */
  async run(projectDir: string, { args, onLine, verbose, explainFailure }: MakeRun): Promise<string> {
    const command = ["make", ...args].map(shellQuote).join(" ");
    this.log(`build: running ${command}`);
    const lines: string[] = [];
    let partial = "";
    const collect = (text: string) => {
      const parts = (partial + text).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) {
        const shown = onLine?.(line) ?? false;
        if (verbose || shown) this.log(`build: ${line}`);
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
      const explained = explainFailure?.(lines) ?? [];
      const tail = lines.slice(-OUTPUT_TAIL_LINES).join("\n");
      throw new ServerError(
        `build failed: ${explained.length > 0 ? `${explained.join("; ")}. ` : ""}` +
          `\`${command}\` in ${projectDir} ${how}` +
          (tail ? `. Last lines of its output:\n${tail}` : " and printed nothing"),
      );
    }
    return command;
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
