// Samples from --input paths: files, folders, globs and .npz archives (written here with fflate and,
// when available, by NumPy itself), pairing across inputs by stem, and the errors users see.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zipSync } from "fflate";
import { DeviceError } from "../../src/device/errors.js";
import { readNpzMembers } from "../../src/device/npz.js";
import { expandInputPath, fileStem, loadSamples, type TensorSpec } from "../../src/device/samples.js";
import { encodeNpy, tensorFromValues, tensorValues } from "../../src/rpc/index.js";

function scratch(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "microtvm-samples-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const a: TensorSpec = { name: "a", index: 0, dtype: "int8", shape: [1, 3], bytes: 3 };
const b: TensorSpec = { name: "b:0", index: 1, dtype: "float32", shape: [2], bytes: 8 };

/** Sample k of input a holds [k, k+1, k+2]; of input b [k/2, -k]. */
const aValues = (k: number) => [k, k + 1, k + 2];
const bValues = (k: number) => [k / 2, 0 - k];
const stems = ["no", "silence", "yes"];

function writeFolders(dir: string): { aDir: string; bDir: string } {
  const aDir = join(dir, "a");
  const bDir = join(dir, "b");
  mkdirSync(aDir);
  mkdirSync(bDir);
  stems.forEach((stem, k) => {
    writeFileSync(join(aDir, `${stem}.bin`), Int8Array.from(aValues(k)));
    writeFileSync(join(bDir, `${stem}.npy`), encodeNpy(tensorFromValues(bValues(k), "float32", [2])));
  });
  writeFileSync(join(aDir, "README.md"), "not a tensor");
  // A reference beside the samples is not a sample: .json counts only in a folder of .json files.
  writeFileSync(join(aDir, "expected.json"), '{"samples": {}}');
  writeFileSync(join(aDir, ".hidden.bin"), "x");
  mkdirSync(join(aDir, "nested"));
  return { aDir, bDir };
}

function summary(samples: Awaited<ReturnType<typeof loadSamples>>) {
  return samples.map((s) => ({ name: s.name, values: s.inputs.map((i) => tensorValues(i.tensor)) }));
}

const expected = stems.map((name, k) => ({ name, values: [aValues(k), bValues(k)] }));

test("a folder, a glob and an .npz of inputs give the same samples, paired by stem and sorted by name", async (t) => {
  const dir = scratch(t);
  const { aDir, bDir } = writeFolders(dir);
  const fromFolders = await loadSamples([`a=${aDir}`, `1=${bDir}`], [a, b], "zeros");
  assert.deepEqual(summary(fromFolders), expected);
  assert.deepEqual(
    fromFolders[2]!.inputs.map((i) => i.source),
    [{ file: join(aDir, "yes.bin") }, { file: join(bDir, "yes.npy") }],
  );

  const fromGlobs = await loadSamples([`a=${aDir}/*.bin`, `b:0=${bDir}/*.npy`], [a, b], "zeros");
  assert.deepEqual(summary(fromGlobs), expected);

  // numpy.savez stores members; savez_compressed deflates them: both are read.
  const members = (level: 0 | 6, values: (k: number) => number[], dtype: string, shape: number[]) =>
    zipSync(
      Object.fromEntries(
        [...stems]
          .reverse()
          .map((stem) => [
            `${stem}.npy`,
            [encodeNpy(tensorFromValues(values(stems.indexOf(stem)), dtype, shape)), { level }],
          ]),
      ),
    );
  writeFileSync(join(dir, "a.npz"), members(0, aValues, "int8", [1, 3]));
  writeFileSync(join(dir, "b.npz"), members(6, bValues, "float32", [2]));
  const fromNpz = await loadSamples(
    [`a=${join(dir, "a.npz")}`, `b:0=${join(dir, "b.npz")}`],
    [a, b],
    "zeros",
  );
  assert.deepEqual(summary(fromNpz), expected);
  assert.deepEqual(fromNpz[0]!.inputs[0]!.source, { npz: join(dir, "a.npz"), key: "no" });
});

test("an input given as one file is shared by every sample; inputs not given are filled", async (t) => {
  const dir = scratch(t);
  const { aDir } = writeFolders(dir);
  writeFileSync(join(dir, "b.json"), "[0.25, 4]");
  const shared = await loadSamples([`a=${aDir}`, `b:0=${join(dir, "b.json")}`], [a, b], "zeros");
  assert.deepEqual(
    summary(shared),
    stems.map((name, k) => ({ name, values: [aValues(k), [0.25, 4]] })),
  );

  const filled = await loadSamples([`a=${aDir}`], [a, b], "ones");
  assert.deepEqual(filled[1]!.inputs[1]!.source, { fill: "ones" });
  assert.deepEqual(tensorValues(filled[1]!.inputs[1]!.tensor), [1, 1]);

  // A folder of .json tensors.
  const jsonDir = join(dir, "json");
  mkdirSync(jsonDir);
  writeFileSync(join(jsonDir, "one.json"), "[[1, 2, 3]]");
  writeFileSync(join(jsonDir, "two.json"), "[4, 5, 6]");
  const fromJson = await loadSamples([`a=${jsonDir}`], [a], "zeros");
  assert.deepEqual(summary(fromJson), [
    { name: "one", values: [[1, 2, 3]] },
    { name: "two", values: [[4, 5, 6]] },
  ]);

  // One file per input and no collection: one sample, named after the first file.
  const one = await loadSamples([`a=${join(aDir, "yes.bin")}`], [a, b], "zeros");
  assert.deepEqual(summary(one), [{ name: "yes", values: [aValues(2), [0, 0]] }]);
  const none = await loadSamples([], [a, b], "zeros");
  assert.deepEqual(summary(none), [
    {
      name: "zeros",
      values: [
        [0, 0, 0],
        [0, 0],
      ],
    },
  ]);
});

test("samples that do not pair, duplicate stems, and bad paths are refused with what to do", async (t) => {
  const dir = scratch(t);
  const { aDir, bDir } = writeFolders(dir);
  rmSync(join(bDir, "silence.npy"));
  writeFileSync(join(bDir, "extra.npy"), encodeNpy(tensorFromValues([1, 2], "float32", [2])));
  await assert.rejects(loadSamples([`a=${aDir}`, `b:0=${bDir}`], [a, b], "zeros"), (error: unknown) => {
    assert.ok(error instanceof DeviceError);
    assert.equal(error.kind, "bad-argument");
    assert.match(error.message, /pair across inputs by file stem/);
    assert.match(error.message, /b \(input "b:0"\) has no sample "silence"/);
    assert.match(error.message, /has no sample "extra"/);
    return true;
  });

  writeFileSync(join(aDir, "yes.npy"), encodeNpy(tensorFromValues(aValues(0), "int8", [1, 3])));
  await assert.rejects(expandInputPath(aDir), /two files have the stem "yes".*keep one/);
  rmSync(join(aDir, "yes.npy"));

  await assert.rejects(expandInputPath(join(dir, "nothing-*.bin")), /the pattern matches no files/);
  await assert.rejects(
    expandInputPath(join(dir, "missing.bin")),
    /does not exist; give a file, a folder, a glob/,
  );
  const empty = join(dir, "empty");
  mkdirSync(empty);
  await assert.rejects(expandInputPath(empty), /the folder has no tensor files/);

  await assert.rejects(
    loadSamples([`c=${aDir}`], [a, b], "zeros"),
    /no input named or numbered "c"; the model's inputs are: #0 "a" int8 \[1, 3\]/,
  );
  await assert.rejects(loadSamples([`a`], [a, b], "zeros"), /use NAME=PATH/);
  await assert.rejects(loadSamples([`a=${aDir}`, `0=${aDir}`], [a, b], "zeros"), /given twice/);

  // A file of the wrong size names the input, the file and what it needs.
  writeFileSync(join(dir, "short.bin"), Int8Array.of(1, 2));
  await assert.rejects(
    loadSamples([`a=${join(dir, "short.bin")}`], [a, b], "zeros"),
    (error: unknown) =>
      error instanceof DeviceError &&
      error.kind === "bad-file" &&
      /input "a" \(int8 \[1, 3\], 3 bytes\): .*short\.bin: raw file is 2 bytes/.test(error.message),
  );
  // An .npz member of the wrong dtype.
  writeFileSync(
    join(dir, "wrong.npz"),
    zipSync({ "yes.npy": encodeNpy(tensorFromValues([1, 2, 3], "int16", [1, 3])) }),
  );
  await assert.rejects(
    loadSamples([`a=${join(dir, "wrong.npz")}`], [a, b], "zeros"),
    /wrong\.npz\[yes\]: the array's dtype is int16, the input needs int8/,
  );
});

test(".npz archives: members that are not arrays, and data that is not a zip, are refused", () => {
  assert.throws(
    () => readNpzMembers(new TextEncoder().encode("not a zip"), "x.npz"),
    /x\.npz: not a readable \.npz archive/,
  );
  const zip = zipSync({ "notes.txt": new TextEncoder().encode("hi") });
  assert.throws(() => readNpzMembers(zip, "x.npz"), /member "notes\.txt" is not an \.npy array/);
  assert.equal(fileStem("/a/b/yes.v2.bin"), "yes.v2");
  assert.equal(fileStem("noext"), "noext");
});

function haveNumpy(t: TestContext): boolean {
  const probe = spawnSync("python3", ["-c", "import numpy"], { stdio: "ignore" });
  if (probe.status === 0) return true;
  const reason = "python3 with numpy not found; install python3-numpy to read archives NumPy writes";
  if (process.env.MICROTVM_REQUIRE_TOOLCHAINS === "1")
    throw new Error(`${reason} (MICROTVM_REQUIRE_TOOLCHAINS=1)`);
  t.skip(reason);
  return false;
}

test(".npz archives written by numpy.savez and numpy.savez_compressed (zip64 local headers) are read", async (t) => {
  if (!haveNumpy(t)) return;
  const dir = scratch(t);
  const script = `
import numpy as np, sys
d = sys.argv[1]
a = {s: np.array([[k, k + 1, k + 2]], dtype=np.int8) for k, s in enumerate(["no", "silence", "yes"])}
b = {s: np.array([k / 2, -k], dtype=np.float32) for k, s in enumerate(["no", "silence", "yes"])}
np.savez(d + "/a.npz", **a)
np.savez_compressed(d + "/b.npz", **b)
`;
  const run = spawnSync("python3", ["-c", script, dir], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  const samples = await loadSamples(
    [`a=${join(dir, "a.npz")}`, `b:0=${join(dir, "b.npz")}`],
    [a, b],
    "zeros",
  );
  assert.deepEqual(summary(samples), expected);
});
