// Safe extraction: every hostile archive is refused with the entry named, nothing is left behind,
// and nothing is written outside the target directory.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { Readable } from "node:stream";
import { resolve, sep } from "node:path";
import {
  buildTar,
  extractMlf,
  MlfError,
  normaliseEntryName,
  openMlf,
  readTarStream,
  type TarEntry,
} from "../../src/mlf/index.js";
import { sharedFixture } from "../helpers/paths.js";

interface RawEntry {
  name: string;
  type?: string; // typeflag character
  data?: Buffer;
  size?: number; // header size when it differs from data (for limit tests)
  linkname?: string;
  mode?: number;
}

/** One ustar header, written by hand so any hostile form can be expressed. */
function rawHeader(e: RawEntry): Buffer {
  const h = Buffer.alloc(512);
  h.write(e.name, 0, 100, "utf8");
  h.write((e.mode ?? 0o644).toString(8).padStart(7, "0") + "\0", 100, 8, "ascii");
  h.write("0000000\0", 108, 8, "ascii");
  h.write("0000000\0", 116, 8, "ascii");
  h.write((e.size ?? e.data?.length ?? 0).toString(8).padStart(11, "0") + "\0", 124, 12, "ascii");
  h.write("00000000000\0", 136, 12, "ascii");
  h.write(e.type ?? "0", 156, 1, "latin1");
  if (e.linkname) h.write(e.linkname, 157, 100, "utf8");
  h.write("ustar\0" + "00", 257, 8, "latin1");
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
  return h;
}

