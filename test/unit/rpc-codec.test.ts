// Byte-exact checks of the minRPC codec against worked examples of the wire format (docs/rpc.md, "The minRPC wire format").
import { decodeCallReturn } from "../../src/rpc/client.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  CPU_DEVICE,
  RpcProtocolError,
  RpcUsageError,
  parseDType,
  type DLTensor,
  type RpcValue,
} from "../../src/rpc/index.js";
import {
  Arg,
  ByteReader,
  ByteWriter,
  decodeReply,
  decodeRequest,
  encodeCallFunc,
  encodeCopyAck,
  encodeCopyFromRemote,
  encodeCopyToRemote,
  encodeException,
  encodeReturn,
  encodeShutdown,
  encodeSyscall,
  readPackedSeq,
  writePackedSeq,
  RpcCode,
} from "../../src/rpc/codec.js";

/** Parses spaced hex with optional `"text"` runs (as the spec writes packets) into bytes. */
function hex(text: string): Uint8Array {
  const out: number[] = [];
  for (const part of text.match(/"[^"]*"|[0-9a-fA-F]{2}/g) ?? []) {
    if (part.startsWith('"')) out.push(...new TextEncoder().encode(part.slice(1, -1)));
    else out.push(parseInt(part, 16));
  }
  return Uint8Array.from(out);
}

/** The spec's "wire" lines are frames: ff fd, u32 length, 3-byte session header, payload, crc16. */
function framePayload(frame: Uint8Array): Uint8Array {
  assert.deepEqual([...frame.subarray(0, 2)], [0xff, 0xfd]);
  const length = new DataView(frame.buffer).getUint32(2, true);
  assert.equal(frame.length, 6 + length + 2, "frame length field");
  assert.deepEqual([...frame.subarray(6, 9)], [0x82, 0x66, 0x10], "session id 0x6682, type Normal");
  return frame.subarray(9, 6 + length);
}

const uint8x2At0x1000: DLTensor = {
  data: 0x1000n,
  device: CPU_DEVICE,
  dtype: parseDType("uint8"),
  shape: [1, 2],
  byteOffset: 0,
};

test('worked example: GetGlobalFunc("runtime.SystemLib") request, and it is the payload of the worked frame', () => {
  const rpc = hex(
    '25 00 00 00 00 00 00 00 09 00 00 00 01 00 00 00 0b 00 00 00 11 00 00 00 00 00 00 00 "runtime.SystemLib"',
  );
  const packet = encodeSyscall(RpcCode.GetGlobalFunc, [Arg.str("runtime.SystemLib")]);
  assert.deepEqual(packet, rpc);
  const wire = hex(`ff fd 30 00 00 00 82 66 10 25 00 00 00 00 00 00 00 09 00 00 00 01 00 00 00 0b 00 00 00
       11 00 00 00 00 00 00 00 72 75 6e 74 69 6d 65 2e 53 79 73 74 65 6d 4c 69 62 30 3b`);
  assert.deepEqual(framePayload(wire), packet);
  assert.deepEqual(decodeRequest(packet), { kind: "syscall", code: 9, args: [Arg.str("runtime.SystemLib")] });
});

test("worked example: Return handle 0x80028000 decodes to one OpaqueHandle and re-encodes identically", () => {
  const rpc = hex("14 00 00 00 00 00 00 00 04 00 00 00 01 00 00 00 03 00 00 00 00 80 02 80 00 00 00 00");
  assert.deepEqual(decodeReply(rpc), { kind: "return", values: [Arg.handle(0x80028000n)] });
  assert.deepEqual(encodeReturn([Arg.handle(0x80028000n)]), rpc);
  const wire = hex(`ff fd 1f 00 00 00 82 66 10 14 00 00 00 00 00 00 00 04 00 00 00 01 00 00 00 03 00 00 00
       00 80 02 80 00 00 00 00 67 52`);
  assert.deepEqual(framePayload(wire), rpc);
});

test("worked example: CallFunc(0x80028000) with no arguments", () => {
  const rpc = hex("10 00 00 00 00 00 00 00 03 00 00 00 00 80 02 80 00 00 00 00 00 00 00 00");
  assert.deepEqual(encodeCallFunc(0x80028000n, []), rpc);
  const wire = hex(`ff fd 1b 00 00 00 82 66 10 10 00 00 00 00 00 00 00 03 00 00 00 00 80 02 80 00 00 00 00
       00 00 00 00 94 9b`);
  assert.deepEqual(framePayload(wire), rpc);
  assert.deepEqual(decodeRequest(rpc), { kind: "callFunc", handle: 0x80028000n, args: [] });
});

