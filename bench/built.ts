// The benchmarks measure the package as its users run it: the JavaScript `npm run build` writes
// to dist/ (each bench script builds first), not the TypeScript sources through tsx, whose
// transform adds work of its own to every call. The types still come from the sources.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");

/** The built module of `source` (its path under src/ without extension, such as "client/index"), typed as its source. */
export async function loadBuilt<T>(source: string): Promise<T> {
  const file = join(dist, `${source}.js`);
  if (!existsSync(file)) throw new Error(`${file} not found; run npm run build first`);
  return (await import(pathToFileURL(file).href)) as T;
}
