// Framing layer: CRC, framer and unframer against the golden vectors, TVM's framing test cases,
// and properties (round trips under any chunking; recovery after corruption).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Framer, Unframer, crc16, crc16Update, encodeFrame } from "../../src/session/index.js";
import type { FrameDrop } from "../../src/session/index.js";
import { hex, loadSessionVectors } from "../vectors/session-framing.js";

const vectors = loadSessionVectors();

function collector(maxPayloadBytes?: number) {
  const packets: Uint8Array[] = [];
  const drops: FrameDrop[] = [];
  const unframer = new Unframer({
    onPacket: (p) => packets.push(p),
    onDrop: (d) => drops.push(d),
    ...(maxPayloadBytes === undefined ? {} : { maxPayloadBytes }),
  });
  return { unframer, packets, drops };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

describe("crc16", () => {
  for (const v of vectors.crc16) {
    test(`${v.name} -> 0x${v.crc.toString(16)}`, () => {
      const data = hex(v.data);
      assert.equal(crc16(data), v.crc);
      if (data.length > 1) assert.equal(crc16Update(crc16Update(0xffff, data, 0, 1), data, 1), v.crc);
    });
  }
});

describe("framer", () => {
  for (const v of vectors.frames) {
    test(`encodes ${v.name}`, () => {
      assert.equal(Buffer.from(encodeFrame(hex(v.payload), v.prefix)).toString("hex"), v.wire);
    });
  }

  test("puts fe before the first packet only, and again after reset", () => {
    const framer = new Framer();
    const one = new TextEncoder().encode("one");
    const golden = "fffd030000006f6e6558f4";
    assert.equal(Buffer.from(framer.frame(one)).toString("hex"), `fe${golden}`);
    assert.equal(Buffer.from(framer.frame(one)).toString("hex"), golden);
    framer.reset();
    assert.equal(Buffer.from(framer.frame(one)).toString("hex"), `fe${golden}`);
  });
});

describe("unframer", () => {
  for (const v of vectors.frames) {
    test(`decodes ${v.name} in one call, byte by byte and split at every point`, () => {
      const wire = hex(v.wire);
      const payload = Buffer.from(hex(v.payload));

      const whole = collector();
      whole.unframer.write(wire);
      assert.deepEqual(
        whole.packets.map((p) => Buffer.from(p)),
        [payload],
      );

      const bytewise = collector();
      for (let i = 0; i < wire.length; i++) {
        assert.equal(bytewise.packets.length, 0, `packet before the last byte (at ${i})`);
        bytewise.unframer.write(wire.subarray(i, i + 1));
      }
      assert.deepEqual(
        bytewise.packets.map((p) => Buffer.from(p)),
        [payload],
      );

      for (let i = 0; i <= wire.length; i++) {
        const split = collector();
        split.unframer.write(wire.subarray(0, i));
        split.unframer.write(wire.subarray(i));
        assert.deepEqual(
          split.packets.map((p) => Buffer.from(p)),
          [payload],
          `split at ${i}`,
        );
        assert.deepEqual(split.drops, []);
      }

      if (!v.prefix) {
        const stray = collector();
        stray.unframer.write(wire.subarray(0, 1));
        stray.unframer.write(wire);
        assert.deepEqual(
          stray.packets.map((p) => Buffer.from(p)),
          [payload],
          "after a stray ff",
        );
      }
    });
  }

  const three = hex(vectors.frames.find((f) => f.name === "tvm golden three")!.wire);

  test("a packet cut short by the start of another is dropped, and the new one decodes", () => {
    const { unframer, packets, drops } = collector();
    unframer.write(three.subarray(0, 8));
    unframer.write(three);
    assert.deepEqual(drops, [{ reason: "short-packet", declaredLength: 5 }]);
    assert.deepEqual(
      packets.map((p) => Buffer.from(p).toString()),
      ["three"],
    );
  });

  test("an invalid escape drops the frame; the next decodes", () => {
    const { unframer, packets, drops } = collector();
    unframer.write(new Uint8Array([0xff, 0xfd, 5, 0, 0, 0, 0x74, 0xff, 0x41]));
    unframer.write(three);
    assert.deepEqual(drops, [{ reason: "invalid-escape", declaredLength: 5 }]);
    assert.equal(packets.length, 1);
  });

  test("a bad CRC drops the frame; nothing of it reaches the consumer", () => {
    const { unframer, packets, drops } = collector();
    const bad = three.slice();
    bad[bad.length - 1]! ^= 0x01;
    unframer.write(bad);
    unframer.write(three);
    assert.deepEqual(drops, [{ reason: "crc-mismatch", declaredLength: 5 }]);
    assert.deepEqual(
      packets.map((p) => Buffer.from(p).toString()),
      ["three"],
    );
  });

  test("an oversized frame is read through and dropped; the next decodes", () => {
    const { unframer, packets, drops } = collector(100);
    unframer.write(encodeFrame(new Uint8Array(300).fill(0xff)));
    unframer.write(three);
    assert.deepEqual(drops, [{ reason: "oversized", declaredLength: 300 }]);
    assert.equal(packets.length, 1);
  });

  test("noise, boot banners and lone fe between frames are ignored", () => {
    const { unframer, packets, drops } = collector();
    unframer.write(new TextEncoder().encode("*** Booting Zephyr OS ***\r\n"));
    unframer.write(new Uint8Array([0xfe, 0xfe, 0x00, 0xfd]));
    unframer.write(three);
    assert.equal(packets.length, 1);
    assert.deepEqual(drops, []);
  });

  test("bytesNeeded follows the state: 1 hunting, then length, payload and CRC counts", () => {
    const { unframer } = collector();
    assert.equal(unframer.bytesNeeded(), 1);
    unframer.write(three.subarray(0, 3)); // ff fd 05
    assert.equal(unframer.bytesNeeded(), 3);
    unframer.write(three.subarray(3, 7)); // rest of length + "t"
    assert.equal(unframer.bytesNeeded(), 4);
    unframer.write(three.subarray(7, 11)); // "hree"
    assert.equal(unframer.bytesNeeded(), 2);
    unframer.write(three.subarray(12));
    assert.equal(unframer.bytesNeeded(), 1);
  });
});

// Splits `data` at the given cut points (taken modulo its length).
function chunk(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (data.length === 0 ? 0 : c % (data.length + 1))))].sort(
    (a, b) => a - b,
  );
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const p of points) {
    chunks.push(data.subarray(at, p));
    at = p;
  }
  chunks.push(data.subarray(at));
  return chunks;
}

