// One dtype module for Model Library Format and the minRPC client: parsing as TVM spells dtypes, and the
// two byte sizes (packed, as metadata.json gives sizes; per element, as memory holds tensors).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DTypeError,
  elementBytes,
  formatDType,
  packedBytes,
  parseDType,
  storageBytes,
  typedArrayOver,
} from "../../src/dtype/index.js";
import * as mlf from "../../src/mlf/index.js";
import * as rpc from "../../src/rpc/index.js";

test("dtype strings parse to DLDataType and format back as TVM prints them", () => {
  const cases: [string, [number, number, number]][] = [
    ["int8", [0, 8, 1]],
    ["uint8", [1, 8, 1]],
    ["int32", [0, 32, 1]],
    ["float32", [2, 32, 1]],
    ["float16", [2, 16, 1]],
    ["bfloat16", [4, 16, 1]],
    ["int64", [0, 64, 1]],
    ["int4", [0, 4, 1]],
    ["bool", [1, 1, 1]],
    ["float32x4", [2, 32, 4]],
    ["handle", [3, 64, 1]],
  ];
  for (const [name, [code, bits, lanes]] of cases) {
    assert.deepEqual(parseDType(name), { code, bits, lanes }, name);
    assert.equal(formatDType(parseDType(name)), name);
  }
  // As in TVM, a kind without a width is 32 bits wide, and `uint1` is `bool`.
  assert.deepEqual(parseDType("int"), { code: 0, bits: 32, lanes: 1 });
  assert.deepEqual(parseDType("float"), { code: 2, bits: 32, lanes: 1 });
  assert.equal(formatDType(parseDType("uint1")), "bool");
  for (const bad of ["int0", "float32x0", "int256", "f32", "int8x", "complex64", ""]) {
    assert.throws(
      () => parseDType(bad),
      (e: unknown) => e instanceof DTypeError && /unknown dtype ".*"; use a TVM dtype/.test(e.message),
      bad,
    );
  }
});

test("packed and storage sizes differ only where an element is not a whole number of bytes", () => {
  const cases: [string, number[], number, number][] = [
    // dtype, shape, packed (metadata.json), storage (memory)
    ["int8", [1, 10], 10, 10],
    ["float32", [2, 3], 24, 24],
    ["float32x4", [3], 48, 48],
    ["int8x3", [2], 6, 6],
    ["bool", [10], 2, 10],
    ["bool", [8], 1, 8],
    ["int4", [3], 2, 3],
    ["int4x2", [3], 3, 3],
    ["uint1x4", [3], 2, 3],
    ["int8", [], 1, 1],
    ["float32", [0, 5], 0, 0],
  ];
  for (const [dtype, shape, packed, storage] of cases) {
    const label = `${dtype}${JSON.stringify(shape)}`;
    assert.equal(packedBytes(dtype, shape), packed, `packed ${label}`);
    assert.equal(storageBytes(dtype, shape), storage, `storage ${label}`);
    assert.equal(storageBytes(parseDType(dtype), shape), storage, `storage of the parsed ${label}`);
  }
  assert.equal(elementBytes("bool"), 1);
  assert.equal(elementBytes("int4"), 1);
  assert.equal(elementBytes("float16x3"), 6);
  assert.equal(elementBytes(parseDType("int64")), 8);
});

test("typed arrays over tensor bytes: views when aligned, copies when not, none without a JS type", () => {
  const bytes = Uint8Array.of(1, 0, 0, 0, 2, 0, 0, 0);
  const view = typedArrayOver("int32", bytes)!;
  assert.ok(view instanceof Int32Array);
  assert.deepEqual([...view], [1, 2]);
  assert.equal(view.buffer, bytes.buffer, "aligned bytes are viewed, not copied");
  const unaligned = Uint8Array.of(9, 1, 0, 0, 0).subarray(1);
  assert.deepEqual([...typedArrayOver("int32", unaligned)!], [1]);
  assert.ok(typedArrayOver("bool", Uint8Array.of(1, 0, 1)) instanceof Uint8Array);
  assert.ok(typedArrayOver("float16", new Uint8Array(4)) instanceof Uint16Array);
  assert.ok(typedArrayOver("int64", new Uint8Array(8)) instanceof BigInt64Array);
  for (const none of ["float32x4", "int4", "uint24"])
    assert.equal(typedArrayOver(none, new Uint8Array(8)), undefined);
});

test("Model Library Format and the minRPC client export the same dtype functions", () => {
  for (const name of [
    "parseDType",
    "formatDType",
    "elementBytes",
    "packedBytes",
    "storageBytes",
    "typedArrayOver",
  ] as const) {
    assert.equal(mlf[name], rpc[name], name);
  }
});
