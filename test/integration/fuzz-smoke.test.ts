// A few seeded trials of the reliability campaigns (`npm run fuzz` runs them at full size):
// fuzzed requests against every server, mutated archives against the reader and extraction,
// kills during `run` on the host template. The other run-time campaigns (damaged transports,
// concurrent runs) have their own end-to-end tests: test/e2e/run-faults.test.ts and
// test/e2e/project-lock.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fuzzArchives, fuzzKills, fuzzRequests, tally } from "../fuzz/campaigns.js";
import { repoRoot } from "../helpers/paths.js";

const work = mkdtempSync(join(tmpdir(), "microtvm-fuzz-smoke-"));
test.after(() => rmSync(work, { recursive: true, force: true }));

for (const server of [
  join("examples", "loopback-server"),
  join("templates", "host"),
  join("templates", "qemu-cortex-m"),
]) {
  test(`fuzzed requests against ${server}: no crash, hang or orphan`, async () => {
    const row = tally(server);
    await fuzzRequests(row, join(repoRoot, server), work, 7, 2, 15);
    assert.deepEqual(row.findings, []);
    assert.equal(row.trials, 30);
    assert.equal(row.crashes + row.hangs + row.orphans, 0);
  });
}

test("mutated archives: only MlfErrors, nothing written outside the target", async () => {
  const row = tally("archives");
  await fuzzArchives(row, join(repoRoot, "examples", "sine-model", "sine.tar"), work, 11, 40);
  assert.deepEqual(row.findings, []);
  assert.equal(row.crashes + row.filesOutside, 0);
});

test("kills during run on host (firmware, server, Ctrl-C): no hang, orphan or wrong output", async () => {
  const row = tally("kills");
  const env = { MICROTVM_CACHE_DIR: join(work, "cache") };
  await fuzzKills(row, { name: "host", template: "host", options: [] }, work, 5, 3, env);
  assert.deepEqual(row.findings, []);
  assert.equal(row.trials, 3);
});
