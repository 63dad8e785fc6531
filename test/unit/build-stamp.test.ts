// The build stamp (docs/run.md, "When run builds"): its digest covers every field, the effective
// build options resolve alike on both sides, and the project's fingerprints see the files a build
// reads and nothing a build writes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ProjectOption } from "../../src/protocol/index.js";
import {
  BUILD_STAMP_SCHEMA,
  buildStampHeader,
  canonicalJson,
  checkBuildStamp,
  effectiveBuildOptions,
  makeBuildStamp,
  projectBuildStamp,
  projectRuntimeFingerprint,
  projectTemplateFingerprint,
  readBuildStamp,
  writeBuildStamp,
  type BuildStampFields,
} from "../../src/device/index.js";

const fields: BuildStampFields = {
  archive_sha256: "a".repeat(64),
  options: { cc: "gcc", workspace_size_bytes: 1024 },
  template: { name: "host", fingerprint: "b".repeat(64) },
  runtime_fingerprint: "c".repeat(64),
};

test("canonical JSON sorts keys at every level, so equal values have one text", () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [1, { z: 0, y: 1 }], c: null } }),
    '{"a":{"c":null,"d":[1,{"y":1,"z":0}]},"b":1}',
  );
  assert.equal(canonicalJson({ x: 1, y: 2 }), canonicalJson({ y: 2, x: 1 }));
});

test("the digest is sha256 of the canonical JSON of the other fields, and each field changes it", () => {
  const stamp = makeBuildStamp(fields);
  assert.equal(stamp.schema, BUILD_STAMP_SCHEMA);
  assert.match(stamp.digest, /^[0-9a-f]{64}$/);
  assert.equal(
    makeBuildStamp({ ...fields, options: { workspace_size_bytes: 1024, cc: "gcc" } }).digest,
    stamp.digest,
  );
  const variants: BuildStampFields[] = [
    { ...fields, archive_sha256: "d".repeat(64) },
    { ...fields, options: { ...fields.options, cc: "clang" } },
    { ...fields, template: { name: "qemu-cortex-m", fingerprint: fields.template.fingerprint } },
    { ...fields, template: { name: "host", fingerprint: "e".repeat(64) } },
    { ...fields, runtime_fingerprint: "f".repeat(64) },
  ];
  for (const variant of variants) assert.notEqual(makeBuildStamp(variant).digest, stamp.digest);
  assert.match(buildStampHeader(stamp), new RegExp(`#define MICROTVM_BUILD_STAMP "${stamp.digest}"`));
});

test("effective build options: sent, else saved, else default; only build options; verbose left out", () => {
  const option = (name: string, methods: string[], dflt: ProjectOption["default"]): ProjectOption => ({
    name,
    choices: null,
    default: dflt,
    type: "str",
    required: null,
    optional: methods,
    help: "",
  });
  const declared = [
    option("cc", ["build"], "gcc"),
    option("cflags", ["generate_project", "build"], null),
    option("board", ["build"], "mps2-an386"),
    option("verbose", ["build"], false),
    option("icount_shift", ["open_transport"], 3),
  ];
  assert.deepEqual(effectiveBuildOptions(declared, { cc: null, verbose: true, icount_shift: 5 }, {}), {
    cc: "gcc",
    board: "mps2-an386",
  });
  assert.deepEqual(
    effectiveBuildOptions(
      declared,
      { cc: "clang", cflags: null, board: null },
      { cflags: "-O3", board: "mps2-an385" },
    ),
    { cc: "clang", cflags: "-O3", board: "mps2-an385" },
  );
});

test("project fingerprints see what a build reads and ignore what a build writes", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "microtvm-stamp-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "firmware"));
  mkdirSync(join(dir, "runtime", "src"), { recursive: true });
  writeFileSync(join(dir, "firmware", "main.c"), "int main(void) { return 0; }\n");
  writeFileSync(join(dir, "runtime", "src", "crc16.c"), "/* crc */\n");
  writeFileSync(join(dir, "model.tar"), "archive bytes");
  writeFileSync(join(dir, "microtvm-project.json"), '{"template": "host", "options": {}}\n');
  const template = projectTemplateFingerprint(dir, "model.tar");
  const runtime = projectRuntimeFingerprint(dir);

  // What a build writes, and what records builds, do not count.
  mkdirSync(join(dir, "build"));
  writeFileSync(join(dir, "build", "firmware"), "binary");
  writeFileSync(join(dir, "microtvm-project.json"), '{"template": "host", "options": {"cc": "gcc"}}\n');
  writeFileSync(join(dir, "model.tar"), "another archive");
  assert.equal(projectTemplateFingerprint(dir, "model.tar"), template);
  assert.equal(projectRuntimeFingerprint(dir), runtime);

  appendFileSync(join(dir, "firmware", "main.c"), "/* edited */\n");
  assert.notEqual(projectTemplateFingerprint(dir, "model.tar"), template, "an edited firmware source counts");
  assert.equal(projectRuntimeFingerprint(dir), runtime);
  appendFileSync(join(dir, "runtime", "src", "crc16.c"), "/* edited */\n");
  assert.notEqual(projectRuntimeFingerprint(dir), runtime, "an edited runtime source counts");
});

test("checkBuildStamp says current only for the same digest, and names what changed", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "microtvm-stamp-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "model.tar"), "archive bytes");
  writeFileSync(join(dir, "microtvm-project.json"), '{"template": "host", "options": {}}\n');
  const expected = projectBuildStamp(dir, { archivePath: join(dir, "model.tar"), options: { cc: "gcc" } });
  assert.equal(expected.template.name, "host", "the name comes from microtvm-project.json");
  assert.deepEqual(checkBuildStamp(dir, expected), {
    current: false,
    reason: "the project has no build stamp (never built here)",
  });
  writeBuildStamp(dir, expected);
  assert.deepEqual(readBuildStamp(dir), expected);
  assert.equal(checkBuildStamp(dir, expected).current, true);

  const otherOptions = projectBuildStamp(dir, {
    archivePath: join(dir, "model.tar"),
    options: { cc: "clang" },
  });
  assert.deepEqual(checkBuildStamp(dir, otherOptions), {
    current: false,
    reason: 'changed since the last build: options (cc "gcc" → "clang")',
  });
  writeFileSync(join(dir, "model.tar"), "another archive");
  const otherArchive = projectBuildStamp(dir, {
    archivePath: join(dir, "model.tar"),
    options: { cc: "gcc" },
  });
  assert.equal(checkBuildStamp(dir, otherArchive).reason, "changed since the last build: the model archive");

  writeFileSync(join(dir, "microtvm-build-stamp.json"), "{not json");
  assert.equal(readBuildStamp(dir), undefined, "a damaged stamp is no stamp");
});
