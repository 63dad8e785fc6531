// `npm run demo` (scripts/demo.ts): the README's first command on a fresh clone. It must
// generate, build and run the example sine model and print results that agree with sin(x) and
// with the model's own float reference.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";

test("the demo runs the example sine model on the host and prints it next to sin(x)", (t) => {
  if (!requireCommand(t, "cc", "a C compiler (Debian: apt-get install gcc libc6-dev)")) return;
  if (!requireCommand(t, "make", "GNU make (Debian: apt-get install make)")) return;
  const cache = mkdtempSync(join(tmpdir(), "microtvm-demo-e2e-"));
  t.after(() => rmSync(cache, { recursive: true, force: true }));
  const run = () =>
    spawnSync(process.execPath, ["--import", "tsx", join(repoRoot, "scripts", "demo.ts")], {
      cwd: repoRoot,
      env: { ...process.env, MICROTVM_CACHE_DIR: cache },
      encoding: "utf8",
      timeout: 180_000,
    });
  const first = run();
  assert.equal(first.status, 0, `demo failed:\n${first.stdout}\n${first.stderr}`);
  assert.match(first.stdout, /\(generated now\)/);
  // Nine rows: x, device y, float reference, sin(x), |y - sin(x)|.
  const rows = first.stdout.split("\n").filter((line) => /^\d+\.\d{4}\s+-?\d/.test(line));
  assert.equal(rows.length, 9, first.stdout);
  for (const row of rows) {
    const [x, y, reference, sin] = row.trim().split(/\s+/).map(Number);
    assert.ok(Math.abs(Math.sin(x!) - sin!) < 1e-4, row); // x is printed to 4 decimals
    assert.ok(Math.abs(y! - sin!) < 0.02, `device y far from sin(x): ${row}`);
    assert.ok(Math.abs(y! - reference!) < 1e-5, `device y differs from the float reference: ${row}`);
  }
  assert.match(first.stdout, /device time per inference +[\d.]+ (µs|ms)/);
  // The project was generated into the cache once; a second run reuses it.
  assert.equal(readdirSync(join(cache, "projects")).length, 1);
  const second = run();
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, /\(from the cache\)/);
});
