// When `run` builds (docs/run.md): our host template writes the build stamp and compiles its
// digest into the firmware; `run` skips the build while the stamp matches and rebuilds when an
// option, the runtime or the template files change; for a template that is not ours (the
// loopback example) the CLI writes the stamp after the build succeeded.
import { after, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertNothingLeft, runCli, type CliRun } from "../helpers/processes.js";
import { repoRoot } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";
import { GeneratedProject } from "../../src/client/index.js";
import { BUILD_STAMP_FILE, buildStampStatus, openDevice, readBuildStamp } from "../../src/device/index.js";

const sine = join(repoRoot, "examples", "sine-model", "sine.tar");
const work = mkdtempSync(join(tmpdir(), "microtvm-stamp-e2e-"));

after(async () => {
  await assertNothingLeft(work);
  rmSync(work, { recursive: true, force: true });
});

function haveToolchain(t: TestContext): boolean {
  return (
    requireCommand(t, "cc", "a C compiler (Debian: apt-get install gcc libc6-dev)") &&
    requireCommand(t, "make", "GNU make (Debian: apt-get install make)")
  );
}

/** `microtvm run DIR --json ...`: whether it built, and what it said about building. */
async function run(dir: string, ...args: string[]): Promise<{ built: boolean; stderr: string }> {
  const r: CliRun = await runCli(["run", dir, "--json", "--repeat", "1", "--number", "1", ...args]);
  assert.equal(r.code, 0, `run failed:\n${r.stderr}`);
  return { built: (JSON.parse(r.stdout) as { built: boolean }).built, stderr: r.stderr };
}

test("host: build writes the stamp, the firmware returns it, and run builds only when something changed", async (t) => {
  if (!haveToolchain(t)) return;
  const dir = join(work, "host");
  const created = await runCli(["create-project", dir, sine]);
  assert.equal(created.code, 0, created.stderr);
  assert.equal(existsSync(join(dir, BUILD_STAMP_FILE)), false, "no stamp before a build");
  const built = await runCli(["build", dir]);
  assert.equal(built.code, 0, built.stderr);
  const stamp = readBuildStamp(dir);
  assert.ok(stamp, "the host template's build wrote the stamp");
  assert.equal(stamp.template.name, "host");
  assert.equal(stamp.options.cc, "cc");
  assert.equal(stamp.options.verbose, undefined, "verbose is not a build input");
  assert.match(readFileSync(join(dir, "build", "microtvm_build_stamp.h"), "utf8"), new RegExp(stamp.digest));

  const device = await openDevice(dir, { build: "never", flash: false });
  try {
    assert.equal(await device.firmwareBuildStamp(), stamp.digest, "the firmware carries the digest");
  } finally {
    await device.close();
  }

  const same = await run(dir);
  assert.equal(same.built, false, "nothing changed: no build");
  assert.match(same.stderr, /not building .*: the build stamp matches/);
  assert.equal(readBuildStamp(dir)?.digest, stamp.digest);

  const otherOption = await run(dir, "-o", "workspace_size_bytes=3145728");
  assert.equal(otherOption.built, true, "another build option: built again");
  assert.match(otherOption.stderr, /options \(workspace_size_bytes \d+ → 3145728\)/);
  const withOption = readBuildStamp(dir)!;
  assert.notEqual(withOption.digest, stamp.digest);
  assert.equal(
    (await run(dir, "-o", "workspace_size_bytes=3145728")).built,
    false,
    "same option again: no build",
  );

  appendFileSync(join(dir, "runtime", "src", "crc16.c"), "\n/* edited */\n");
  const runtimeChanged = await run(dir, "-o", "workspace_size_bytes=3145728");
  assert.equal(runtimeChanged.built, true, "an edited runtime file: built again");
  assert.match(runtimeChanged.stderr, /the device runtime/);

  appendFileSync(join(dir, "firmware", "main.c"), "\n/* edited */\n");
  const templateChanged = await run(dir, "-o", "workspace_size_bytes=3145728");
  assert.equal(templateChanged.built, true, "an edited firmware source: built again");
  assert.match(templateChanged.stderr, /the project's template files/);

  assert.equal(
    (await run(dir, "-o", "workspace_size_bytes=3145728", "--build")).built,
    true,
    "--build builds",
  );
  assert.equal((await run(dir, "--no-build")).built, false, "--no-build never builds");
});

test("a template that is not ours: the CLI writes the stamp once its build succeeded", async () => {
  const template = join(repoRoot, "examples", "loopback-server");
  if (!existsSync(join(template, "microtvm_api_server.js"))) {
    assert.fail("examples/loopback-server/microtvm_api_server.js is missing: run `npm run build` first");
  }
  const dir = join(work, "loopback");
  const created = await runCli(["create-project", dir, sine, "--template", template]);
  assert.equal(created.code, 0, created.stderr);
  const built = await runCli(["build", dir]);
  assert.equal(built.code, 0, built.stderr);
  const stamp = readBuildStamp(dir);
  assert.ok(stamp, "the CLI wrote the stamp");
  assert.equal(stamp.template.name, "loopback-server");

  const project = await GeneratedProject.open(dir);
  try {
    assert.deepEqual(buildStampStatus(project, {}), { current: true, reason: "the build stamp matches" });
    appendFileSync(join(dir, "launch_microtvm_api_server.sh"), "\n# edited\n");
    assert.equal(buildStampStatus(project, {}).current, false, "an edited server file: not current");
  } finally {
    await project.close();
  }
});
