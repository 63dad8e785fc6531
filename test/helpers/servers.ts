// Private copies of Project API server directories, for tests that run them and check what is left.
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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