test("worked example: Return Module 0x8000: [Int 9, OpaqueHandle] becomes a module handle", () => {
  const rpc = hex(`20 00 00 00 00 00 00 00 04 00 00 00 02 00 00 00 00 00 00 00 03 00 00 00
       09 00 00 00 00 00 00 00 00 80 00 00 00 00 00 00`);
  const reply = decodeReply(rpc);
  assert.equal(reply.kind, "return");
  assert.deepEqual(
    decodeCallReturn(reply.kind === "return" ? reply.values : [], "test"),
    Arg.module(0x8000n),
  );
  assert.deepEqual(encodeReturn([Arg.int(9), Arg.handle(0x8000n)]), rpc);
});

test("worked example: CopyToRemote uint8[1,2] at 0x1000, offset 0, bytes 02 03 (L = 0x3e)", () => {
  const rpc = hex(`3e 00 00 00 00 00 00 00 07 00 00 00 00 10 00 00 00 00 00 00 01 00 00 00 00 00 00 00
       02 00 00 00 01 08 01 00 01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 00 00 00 00
       00 00 00 00 02 00 00 00 00 00 00 00 02 03`);
  const packet = encodeCopyToRemote(uint8x2At0x1000, Uint8Array.of(2, 3));
  assert.deepEqual(packet, rpc);
  assert.deepEqual(decodeRequest(packet), {
    kind: "copyToRemote",
    tensor: uint8x2At0x1000,
    data: Uint8Array.of(2, 3),
  });
});

test("worked example: CopyFromRemote of the same tensor (L = 0x3c) and its CopyAck", () => {
  const packet = encodeCopyFromRemote(uint8x2At0x1000, 2);
  assert.equal(packet.length, 8 + 0x3c);
  assert.deepEqual(packet.subarray(0, 12), hex("3c 00 00 00 00 00 00 00 06 00 00 00"));
  // Same tensor bytes as the CopyToRemote example, then u64 nbytes = 2.
  assert.deepEqual(
    packet.subarray(12),
    hex(`00 10 00 00 00 00 00 00 01 00 00 00 00 00 00 00
       02 00 00 00 01 08 01 00 01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 00 00 00 00
       00 00 00 00 02 00 00 00 00 00 00 00`),
  );
  const ack = hex("06 00 00 00 00 00 00 00 08 00 00 00 aa bb");
  assert.deepEqual(decodeReply(ack), { kind: "copyAck", data: Uint8Array.of(0xaa, 0xbb) });
  assert.deepEqual(encodeCopyAck(Uint8Array.of(0xaa, 0xbb)), ack);
});

test('worked example: Exception "oops" and Shutdown; ReturnVoid', () => {
  const oops = hex(
    "18 00 00 00 00 00 00 00 05 00 00 00 01 00 00 00 0b 00 00 00 04 00 00 00 00 00 00 00 6f 6f 70 73",
  );
  assert.deepEqual(decodeReply(oops), { kind: "exception", message: "oops" });
  assert.deepEqual(encodeException("oops"), oops);
  assert.deepEqual(encodeShutdown(), hex("04 00 00 00 00 00 00 00 01 00 00 00"));
  assert.deepEqual(decodeRequest(encodeShutdown()), { kind: "shutdown" });
  const returnVoid = hex("0c 00 00 00 00 00 00 00 04 00 00 00 01 00 00 00 04 00 00 00");
  assert.deepEqual(encodeReturn([Arg.null()]), returnVoid);
  assert.deepEqual(decodeReply(returnVoid), { kind: "return", values: [Arg.null()] });
});

