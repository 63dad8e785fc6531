// Shared by the tests that run `microtvm` against real servers: running the CLI from source,
// private copies of server directories, and a scan for processes left behind.
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../helpers/paths.js";

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `microtvm ...args` from source with its own TMPDIR; never waits longer than `timeoutMs`. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(repoRoot, "test", "conformance", "run-cli.ts"), ...args],
      {
        cwd: repoRoot,
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (t: string) => (stdout += t));
    child.stderr.setEncoding("utf8").on("data", (t: string) => (stderr += t));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** A fresh temporary directory. */
export function scratchDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `microtvm-${prefix}-`));
}

/** Copies a server directory (its files, not generated output) into a fresh temporary directory. */
export function copyServer(source: string, prefix: string): string {
  const dir = join(scratchDir(prefix), "server");
  cpSync(source, dir, { recursive: true, filter: (p) => !/[\\/](build|node_modules)$/.test(p) });
  return dir;
}

/** Pids of running processes whose command line mentions `needle`. */
export function processesMentioning(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const zombie = stat.slice(stat.lastIndexOf(")") + 2)[0] === "Z";
      if (!zombie && cmdline.includes(needle)) found.push(Number(entry));
    } catch {
      /* the process ended while we looked */
    }
  }
  return found;
}
