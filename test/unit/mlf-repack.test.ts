import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  findFunctionRegistry,
  openMlf,
  repackRegistryCount,
  widenRegistryCount,
} from "../../src/mlf/index.js";
import { sharedFixture } from "../helpers/paths.js";

const U8_SOURCE = `static const TVMFuncRegistry _tvm_func_registry = {
    "\\002f_a\\000f_b\\000",    _tvm_func_array,
};`;

test("widenRegistryCount writes a 1-byte count as 2 bytes and keeps the names", () => {
  const widened = widenRegistryCount(U8_SOURCE);
  assert.ok(widened);
  assert.equal(widened.count, 2);
  const registry = findFunctionRegistry("x.c", widened.text)!;
  assert.equal(registry.countStyle, "u16-count");
  assert.equal(registry.count, 2);
  assert.deepEqual(registry.names, ["f_a", "f_b"]);
  assert.match(widened.text, /_tvm_func_array,\n\};$/);
  // Already 2 bytes: nothing to do.
  assert.equal(widenRegistryCount(widened.text), undefined);
});

test("repackRegistryCount on the v4 archive: only the registry changes, the archive still reads the same", async (t) => {
  const archive = sharedFixture(t, "yes-no-kws-graph-v4", "model.tar");
  if (!archive) return;
  const dir = mkdtempSync(join(tmpdir(), "microtvm-repack-"));
  try {
    const result = await repackRegistryCount(archive);
    assert.deepEqual(result.rewritten, ["codegen/host/src/default_lib0.c"]);
    assert.equal(result.count, 7);
    const out = join(dir, "wide.tar");
    writeFileSync(out, result.tar);
    const [before, after] = [await openMlf(archive), await openMlf(out)];
    const [a, b] = [before.modules[0]!, after.modules[0]!];
    assert.equal(a.functionRegistry!.countStyle, "u8-count");
    assert.equal(b.functionRegistry!.countStyle, "u16-count");
    assert.deepEqual(b.functionRegistry!.names, a.functionRegistry!.names);
    assert.equal(after.files.length, before.files.length);
    for (const name of before.files) {
      if (name === "codegen/host/src/default_lib0.c") continue;
      assert.ok(before.read(name).equals(after.read(name)), `${name} unchanged`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("repackRegistryCount refuses an archive without a C function registry", async (t) => {
  const archive = sharedFixture(t, "sine-aot-v5-crt", "sine.tar");
  if (!archive) return;
  await assert.rejects(repackRegistryCount(archive), /has no C function registry/);
});
