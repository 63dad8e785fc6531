// Host tensor I/O: dtypes, .npy (against hand-built headers from the NumPy format description and, when
// available, NumPy itself), raw .bin, JSON, fill modes and the error messages users see.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  TensorIoError,
  encodeNpy,
  encodeTensorJson,
  fillTensor,
  float16ToNumber,
  numberToFloat16,
  parseDevice,
  parseNpy,
  parseTensorJson,
  readTensorFile,
  tensorFromValues,
  tensorValues,
  typedView,
  writeTensorFile,
} from "../../src/rpc/index.js";

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "microtvm-tensor-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An .npy file built by hand from the format description: magic, version, header length, dict, padding, data. */
function handBuiltNpy(major: number, dict: string, data: number[], align = 64): Uint8Array {
  const prefix = major === 1 ? 10 : 12;
  let header = dict;
  while ((prefix + header.length + 1) % align !== 0) header += " ";
  header += "\n";
  const bytes = [0x93, ..."NUMPY"].map((c) => (typeof c === "number" ? c : c.charCodeAt(0)));
  bytes.push(major, 0);
  if (major === 1) bytes.push(header.length & 0xff, header.length >> 8);
  else bytes.push(header.length & 0xff, (header.length >> 8) & 0xff, 0, 0);
  for (const ch of header) bytes.push(ch.charCodeAt(0));
  return Uint8Array.from([...bytes, ...data]);
}

test("device strings: only the CPU, device 0, exists on a microTVM target", () => {
  for (const text of ["cpu", "cpu:0", "cpu(0)", "CPU", "1:0", "c"]) {
    assert.deepEqual(parseDevice(text), { deviceType: 1, deviceId: 0 }, text);
  }
  for (const text of ["cuda", "cpu:1", "2:0", ""]) {
    assert.throws(() => parseDevice(text), /is not supported; a microTVM device is always "cpu"/, text);
  }
});

test(".npy writer produces exactly the bytes of a hand-built NumPy 1.0 file", () => {
  const expected = handBuiltNpy(
    1,
    "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }",
    [1, 0, 2, 0, 3, 0, 0xff, 0xff, 5, 0, 6, 0],
  );
  const tensor = tensorFromValues([1, 2, 3, -1, 5, 6], "int16", [2, 3]);
  const written = encodeNpy(tensor);
  assert.deepEqual(written, expected);
  assert.equal(written.length % 64, 12 % 64, "header is padded to 64 bytes");
  assert.deepEqual(parseNpy(expected), tensor);
});

