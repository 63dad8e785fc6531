// The request line codec: universal newlines over strict UTF-8, any chunking.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { InvalidUtf8Error, LineDecoder, LineTooLongError } from "../../src/protocol/index.js";

const enc = (s: string) => new TextEncoder().encode(s);

function decodeAll(chunks: Uint8Array[], opts?: { maxLineBytes?: number }): string[] {
  const d = new LineDecoder(opts);
  const lines: string[] = [];
  for (const c of chunks) lines.push(...d.push(c));
  lines.push(...d.end());
  return lines;
}

test("\\n, \\r\\n and a lone \\r each end a line; several lines per chunk", () => {
  assert.deepEqual(decodeAll([enc("a\rb\r\nc\nd")]), ["a", "b", "c", "d"]);
  assert.deepEqual(decodeAll([enc("\n\n")]), ["", ""]);
  assert.deepEqual(decodeAll([enc("\r\r\n\r")]), ["", "", ""]);
});

test("a \\r at the end of a chunk waits for the next byte", () => {
  const d = new LineDecoder();
  assert.deepEqual(d.push(enc("a\r")), ["a"]);
  assert.deepEqual(d.push(enc("\nb\n")), ["b"], "the \\n after a held \\r does not make an empty line");
  assert.deepEqual(d.push(enc("c\r")), ["c"]);
  assert.deepEqual(d.push(enc("d\n")), ["d"], "a \\r followed by another byte was a lone \\r");
  assert.deepEqual(d.end(), []);
});

test("a line split across chunks and a character split mid-UTF-8 are reassembled", () => {
  const bytes = enc('{"k": "café ☃ 😀"}\n');
  const chunks = [...bytes].map((b) => Uint8Array.of(b));
  assert.deepEqual(decodeAll(chunks), ['{"k": "café ☃ 😀"}']);
});

test("end() returns the final unterminated line", () => {
  const d = new LineDecoder();
  assert.deepEqual(d.push(enc("x\ny")), ["x"]);
  assert.deepEqual(d.end(), ["y"]);
});

test("invalid UTF-8 throws InvalidUtf8Error, and the decoder stays failed", () => {
  const d = new LineDecoder();
  assert.throws(() => d.push(Uint8Array.of(0x7b, 0xff, 0x7d, 0x0a)), InvalidUtf8Error);
  assert.throws(() => d.push(enc("ok\n")), InvalidUtf8Error);
  assert.throws(() => decodeAll([Uint8Array.of(0xe2, 0x98)]), InvalidUtf8Error, "truncated character at EOF");
  assert.throws(
    () => decodeAll([Uint8Array.of(0xed, 0xa0, 0x80, 0x0a)]),
    InvalidUtf8Error,
    "encoded surrogate",
  );
  assert.deepEqual(
    decodeAll([Uint8Array.of(0xef, 0xbb, 0xbf, 0x31, 0x0a)]),
    ["\ufeff1"],
    "a BOM is kept, as Python does",
  );
});

test("an over-long line throws LineTooLongError naming the limit", () => {
  const d = new LineDecoder({ maxLineBytes: 8 });
  assert.deepEqual(d.push(enc("12345678\n")), ["12345678"]);
  d.push(enc("12345"));
  assert.throws(
    () => d.push(enc("6789")),
    (e: unknown) => e instanceof LineTooLongError && /8 bytes/.test(e.message),
  );
});

test("any split of the byte stream into chunks yields the same lines", () => {
  const line = fc.string({ unit: "grapheme", maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, ""));
  const term = fc.constantFrom("\n", "\r\n", "\r");
  fc.assert(
    fc.property(
      fc.array(fc.tuple(line, term), { maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      (items, cuts) => {
        const text = items.map(([l, t]) => l + t).join("");
        const bytes = enc(text);
        const points = [...new Set(cuts.map((c) => (bytes.length ? c % (bytes.length + 1) : 0)))].sort(
          (a, b) => a - b,
        );
        const chunks: Uint8Array[] = [];
        let prev = 0;
        for (const p of [...points, bytes.length]) {
          chunks.push(bytes.subarray(prev, p));
          prev = p;
        }
        // Reference split: at each position \r\n is one terminator, else \r or \n alone.
        const expected = text.split(/\r\n|\r|\n/);
        if (expected.at(-1) === "") expected.pop();
        assert.deepEqual(decodeAll(chunks), expected);
      },
    ),
    { numRuns: 300 },
  );
});

test("good lines before a bad one in the same chunk are returned; the error follows", () => {
  const d = new LineDecoder();
  assert.deepEqual(d.push(Uint8Array.of(0x61, 0x0a, 0xff, 0x0a)), ["a"]);
  assert.ok(d.error instanceof InvalidUtf8Error);
  assert.throws(() => d.end(), InvalidUtf8Error);
});
