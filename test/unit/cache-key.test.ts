// The cached project of `microtvm run <archive> --template T` must not outlive a change of the
// template's code: its fingerprint is part of the cache key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { templateFingerprint } from "../../src/device/index.js";

test("a template's fingerprint changes with its server files and nothing else", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "microtvm-fingerprint-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "launch_microtvm_api_server.sh"), "#!/bin/sh\nexec node server.js\n");
  writeFileSync(join(dir, "microtvm_api_server.js"), "console.log(1);\n");
  const first = templateFingerprint(dir);
  assert.equal(templateFingerprint(dir), first, "same files, same fingerprint");

  writeFileSync(join(dir, "notes.txt"), "not part of the server\n");
  assert.equal(templateFingerprint(dir), first, "files the server does not run do not count");

  appendFileSync(join(dir, "microtvm_api_server.js"), "console.log(2);\n");
  const second = templateFingerprint(dir);
  assert.notEqual(second, first, "a new server bundle gives a new fingerprint");

  appendFileSync(join(dir, "launch_microtvm_api_server.sh"), "# changed\n");
  assert.notEqual(templateFingerprint(dir), second, "a new launch script gives a new fingerprint");
});
