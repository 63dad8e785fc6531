// A gzip bomb (750 MiB of zeros in about 800 KB) against every reader of archives: refused as a
// compression bomb after a few MiB, with bounded memory, nothing written, over the CLI and the
// Project API alike.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TemplateProject } from "../../src/client/index.js";
import { MlfError, openMlf, tarLimitsFromEnv } from "../../src/mlf/index.js";
import { writeZerosBomb } from "../helpers/archives.js";
import { repoRoot } from "../helpers/paths.js";
import { runCli } from "../helpers/processes.js";

const work = mkdtempSync(join(tmpdir(), "microtvm-bomb-"));
const bomb = join(work, "bomb.tar.gz");
const ready = writeZerosBomb(bomb, 750 * 1024 * 1024);
test.after(() => rmSync(work, { recursive: true, force: true }));

test("the 750 MiB bomb is refused by inspect (exit 3) naming the ratio limit and its variable", async () => {
  await ready;
  assert.ok(statSync(bomb).size < 1_000_000, "the bomb is small");
  const r = await runCli(["inspect", bomb]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /expands more than 200× .*compression bomb.*MICROTVM_MLF_MAX_COMPRESSION_RATIO/);
});

test("reading and extracting the bomb stays under 100 MB of memory beyond the runtime's own", async () => {
  await ready;
  // A fresh process, so its peak resident size is the reader's alone (plus Node and tsx).
  const script = `
    import { extractMlf, openMlf } from ${JSON.stringify(join(repoRoot, "src/mlf/index.ts"))};
    const base = process.resourceUsage().maxRSS;
    const codes = [];
    for (const f of [() => openMlf(process.argv[1]), () => extractMlf(process.argv[1], process.argv[2])])
      await f().then(() => codes.push("accepted"), (e) => codes.push(e.code));
    console.log(JSON.stringify({ codes, baseKb: base, peakKb: process.resourceUsage().maxRSS }));`;
  const out = spawnSync(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", script, bomb, join(work, "extracted")],
    { cwd: repoRoot, encoding: "utf8", timeout: 60_000 },
  );
  assert.equal(out.status, 0, out.stderr);
  const { codes, baseKb, peakKb } = JSON.parse(out.stdout) as {
    codes: string[];
    baseKb: number;
    peakKb: number;
  };
  assert.deepEqual(codes, ["too-large", "too-large"]);
  assert.ok(peakKb - baseKb < 100 * 1024, `grew by ${Math.round((peakKb - baseKb) / 1024)} MB`);
  assert.equal(existsSync(join(work, "extracted")), false, "a refused extraction leaves nothing");
});

test("create-project with the bomb exits 3 and creates nothing", async () => {
  await ready;
  const dir = join(work, "proj");
  const r = await runCli(["create-project", dir, bomb, "--template", "host"]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /compression bomb/);
  assert.equal(existsSync(dir), false);
});

test("generate_project over the Project API refuses the bomb with a ServerError naming the limit", async (t) => {
  await ready;
  const template = await TemplateProject.open(join(repoRoot, "templates", "host"));
  t.after(() => template.close());
  const dir = join(work, "api-proj");
  await assert.rejects(template.generateProject(bomb, dir, {}), (e: Error) => {
    assert.match(e.message, /compression bomb/);
    return true;
  });
  assert.equal(existsSync(dir), false);
});

test("the limits are configurable through MICROTVM_MLF_* and a bad value names the variable", async () => {
  await ready;
  const limits = tarLimitsFromEnv({
    MICROTVM_MLF_MAX_COMPRESSION_RATIO: "5000",
    MICROTVM_MLF_MAX_TOTAL_BYTES: "8388608",
  });
  assert.equal(limits.maxCompressionRatio, 5000);
  assert.equal(limits.maxTotalBytes, 8 * 1024 * 1024);
  assert.throws(
    () => tarLimitsFromEnv({ MICROTVM_MLF_MAX_ENTRIES: "-3" }),
    /MICROTVM_MLF_MAX_ENTRIES="-3" is not a positive integer/,
  );
  // With the ratio lifted, the total limit stops the same bomb instead.
  await assert.rejects(
    openMlf(bomb, { limits: { maxCompressionRatio: 1e9, maxTotalBytes: 8 * 1024 * 1024 } }),
    (e: MlfError) => e.code === "too-large" && /8388608-byte limit/.test(e.message),
  );
  const r = await runCli(["inspect", bomb], { env: { MICROTVM_MLF_MAX_TOTAL_BYTES: "abc" } });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /MICROTVM_MLF_MAX_TOTAL_BYTES="abc" is not a positive integer/);
});
