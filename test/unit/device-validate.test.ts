// Validation without a device: reference loaders (folder, .npz, JSON), the error metrics checked
// against values worked out by hand, tolerances and the verdict.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zipSync } from "fflate";
import { DeviceError } from "../../src/device/errors.js";
import { FirmwareMismatchError, checkFirmwareIdentity } from "../../src/device/identity.js";
import { argmax, compareSamples, defaultLimits, parseToleranceLimit } from "../../src/device/metrics.js";
import { loadReferenceFile, referenceFromOutputs } from "../../src/device/reference.js";
import type { TensorSpec } from "../../src/device/samples.js";
import { judgeOutputs } from "../../src/device/validate.js";
import { encodeNpy, tensorFromValues } from "../../src/rpc/index.js";

function scratch(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "microtvm-reference-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const scores: TensorSpec = { name: "Identity:0", index: 0, dtype: "int8", shape: [1, 4], bytes: 4 };
const boxes: TensorSpec = { name: "boxes", index: 1, dtype: "float32", shape: [2], bytes: 8 };

const values = (r: { samples: ReadonlyMap<string, readonly { values: Float64Array }[]> }) =>
  Object.fromEntries([...r.samples].map(([name, outs]) => [name, outs.map((o) => [...o.values])]));

test("a folder reference: <sample>.npy/.bin for one output, <sample>/<output>.npy/.bin for several", async (t) => {
  const dir = scratch(t);
  writeFileSync(join(dir, "yes.bin"), Int8Array.of(115, -123, -125, -123));
  // A float reference for an int8 output is compared by value.
  writeFileSync(join(dir, "no.npy"), encodeNpy(tensorFromValues([-128, 4, -123, -9], "float32", [4])));
  writeFileSync(join(dir, "unused.bin"), Int8Array.of(0, 0, 0, 0));
  const one = await loadReferenceFile(dir, [scores], ["no", "yes"]);
  assert.equal(one.kind, "folder");
  assert.deepEqual(values(one), { no: [[-128, 4, -123, -9]], yes: [[115, -123, -125, -123]] });

  const multi = join(dir, "multi");
  mkdirSync(join(multi, "yes"), { recursive: true });
  // The output named by its file-safe name and by its index.
  writeFileSync(join(multi, "yes", "Identity_0.bin"), Int8Array.of(1, 2, 3, 4));
  writeFileSync(join(multi, "yes", "1.npy"), encodeNpy(tensorFromValues([0.5, 1.5], "float32", [2])));
  const two = await loadReferenceFile(multi, [scores, boxes], ["yes"]);
  assert.deepEqual(values(two), {
    yes: [
      [1, 2, 3, 4],
      [0.5, 1.5],
    ],
  });

  await assert.rejects(loadReferenceFile(multi, [scores, boxes], ["yes", "no"]), (error: unknown) => {
    assert.ok(error instanceof DeviceError && error.kind === "bad-file");
    assert.match(
      error.message,
      /no reference for sample "no" output "Identity:0"; sample "no" output "boxes"/,
    );
    assert.match(error.message, /expected <sample>\/<output>\.npy or \.bin/);
    return true;
  });
  // <sample>.npy next to <sample>.bin (as run --output-dir writes them): the .npy is read.
  writeFileSync(join(dir, "yes.npy"), encodeNpy(tensorFromValues([1, 2, 3, 4], "int8", [4])));
  assert.deepEqual(values(await loadReferenceFile(dir, [scores], ["yes"])), { yes: [[1, 2, 3, 4]] });
  mkdirSync(join(dir, "yes"));
  writeFileSync(join(dir, "yes", "0.bin"), Int8Array.of(0, 0, 0, 0));
  await assert.rejects(
    loadReferenceFile(dir, [scores], ["yes"]),
    /sample "yes" has 2 references for output "Identity:0".*keep one/,
  );
  writeFileSync(join(dir, "short.npy"), encodeNpy(tensorFromValues([1, 2, 3], "int8", [3])));
  await assert.rejects(
    loadReferenceFile(dir, [scores], ["short"]),
    /short\.npy: the reference has 3 values \(shape \(3,\)\), but output "Identity:0" is int8 \(1, 4\) \(4 values\)/,
  );
});

test("an .npz reference keyed <sample> or <sample>/<output>, and a JSON reference like expected.json", async (t) => {
  const dir = scratch(t);
  const npy = (v: number[], dtype = "int8") => encodeNpy(tensorFromValues(v, dtype, [v.length]));
  writeFileSync(join(dir, "one.npz"), zipSync({ "yes.npy": npy([1, 2, 3, 4]), "no.npy": npy([4, 3, 2, 1]) }));
  assert.deepEqual(values(await loadReferenceFile(join(dir, "one.npz"), [scores], ["yes", "no"])), {
    yes: [[1, 2, 3, 4]],
    no: [[4, 3, 2, 1]],
  });
  writeFileSync(
    join(dir, "two.npz"),
    zipSync({ "yes/Identity:0.npy": npy([1, 2, 3, 4]), "yes/boxes.npy": npy([0.25, 2], "float64") }),
  );
  assert.deepEqual(values(await loadReferenceFile(join(dir, "two.npz"), [scores, boxes], ["yes"])), {
    yes: [
      [1, 2, 3, 4],
      [0.25, 2],
    ],
  });
  await assert.rejects(
    loadReferenceFile(join(dir, "one.npz"), [scores], ["silence"]),
    /no reference for sample "silence" \(expected keys <sample>; it has no, yes\)/,
  );

  const json = join(dir, "expected.json");
  writeFileSync(
    json,
    JSON.stringify({
      input: { name: "Reshape_1" },
      samples: { yes: [115, -123, -125, -123], no: [[-128, 4, -123, -9]] },
    }),
  );
  assert.deepEqual(values(await loadReferenceFile(json, [scores], ["no", "yes"])), {
    no: [[-128, 4, -123, -9]],
    yes: [[115, -123, -125, -123]],
  });
  writeFileSync(json, JSON.stringify({ samples: { yes: { "Identity:0": [1, 2, 3, 4], "1": [0, 1] } } }));
  assert.deepEqual(values(await loadReferenceFile(json, [scores, boxes], ["yes"])), {
    yes: [
      [1, 2, 3, 4],
      [0, 1],
    ],
  });
  writeFileSync(json, JSON.stringify({ yes: [1, 2, 3, 4] }));
  await assert.rejects(
    loadReferenceFile(json, [scores], ["yes"]),
    /expected \{"samples": \{"<sample>": \[values…\]\}\}/,
  );
  writeFileSync(json, "{ not json");
  await assert.rejects(loadReferenceFile(json, [scores], ["yes"]), /expected\.json: not valid JSON/);
  await assert.rejects(
    loadReferenceFile(join(dir, "nope"), [scores], ["yes"]),
    /does not exist; give a folder, an \.npz, a \.json file, or "host"/,
  );
  writeFileSync(join(dir, "ref.txt"), "1 2 3 4");
  await assert.rejects(
    loadReferenceFile(join(dir, "ref.txt"), [scores], ["yes"]),
    /use a folder of \.npy\/\.bin files/,
  );
});

test("metrics match values worked out by hand", () => {
  // Sample a: device [1, 2, 3], reference [1, 2, 5]; sample b: device [0, 4, 1], reference [0, 4, 1].
  const m = compareSamples(
    [
      { name: "a", device: [[1, 2, 3]], reference: [[1, 2, 5]] },
      { name: "b", device: [[0, 4, 1]], reference: [[0, 4, 1]] },
    ],
    1,
  );
  const out = m.outputs[0]!;
  assert.equal(out.elements, 6);
  assert.equal(out.maxAbsError, 2);
  assert.equal(out.meanAbsError, 2 / 6);
  assert.equal(out.rmse, Math.sqrt(4 / 6));
  // ||d - r|| = 2, ||r|| = sqrt(1 + 4 + 25 + 0 + 16 + 1) = sqrt(47)
  assert.ok(Math.abs(out.l2RelativeError - 2 / Math.sqrt(47)) < 1e-15);
  // d·r = 1 + 4 + 15 + 0 + 16 + 1 = 37; ||d|| = sqrt(1 + 4 + 9 + 0 + 16 + 1) = sqrt(31)
  assert.ok(Math.abs(out.cosineSimilarity - 37 / Math.sqrt(31 * 47)) < 1e-15);
  // argmax: a device 2 vs reference 2 (agree); b 1 vs 1.
  assert.deepEqual(out.top1, { agree: 2, samples: 2 });
  assert.deepEqual(m.samples[0]!.outputs[0], {
    maxAbsError: 2,
    meanAbsError: 2 / 3,
    deviceTop1: 2,
    referenceTop1: 2,
  });
  assert.deepEqual(m.overall, out);

  // Zero vectors, disagreeing argmax, NaN on the device side.
  const z = compareSamples([{ name: "z", device: [[0, 0]], reference: [[0, 0]] }], 1).outputs[0]!;
  assert.equal(z.cosineSimilarity, 1);
  assert.equal(z.l2RelativeError, 0);
  const off = compareSamples([{ name: "o", device: [[0, 1]], reference: [[0, 0]] }], 1).outputs[0]!;
  assert.equal(off.l2RelativeError, Infinity);
  assert.equal(off.cosineSimilarity, 0);
  assert.deepEqual(off.top1, { agree: 0, samples: 1 });
  const nan = compareSamples([{ name: "n", device: [[NaN, 1]], reference: [[0, 1]] }], 1).outputs[0]!;
  assert.ok(Number.isNaN(nan.maxAbsError));
  assert.equal(argmax([NaN, 3, 7, 7]), 2);
  assert.equal(argmax([]), -1);
});

test("the overall top-1 counts samples where every output agrees", () => {
  const m = compareSamples(
    [
      {
        name: "a",
        device: [
          [1, 0],
          [0, 1],
        ],
        reference: [
          [1, 0],
          [1, 0],
        ],
      },
      {
        name: "b",
        device: [
          [0, 1],
          [0, 1],
        ],
        reference: [
          [0, 1],
          [0, 1],
        ],
      },
    ],
    2,
  );
  assert.deepEqual(m.outputs[0]!.top1, { agree: 2, samples: 2 });
  assert.deepEqual(m.outputs[1]!.top1, { agree: 1, samples: 2 });
  assert.deepEqual(m.overall.top1, { agree: 1, samples: 2 });
  assert.equal(m.overall.elements, 8);
});

test("tolerances: parsing, the default check and the verdict", () => {
  assert.deepEqual(parseToleranceLimit("2"), { metric: "max_abs", value: 2 });
  assert.deepEqual(parseToleranceLimit("rmse=0.5"), { metric: "rmse", value: 0.5 });
  assert.deepEqual(parseToleranceLimit("top1=1"), { metric: "top1", value: 1 });
  assert.match(
    parseToleranceLimit("psnr=3") as string,
    /unknown metric "psnr"; use one of max_abs, mean_abs/,
  );
  assert.match(parseToleranceLimit("rmse=") as string, /rmse needs a number >= 0/);
  assert.match(parseToleranceLimit("cosine=2") as string, /cosine is at most 1/);
  assert.deepEqual(defaultLimits("int8", [[100]]), [{ metric: "max_abs", value: 0 }]);
  assert.deepEqual(defaultLimits("float32", [[-300, 2]]), [{ metric: "max_abs", value: 300e-5 }]);

  const device = new Map([
    ["yes", [tensorFromValues([115, -123, -125, -123], "int8", [1, 4])]],
    ["no", [tensorFromValues([-128, 4, -123, -9], "int8", [1, 4])]],
  ]);
  const exact = referenceFromOutputs("host", device);
  const same = judgeOutputs([scores], device, exact, undefined);
  assert.equal(same.passed, true);
  assert.equal(same.metrics.outputs[0]!.maxAbsError, 0);
  assert.deepEqual(same.metrics.outputs[0]!.top1, { agree: 2, samples: 2 });

  // One element off by 3 in "no": fails the default, passes --tolerance 3, fails rmse=1.
  const perturbed = referenceFromOutputs(
    "perturbed",
    new Map([
      ["yes", [tensorFromValues([115, -123, -125, -123], "int8", [1, 4])]],
      ["no", [tensorFromValues([-128, 7, -123, -9], "int8", [1, 4])]],
    ]),
  );
  const failed = judgeOutputs([scores], device, perturbed, undefined);
  assert.equal(failed.passed, false);
  assert.deepEqual(failed.checks, [{ output: 0, metric: "max_abs", limit: 0, actual: 3, passed: false }]);
  assert.equal(judgeOutputs([scores], device, perturbed, [{ metric: "max_abs", value: 3 }]).passed, true);
  assert.equal(judgeOutputs([scores], device, perturbed, [{ metric: "rmse", value: 1 }]).passed, false);
  assert.throws(
    () => judgeOutputs([scores], new Map([["silence", device.get("yes")!]]), exact, undefined),
    /host: no reference for sample "silence"/,
  );
});

test("firmware identity: a matching stamp passes, another is refused naming both, none is a warning", () => {
  const expected = "a".repeat(64);
  assert.deepEqual(checkFirmwareIdentity(expected, expected, "/p"), { status: "current", digest: expected });
  assert.throws(
    () => checkFirmwareIdentity("b".repeat(64), expected, "/p"),
    (error: unknown) =>
      error instanceof FirmwareMismatchError &&
      /not the current build of \/p: the project expects build stamp aaaaaaaaaaaa, the device reports bbbbbbbbbbbb; rebuild and flash it \(microtvm build \/p && microtvm flash \/p/.test(
        error.message,
      ),
  );
  const tvmCrt = checkFirmwareIdentity(undefined, expected, "/p");
  assert.equal(tvmCrt.status, "unstamped");
  assert.match((tvmCrt as { why: string }).why, /no microtvm\.build_stamp function \(TVM's CRT firmware/);
  assert.equal(checkFirmwareIdentity("", expected, "/p").status, "unstamped");
});
