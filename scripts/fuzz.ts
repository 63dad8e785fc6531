// `npm run fuzz [-- --smoke]`: the reliability campaigns (test/fuzz/campaigns.ts), bounded and
// seeded; prints the table that docs/reliability.md records, and exits 1 on any finding.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  formatTable,
  fuzzArchives,
  fuzzConcurrentRuns,
  fuzzKills,
  fuzzRequests,
  fuzzRunFaults,
  fuzzStaleFirmware,
  type KillTarget,
  tally,
  type Tally,
} from "../test/fuzz/campaigns.js";
import { repoRoot } from "../test/helpers/paths.js";
import { haveCommand } from "../test/helpers/tools.js";

const smoke = process.argv.includes("--smoke");
const seed = Number(process.env.MICROTVM_FUZZ_SEED ?? "20261206");
const work = mkdtempSync(join(tmpdir(), "microtvm-fuzz-"));
const env = { MICROTVM_CACHE_DIR: join(work, "cache") };
const rows: Tally[] = [];
const started = Date.now();
try {
  for (const [name, dir] of [
    ["requests: loopback example", join(repoRoot, "examples", "loopback-server")],
    ["requests: host template", join(repoRoot, "templates", "host")],
    ["requests: qemu-cortex-m template", join(repoRoot, "templates", "qemu-cortex-m")],
  ] as const) {
    const row = tally(name);
    await fuzzRequests(row, dir, work, seed, smoke ? 3 : 100, smoke ? 20 : 40);
    rows.push(row);
  }
  const archives = tally("archives: metadata and tar mutations (reader, extract, create-project)");
  await fuzzArchives(
    archives,
    join(repoRoot, "examples", "sine-model", "sine.tar"),
    work,
    seed,
    smoke ? 40 : 1000,
    smoke ? 0 : 50,
  );
  rows.push(archives);
  const faults = tally("run on host: damaged transport, killed firmware");
  await fuzzRunFaults(faults, work, seed, smoke ? 2 : 60, env);
  rows.push(faults);
  const targets: KillTarget[] = [{ name: "host", template: "host", options: [] }];
  if (haveCommand("qemu-system-arm") && haveCommand("arm-none-eabi-gcc"))
    targets.push({
      name: "qemu-cortex-m (mps2-an386)",
      template: "qemu-cortex-m",
      options: ["-o", "board=mps2-an386"],
    });
  else console.error("qemu-system-arm or arm-none-eabi-gcc missing: the QEMU kill campaign is skipped");
  for (const target of targets) {
    const kills = tally(`kills during run on ${target.name}: firmware, server, Ctrl-C`);
    await fuzzKills(kills, target, work, seed, smoke ? 3 : 45, env);
    rows.push(kills);
  }
  const stale = tally("run --no-build with other options or another build's firmware");
  await fuzzStaleFirmware(stale, work, seed, smoke ? 2 : 20, env);
  rows.push(stale);
  const races = tally("concurrent runs on one project");
  await fuzzConcurrentRuns(races, work, smoke ? 1 : 30, env);
  rows.push(races);
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(formatTable(rows));
console.log(
  `\nseed ${seed}, ${((Date.now() - started) / 1000).toFixed(0)} s, ${new Date().toISOString().slice(0, 10)}`,
);
const findings = rows.flatMap((r) => r.findings);
for (const f of findings) console.log(`finding: ${f}`);
process.exit(findings.length > 0 ? 1 : 0);
