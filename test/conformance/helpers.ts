// Shared by the tests that run `microtvm` against real servers: the CLI from source and the
// process scan (in the form these tests use), and private copies of server directories.
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { processesMentioning as processLines, runCli as runCliFromSource } from "../helpers/processes.js";

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `microtvm ...args` from source; never waits longer than `timeoutMs`. */
export async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 120_000,
): Promise<CliResult> {
  const { code, stdout, stderr } = await runCliFromSource(args, { env, timeoutMs });
  return { status: code, stdout, stderr };
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
  return processLines(needle).map((line) => Number(line.split(":")[0]));
}
