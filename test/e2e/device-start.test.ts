// A device that cannot start names the cause in the one-line error and points at `microtvm
// doctor`: an emulator that is not on PATH, a firmware that exits at once.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { assertNothingLeft, runCli } from "../helpers/processes.js";
import { repoRoot } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";

const sine = join(repoRoot, "examples", "sine-model", "sine.tar");
let work: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), "microtvm-device-start-"));
});
after(() => rmSync(work, { recursive: true, force: true }));

/** A PATH of one directory linking every command on this PATH except `left`. */
function pathWithout(left: string): string {
  const bin = join(work, `path-without-${left}`);
  mkdirSync(bin, { recursive: true });
  const linked = new Set<string>();
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (name === left || linked.has(name)) continue;
      linked.add(name);
      symlinkSync(join(dir, name), join(bin, name));
    }
  }
  return bin;
}

function lastLine(stderr: string): string {
  return stderr.trim().split("\n").at(-1)!;
}

test("an emulator missing from PATH: the one line names it and points at microtvm doctor", async (t) => {
  if (
    !requireCommand(t, "arm-none-eabi-gcc", "Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi") ||
    !requireCommand(t, "qemu-system-arm", "Debian: qemu-system-arm") ||
    !requireCommand(t, "make", "Debian: make")
  )
    return;
  const dir = join(work, "qemu");
  const created = await runCli([
    "create-project",
    dir,
    sine,
    "--template",
    "qemu-cortex-m",
    "-o",
    "board=mps2-an386",
  ]);
  assert.equal(created.code, 0, created.stderr);
  const built = await runCli(["build", dir], { timeoutMs: 300_000 });
  assert.equal(built.code, 0, built.stderr);
  const r = await runCli(["run", dir, "--no-build"], { env: { PATH: pathWithout("qemu-system-arm") } });
  assert.equal(r.code, 1, r.stderr);
  const line = lastLine(r.stderr);
  assert.match(line, /^microtvm: device: the device did not start: .*qemu-system-arm/);
  assert.match(line, /run `microtvm doctor`/);
  assert.doesNotMatch(line, /write_transport|read_transport/, "the transport call is not the cause");
  await assertNothingLeft(dir);
});

test("a firmware that exits at once: the one line says what it said and points at microtvm doctor", async (t) => {
  if (!requireCommand(t, "cc", "a C compiler") || !requireCommand(t, "make", "GNU make")) return;
  const dir = join(work, "host");
  assert.equal((await runCli(["create-project", dir, sine])).code, 0);
  assert.equal((await runCli(["build", dir])).code, 0);
  const firmware = join(dir, "build", "firmware");
  writeFileSync(firmware, "#!/bin/sh\necho 'cannot load libfake.so.1' >&2\nexit 3\n");
  chmodSync(firmware, 0o755);
  for (const command of [["run"], ["validate", "--reference", "host"], ["profile"]]) {
    const [name, ...rest] = command;
    const r = await runCli([name!, dir, "--no-build", ...rest]);
    assert.equal(r.code, 1, r.stderr);
    const line = lastLine(r.stderr);
    assert.match(
      line,
      // Whether the server saw the exit before the transport closed is a race; the words are not.
      /^microtvm: device: the device did not start: (firmware exited with status 3, saying|the firmware said): cannot load libfake\.so\.1; run `microtvm doctor`/,
      name,
    );
  }
  await assertNothingLeft(dir);
});