test("packed sequence: every wire type encodes byte-exactly and decodes back", () => {
  const tensor: DLTensor = {
    data: 0x2000n,
    device: CPU_DEVICE,
    dtype: parseDType("float32"),
    shape: [3],
    byteOffset: 8,
  };
  const cases: [RpcValue, string][] = [
    [Arg.int(-2), "00 00 00 00 fe ff ff ff ff ff ff ff"],
    [Arg.uint(0xffffffffffffffffn), "01 00 00 00 ff ff ff ff ff ff ff ff"],
    [Arg.float(1.5), "02 00 00 00 00 00 00 00 00 00 f8 3f"],
    [Arg.handle(0x1234n), "03 00 00 00 34 12 00 00 00 00 00 00"],
    [Arg.null(), "04 00 00 00"],
    [Arg.dtype(parseDType("int8")), "05 00 00 00 00 08 01 00 00 00 00 00"],
    [Arg.device({ deviceType: 1, deviceId: 0 }), "06 00 00 00 01 00 00 00 00 00 00 00"],
    [
      Arg.tensor(tensor),
      "07 00 00 00 00 20 00 00 00 00 00 00 01 00 00 00 00 00 00 00 01 00 00 00 02 20 01 00 03 00 00 00 00 00 00 00 08 00 00 00 00 00 00 00",
    ],
    [Arg.object(0x55n), "08 00 00 00 09 00 00 00 55 00 00 00 00 00 00 00"],
    [Arg.module(0x8001n), "09 00 00 00 01 80 00 00 00 00 00 00"],
    [Arg.function(0x80028003n), "0a 00 00 00 03 80 02 80 00 00 00 00"],
    [Arg.str("añ"), "0b 00 00 00 03 00 00 00 00 00 00 00 61 c3 b1"],
    [Arg.bytes(Uint8Array.of(9, 8)), "0c 00 00 00 02 00 00 00 00 00 00 00 09 08"],
    [Arg.bool(true), "0f 00 00 00 01 00 00 00 00 00 00 00"],
  ];
  for (const [value, body] of cases) {
    const w = new ByteWriter();
    writePackedSeq(w, [value]);
    const bytes = body.split(" ");
    const expected = hex(["01 00 00 00", bytes.slice(0, 4).join(" "), bytes.slice(4).join(" ")].join(" "));
    assert.deepEqual(w.finish(), expected, `encoding of ${value.type}`);
    assert.deepEqual(
      readPackedSeq(new ByteReader(expected, "test"), "test"),
      [value],
      `decoding of ${value.type}`,
    );
  }
  // Several values: all type codes first, then the values in order.
  const w = new ByteWriter();
  writePackedSeq(w, [Arg.module(0x8000n), Arg.device(CPU_DEVICE), Arg.str("default")]);
  assert.deepEqual(
    w.finish(),
    hex(`03 00 00 00 09 00 00 00 06 00 00 00 0b 00 00 00 00 80 00 00 00 00 00 00 01 00 00 00 00 00 00 00
         07 00 00 00 00 00 00 00 "default"`),
  );
});

test("the host-local RPC session mask is stripped from device types before sending", () => {
  const w = new ByteWriter();
  writePackedSeq(w, [Arg.device({ deviceType: 1 + 128, deviceId: 0 })]);
  assert.deepEqual(w.finish(), hex("01 00 00 00 06 00 00 00 01 00 00 00 00 00 00 00"));
});

test("encoders refuse what the wire cannot carry", () => {
  assert.throws(
    () => encodeCopyToRemote({ ...uint8x2At0x1000, strides: [2, 1] }, Uint8Array.of(1, 2)),
    (e: unknown) => e instanceof RpcUsageError && /strides/.test(e.message),
  );
  assert.throws(() => encodeSyscall(3, []), RpcUsageError);
  assert.throws(() => Arg.int(2 ** 60), /bigint/);
  assert.throws(() => Arg.int(1n << 63n), /int64/);
  assert.throws(() => encodeCallFunc(-1n, []), /uint64/);
});

test("malformed replies are RpcProtocolErrors that say what is wrong", () => {
  const good = encodeReturn([Arg.int(5)]);
  const cases: [Uint8Array, RegExp][] = [
    [good.subarray(0, good.length - 1), /declares 20 bytes .* carries 19/],
    [hex("08 00 00 00 00 00 00 00 04 00 00 00 01 00 00 00"), /num_args 1 does not fit/],
    [
      hex("0e 00 00 00 00 00 00 00 04 00 00 00 01 00 00 00 00 00 00 00 01 02"),
      /truncated while reading value 0 \(type code 0\)/,
    ],
    [hex("0c 00 00 00 00 00 00 00 04 00 00 00 01 00 00 00 0d 00 00 00"), /type code 13.*cannot travel/],
    [hex("04 00 00 00 00 00 00 00 03 00 00 00"), /unexpected RPC code 3/],
    [
      hex("0c 00 00 00 00 00 00 00 05 00 00 00 01 00 00 00 04 00 00 00"),
      /kException must carry exactly one Str/,
    ],
    [hex("10 00 00 00 00 00 00 00 04 00 00 00 01 00 00 00 04 00 00 00 ff ff ff ff"), /4 unexpected bytes/],
    [
      hex("14 00 00 00 00 00 00 00 04 00 00 00 01 00 00 00 0c 00 00 00 10 00 00 00 00 00 00 00"),
      /declares 16 bytes but only 0 remain/,
    ],
    [hex("04 00 00"), /truncated while reading packet length/],
  ];
  for (const [bytes, pattern] of cases) {
    assert.throws(
      () => decodeReply(bytes),
      (e: unknown) => e instanceof RpcProtocolError && pattern.test(e.message),
      pattern.source,
    );
  }
});

