// The project's own JSON files (microtvm-project.json, the build stamp), written so that a reader
// never sees half a file.
import { renameSync, writeFileSync } from "node:fs";

/** Writes `value` as indented JSON to `path` through a temporary file and a rename. */
export function writeJsonFileAtomically(path: string, value: unknown): void {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(temporary, path);
}
