// Faults during `run` on the host template are named for what they are, at once: a damaged frame
// after the session is established fails the call with "damaged frame(s) on the transport" instead
// of waiting the reply timeout; a firmware killed mid-run is reported as killed, with its signal.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../helpers/paths.js";
import { pidMentioning, processesMentioning, runCli } from "../helpers/processes.js";
import { requireCommand } from "../helpers/tools.js";

const model = join(repoRoot, "examples", "sine-model", "sine.tar");
let work: string;
const env = () => ({ MICROTVM_CACHE_DIR: join(work, "cache") });

before(() => {
  work = mkdtempSync(join(tmpdir(), "microtvm-faults-"));
});
after(() => rmSync(work, { recursive: true, force: true }));

async function builtProject(name: string): Promise<string> {
  const dir = join(work, name);
  assert.equal((await runCli(["create-project", dir, model, "--template", "host"], { env: env() })).code, 0);
  const built = await runCli(["build", dir], { env: env() });
  assert.equal(built.code, 0, built.stderr);
  return dir;
}

test("a damaged frame after the session is established fails the run at once, naming it", async (t) => {
  if (!requireCommand(t, "cc", "a C compiler")) return;
  const dir = await builtProject("corrupt");
  // The firmware's output passes through a relay that flips one bit once the session is up.
  renameSync(join(dir, "build", "firmware"), join(dir, "build", "firmware.real"));
  copyFileSync(join(repoRoot, "test", "helpers", "corrupting-firmware.mjs"), join(dir, "build", "relay.mjs"));
  writeFileSync(
    join(dir, "build", "firmware"),
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} "$(dirname "$0")/relay.mjs" "$(dirname "$0")/firmware.real"\n`,
  );
  chmodSync(join(dir, "build", "firmware"), 0o755);
  const started = Date.now();
  const r = await runCli(["run", dir, "--no-build", "--timeout", "60"], { env: env() });
  const seconds = (Date.now() - started) / 1000;
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /session: dropped a damaged frame \((crc-mismatch|short-packet|invalid-escape|oversized)/,
  );
  assert.match(r.stderr, /device: .*1 damaged frame\(s\) on the transport/);
  assert.doesNotMatch(r.stderr, /may be hung|stopped answering/);
  assert.ok(seconds < 45, `failed after ${seconds} s, not after the 60 s reply timeout`);
});

test("a firmware killed mid-run is reported as killed by its signal, not as a hung device", async (t) => {
  if (!requireCommand(t, "cc", "a C compiler")) return;
  const dir = await builtProject("killed");
  const firmware = join(dir, "build", "firmware");
  let killed = false;
  const r = await runCli(["run", dir, "--no-build", "--repeat", "1", "--number", "500000000"], {
    env: env(),
    onStderr: (text) => {
      if (killed || !/timing 1 repetitions/.test(text)) return;
      const pid = pidMentioning(firmware);
      if (pid === undefined) return;
      killed = true;
      process.kill(pid, "SIGKILL");
    },
  });
  assert.ok(killed, r.stderr);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /firmware was killed by SIGKILL/);
  assert.doesNotMatch(r.stderr, /may be hung/);
  assert.deepEqual(processesMentioning(dir), []);
});
