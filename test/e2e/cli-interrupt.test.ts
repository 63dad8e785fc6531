// Ctrl-C while a project builds: the command ends with 130 and a line saying so, and the server
// and everything it started (make, the compiler) are gone.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";
import { processesMentioning, runCliSync, spawnCli } from "../helpers/processes.js";

const sine = join(repoRoot, "examples", "sine-model", "sine.tar");
// A compile that waits first, so there is a build to interrupt. The odd number finds it in ps.
const SLEEP = "sleep 37.25";

let work: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), "microtvm-cli-interrupt-"));
});

after(() => rmSync(work, { recursive: true, force: true }));

async function waitUntil(condition: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (condition()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return condition();
}

test("SIGINT during build: exit 130, one line, no server or compiler left running", async (t) => {
  if (!requireCommand(t, "make", "make (Debian: apt-get install make)")) return;
  if (!requireCommand(t, "cc", "a C compiler (Debian: apt-get install gcc libc6-dev)")) return;
  const project = join(work, "proj");
  const created = runCliSync(["create-project", project, sine, "-o", `cc=${SLEEP} && cc`], {
    built: true,
    timeoutMs: 60_000,
  });
  assert.equal(created.code, 0, created.stderr);

  const child = spawnCli(["build", project], { built: true });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  const compiling = await waitUntil(() => processesMentioning(SLEEP).length > 0, 30_000);
  child.kill("SIGINT");
  const { code, signal } = await closed;
  assert.ok(compiling, `the build started its compile (stderr: ${stderr})`);
  assert.equal(signal, null, `the CLI ends itself rather than dying of the signal (stderr: ${stderr})`);
  assert.equal(code, 130, stderr);
  assert.match(stderr, /^microtvm: interrupted; everything the command started was stopped$/m);
  const gone = await waitUntil(() => processesMentioning(SLEEP).length === 0, 5_000);
  assert.ok(gone, `still running:\n${processesMentioning(SLEEP).join("\n")}`);
  assert.deepEqual(processesMentioning(join(project, "microtvm_api_server.js")), []);
});

/**
 * Runs `microtvm <args>` with every server launch slowed by `delaySec` (MICROTVM_NODE, which the
 * templates' launch scripts honour, names a wrapper that sleeps first) and sends SIGINT as soon as
 * the wrapper runs, while the server is still starting.
 */
let launches = 0;
async function interruptWhileStarting(args: string[], delaySec: number) {
  // One marker per call: a marker left by an earlier call would send SIGINT before the CLI started.
  const started = join(work, `server-starting-${args[0]}-${++launches}`);
  const wrapper = join(work, `slow-node-${args[0]}-${launches}`);
  writeFileSync(
    wrapper,
    `#!/bin/sh\ntouch "${started}"\nsleep ${delaySec}\nexec "${process.execPath}" "$@"\n`,
  );
  chmodSync(wrapper, 0o755);
  const child = spawnCli(args, {
    built: true,
    env: { MICROTVM_NODE: wrapper, MICROTVM_CACHE_DIR: join(work, "cache") },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
  const starting = await waitUntil(() => existsSync(started), 60_000);
  child.kill("SIGINT");
  const code = await closed;
  assert.ok(starting, `the server launch began (stderr: ${stderr})`);
  return { code, stdout, stderr };
}

test("SIGINT while the server is still starting: build and run stop instead of carrying on", async (t) => {
  if (!requireCommand(t, "make", "make (Debian: apt-get install make)")) return;
  if (!requireCommand(t, "cc", "a C compiler (Debian: apt-get install gcc libc6-dev)")) return;
  const project = join(work, "starting");
  const created = runCliSync(["create-project", project, sine], { built: true, timeoutMs: 60_000 });
  assert.equal(created.code, 0, created.stderr);

  const build = await interruptWhileStarting(["build", project], 3);
  assert.equal(build.code, 130, build.stderr);
  assert.doesNotMatch(build.stderr, /building .*: done/, "the build did not go ahead");
  assert.equal(build.stdout, "");

  const run = await interruptWhileStarting(["run", project], 3);
  assert.equal(run.code, 130, run.stderr);
  assert.doesNotMatch(run.stderr, /building /, "the run did not go ahead");
  assert.equal(run.stdout, "");
  assert.deepEqual(processesMentioning(join(project, "microtvm_api_server.js")), []);
});

test("SIGINT in any command that starts a server: the same exit, line and --json error document", async (t) => {
  if (!requireCommand(t, "make", "make (Debian: apt-get install make)")) return;
  const project = join(work, "any-command");
  const created = runCliSync(["create-project", project, sine], { built: true, timeoutMs: 60_000 });
  assert.equal(created.code, 0, created.stderr);
  for (const args of [
    ["info", project],
    ["flash", project],
    ["conformance", "host"],
    ["create-project", join(work, "never-made"), sine],
    ["run", project],
    ["validate", project, "--reference", "host"],
    ["profile", project],
    ["monitor", project],
  ]) {
    const r = await interruptWhileStarting([...args, "--json"], 3);
    assert.equal(r.code, 130, `${args[0]}: ${r.stderr}`);
    assert.match(r.stderr, /^microtvm: interrupted; everything the command started was stopped$/m, args[0]);
    const doc = JSON.parse(r.stdout) as { schema: string; error: { kind: string; exit_code: number } };
    assert.equal(doc.schema, "microtvm.error/1");
    assert.deepEqual([doc.error.kind, doc.error.exit_code], ["interrupted", 130]);
  }
  assert.equal(existsSync(join(work, "never-made")), false, "create-project left nothing behind");
  assert.deepEqual(processesMentioning(project), []);
});

test("SIGINT while the device runs: run, validate and profile end alike, with nothing left running", async (t) => {
  if (!requireCommand(t, "make", "make (Debian: apt-get install make)")) return;
  if (!requireCommand(t, "cc", "a C compiler (Debian: apt-get install gcc libc6-dev)")) return;
  const project = join(work, "mid-session");
  const created = runCliSync(["create-project", project, sine], { built: true, timeoutMs: 60_000 });
  assert.equal(created.code, 0, created.stderr);
  const built = runCliSync(["build", project], { built: true, timeoutMs: 120_000 });
  assert.equal(built.code, 0, built.stderr);
  // Each is interrupted once its session is up (the firmware answered the build stamp check).
  for (const args of [
    ["run", project, "--repeat", "1000", "--number", "100"],
    ["validate", project, "--reference", "host", "--input", `x=${join(work, "many")}`],
    ["profile", project, "--runs", "100000"],
  ]) {
    if (args[0] === "validate") {
      // Enough samples that the session is still running when Ctrl-C comes.
      spawnSync("mkdir", ["-p", join(work, "many")]);
      for (let i = 0; i < 3000; i++) writeFileSync(join(work, "many", `s${i}.bin`), Buffer.alloc(4));
    }
    const r = await interruptAfter([...args, "--json"], /checking the firmware's build stamp: done/);
    assert.equal(r.code, 130, `${args[0]}: ${r.stderr}`);
    assert.match(r.stderr, /^microtvm: interrupted; everything the command started was stopped$/m, args[0]);
    const doc = JSON.parse(r.stdout) as { schema: string; error: { kind: string; exit_code: number } };
    assert.deepEqual(
      [doc.schema, doc.error.kind, doc.error.exit_code],
      ["microtvm.error/1", "interrupted", 130],
    );
    const gone = await waitUntil(() => processesMentioning(project).length === 0, 5_000);
    assert.ok(gone, `${args[0]} left running:\n${processesMentioning(project).join("\n")}`);
  }
});

/** Runs `microtvm <args>` and sends SIGINT once stderr matches `when`. */
async function interruptAfter(args: string[], when: RegExp) {
  const child = spawnCli(args, { built: true, env: { MICROTVM_CACHE_DIR: join(work, "cache") } });
  let stdout = "";
  let stderr = "";
  let sent = false;
  child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  child.stderr.setEncoding("utf8").on("data", (text: string) => {
    stderr += text;
    if (!sent && when.test(stderr)) {
      sent = true;
      child.kill("SIGINT");
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  assert.ok(sent, `${args[0]} never got to ${when} (stderr: ${stderr})`);
  return { code, stdout, stderr };
}
