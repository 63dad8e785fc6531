// The fast paths for large transport payloads must produce exactly what the general paths and
// Python produce: base85 on typed arrays, the JSON string scanners, the line decoder's reused
// buffer, replies built as bytes, and pipe channels reading into one fixed buffer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fc from "fast-check";
import { createMemoryChannelPair, createStreamChannel } from "../../src/channel/index.js";
import {
  LineDecoder,
  LineTooLongError,
  bindParams,
  isNullReply,
  matchReadTransportReply,
  matchTransportRequest,
  readTransportRequestLine,
  validateRequest,
  writeTransportRequestLine,
  b85EncodedLength,
  b85decode,
  b85encode,
  b85encodeInto,
  parseJsonExact,
  pyJsonDumps,
  pyJsonString,
} from "../../src/protocol/index.js";
import type { ProjectApiHandler } from "../../src/server/index.js";
import { serveChannel, serveOneRequest } from "../../src/server/index.js";
import { repoRoot } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";

const PY_TIMEOUT_MS = 60_000;

/** Runs a Python snippet that reads JSON on stdin and prints JSON. */
function python(source: string, input: unknown): unknown {
  const r = spawnSync("python3", ["-c", source], {
    input: JSON.stringify(input),
    encoding: "utf8",
    timeout: PY_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(r.status, 0, `python3 failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const pattern = (n: number, seed: number) =>
  Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + (i >> 5)) & 0xff);

test("base85 agrees with Python's base64 module on large and edge-case inputs", (t) => {
  if (!requireCommand(t, "python3", "Python 3")) return;
  const inputs = [0, 1, 2, 3, 4, 5, 4095, 65536, 1048576 + 3].map((n, k) => pattern(n, k));
  inputs.push(new Uint8Array(9).fill(0xff), new Uint8Array(7));
  const hex = inputs.map((b) => Buffer.from(b).toString("hex"));
  const want = python(
    "import base64, json, sys\nprint(json.dumps([base64.b85encode(bytes.fromhex(h)).decode() for h in json.load(sys.stdin)]))",
    hex,
  ) as string[];
  inputs.forEach((bytes, i) => {
    assert.equal(b85encode(bytes), want[i], `encode of ${bytes.length} bytes`);
    assert.deepEqual(b85decode(want[i]!), bytes, `decode of ${bytes.length} bytes`);
  });
});

test("b85decode raises Python's error for the same texts Python rejects", (t) => {
  if (!requireCommand(t, "python3", "Python 3")) return;
  const texts = fc
    .sample(
      fc.array(fc.constantFrom(..."09AZaz!#{|}~\"' ,é\u0000".split(""), "|NsC0", "~~~~~"), { maxLength: 14 }),
      { numRuns: 600, seed: 85 },
    )
    .map((parts) => parts.join(""));
  const want = python(
    [
      "import base64, json, sys",
      "out = []",
      "for s in json.load(sys.stdin):",
      "    try: out.append(base64.b85decode(s).hex())",
      "    except ValueError as e: out.append('error: ' + str(e))",
      "print(json.dumps(out))",
    ].join("\n"),
    texts,
  ) as string[];
  texts.forEach((text, i) => {
    let got: string;
    try {
      got = Buffer.from(b85decode(text)).toString("hex");
    } catch (e) {
      got = `error: ${(e as Error).message}`;
    }
    assert.equal(got, want[i], `b85decode(${JSON.stringify(text)})`);
  });
});

test("b85encodeInto writes at an offset, returns the end, and refuses a short buffer", () => {
  const bytes = pattern(10, 1);
  assert.equal(b85EncodedLength(10), 13);
  const out = new Uint8Array(20).fill(0x2e);
  assert.equal(b85encodeInto(bytes, out, 3), 16);
  assert.equal(new TextDecoder().decode(out), `...${b85encode(bytes)}....`);
  assert.throws(() => b85encodeInto(bytes, new Uint8Array(15), 3), RangeError);
});

test("b85encode results stay intact when later calls reuse its working buffer", () => {
  const big = pattern(300_000, 2);
  const first = b85encode(big);
  const small = b85encode(pattern(5, 3));
  const again = b85encode(pattern(300_001, 4));
  assert.deepEqual(b85decode(first), big);
  assert.deepEqual(b85decode(small), pattern(5, 3));
  assert.deepEqual(b85decode(again), pattern(300_001, 4));
});

test("JSON strings: the scanners and the plain-ASCII shortcut match JSON.parse and Python", (t) => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 300 }), (s) => {
      const dumped = pyJsonString(s);
      assert.match(dumped, /^[\x20-\x7e]*$/, "ensure_ascii output");
      assert.equal(JSON.parse(dumped), s);
      assert.equal(parseJsonExact(JSON.stringify(s)), s);
      assert.equal(parseJsonExact(dumped), s);
    }),
    { numRuns: 500 },
  );
  const long = b85encode(pattern(200_000, 5));
  assert.equal(pyJsonString(long), `"${long}"`);
  assert.equal(parseJsonExact(`{"data": "${long}\\n"}`) instanceof Map, true);
  assert.equal((parseJsonExact(`{"data": "${long}\\n"}`) as Map<string, string>).get("data"), `${long}\n`);
  assert.throws(() => parseJsonExact(`"${long}`), /Unterminated string starting at \(char 0\)/);
  assert.throws(() => parseJsonExact(`"${long}\u0001"`), /Invalid control character at \(char 250001\)/);
  if (!requireCommand(t, "python3", "Python 3")) return;
  const samples = fc.sample(fc.string({ unit: "binary", maxLength: 40 }), { numRuns: 300, seed: 7 });
  const want = python(
    "import json, sys\nprint(json.dumps([json.dumps(s) for s in json.load(sys.stdin)]))",
    samples,
  );
  assert.deepEqual(
    samples.map((s) => pyJsonString(s)),
    want,
  );
});

/** What the general path makes of a transport request line: method, id and plain params. */
function generalParse(line: string): { method: string; id: unknown; params: Record<string, unknown> } {
  const request = validateRequest(parseJsonExact(line));
  const bound = bindParams(request.method, request.params as Map<string, never>);
  const params = Object.fromEntries(
    Object.entries(bound.params).map(([k, v]) => [k, v !== null && typeof v === "object" ? Number(v) : v]),
  );
  return { method: bound.method, id: request.id, params };
}

const spacing = fc.constantFrom("", " ", "  ", "\t");
const timeoutText = fc.oneof(
  fc.constant("null"),
  fc.nat({ max: 100_000 }).map(String),
  fc.double({ min: 0, max: 1e6, noNaN: true }).map(String),
  fc.constantFrom("0.5", "1e3", "2E-2", "0.0"),
);

test("transport requests: the quick match gives what the general parse gives, in any spacing", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.nat({ max: 999_999_999_999_999 }),
      fc.nat({ max: 1 << 20 }),
      timeoutText,
      fc.array(spacing, { minLength: 16, maxLength: 16 }),
      fc.boolean(),
      (bytes, id, n, timeout, ws, write) => {
        const w = (i: number) => ws[i]!.replace("\\t", "\t");
        const params = write
          ? `{${w(0)}"data"${w(1)}:${w(2)}"${b85encode(bytes)}"${w(3)},${w(4)}"timeout_sec":${w(5)}${timeout}${w(6)}}`
          : `{${w(0)}"n":${w(1)}${n},${w(4)}"timeout_sec"${w(5)}:${timeout}${w(6)}}`;
        const method = write ? "write_transport" : "read_transport";
        const line = `${w(7)}{${w(8)}"jsonrpc"${w(9)}:${w(10)}"2.0",${w(11)}"method":"${method}",${w(12)}"params":${w(13)}${params},"id"${w(14)}:${id}}${w(15)}`;
        const quick = matchTransportRequest(line);
        const general = generalParse(line);
        assert.ok(quick !== undefined, line.slice(0, 120));
        assert.equal(quick.method, general.method);
        assert.equal(quick.id, general.id);
        assert.equal(quick.timeoutSec, general.params.timeout_sec);
        if (quick.method === "write_transport") assert.deepEqual(quick.data, bytes);
        else assert.equal(quick.n, general.params.n);
      },
    ),
    { numRuns: 400 },
  );
});

