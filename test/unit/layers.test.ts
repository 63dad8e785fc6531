// Keeps the architecture visible: each src/ folder imports only the layers below it (ARCHITECTURE.md).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve, dirname, sep } from "node:path";
import { repoRoot } from "../helpers/paths.js";

const allowed: Record<string, string[]> = {
  protocol: [],
  channel: ["protocol"],
  server: ["protocol", "channel"],
  client: ["protocol", "channel", "mlf"],
  mlf: [],
  session: ["protocol"],
  rpc: ["protocol", "session", "mlf"],
  serial: [],
  device: ["protocol", "client", "mlf", "session", "rpc"],
  cli: ["protocol", "channel", "server", "client", "mlf", "session", "rpc", "serial", "device"],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : name.endsWith(".ts") ? [full] : [];
  });
}

test("src/ layers import only downward", () => {
  const src = join(repoRoot, "src");
  const violations: string[] = [];
  for (const file of sourceFiles(src)) {
    const layer = relative(src, file).split(sep)[0]!;
    if (!(layer in allowed) && file !== join(src, "index.ts")) {
      violations.push(`${relative(repoRoot, file)}: folder "${layer}" is not a known layer`);
      continue;
    }
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) {
      const spec = match[1]!;
      if (!spec.startsWith(".")) continue;
      const target = relative(src, resolve(dirname(file), spec)).split(sep)[0]!;
      if (file === join(src, "index.ts") || target === layer) continue;
      if (!(allowed[layer] ?? []).includes(target)) {
        violations.push(`${relative(repoRoot, file)} imports ${spec} (layer "${target}")`);
      }
    }
  }
  assert.deepEqual(violations, []);
});