test(".npy reader accepts 2.0 headers, 16-byte-aligned legacy headers, double quotes and scalars", () => {
  const v2 = parseNpy(
    handBuiltNpy(
      2,
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
      [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0],
    ),
  );
  assert.deepEqual(tensorValues(v2), [1, -2]);
  assert.deepEqual(v2.shape, [2]);
  const legacy = parseNpy(
    handBuiltNpy(1, `{"descr":"|u1","fortran_order":False,"shape":(1,1,2)}`, [7, 9], 16),
  );
  assert.deepEqual([legacy.dtype, legacy.shape, [...legacy.data]], ["uint8", [1, 1, 2], [7, 9]]);
  const scalar = parseNpy(handBuiltNpy(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (), }", [1]));
  assert.deepEqual([scalar.dtype, scalar.shape, [...scalar.data]], ["bool", [], [1]]);
  assert.deepEqual(parseNpy(encodeNpy(scalar)), scalar);
});

test(".npy round trip for every supported dtype", () => {
  const values: [string, (number | bigint)[]][] = [
    ["int8", [-128, 0, 127]],
    ["uint8", [0, 128, 255]],
    ["int16", [-32768, 1, 32767]],
    ["uint16", [0, 1, 65535]],
    ["int32", [-2147483648, 5, 2147483647]],
    ["uint32", [0, 7, 4294967295]],
    ["int64", [-(1n << 63n), 5n, (1n << 63n) - 1n]],
    ["uint64", [0n, 5n, (1n << 64n) - 1n]],
    ["float16", [1, -0.5, 65504]],
    ["float32", [1.5, -2.25, 3.125]],
    ["float64", [Math.PI, -1e300, 5e-324]],
  ];
  for (const [dtype, vals] of values) {
    const tensor = tensorFromValues(vals, dtype, [3, 1]);
    const back = parseNpy(encodeNpy(tensor));
    assert.deepEqual(back, tensor, dtype);
    assert.deepEqual(tensorValues(back), vals, dtype);
  }
});

test(".npy errors say what is wrong and what to do", () => {
  const cases: [Uint8Array, RegExp][] = [
    [Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), /not an .npy file.*numpy.save/],
    [
      handBuiltNpy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2), }", new Array(8).fill(0)),
      /Fortran order; save it in C order/,
    ],
    [
      handBuiltNpy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", new Array(8).fill(0)),
      /big-endian \(">f4"\); save it little-endian/,
    ],
    [
      handBuiltNpy(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new Array(8).fill(0)),
      /dtype "<c8" is not supported/,
    ],
    [
      handBuiltNpy(
        1,
        "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,), }",
        new Array(4).fill(0),
      ),
      /structured arrays are not supported/,
    ],
    [
      handBuiltNpy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", new Array(8).fill(0)),
      /data is 8 bytes, but <i4 with shape \(3,\) needs 12/,
    ],
    [handBuiltNpy(1, "{'descr': '<i4' 'fortran_order': False}", []), /bad .npy header/],
    [
      Uint8Array.from([...handBuiltNpy(1, "{}", [])].map((b, i) => (i === 6 ? 4 : b))),
      /format version 4.0 is not supported/,
    ],
  ];
  for (const [bytes, pattern] of cases) {
    assert.throws(
      () => parseNpy(bytes, "x.npy"),
      (e: unknown) => e instanceof TensorIoError && pattern.test(e.message) && e.message.startsWith("x.npy"),
      pattern.source,
    );
  }
  // A single-byte dtype has no byte order, so '>i1' is fine.
  assert.deepEqual(
    tensorValues(
      parseNpy(handBuiltNpy(1, "{'descr': '>i1', 'fortran_order': False, 'shape': (1,), }", [0xff])),
    ),
    [-1],
  );
});

test("input files: raw .bin size check, .npy dtype/shape check, missing file", async (t) => {
  const dir = scratch(t);
  const expected = { dtype: "int8", shape: [1, 1960] };
  writeFileSync(join(dir, "ok.bin"), new Uint8Array(1960).fill(3));
  const ok = await readTensorFile(join(dir, "ok.bin"), expected);
  assert.deepEqual([ok.dtype, ok.shape, ok.data.length, ok.data[5]], ["int8", [1, 1960], 1960, 3]);
  writeFileSync(join(dir, "short.bin"), new Uint8Array(1000));
  await assert.rejects(
    readTensorFile(join(dir, "short.bin"), expected),
    (e: unknown) =>
      e instanceof TensorIoError &&
      e.file === join(dir, "short.bin") &&
      /short\.bin: raw file is 1000 bytes, but int8 with shape \(1, 1960\) needs 1960 \(1960 × 1\); check the input's dtype and shape, or give an .npy file/.test(
        e.message,
      ),
  );
  writeFileSync(join(dir, "wrong.npy"), encodeNpy(fillTensor("zeros", "float32", [1, 1960])));
  await assert.rejects(
    readTensorFile(join(dir, "wrong.npy"), expected),
    /dtype is float32, the input needs int8; convert it \(a.astype\("int8"\)\)/,
  );
  writeFileSync(join(dir, "shape.npy"), encodeNpy(fillTensor("zeros", "int8", [1960])));
  await assert.rejects(
    readTensorFile(join(dir, "shape.npy"), expected),
    /shape is \(1960,\), the input needs \(1, 1960\); reshape it/,
  );
  await assert.rejects(
    readTensorFile(join(dir, "absent.bin"), expected),
    /cannot read input file .*absent\.bin: no such file/,
  );
  const forced = await readTensorFile(join(dir, "ok.bin"), { dtype: "int16", shape: [980] }, "bin");
  assert.equal(typedView(forced).length, 980);
});

