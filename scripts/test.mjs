// Runs every test file under test/ with node:test, TypeScript loaded through tsx.
// Usage: node scripts/test.mjs [tier-or-path ...]   e.g. `npm test -- unit`
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const starts = args.length > 0 ? args.map((a) => (a.startsWith("test") ? a : join("test", a))) : ["test"];

function collect(path, out) {
  const full = join(root, path);
  if (statSync(full).isDirectory()) {
    for (const name of readdirSync(full).sort()) collect(join(path, name), out);
  } else if (/\.test\.ts$/.test(path)) {
    out.push(relative(root, full));
  }
  return out;
}

const files = starts.flatMap((s) => collect(s, []));
if (files.length === 0) {
  console.error(`no test files found under ${starts.join(", ")}`);
  process.exit(2);
}
const result = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", ...files], {
  cwd: root,
  stdio: "inherit",
});
process.exit(result.status ?? 1);
