// Running the `microtvm` CLI from source as a user would, and checking that nothing it started is
// left running: shared by the tests that drive real servers, firmware and emulators.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./paths.js";

const CLI = join(repoRoot, "test", "conformance", "run-cli.ts");

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
}

/** Runs `microtvm ...args` from source in the repository root; never waits past the timeout. */
export function runCli(args: string[], options: CliRunOptions = {}): Promise<CliRun> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
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

/** Live processes (`pid: command line`) whose command line mentions `text`; zombies are not counted. */
export function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const zombie = stat.slice(stat.lastIndexOf(")") + 2)[0] === "Z";
      if (!zombie && cmdline.includes(text)) found.push(`${pid}: ${cmdline}`);
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
