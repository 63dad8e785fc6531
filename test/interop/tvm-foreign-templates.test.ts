// `microtvm info` and `microtvm conformance` on TVM's zephyr and arduino templates: their options
// when their environment is there, else one line naming what is missing. Their launch scripts
// need `west` (zephyr) or a virtual environment with pyusb and packaging (arduino, which
// pip-installs them into $HOME/.tvm/micro_arduino; HOME is a temporary directory here).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli, type CliRun } from "../helpers/processes.js";
import { haveCommand, requireCommand } from "../helpers/tools.js";
import { tvmPeer } from "../helpers/tvm.js";

let home: string;
before(() => {
  home = mkdtempSync(join(tmpdir(), "microtvm-tvm-home-"));
});
after(() => rmSync(home, { recursive: true, force: true }));

function assertOptionsOrOneLine(r: CliRun, command: string, missing: RegExp): void {
  if (r.code === 0) {
    if (command === "info") assert.match(r.stdout, /^options \(\d+\):/m);
    return;
  }
  assert.equal(r.code, 3, `${command}: ${r.stderr}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line, got:\n${r.stderr}`);
  assert.match(lines[0]!, missing);
  assert.equal(r.stdout, "", "no PASS/FAIL lines for a server that cannot start");
}

describe("TVM's zephyr and arduino templates under info and conformance", () => {
  test("zephyr: options, or `west` named as missing", async (t) => {
    const peer = tvmPeer(t);
    if (!peer) return;
    const dir = join(peer.templates, "zephyr");
    for (const command of ["info", "conformance"]) {
      const r = await runCli([command, dir], { env: { ...peer.env, HOME: home } });
      if (haveCommand("west")) assert.notEqual(r.code, 3, r.stderr);
      assertOptionsOrOneLine(r, command, /^microtvm: TVM's zephyr template needs `west` on PATH: /);
    }
  });

  test("arduino: options, or the missing Python module named", async (t) => {
    const peer = tvmPeer(t);
    if (!peer || !requireCommand(t, "python3", "python3")) return;
    const dir = join(peer.templates, "arduino");
    for (const command of ["info", "conformance"]) {
      const r = await runCli([command, dir], { env: { ...peer.env, HOME: home }, timeoutMs: 400_000 });
      assertOptionsOrOneLine(
        r,
        command,
        /^microtvm: the Project API server could not start: No module named 'packaging'/,
      );
    }
  });
});
