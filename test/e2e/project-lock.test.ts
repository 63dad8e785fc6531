// One writer per project from the command line: a second command on a busy project exits 4 naming
// the holder, a dead holder's lock is taken over, the template server refuses a second server on
// its build directory, and concurrent runs with different options never run each other's firmware.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { GeneratedProject } from "../../src/client/index.js";
import { projectLockFile } from "../../src/cli/project/lock.js";
import { acquireLock } from "../../src/server/index.js";
import { readBuildStamp } from "../../src/device/index.js";
import { repoRoot } from "../helpers/paths.js";
import { runCli } from "../helpers/processes.js";
import { requireCommand } from "../helpers/tools.js";

const model = join(repoRoot, "examples", "sine-model", "sine.tar");
let work: string;
let env: NodeJS.ProcessEnv;
let project: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), "microtvm-lock-e2e-"));
  env = { MICROTVM_CACHE_DIR: join(work, "cache") };
  project = join(work, "proj");
  const r = await runCli(["create-project", project, model, "--template", "host"], { env });
  assert.equal(r.code, 0, r.stderr);
});
after(() => rmSync(work, { recursive: true, force: true }));

test("a command on a project another command holds exits 4 naming it; a dead holder's lock is taken over", async (t) => {
  if (!requireCommand(t, "cc", "a C compiler")) return;
  const file = projectLockFile(project, { ...process.env, ...env });
  const lock = await acquireLock(file, "microtvm run ./proj");
  const busy = await runCli(["build", project], { env });
  lock.release();
  assert.equal(busy.code, 4, busy.stderr);
  assert.match(busy.stderr, new RegExp(`is busy: \`microtvm run ./proj\` \\(pid ${process.pid}\\)`));
  for (const command of [
    ["flash", project],
    ["monitor", project, "--duration", "1"],
    ["run", project],
  ]) {
    const l = await acquireLock(file, "microtvm build");
    const r = await runCli(command, { env });
    l.release();
    assert.equal(r.code, 4, `${command[0]}: ${r.stderr}`);
  }
  const dead = Number(spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim());
  writeFileSync(
    file,
    JSON.stringify({ pid: dead, command: "microtvm build", since: "then", host: hostname() }),
  );
  const built = await runCli(["build", project], { env });
  assert.equal(built.code, 0, built.stderr);
});

test("a second server on the same project is refused its build with a ServerError naming the first", async (t) => {
  if (!requireCommand(t, "cc", "a C compiler")) return;
  const first = await GeneratedProject.open(project);
  const second = await GeneratedProject.open(project);
  t.after(async () => {
    await first.close();
    await second.close();
  });
  await first.build({});
  await assert.rejects(
    second.flash({}),
    /the build directory of .* is busy: `host server build in .*` \(pid \d+\)/,
  );
});

test("a server releases the build directory at close_transport, so a second server may use the project", async (t) => {
  if (!requireCommand(t, "cc", "a C compiler")) return;
  // TVM's client leaves its first server running after shutdown(); the next one must not be refused.
  const first = await GeneratedProject.open(project);
  const second = await GeneratedProject.open(project);
  t.after(async () => {
    await first.close();
    await second.close();
  });
  await first.build({});
  await first.flash({});
  const transport = first.transport();
  await transport.open();
  await transport.close();
  await second.flash({});
  const again = second.transport();
  await again.open();
  await assert.rejects(first.flash({}), /the build directory of .* is busy: `host server flash in .*`/);
  await again.close();
});

test("concurrent runs with -o workspace_size_bytes=4096 and default never exit 0 on the other's firmware", async (t) => {
  if (!requireCommand(t, "cc", "a C compiler")) return;
  for (const wait of ["0", "300"]) {
    // Each pair on a fresh project, so the small run's saved option cannot leak into the other.
    const dir = join(work, `race-${wait}`);
    assert.equal((await runCli(["create-project", dir, model, "--template", "host"], { env })).code, 0);
    const [small, normal] = await Promise.all([
      runCli(["run", dir, "-o", "workspace_size_bytes=4096"], {
        env: { ...env, MICROTVM_LOCK_WAIT_SEC: wait },
      }),
      runCli(["run", dir], { env: { ...env, MICROTVM_LOCK_WAIT_SEC: wait } }),
    ]);
    assert.notEqual(small.code, 0, `the 4096-byte run exited 0:\n${small.stderr}`);
    assert.ok([1, 4].includes(small.code!), small.stderr);
    if (small.code === 1) assert.match(small.stderr, /out of memory/);
    assert.ok([0, 1, 4].includes(normal.code!), normal.stderr);
    for (const r of [small, normal])
      assert.doesNotMatch(r.stderr, /ETXTBSY|EACCES|undefined reference|does not exist/, r.stderr);
    if (wait !== "0") assert.ok(small.code !== 4 && normal.code !== 4, "waiting runs are never refused");
  }
});

test("a run with --no-build next to a run that builds with other options never runs the other's firmware", async (t) => {
  if (!requireCommand(t, "cc", "a C compiler")) return;
  const dir = join(work, "race-no-build");
  assert.equal((await runCli(["create-project", dir, model, "--template", "host"], { env })).code, 0);
  // The size given explicitly, so the run's options do not depend on what the other saved.
  assert.equal((await runCli(["build", dir, "-o", "workspace_size_bytes=2097152"], { env })).code, 0);
  const defaultBuild = readBuildStamp(dir)!.digest;
  const lockWait = { ...env, MICROTVM_LOCK_WAIT_SEC: "300" };
  const [other, noBuild] = await Promise.all([
    runCli(["run", dir, "-o", "workspace_size_bytes=3145728", "--repeat", "1"], { env: lockWait }),
    runCli(["run", dir, "-o", "workspace_size_bytes=2097152", "--no-build", "--json", "--repeat", "1"], {
      env: lockWait,
    }),
  ]);
  assert.equal(other.code, 0, other.stderr);
  if (noBuild.code === 0) {
    // It ran first, on the default build.
    const doc = JSON.parse(noBuild.stdout) as { firmware: { status: string; build_stamp: string } };
    assert.deepEqual(doc.firmware, { status: "current", build_stamp: defaultBuild });
  } else {
    // It ran after the other rebuilt: refused, naming the default build it expected.
    assert.equal(noBuild.code, 1, noBuild.stderr);
    assert.match(
      noBuild.stderr,
      new RegExp(
        `the project expects build stamp ${defaultBuild.slice(0, 12)}, the device reports [0-9a-f]{12}`,
      ),
    );
  }
  // And after the other's build, it is refused for certain.
  const after = await runCli(["run", dir, "-o", "workspace_size_bytes=2097152", "--no-build"], { env });
  assert.equal(after.code, 1, after.stderr);
  assert.match(after.stderr, /not the current build of .*workspace_size_bytes 3145728 → 2097152/);
});
