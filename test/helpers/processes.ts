// Running the `microtvm` CLI as a user would, and checking that nothing it started is left
// running: every test that spawns the CLI or looks for leftover processes uses this module.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcessByStdio } from "node:child_process";
import type { Readable } from "node:stream";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./paths.js";

const CLI = join(repoRoot, "test", "conformance", "run-cli.ts");
/** The package's own entry, which runs dist/ as an installed package does. */
export const CLI_BIN = join(repoRoot, "bin", "microtvm.js");

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** The CLI is killed and the promise rejected after this long (default 120 s). */
  timeoutMs?: number;
  /** Called with all stdout so far (and the CLI's pid) whenever more arrives. */
  onStdout?: (soFar: string, pid: number) => void;
  /** Called with all stderr so far (and the CLI's pid) whenever more arrives. */
  onStderr?: (soFar: string, pid: number) => void;
  /** Working directory (default: the repository root). */
  cwd?: string;
  /** Run bin/microtvm.js (the built dist/) instead of the sources. */
  built?: boolean;
}

/** node's arguments for `microtvm ...args`, from the sources (through tsx) or the built package. */
function cliArgv(args: readonly string[], built = false): string[] {
  return built ? [CLI_BIN, ...args] : ["--import", "tsx", CLI, ...args];
}

/** Runs `microtvm ...args` and waits for it (for tests that need no output while it runs). */
export function runCliSync(
  args: string[],
  options: Omit<CliRunOptions, "onStdout" | "onStderr"> = {},
): CliRun {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const r = spawnSync(process.execPath, cliArgv(args, options.built), {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...options.env },
    encoding: "utf8",
    timeout: timeoutMs,
    killSignal: "SIGKILL",
  });
  if (r.error)
    throw new Error(
      `microtvm ${args.join(" ")} did not finish in ${timeoutMs} ms (${r.error.message}); stderr:\n${r.stderr}`,
    );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Starts `microtvm ...args` and returns the child, for tests that signal it or watch it while it runs
 * (stdin ignored, stdout and stderr piped). The test owns it: it must wait for it or kill it.
 */
export function spawnCli(
  args: string[],
  options: Pick<CliRunOptions, "env" | "cwd" | "built"> = {},
): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, cliArgv(args, options.built), {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Runs `microtvm ...args` (from source unless `built`); never waits past the timeout. */
export function runCli(args: string[], options: CliRunOptions = {}): Promise<CliRun> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, options);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      stdout += text;
      options.onStdout?.(stdout, child.pid!);
    });
    child.stderr.setEncoding("utf8").on("data", (text: string) => {
      stderr += text;
      options.onStderr?.(stderr, child.pid!);
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`microtvm ${args.join(" ")} did not finish in ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Whether a /proc/<pid>/stat line says zombie (state Z): exited, waiting for a parent to reap it. */
function isZombieStat(stat: string): boolean {
  return stat.slice(stat.lastIndexOf(")") + 2)[0] === "Z";
}

/** True while `pid` is a running (not zombie) process. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !isZombieStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Waits (bounded) until none of `pids` is alive; returns those still alive. */
export async function survivors(pids: readonly number[], withinMs = 5000): Promise<number[]> {
  const deadline = Date.now() + withinMs;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 20));
    alive = alive.filter(isAlive);
  }
  return alive;
}

/** Running (not zombie) processes whose executable is `binary`. */
export function processesRunning(binary: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/exe`) !== binary) continue;
      if (!isZombieStat(readFileSync(`/proc/${entry}/stat`, "utf8"))) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** Live processes (`pid: command line`) whose command line mentions `text`; zombies are not counted. */
export function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
      if (cmdline.includes(text) && !isZombieStat(readFileSync(`/proc/${pid}/stat`, "utf8")))
        found.push(`${pid}: ${cmdline}`);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/** The pid of the first live process whose command line mentions `text` and matches `also`. */
export function pidMentioning(text: string, also?: RegExp): number | undefined {
  const line = processesMentioning(text).find((l) => also === undefined || also.test(l));
  return line === undefined ? undefined : Number(line.split(":")[0]);
}

/** Fails unless every process mentioning `text` is gone (within a short grace for reaping). */
export async function assertNothingLeft(text: string): Promise<void> {
  const deadline = Date.now() + 5000;
  let left = processesMentioning(text);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = processesMentioning(text);
  }
  assert.deepEqual(left, [], `processes left running for ${text}`);
}