test("transport requests: lines the quick match cannot vouch for go to the general parse", () => {
  const data = b85encode(pattern(40, 1));
  const ok = `{"jsonrpc": "2.0", "method": "write_transport", "params": {"data": "${data}", "timeout_sec": 5}, "id": 3}`;
  assert.deepEqual(matchTransportRequest(ok), {
    method: "write_transport",
    id: 3,
    data: pattern(40, 1),
    timeoutSec: 5,
  });
  const declined = [
    ok.replace('"id": 3', '"id": "3"'), // a string id
    ok.replace('"id": 3', '"id": -3'),
    ok.replace('"id": 3', '"id": 1234567890123456'), // past what a double holds exactly
    ok.replace('"id": 3', '"id": 03'),
    ok.replace('"timeout_sec": 5', '"timeout_sec": true'),
    ok.replace('"timeout_sec": 5', '"timeout_sec": 1e999'),
    ok.replace('"timeout_sec": 5', '"timeout_sec": -0'),
    ok.replace('"timeout_sec": 5', '"timeout_sec": 5, "extra": 1'),
    ok.replace('"timeout_sec": 5}', '"timeout_sec": 5, "timeout_sec": 6}'), // a duplicate key
    ok.replace(`"data": "${data}", "timeout_sec": 5`, `"timeout_sec": 5, "data": "${data}"`), // key order
    ok.replace(data, `\\u0030${data.slice(1)}`), // an escape
    ok.replace(data, "~~~~~"), // base85 overflow
    ok.replace(data, `${data}`), // a control character
    ok.replace('"2.0"', '"2.0 "'),
    `${ok} x`,
    ok.replace('"id": 3}', '"id": 3'),
    '{"jsonrpc": "2.0", "method": "read_transport", "params": {"n": 1.0, "timeout_sec": 0}, "id": 1}',
    '{"jsonrpc": "2.0", "method": "read_transport", "params": {"n": -1, "timeout_sec": 0}, "id": 1}',
    '{"jsonrpc": "2.0", "method": "build", "params": {"options": {}}, "id": 1}',
  ];
  declined.forEach((line, i) =>
    assert.equal(matchTransportRequest(line), undefined, `declined[${i}]: ${line}`),
  );
});