describe("framing properties", () => {
  const payloadArb = fc.uint8Array({ maxLength: 300 });
  // Bytes rich in the special values, where escaping bugs live.
  const specialArb = fc
    .uint8Array({ maxLength: 64 })
    .map((a) => a.map((b) => [0xff, 0xfd, 0xfe, 0x00, b][b % 5]!));

  test("any payloads, framed and unframed with random chunking, come back unchanged", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(payloadArb, specialArb), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (payloads, cuts) => {
          const framer = new Framer();
          const wire = concat(...payloads.map((p) => framer.frame(p)));
          const { unframer, packets, drops } = collector();
          for (const part of chunk(wire, cuts)) unframer.write(part);
          assert.deepEqual(drops, []);
          assert.deepEqual(
            packets.map((p) => Buffer.from(p)),
            payloads.map((p) => Buffer.from(p)),
          );
        },
      ),
      { seed: 20240601, numRuns: 400 },
    );
  });

  test("a corrupted byte drops its frame and the next fe-prefixed frame is delivered", () => {
    fc.assert(
      fc.property(
        fc.oneof(payloadArb, specialArb),
        fc.oneof(payloadArb, specialArb),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (a, b, position, flip, cuts) => {
          const bad = encodeFrame(a);
          bad[position % bad.length]! ^= flip;
          // A framer that has been reset starts with fe, which also clears a dangling ff.
          const wire = concat(bad, encodeFrame(b, true));
          const { unframer, packets } = collector();
          for (const part of chunk(wire, cuts)) unframer.write(part);
          assert.deepEqual(
            packets.map((p) => Buffer.from(p)),
            [Buffer.from(b)],
          );
        },
      ),
      { seed: 7, numRuns: 600 },
    );
  });

  test("a corruption that leaves no dangling ff drops its frame; the next plain frame is delivered", () => {
    fc.assert(
      fc.property(
        payloadArb,
        payloadArb,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (a, b, position, flip) => {
          const bad = encodeFrame(a);
          // Corrupt a non-ff byte of the length or payload into another non-ff byte.
          const at = 2 + (position % (bad.length - 4));
          fc.pre(bad[at] !== 0xff && (bad[at]! ^ flip) !== 0xff);
          bad[at]! ^= flip;
          const { unframer, packets } = collector();
          unframer.write(concat(bad, encodeFrame(b)));
          assert.deepEqual(
            packets.map((p) => Buffer.from(p)),
            [Buffer.from(b)],
          );
        },
      ),
      { seed: 11, numRuns: 600 },
    );
  });

  test("dropped bytes lose only their own frame", () => {
    fc.assert(
      fc.property(payloadArb, payloadArb, fc.nat(), fc.integer({ min: 1, max: 20 }), (a, b, start, count) => {
        const whole = encodeFrame(a);
        const from = start % whole.length;
        const cut = concat(whole.subarray(0, from), whole.subarray(Math.min(whole.length, from + count)));
        const { unframer, packets } = collector();
        unframer.write(concat(cut, encodeFrame(b, true)));
        assert.deepEqual(
          packets.map((p) => Buffer.from(p)),
          [Buffer.from(b)],
        );
      }),
      { seed: 13, numRuns: 600 },
    );
  });
});