function rawTar(entries: RawEntry[], { end = true } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(rawHeader(e));
    if (e.data && e.data.length > 0) {
      parts.push(e.data);
      const pad = (512 - (e.data.length % 512)) % 512;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  if (end) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 2;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.from(`${len}${body}`);
}

const ok = (name: string, text = "x"): RawEntry => ({ name, data: Buffer.from(text) });

/** A sandbox: `outside/` holds the target and a sentinel; the test checks nothing else appears. */
function sandbox() {
  const base = mkdtempSync(join(tmpdir(), "mlf-extract-"));
  const outside = join(base, "outside");
  mkdirSync(outside);
  writeFileSync(join(outside, "sentinel"), "keep");
  return {
    base,
    outside,
    dest: join(outside, "target"),
    archive: join(base, "archive.tar"),
    listing: () => readdirSync(base, { recursive: true }).map(String).sort(),
    cleanup: () => rmSync(base, { recursive: true, force: true }),
  };
}

async function expectRefused(
  archiveBytes: Buffer,
  entry: string | RegExp,
  code: string,
  limits?: Parameters<typeof extractMlf>[2],
): Promise<MlfError> {
  const s = sandbox();
  try {
    writeFileSync(s.archive, archiveBytes);
    const before = s.listing();
    const error = await extractMlf(s.archive, s.dest, limits).then(
      () => assert.fail("extraction should have been refused"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof MlfError, `expected MlfError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (typeof entry === "string")
      assert.ok(error.message.includes(entry), `message names ${entry}: ${error.message}`);
    else assert.match(error.message, entry);
    assert.equal(existsSync(s.dest), false, "the target directory is removed");
    assert.deepEqual(s.listing(), before, "nothing written outside the target");
    // Reading the archive as a model refuses it too.
    await assert.rejects(openMlf(s.archive), (e: unknown) => e instanceof MlfError);
    return error;
  } finally {
    s.cleanup();
  }
}

test("absolute paths are refused", async () => {
  await expectRefused(
    rawTar([ok("./metadata.json"), ok("/mlf-evil-absolute")]),
    "/mlf-evil-absolute",
    "unsafe-entry",
  );
});

test("'..' segments are refused, also in the middle of a path", async () => {
  await expectRefused(rawTar([ok("../evil")]), "../evil", "unsafe-entry");
  await expectRefused(rawTar([ok("./codegen/../../evil")]), "./codegen/../../evil", "unsafe-entry");
});

test("backslashes and drive letters are refused", async () => {
  await expectRefused(rawTar([ok("..\\evil")]), "..\\\\evil", "unsafe-entry");
  await expectRefused(rawTar([ok("C:/evil")]), "C:/evil", "unsafe-entry");
});

test("symbolic links are refused, even pointing inside", async () => {
  const e = await expectRefused(
    rawTar([ok("./metadata.json"), { name: "./link", type: "2", linkname: "../../etc" }, ok("./link/evil")]),
    "./link",
    "unsafe-entry",
  );
  assert.match(e.message, /symbolic link/);
  await expectRefused(
    rawTar([{ name: "inside", type: "2", linkname: "metadata.json" }]),
    "inside",
    "unsafe-entry",
  );
});

test("hard links are refused", async () => {
  const e = await expectRefused(
    rawTar([ok("a"), { name: "hard", type: "1", linkname: "/etc/passwd" }]),
    "hard",
    "unsafe-entry",
  );
  assert.match(e.message, /hard link/);
});

test("devices and FIFOs are refused", async () => {
  for (const [type, what] of [
    ["3", /character device/],
    ["4", /block device/],
    ["6", /FIFO/],
  ] as const) {
    const e = await expectRefused(
      rawTar([ok("a"), { name: `dev${type}`, type }]),
      `dev${type}`,
      "unsafe-entry",
    );
    assert.match(e.message, what);
  }
});

test("unknown entry types are refused", async () => {
  await expectRefused(rawTar([{ name: "sparse", type: "S" }]), "sparse", "unsafe-entry");
});

test("duplicate entries are refused, however the name is spelled", async () => {
  await expectRefused(
    rawTar([ok("./metadata.json"), ok("metadata.json", "y")]),
    "metadata.json",
    "unsafe-entry",
  );
  await expectRefused(rawTar([ok("./a/b"), ok("./a//b")]), "./a//b", "unsafe-entry");
});

test("a file may not be used as a directory", async () => {
  await expectRefused(rawTar([ok("a"), ok("a/b")]), "a/b", "unsafe-entry");
});

test("pax and GNU long names are checked like plain names", async () => {
  const pax = paxRecord("path", "../../pax-evil");
  await expectRefused(
    rawTar([{ name: "PaxHeader", type: "x", data: pax }, ok("harmless")]),
    "../../pax-evil",
    "unsafe-entry",
  );
  const long = Buffer.from("../gnu-evil\0");
  await expectRefused(
    rawTar([{ name: "././@LongLink", type: "L", data: long }, ok("harmless")]),
    "../gnu-evil",
    "unsafe-entry",
  );
});

test("an entry past the per-entry limit is refused before its bytes are read", async () => {
  // The header claims 64 MiB; the archive holds none of it.
  await expectRefused(rawTar([{ name: "big", size: 64 * 1024 * 1024 }], { end: false }), "big", "too-large", {
    maxEntryBytes: 1024 * 1024,
  });
});

test("a gzip bomb is stopped by counting uncompressed bytes as they stream", async () => {
  // 40 entries of 1 MiB zeros: 40 MiB uncompressed, a few tens of KiB compressed.
  const zeros = Buffer.alloc(1024 * 1024);
  const tar = rawTar(Array.from({ length: 40 }, (_, i) => ({ name: `zero${i}`, data: zeros })));
  const gz = gzipSync(tar, { level: 9 });
  assert.ok(gz.length < 200_000, `bomb is small when compressed (${gz.length})`);
  const e = await expectRefused(gz, /zero\d+/, "too-large", {
    maxEntryBytes: 2 * 1024 * 1024,
    maxTotalBytes: 4 * 1024 * 1024,
  });
  assert.match(e.message, /4194304-byte limit/);
});

test("too many entries are refused", async () => {
  await expectRefused(rawTar(Array.from({ length: 20 }, (_, i) => ok(`f${i}`))), "f10", "too-large", {
    maxEntries: 10,
  });
});

test("a hostile entry after good ones leaves no half-written directory", async () => {
  await expectRefused(
    rawTar([ok("./metadata.json", "{}"), ok("./codegen/host/src/a.c"), ok("../late-evil")]),
    "../late-evil",
    "unsafe-entry",
  );
});

test("not a tar, truncated and corrupt archives are refused", async () => {
  await expectRefused(
    Buffer.from("hello, this is not a tar archive at all".repeat(20)),
    /not a tar/,
    "not-tar",
  );
  await expectRefused(Buffer.alloc(0), /empty/, "not-tar");
  const good = rawTar([ok("a", "x".repeat(2000))]);
  await expectRefused(good.subarray(0, 1024), /truncated inside entry a/, "not-tar");
  await expectRefused(gzipSync(good).subarray(0, 40), /gzip|truncated/, "not-tar");
});

test("the target must be a fresh directory", async () => {
  const s = sandbox();
  try {
    writeFileSync(s.archive, rawTar([ok("a")]));
    mkdirSync(s.dest);
    writeFileSync(join(s.dest, "precious"), "keep");
    await assert.rejects(
      extractMlf(s.archive, s.dest),
      (e: unknown) => e instanceof MlfError && e.code === "target-exists",
    );
    assert.equal(
      readFileSync(join(s.dest, "precious"), "utf8"),
      "keep",
      "an existing directory is left alone",
    );
  } finally {
    s.cleanup();
  }
});

test("a directory input with a symbolic link is refused by openMlf", async (t) => {
  const s = sandbox();
  t.after(() => s.cleanup());
  mkdirSync(s.dest);
  writeFileSync(join(s.dest, "metadata.json"), "{}");
  symlinkSync("/etc/passwd", join(s.dest, "link"));
  await assert.rejects(
    openMlf(s.dest),
    (e: unknown) => e instanceof MlfError && e.code === "unsafe-entry" && e.message.includes("link"),
  );
});

test("a well-formed archive extracts exactly its files (tar and tar.gz)", async (t) => {
  const s = sandbox();
  t.after(() => s.cleanup());
  const tar = buildTar([
    { name: "", type: "directory" },
    { name: "codegen", type: "directory" },
    { name: "codegen/a.c", type: "file", data: Buffer.from("int a;\n") },
    { name: "metadata.json", type: "file", data: Buffer.from("{}") },
    { name: "tool.sh", type: "file", data: Buffer.from("#!/bin/sh\n"), mode: 0o4755 },
  ]);
  for (const [suffix, bytes] of [
    ["tar", tar],
    ["tar.gz", gzipSync(tar)],
  ] as const) {
    const archive = join(s.base, `good.${suffix}`);
    writeFileSync(archive, bytes);
    const dest = join(s.outside, `good-${suffix}`);
    const result = await extractMlf(archive, dest);
    assert.deepEqual([...result.files].sort(), ["codegen/a.c", "metadata.json", "tool.sh"]);
    assert.equal(readFileSync(join(dest, "codegen", "a.c"), "utf8"), "int a;\n");
    // setuid is never kept; only 0644/0755.
    const { statSync } = await import("node:fs");
    assert.equal(statSync(join(dest, "tool.sh")).mode & 0o7777, 0o755);
  }
});

test("a real fixture extracts byte for byte", async (t) => {
  const archive = sharedFixture(t, "sine-aot-v5-crt", "sine.tar");
  if (!archive) return;
  const s = sandbox();
  t.after(() => s.cleanup());
  const result = await extractMlf(archive, s.dest);
  const model = await openMlf(archive);
  for (const f of model.files) assert.ok(readFileSync(join(s.dest, f)).equals(model.read(f)), f);
  assert.equal(result.files.length, model.files.length);
  const reopened = await openMlf(s.dest);
  assert.equal(reopened.container, "directory");
  assert.deepEqual(reopened.modules[0]!.inputs, model.modules[0]!.inputs);
});

test("any accepted member name stays inside the root (property)", () => {
  const segment = fc.constantFrom("..", ".", "", "a", "b.c", "C:", "\\", "..\\x", "/", "d");
  const root = resolve("/srv/extract-root");
  fc.assert(
    fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), (parts) => {
      const raw = parts.join("/");
      let name: string;
      try {
        name = normaliseEntryName(raw);
      } catch (error) {
        assert.ok(error instanceof MlfError && error.code === "unsafe-entry");
        return;
      }
      const target = resolve(root, name);
      assert.ok(target === root || target.startsWith(root + sep), `${raw} -> ${target}`);
      assert.ok(!name.split("/").includes(".."));
    }),
  );
});

test("buildTar output reads back entry for entry (property)", async () => {
  const file = fc.record({
    name: fc.stringMatching(/^[a-z0-9_]{1,12}(\/[a-z0-9_][a-z0-9_.]{0,39}){0,3}$/),
    data: fc.uint8Array({ maxLength: 1500 }),
  });
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(file, { selector: (f) => f.name, maxLength: 6 }), async (files) => {
      // Skip sets where a file would sit under another file.
      const names = files.map((f) => f.name);
      fc.pre(!names.some((a) => names.some((b) => b.startsWith(`${a}/`))));
      const tar = buildTar(files.map((f) => ({ name: f.name, type: "file" as const, data: f.data })));
      const seen: TarEntry[] = [];
      await readTarStream(Readable.from([tar]), (e) => {
        seen.push(e);
      });
      assert.deepEqual(
        seen.map((e) => [e.name, [...e.data]]),
        files.map((f) => [f.name, [...f.data]]),
      );
    }),
    { numRuns: 50 },
  );
});
