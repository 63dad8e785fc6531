// Re-packing an archive so that TVM 0.9+'s standalone CRT can run it: that CRT reads a system
// lib's function registry count as a little-endian u16, while archives of 2021 (Model Library
// Format version 4 and early version 5) wrote a single byte. Only the registry literal changes;
// every other member is kept byte for byte, in the same order.
import { MlfError } from "./errors.js";
import { decodeCStringLiterals, findFunctionRegistry } from "./portability.js";
import { buildTar, readTarFile, type TarInput } from "./tar.js";

export interface RepackResult {
  /** The new archive's bytes (an uncompressed tar). */
  readonly tar: Buffer;
  /** Members whose registry was rewritten (empty: the archive already had 2-byte counts). */
  readonly rewritten: readonly string[];
  /** The function count of the (first) rewritten registry. */
  readonly count: number;
}

const REGISTRY_LITERAL =
  /(TVMFuncRegistry\s+[A-Za-z_][A-Za-z0-9_]*\s*=\s*\{\s*)((?:"(?:[^"\\]|\\[\s\S])*"\s*)+)/;

/** One C string literal for `bytes`; everything but identifier characters as 3-digit octal. */
function cLiteral(bytes: Uint8Array): string {
  let out = '"';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9_]/.test(c) ? c : `\\${b.toString(8).padStart(3, "0")}`;
  }
  return `${out}"`;
}

/** Rewrites a C source's 1-byte-count registry literal with a 2-byte count; undefined when it has none. */
export function widenRegistryCount(source: string): { text: string; count: number } | undefined {
  const registry = findFunctionRegistry("source", source);
  if (!registry || registry.countStyle !== "u8-count") return undefined;
  const m = REGISTRY_LITERAL.exec(source)!;
  const blob = decodeCStringLiterals(m[2]!);
  const widened = new Uint8Array(blob.length + 1);
  widened[0] = blob[0]!;
  widened[1] = 0;
  widened.set(blob.subarray(1), 2);
  const trailing = /\s*$/.exec(m[2]!)![0];
  const text =
    source.slice(0, m.index) + m[1]! + cLiteral(widened) + trailing + source.slice(m.index + m[0].length);
  return { text, count: registry.count };
}

/**
 * Reads the archive at `path` and writes its system-lib function registries with a 2-byte count.
 * Fails when the archive has no C function registry (nothing TVM's CRT could look up).
 */
export async function repackRegistryCount(path: string): Promise<RepackResult> {
  const entries: TarInput[] = [];
  const rewritten: string[] = [];
  let count = -1;
  let anyRegistry = false;
  await readTarFile(path, (entry) => {
    let data: Uint8Array = entry.data;
    if (entry.type === "file" && /^codegen\/[^/]+\/src\/[^/]+\.c$/.test(entry.name)) {
      const text = entry.data.toString("latin1");
      if (findFunctionRegistry(entry.name, text)) anyRegistry = true;
      const widened = widenRegistryCount(text);
      if (widened) {
        data = Buffer.from(widened.text, "latin1");
        rewritten.push(entry.name);
        if (count < 0) count = widened.count;
      }
    }
    entries.push({ name: entry.name, type: entry.type, data, mode: entry.mode });
  });
  if (!anyRegistry) {
    throw new MlfError(
      "bad-input",
      `${path} has no C function registry (TVMFuncRegistry) in codegen/*/src: only system-lib archives in C can be re-packed`,
    );
  }
  return { tar: buildTar(entries), rewritten, count };
}
