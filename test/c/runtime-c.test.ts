// Compiles the device runtime and its C unit tests with the system compiler (strict C99, warnings
// as errors), once plainly and once under AddressSanitizer/UBSan, and runs them.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { requireCommand } from "../helpers/tools.js";
import { repoRoot } from "../helpers/paths.js";
import { buildEchoDevice, compileC, runtimeSources, sanitizerFlags } from "./build.js";
import { renderVectorsHeader } from "./vectors.js";
import { loadSessionVectors } from "../vectors/session-framing.js";

const install = "a C compiler (e.g. `apt-get install gcc`)";
let workDir = "";

before(() => {
  workDir = mkdtempSync(join(tmpdir(), "microtvm-runtime-c-"));
  writeFileSync(join(workDir, "vectors.h"), renderVectorsHeader(loadSessionVectors()));
});

after(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

function buildAndRunUnitTests(name: string, flags: string[]): string {
  const output = join(workDir, name);
  compileC({
    sources: [join(repoRoot, "test", "c", "test_runtime.c"), ...runtimeSources],
    output,
    includeDirs: [workDir],
    flags,
    // A small pool, so that the exhaustion checks are cheap.
    defines: ["TVM_WORKSPACE_SIZE_BYTES=65536"],
  });
  const run = spawnSync(output, [], { encoding: "utf8", timeout: 60_000 });
  assert.equal(
    run.status,
    0,
    `${name} failed (status ${run.status}, signal ${run.signal}):\n${run.stdout}${run.stderr}`,
  );
  assert.match(run.stdout, /^\d+ checks, 0 failures$/m);
  return run.stdout;
}

describe("device runtime C tests", () => {
  test("compile cleanly under -std=c99 -Wall -Wextra -Werror and pass", (t) => {
    if (!requireCommand(t, "cc", install)) return;
    const out = buildAndRunUnitTests("test_runtime", []);
    const checks = Number(/^(\d+) checks/m.exec(out)![1]);
    assert.ok(checks > 500, `expected the golden vectors to give hundreds of checks, got ${checks}`);
  });

  test("pass under AddressSanitizer and UndefinedBehaviorSanitizer", (t) => {
    if (!requireCommand(t, "cc", install)) return;
    buildAndRunUnitTests("test_runtime_asan", sanitizerFlags);
  });

  test("the echo device compiles cleanly, plain and sanitized", (t) => {
    if (!requireCommand(t, "cc", install)) return;
    buildEchoDevice(join(workDir, "echo_device"));
    buildEchoDevice(join(workDir, "echo_device_asan"), sanitizerFlags);
  });

  test("a failing check makes the C test program fail", (t) => {
    if (!requireCommand(t, "cc", install)) return;
    // Tamper with one golden CRC in the generated header: the program must report it.
    const vectors = loadSessionVectors();
    vectors.crc16[1]!.crc ^= 1;
    const tamperedDir = mkdtempSync(join(workDir, "tampered-"));
    writeFileSync(join(tamperedDir, "vectors.h"), renderVectorsHeader(vectors));
    const output = join(tamperedDir, "test_runtime");
    compileC({
      sources: [join(repoRoot, "test", "c", "test_runtime.c"), ...runtimeSources],
      output,
      includeDirs: [tamperedDir],
      defines: ["TVM_WORKSPACE_SIZE_BYTES=65536"],
    });
    const run = spawnSync(output, [], { encoding: "utf8", timeout: 60_000 });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /FAIL .*crc of check string 123456789/);
  });
});