test("transport request lines built as bytes are JSON.stringify's, byte for byte", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 200 }),
      fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: null }),
      fc.nat(),
      (bytes, timeoutSec, id) => {
        const params = { data: b85encode(bytes), timeout_sec: timeoutSec };
        assert.equal(
          Buffer.from(writeTransportRequestLine(bytes, timeoutSec, id)).toString("latin1"),
          JSON.stringify({ jsonrpc: "2.0", method: "write_transport", params, id }),
        );
        assert.equal(
          readTransportRequestLine(bytes.length + 1, timeoutSec, id),
          JSON.stringify({
            jsonrpc: "2.0",
            method: "read_transport",
            params: { n: bytes.length + 1, timeout_sec: timeoutSec },
            id,
          }),
        );
      },
    ),
    { numRuns: 300 },
  );
});

test("transport replies: the quick match reads ours and json.dumps's, and declines errors and other ids", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 999_999_999 }), (bytes, id) => {
      const result = { data: b85encode(bytes) };
      for (const line of [
        pyJsonDumps({ jsonrpc: "2.0", id, result }),
        JSON.stringify({ jsonrpc: "2.0", id, result }),
      ]) {
        assert.deepEqual(matchReadTransportReply(line, id), bytes);
        assert.equal(matchReadTransportReply(line, id + 1), undefined);
      }
      assert.equal(isNullReply(pyJsonDumps({ jsonrpc: "2.0", id, result: null }), id), true);
      assert.equal(isNullReply(JSON.stringify({ jsonrpc: "2.0", id, result: null }), id), true);
      assert.equal(isNullReply(pyJsonDumps({ jsonrpc: "2.0", id, result: null }), id + 1), false);
    }),
    { numRuns: 300 },
  );
  const error = pyJsonDumps({ jsonrpc: "2.0", id: 4, error: { code: -32000, message: "m", data: null } });
  assert.equal(matchReadTransportReply(error, 4), undefined);
  assert.equal(isNullReply(error, 4), false);
  assert.equal(
    matchReadTransportReply('{"jsonrpc": "2.0", "id": 4, "result": {"data": "~~~~~"}}', 4),
    undefined,
  );
  assert.equal(isNullReply('{"jsonrpc": "2.0", "id": 4, "result": null, "x": 1}', 4), false);
});

test("line decoder: megabyte lines across 64 KiB chunks, mixed with short lines and \\r\\n splits", () => {
  const big = "x".repeat(1_300_000);
  const text = `a\n${big}\r\nb\r${big.slice(1)}y\nc`;
  const bytes = new TextEncoder().encode(text);
  const d = new LineDecoder();
  const lines: string[] = [];
  // One reused chunk buffer, like a pipe channel's read buffer.
  const chunk = new Uint8Array(65536);
  for (let o = 0; o < bytes.length; o += chunk.length) {
    const part = bytes.subarray(o, o + chunk.length);
    chunk.set(part);
    lines.push(...d.push(chunk.subarray(0, part.length)));
  }
  lines.push(...d.end());
  assert.deepEqual(
    lines.map((l) => (l.length > 10 ? `${l.length}:${l.slice(-2)}` : l)),
    ["a", "1300000:xx", "b", "1300000:xy", "c"],
  );
  assert.equal(lines[1], big);
});

