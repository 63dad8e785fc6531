import { mkdir, open, rm, stat } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { MlfError } from "./errors.js";
import { readTarFile, tarLimitsFromEnv, type TarLimits } from "./tar.js";

export interface ExtractResult {
  /** The absolute directory written. */
  readonly dir: string;
  /** Files written, archive-relative. */
  readonly files: readonly string[];
  /** Uncompressed content bytes written. */
  readonly bytes: number;
}

/**
 * Extracts a tar or tar.gz safely into `destDir`, which must not exist yet. Only regular files and
 * directories are written (modes limited to 0644/0755); links, devices, FIFOs, absolute or `..` paths,
 * duplicates and anything past the size limits are refused with an error naming the entry. On any
 * error the directory is removed, so nothing half-written is left and nothing is written outside it.
 */
export async function extractMlf(
  archive: string,
  destDir: string,
  limits: Partial<TarLimits> = {},
): Promise<ExtractResult> {
  const all = { ...tarLimitsFromEnv(), ...limits };
  const root = resolve(destDir);
  const exists = await stat(root).then(
    () => true,
    () => false,
  );
  if (exists)
    throw new MlfError("target-exists", `${root} already exists; extraction needs a fresh directory`);
  try {
    await mkdir(root); // not recursive: the parent must exist, and a racing creator makes this fail
  } catch (error) {
    throw new MlfError("target-exists", `cannot create ${root}: ${(error as Error).message}`, undefined, {
      cause: error,
    });
  }
  const files: string[] = [];
  let bytes = 0;
  try {
    await readTarFile(
      archive,
      async (entry) => {
        const target = resolve(root, entry.name);
        // The name is already normalised; this is the last line of defence.
        if (!target.startsWith(root + sep))
          throw new MlfError(
            "unsafe-entry",
            `entry ${entry.rawName} would be written outside ${root}`,
            entry.rawName,
          );
        if (entry.type === "directory") {
          await mkdir(target, { recursive: true, mode: 0o755 });
          return;
        }
        await mkdir(dirname(target), { recursive: true, mode: 0o755 });
        // "wx": never follow or overwrite anything already there.
        const handle = await open(target, "wx", entry.mode & 0o111 ? 0o755 : 0o644);
        try {
          await handle.writeFile(entry.data);
        } finally {
          await handle.close();
        }
        files.push(entry.name);
        bytes += entry.data.length;
      },
      all,
    );
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  return { dir: root, files, bytes };
}

/** Joins archive-relative names under a root (for callers that list extracted files). */
export function extractedPath(root: string, name: string): string {
  return join(root, ...name.split("/"));
}