test("CallFunc return decoding covers every return kind (docs/rpc.md)", () => {
  const tensor: DLTensor = {
    data: 0x3000n,
    device: CPU_DEVICE,
    dtype: parseDType("int8"),
    shape: [1, 4],
    byteOffset: 0,
  };
  assert.deepEqual(decodeCallReturn([Arg.int(4), Arg.null()], "t"), Arg.null());
  assert.deepEqual(decodeCallReturn([Arg.int(0), Arg.int(7)], "t"), Arg.int(7));
  assert.deepEqual(decodeCallReturn([Arg.int(11), Arg.str("x")], "t"), Arg.str("x"));
  assert.deepEqual(decodeCallReturn([Arg.int(10), Arg.handle(0xffff8001n)], "t"), Arg.function(0xffff8001n));
  assert.deepEqual(
    decodeCallReturn([Arg.int(12), Arg.bytes(Uint8Array.of(1))], "t"),
    Arg.bytes(Uint8Array.of(1)),
  );
  assert.deepEqual(decodeCallReturn([Arg.int(13), Arg.tensor(tensor), Arg.handle(0x77n)], "t"), {
    type: "ndarray",
    value: tensor,
    handle: 0x77n,
  });
  assert.throws(() => decodeCallReturn([Arg.handle(1n)], "t"), /starts with an Int/);
  assert.throws(() => decodeCallReturn([Arg.int(13), Arg.handle(1n)], "t"), /DLTensor and an OpaqueHandle/);
  assert.throws(() => decodeCallReturn([Arg.int(0), Arg.str("7")], "t"), /type code 0/);
  assert.throws(() => decodeCallReturn([Arg.int(42), Arg.null()], "t"), /unknown return type code 42/);
});

test("property: any packed sequence decodes to what was encoded, and any truncation is a protocol error", () => {
  const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
  const plain = { noNullPrototype: true } as const;
  const device = fc.record({ deviceType: fc.constant(1), deviceId: fc.integer({ min: 0, max: 3 }) }, plain);
  const dtype = fc.record(
    {
      code: fc.integer({ min: 0, max: 6 }),
      bits: fc.integer({ min: 1, max: 255 }),
      lanes: fc.integer({ min: 1, max: 65535 }),
    },
    plain,
  );
  const value: fc.Arbitrary<RpcValue> = fc.oneof(
    fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map((v) => Arg.int(v)),
    u64.map((v) => Arg.uint(v)),
    fc.double({ noNaN: true }).map((v) => Arg.float(v)),
    u64.map((v) => Arg.handle(v)),
    fc.constant(Arg.null()),
    dtype.map((v) => Arg.dtype(v)),
    device.map((v) => Arg.device(v)),
    fc
      .record(
        {
          data: u64,
          device,
          dtype,
          shape: fc.array(fc.integer({ min: 0, max: 1 << 20 }), { maxLength: 5 }),
          byteOffset: fc.integer({ min: 0, max: 1 << 30 }),
        },
        plain,
      )
      .map((v) => Arg.tensor(v)),
    u64.map((v) => Arg.object(v)),
    u64.map((v) => Arg.module(v)),
    u64.map((v) => Arg.function(v)),
    fc.string({ unit: "grapheme", maxLength: 40 }).map((v) => Arg.str(v)),
    fc.uint8Array({ maxLength: 40 }).map((v) => Arg.bytes(v)),
    fc.boolean().map((v) => Arg.bool(v)),
  );
  fc.assert(
    fc.property(fc.array(value, { maxLength: 8 }), (values) => {
      const packet = encodeReturn(values);
      const decoded = decodeReply(packet);
      assert.deepEqual(decoded, { kind: "return", values });
      const cut = packet.subarray(0, packet.length - 1);
      assert.throws(() => decodeReply(cut), RpcProtocolError);
    }),
    { numRuns: 300 },
  );
});
