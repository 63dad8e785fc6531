// When `run` builds (docs/run.md): our host template writes the build stamp and compiles its
// digest into the firmware; `run` skips the build while the stamp matches and rebuilds when an
// option, the runtime or the template files change; for a template that is not ours (the
// loopback example) the CLI writes the stamp after the build succeeded.
import { after, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
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
  assert.match(otherOption.stderr, /options \(workspace_size_bytes \S+ → 3145728\)/);
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

/** The 12-digit digests a refusal names: [what the project expects, what the device reports]. */
function refusedDigests(stderr: string): [string, string] {
  const m = /the project expects build stamp ([0-9a-f]{12}), the device reports ([0-9a-f]{12})/.exec(stderr);
  assert.ok(m, `no firmware refusal in:\n${stderr}`);
  return [m[1]!, m[2]!];
}

test("firmware identity: a firmware built for other options is refused before anything runs, naming both builds", async (t) => {
  if (!haveToolchain(t)) return;
  const dir = join(work, "identity");
  assert.equal((await runCli(["create-project", dir, sine])).code, 0);
  assert.equal((await runCli(["build", dir])).code, 0);
  const stamp = readBuildStamp(dir)!;
  const current = await runCli(["run", dir, "--json", "--repeat", "1", "--number", "1"]);
  assert.equal(current.code, 0, current.stderr);
  assert.deepEqual((JSON.parse(current.stdout) as { firmware: unknown }).firmware, {
    status: "current",
    build_stamp: stamp.digest,
  });

  // Other build options without a build: the firmware is the default build. Every command that
  // runs a model refuses it, in one line, naming both builds, what changed and how to rebuild.
  const other = ["-o", "workspace_size_bytes=3145728", "--no-build"];
  const refusals = [
    await runCli(["run", dir, ...other]),
    await runCli(["validate", dir, ...other, "--reference", "host"]),
    await runCli(["profile", dir, ...other]),
  ];
  let expected: string | undefined;
  for (const r of refusals) {
    assert.equal(r.code, 1, r.stderr);
    const line = r.stderr.split("\n").find((l) => l.startsWith("microtvm: "));
    assert.ok(line, r.stderr);
    const [wanted, reported] = refusedDigests(line);
    assert.equal(reported, stamp.digest.slice(0, 12), "the device's digest is the default build's");
    assert.notEqual(wanted, reported);
    expected ??= wanted;
    assert.equal(wanted, expected);
    assert.match(line, /workspace_size_bytes \S+ → 3145728/);
    assert.match(line, new RegExp(`microtvm build ${dir}.*or run without --no-build`));
    assert.doesNotMatch(r.stderr, /running default|timing every operator/, "nothing ran");
  }
  // The digest the refusal expected is the one a build with those options makes.
  const rebuilt = await runCli(["run", dir, "-o", "workspace_size_bytes=3145728", "--json"]);
  assert.equal(rebuilt.code, 0, rebuilt.stderr);
  const firmware = (JSON.parse(rebuilt.stdout) as { firmware: { build_stamp: string } }).firmware;
  assert.equal(firmware.build_stamp.slice(0, 12), expected);

  // A foreign firmware: the project's build is current, but its firmware was replaced by
  // another project's build.
  const foreign = join(work, "identity-foreign");
  assert.equal(
    (await runCli(["create-project", foreign, sine, "-o", "workspace_size_bytes=1048576"])).code,
    0,
  );
  assert.equal((await runCli(["build", foreign])).code, 0);
  copyFileSync(join(foreign, "build", "firmware"), join(dir, "build", "firmware"));
  const replaced = await runCli(["run", dir, "-o", "workspace_size_bytes=3145728", "--no-build"]);
  assert.equal(replaced.code, 1, replaced.stderr);
  assert.deepEqual(refusedDigests(replaced.stderr), [expected, readBuildStamp(foreign)!.digest.slice(0, 12)]);
  assert.match(replaced.stderr, /the project's build is current, the device holds another firmware/);
});

test("firmware identity: a firmware without a stamp runs with a warning", async (t) => {
  if (!haveToolchain(t)) return;
  const dir = join(work, "unstamped");
  assert.equal((await runCli(["create-project", dir, sine])).code, 0);
  assert.equal((await runCli(["build", dir])).code, 0);
  // The same firmware compiled by hand without the generated stamp header.
  rmSync(join(dir, "build", "microtvm_build_stamp.h"));
  rmSync(join(dir, "build", "obj", "runtime", "src", "build_stamp.o"));
  const made = spawnSync("make", ["-C", dir], { encoding: "utf8" });
  assert.equal(made.status, 0, made.stderr);
  const r = await runCli(["run", dir, "--no-build", "--json", "--repeat", "1", "--number", "1"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: the firmware was built without a build stamp/);
  const firmware = (JSON.parse(r.stdout) as { firmware: { status: string; build_stamp: unknown } }).firmware;
  assert.equal(firmware.status, "unstamped");
  assert.equal(firmware.build_stamp, null);
});

test("-o on run DIR is saved once the run succeeded: info shows it, the next run uses it without building", async (t) => {
  if (!haveToolchain(t)) return;
  const dir = join(work, "saved");
  assert.equal((await runCli(["create-project", dir, sine])).code, 0);
  assert.equal((await runCli(["build", dir])).code, 0);
  const info = async () => {
    const r = await runCli(["info", dir, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as {
      saved_options: Record<string, unknown>;
      build: { status: string; reason: string };
    };
  };
  assert.equal((await info()).build.status, "current");

  // A run that fails saves nothing.
  const refused = await runCli(["run", dir, "-o", "workspace_size_bytes=3145728", "--no-build"]);
  assert.equal(refused.code, 1, refused.stderr);
  const before = await info();
  assert.notEqual(before.saved_options.workspace_size_bytes, 3145728);
  assert.equal(before.build.status, "current");

  assert.equal((await run(dir, "-o", "workspace_size_bytes=3145728")).built, true);
  const after = await info();
  assert.equal(after.saved_options.workspace_size_bytes, 3145728, "saved by the run");
  assert.equal(after.build.status, "current");
  const next = await run(dir);
  assert.equal(next.built, false, "the next run uses the saved option: nothing to build");

  // build saves its -o too; an edited source makes the build stale, and info says why.
  assert.equal((await runCli(["build", dir, "-o", "workspace_size_bytes=4194304"])).code, 0);
  appendFileSync(join(dir, "firmware", "main.c"), "\n/* edited */\n");
  const stale = await info();
  assert.equal(stale.build.status, "stale");
  assert.match(stale.build.reason, /the project's template files/);
  const text = await runCli(["info", dir]);
  assert.match(text.stdout, /build: +built for something else .*the project's template files/);
  assert.match(text.stdout, /saved options: .*workspace_size_bytes=4194304/);

  const help = await runCli(["run", "--help"]);
  assert.match(help.stdout, /saved in the\s+project once the run succeeded/);
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