test("JSON tensors: nested or flat, with range and shape checks", () => {
  const spec = { dtype: "int8", shape: [2, 2] };
  assert.deepEqual([...parseTensorJson("[[1, -2], [3, 4]]", spec).data], [1, 254, 3, 4]);
  assert.deepEqual([...parseTensorJson("[1, -2, 3, 4]", spec).data], [1, 254, 3, 4]);
  assert.throws(
    () => parseTensorJson("[[1, 2, 3, 4]]", spec, "in.json"),
    /in\.json: nested array has shape \(1, 4\), expected \(2, 2\) \(or give a flat array of 4 numbers\)/,
  );
  assert.throws(() => parseTensorJson("[1, 2, 3]", spec), /3 values for shape \(2, 2\), which needs 4/);
  assert.throws(() => parseTensorJson("[[1, 2], [3]]", spec), /ragged nested array/);
  assert.throws(
    () => parseTensorJson("[200, 1, 2, 3]", spec),
    /element 0 \(200\) is outside the int8 range \[-128, 127\]/,
  );
  assert.throws(() => parseTensorJson("[1.5, 1, 2, 3]", spec), /element 0 is 1.5, but int8 needs integers/);
  assert.throws(() => parseTensorJson("{", spec), /not valid JSON/);
  assert.throws(() => parseTensorJson("[null, 1, 2, 3]", spec), /element 0 is null, not a number/);
  const big = parseTensorJson('["9007199254740993", -1]', { dtype: "int64", shape: [2] });
  assert.deepEqual(tensorValues(big), [9007199254740993n, -1n]);
  assert.equal(encodeTensorJson(big), '["9007199254740993",-1]\n');
  const f = tensorFromValues([0.5, -1, 2, 4], "float32", [2, 1, 2]);
  assert.equal(encodeTensorJson(f), "[[[0.5,-1]],[[2,4]]]\n");
  assert.deepEqual(parseTensorJson(encodeTensorJson(f), { dtype: "float32", shape: [2, 1, 2] }), f);
});

test("output files: .bin, .npy and .json written whole, readable back", async (t) => {
  const dir = scratch(t);
  const tensor = tensorFromValues([115, -123, -125, -123], "int8", [1, 4]);
  for (const name of ["out.bin", "out.npy", "out.json"]) {
    await writeTensorFile(join(dir, name), tensor);
    assert.deepEqual(await readTensorFile(join(dir, name), { dtype: "int8", shape: [1, 4] }), tensor, name);
  }
  assert.deepEqual([...readFileSync(join(dir, "out.bin"))], [115, 133, 131, 133]);
  assert.equal(readFileSync(join(dir, "out.json"), "utf8"), "[[115,-123,-125,-123]]\n");
  await assert.rejects(
    writeTensorFile(join(dir, "missing-dir", "o.npy"), tensor),
    /cannot write output file/,
  );
  assert.deepEqual(readdirSync(dir).sort(), ["out.bin", "out.json", "out.npy"], "no partial files left");
});

test("fill modes: zeros, ones, seeded random as tvmc draws it", () => {
  assert.deepEqual(tensorValues(fillTensor("zeros", "float32", [3])), [0, 0, 0]);
  assert.deepEqual(tensorValues(fillTensor("ones", "int32", [2])), [1, 1]);
  assert.deepEqual(tensorValues(fillTensor("ones", "float16", [1])), [1]);
  const a = fillTensor("random", "int8", [1, 1960], 42);
  assert.deepEqual(fillTensor("random", "int8", [1, 1960], 42), a, "same seed, same data");
  assert.notDeepEqual(fillTensor("random", "int8", [1, 1960], 43).data, a.data);
  const ints = tensorValues(a) as number[];
  assert.ok(ints.every((v) => v >= 0 && v < 128) && new Set(ints).size > 100);
  const floats = tensorValues(fillTensor("random", "float32", [1000], 1)) as number[];
  assert.ok(floats.every((v) => v >= -1 && v < 1) && Math.min(...floats) < -0.9 && Math.max(...floats) > 0.9);
  assert.throws(
    () => fillTensor("noise" as "zeros", "int8", [1]),
    /unknown fill mode "noise"; use zeros, ones or random/,
  );
});

