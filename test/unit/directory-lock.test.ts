// The O_EXCL lock that keeps one writer per project: busy names the holder, a dead holder's lock
// is taken over, and of many processes racing for one lock exactly one gets it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { acquireLock, LockBusyError, tryLock } from "../../src/server/index.js";
import { repoRoot } from "../helpers/paths.js";

const work = mkdtempSync(join(tmpdir(), "microtvm-lock-"));
test.after(() => rmSync(work, { recursive: true, force: true }));

test("a held lock is refused naming the holder's command and pid; release frees it", async () => {
  const file = join(work, "a.lock");
  const lock = await acquireLock(file, "microtvm build ./p");
  // Another process (this one cannot see its own lock as foreign): a child tries.
  const script = `import { tryLock } from ${JSON.stringify(join(repoRoot, "src/server/index.ts"))};
    const r = tryLock(process.argv[1], "second"); console.log(JSON.stringify("release" in r ? "got it" : r));`;
  const other = () =>
    JSON.parse(
      spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, file], {
        cwd: repoRoot,
        encoding: "utf8",
      }).stdout,
    );
  const holder = other();
  assert.equal(holder.pid, process.pid);
  assert.equal(holder.command, "microtvm build ./p");
  lock.release();
  assert.equal(existsSync(file), false);
  assert.equal(other(), "got it");
});

test("a lock left by a dead process is taken over; a damaged one after a grace period", async () => {
  const file = join(work, "stale.lock");
  const dead = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
  const pid = Number(dead.stdout.trim());
  writeFileSync(file, JSON.stringify({ pid, command: "microtvm run x", since: "then", host: hostname() }));
  const lock = tryLock(file, "me");
  assert.ok("release" in lock, "the dead holder's lock was taken over");
  lock.release();
  writeFileSync(file, "{not json");
  const old = new Date(Date.now() - 60_000);
  utimesSync(file, old, old);
  const again = tryLock(file, "me");
  assert.ok("release" in again, "a damaged, old lock file was taken over");
  again.release();
});

test("a busy lock waits up to waitMs, then throws LockBusyError", async () => {
  const file = join(work, "wait.lock");
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "--input-type=module",
      "-e",
      `import { tryLock } from ${JSON.stringify(join(repoRoot, "src/server/index.ts"))};
       tryLock(process.argv[1], "holder"); console.log("held"); setTimeout(() => {}, 600);`,
      file,
    ],
    { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
  let waited = false;
  await assert.rejects(
    acquireLock(file, "me", { waitMs: 100, onWait: () => (waited = true) }),
    (e: LockBusyError) => e instanceof LockBusyError && e.holder.command === "holder",
  );
  assert.ok(waited);
  const lock = await acquireLock(file, "me", { waitMs: 20_000 });
  assert.ok(lock.file === file, "taken once the holder exited");
  lock.release();
});

test("six processes racing for one lock: exactly one gets it", async () => {
  const file = join(work, "race.lock");
  // Each holds what it got until it is stopped, so late starters race against a live holder too.
  const script = `import { tryLock } from ${JSON.stringify(join(repoRoot, "src/server/index.ts"))};
    const go = Number(process.argv[2]); while (Date.now() < go) {}
    const r = tryLock(process.argv[1], "racer " + process.pid);
    console.log("release" in r ? "won" : "lost"); process.on("SIGTERM", () => process.exit(0)); setInterval(() => {}, 1000);`;
  const go = Date.now() + 3000;
  const children = Array.from({ length: 6 }, () =>
    spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, file, String(go)], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "inherit"],
    }),
  );
  const outputs = await Promise.all(
    children.map(
      (c) =>
        new Promise<string>((resolve) => c.stdout.once("data", (d: Buffer) => resolve(d.toString().trim()))),
    ),
  );
  await Promise.all(
    children.map((c) => {
      c.kill("SIGTERM");
      return new Promise((resolve) => c.on("close", resolve));
    }),
  );
  assert.equal(outputs.filter((o) => o === "won").length, 1, outputs.join(","));
  assert.equal(existsSync(file), false, "released at exit");
});
