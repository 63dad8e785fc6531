// Keeps the architecture visible: each src/ folder imports only the layers below it, and each
// template only the package's public entries and templates/common (ARCHITECTURE.md). The lists
// are what the code uses: a new dependency between layers is a decision, made here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve, dirname, sep } from "node:path";
import { repoRoot } from "../helpers/paths.js";

const allowed: Record<string, string[]> = {
  protocol: [],
  channel: ["protocol"],
  server: ["protocol", "channel"],
  client: ["protocol", "channel"],
  dtype: [],
  mlf: ["dtype"],
  session: ["protocol"],
  rpc: ["dtype"],
  serial: [],
  device: ["protocol", "client", "mlf", "session", "rpc"],
  conformance: ["protocol", "channel", "client", "mlf"],
  cli: [
    "protocol",
    "channel",
    "server",
    "client",
    "mlf",
    "session",
    "rpc",
    "serial",
    "device",
    "conformance",
  ],
};

/** What each template folder may import: package entries (`microtvm/<entry>`) and `common`. */
const templateAllowed: Record<string, string[]> = {
  common: ["microtvm/protocol", "microtvm/server", "microtvm/mlf", "microtvm/device"],
  host: ["microtvm/protocol", "microtvm/server", "microtvm/mlf", "common"],
  "qemu-cortex-m": ["microtvm/protocol", "microtvm/server", "microtvm/mlf", "common"],
  "cortex-m": ["microtvm/protocol", "microtvm/server", "microtvm/mlf", "microtvm/serial", "common"],
};

/** Module specifiers of the import and export statements (and dynamic imports) of a source file. */
function importsOf(text: string): string[] {
  const imports = text.matchAll(/^\s*import\s[^"';]*?["']([^"']+)["']/gm);
  const reexports = text.matchAll(/^\s*export\s[^"';]*?\bfrom\s*["']([^"']+)["']/gm);
  const dynamic = text.matchAll(/\bimport\(\s*["']([^"']+)["']/g);
  return [...imports, ...reexports, ...dynamic].map((m) => m[1]!);
}

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
    for (const spec of importsOf(text)) {
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

test("templates import only the package's public entries and templates/common", () => {
  const templates = join(repoRoot, "templates");
  const violations: string[] = [];
  for (const name of readdirSync(templates)) {
    if (!statSync(join(templates, name)).isDirectory()) continue;
    const allowedHere = templateAllowed[name];
    const files = sourceFiles(join(templates, name));
    if (files.length === 0) continue;
    if (!allowedHere) {
      violations.push(`templates/${name}: not a known template folder (add it to templateAllowed)`);
      continue;
    }
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      for (const spec of importsOf(text)) {
        if (spec.startsWith("node:")) continue;
        let target: string;
        if (spec.startsWith(".")) {
          const path = relative(templates, resolve(dirname(file), spec));
          target = path.split(sep)[0]!;
          if (target === name) continue;
          if (path.startsWith("..")) target = `outside templates/ (${spec})`;
        } else {
          target = spec;
        }
        if (!allowedHere.includes(target)) {
          violations.push(`${relative(repoRoot, file)} imports ${spec} (${target})`);
        }
      }
    }
  }
  assert.deepEqual(violations, []);
});