test("line decoder: a line over the limit is refused even when it arrives in one chunk", () => {
  const d = new LineDecoder({ maxLineBytes: 4 });
  assert.throws(() => d.push(new TextEncoder().encode("12345\n")), LineTooLongError);
});

test("a read_transport reply built as bytes equals json.dumps of the result, for any id", async () => {
  const data = pattern(70_000, 6);
  const handler = { readTransport: () => data } as unknown as ProjectApiHandler;
  const want = (id: unknown) => pyJsonDumps({ jsonrpc: "2.0", id, result: { data: b85encode(data) } });
  const params = '"params": {"n": 70000, "timeout_sec": 0}';
  const cases: [string, unknown][] = [
    ["1", 1],
    ['"\u00e9-id"', "é-id"],
    ["null", null],
    ["-3", -3],
    ["1152921504606846976", 1152921504606846976n],
  ];
  for (const [idText, id] of cases) {
    const line = `{"jsonrpc": "2.0", "method": "read_transport", ${params}, "id": ${idText}}`;
    const { reply, stop } = await serveOneRequest(handler, line);
    assert.equal(stop, false);
    // Compared as a boolean: a failing diff of two 90 kB lines says nothing useful.
    assert.ok(reply === want(id), `reply for id ${idText} starts ${reply?.slice(0, 60)}`);
  }
});

test("serveChannel writes byte replies through the channel, reusing one buffer across requests", async () => {
  const sizes = [100_000, 10, 300_000, 0, 5];
  let k = 0;
  const handler = { readTransport: () => pattern(sizes[k]!, k++) } as unknown as ProjectApiHandler;
  const [client, server] = createMemoryChannelPair();
  const served = serveChannel(handler, server);
  for (let i = 0; i < sizes.length; i++) {
    await client.writeLine(
      `{"jsonrpc": "2.0", "method": "read_transport", "params": {"n": 1, "timeout_sec": 0}, "id": ${i}}`,
    );
    const reply = JSON.parse((await client.readLine())!) as { id: number; result: { data: string } };
    assert.equal(reply.id, i);
    assert.deepEqual(b85decode(reply.result.data), pattern(sizes[i]!, i));
  }
  await client.close();
  assert.deepEqual(await served, { reason: "eof", replies: sizes.length });
});

test("stream channel: a line given as bytes is written with its terminator", async () => {
  const { PassThrough } = await import("node:stream");
  const out = new PassThrough();
  const ch = createStreamChannel(new PassThrough(), out);
  await ch.writeLine(new TextEncoder().encode('{"k": "v"}'));
  await ch.writeLine("two");
  assert.equal(out.read().toString() + (out.read()?.toString() ?? ""), '{"k": "v"}\ntwo\n');
  await ch.close();
});

// A child serving an echo over createFdChannel(3, 4): real pipes, so the fixed read buffer,
// pausing when lines pile up, and the reused write buffer are all in play.
const ECHO_CHILD = `
import { createFdChannel } from "./src/channel/index.js";
const ch = createFdChannel(3, 4);
let n = 0;
for (;;) {
  const line = await ch.readLine();
  if (line === undefined) break;
  await ch.writeLine(n++ % 2 ? line : new TextEncoder().encode(line));
}
await ch.close();
`;

test("fd channel over pipes: many lines and megabyte lines come back intact", async (t) => {
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", ECHO_CHILD], {
    cwd: repoRoot,
    stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"],
  });
  t.after(() => child.kill("SIGKILL"));
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  const ch = createStreamChannel(child.stdio[4] as never, child.stdio[3] as never);
  const encode = (text: string) => new TextEncoder().encode(text);
  const lines: (string | Uint8Array)[] = [
    ...Array.from({ length: 300 }, (_, i) => `short ${i} ☃`),
    b85encode(pattern(1 << 20, 8)),
    "after",
    `${"é".repeat(200_000)}`,
    // Lines given as bytes: one copied next to its "\n", one long enough to go out as a writev.
    encode("bytes ☃"),
    encode(b85encode(pattern(100_000, 9))),
    "last",
  ];
  // Everything is written before anything is read, so the pipes fill: the child's writes are
  // cut short and the rest waits in its socket, in order, and its reading pauses.
  await Promise.all(lines.map((l) => ch.writeLine(l)));
  for (const want of lines)
    assert.equal(await ch.readLine(), typeof want === "string" ? want : new TextDecoder().decode(want));
  await ch.close();
  const code = await new Promise((resolve) => child.on("exit", resolve));
  assert.equal(code, 0, stderr);
});
