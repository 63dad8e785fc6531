// `microtvm run` on a firmware whose memory pool fits one inference but not the time evaluator's
// extra buffers as well: the device must say it ran out of memory, never report the time of runs
// that failed. The runtime's own tests (test/c) cover every budget with a counting allocator; this
// is the same failure seen from the command line, through the real firmware and session.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedFixture } from "../helpers/paths.js";
import { runCliSync, type CliRun } from "../helpers/processes.js";
import { requireCommand } from "../helpers/tools.js";

/**
 * 96 pages of 256 bytes. The yes/no AOT model needs 72 of them at its peak (its MLF workspace is
 * 21312 bytes) and the RPC server, executor and request buffers about 23: one `run` fits, the
 * evaluator's request arena and result on top of it do not.
 */
const POOL_BYTES = 24576;

let work: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), "microtvm-run-small-"));
});

after(() => {
  rmSync(work, { recursive: true, force: true });
});

function cli(args: string[]): CliRun {
  return runCliSync(args, { timeoutMs: 180_000 });
}

test("a pool too small for the time evaluator is a device error naming the workspace, not a time", (t) => {
  if (!requireCommand(t, "cc", "a C compiler (Debian: apt-get install gcc libc6-dev)")) return;
  if (!requireCommand(t, "make", "GNU make (Debian: apt-get install make)")) return;
  const archive = sharedFixture(t, "yes-no-kws-aot-v5", "model.tar");
  const samples = sharedFixture(t, "kws-samples");
  if (archive === undefined || samples === undefined) return;
  const dir = join(work, "kws-aot");
  const created = cli(["create-project", dir, archive, "--template", "host"]);
  assert.equal(created.code, 0, created.stderr);

  const result = cli([
    "run",
    dir,
    "-o",
    `workspace_size_bytes=${POOL_BYTES}`,
    "--input",
    `0=${join(samples, "yes.bin")}`,
    "--repeat",
    "3",
  ]);
  // The inference itself fits and is right; the timing that follows cannot get its memory.
  assert.match(result.stderr, /running default \(aot executor\): done/);
  assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
  assert.match(
    result.stderr,
    /device: the device raised an exception during CallFunc time evaluator of run: time evaluator: the untimed first call failed: model "default" failed: a workspace allocation of \d+ bytes ran out of memory/,
  );
  assert.doesNotMatch(result.stdout, /device time/);
  // The firmware still ended on its own when the session closed.
  assert.match(result.stderr, /firmware ended \(status 0\)/);
});