test("float16 conversion follows IEEE-754 half precision", () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [0.1, 0x2e66],
    [2 ** -24, 0x0001],
    [2 ** -14, 0x0400],
    [Infinity, 0x7c00],
    [1e6, 0x7c00],
    [0, 0],
    [2 ** -26, 0],
    [1 + 2 ** -11, 0x3c00], // tie rounds to even
    [1 + 3 * 2 ** -11, 0x3c02],
  ];
  for (const [value, bits] of cases) assert.equal(numberToFloat16(value), bits, String(value));
  assert.ok(Number.isNaN(float16ToNumber(numberToFloat16(NaN))));
  for (let bits = 0; bits < 0x7c00; bits += 37) assert.equal(numberToFloat16(float16ToNumber(bits)), bits);
});

test("typed views per dtype", () => {
  const view = (dtype: string) => typedView(fillTensor("ones", dtype, [2])).constructor.name;
  assert.deepEqual(
    [
      "int8",
      "uint8",
      "int16",
      "uint16",
      "int32",
      "uint32",
      "int64",
      "uint64",
      "float16",
      "float32",
      "float64",
      "bool",
    ].map(view),
    [
      "Int8Array",
      "Uint8Array",
      "Int16Array",
      "Uint16Array",
      "Int32Array",
      "Uint32Array",
      "BigInt64Array",
      "BigUint64Array",
      "Uint16Array",
      "Float32Array",
      "Float64Array",
      "Uint8Array",
    ],
  );
  const unaligned = { dtype: "int32", shape: [1], data: Uint8Array.of(0, 1, 0, 0, 0).subarray(1) };
  assert.deepEqual([...typedView(unaligned)], [1]);
  assert.throws(
    () => typedView({ dtype: "float32x4", shape: [1], data: new Uint8Array(16) }),
    /float32x4 has no host representation/,
  );
});

test("NumPy reads our .npy files and we read NumPy's", (t) => {
  const probe = spawnSync("python3", ["-c", "import numpy"], { stdio: "ignore" });
  if (probe.status !== 0) {
    t.skip("python3 with numpy not found; install numpy to cross-check the .npy format");
    return;
  }
  const dir = scratch(t);
  const ours = tensorFromValues([1, -2.5, 3e-3, 65504], "float16", [2, 2]);
  writeFileSync(join(dir, "ours.npy"), encodeNpy(ours));
  const script = `
import numpy as np, json, sys
d = sys.argv[1]
a = np.load(d + "/ours.npy")
np.save(d + "/theirs_i8.npy", np.arange(-3, 3, dtype=np.int8).reshape(2, 3))
np.save(d + "/theirs_f64.npy", np.array([[1.5, 2.5]]))
np.save(d + "/theirs_u16.npy", np.array(7, dtype=np.uint16))
print(json.dumps({"dtype": str(a.dtype), "shape": list(a.shape), "values": [float(v) for v in a.ravel()]}))
`;
  const run = spawnSync("python3", ["-c", script, dir], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  const seen = JSON.parse(run.stdout) as { dtype: string; shape: number[]; values: number[] };
  assert.deepEqual(seen, { dtype: "float16", shape: [2, 2], values: tensorValues(ours) });
  const i8 = parseNpy(readFileSync(join(dir, "theirs_i8.npy")));
  assert.deepEqual([i8.dtype, i8.shape, tensorValues(i8)], ["int8", [2, 3], [-3, -2, -1, 0, 1, 2]]);
  const f64 = parseNpy(readFileSync(join(dir, "theirs_f64.npy")));
  assert.deepEqual([f64.dtype, f64.shape, tensorValues(f64)], ["float64", [1, 2], [1.5, 2.5]]);
  const u16 = parseNpy(readFileSync(join(dir, "theirs_u16.npy")));
  assert.deepEqual([u16.dtype, u16.shape, tensorValues(u16)], ["uint16", [], [7]]);
});
