// Line channels: in-memory pairs, Node streams and file descriptors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createFdChannel, createMemoryChannelPair, createStreamChannel } from "../../src/channel/index.js";
import { InvalidUtf8Error, LineTooLongError } from "../../src/protocol/index.js";

test("memory pair: lines cross in both directions, in order; close gives EOF to both ends", async () => {
  const [a, b] = createMemoryChannelPair();
  await a.writeLine("one");
  await a.writeLine('{"k": "café"}');
  await b.writeLine("back");
  assert.equal(await b.readLine(), "one");
  assert.equal(await b.readLine(), '{"k": "café"}');
  assert.equal(await a.readLine(), "back");
  const pending = b.readLine();
  await a.close();
  assert.equal(await pending, undefined);
  assert.equal(await a.readLine(), undefined);
  await assert.rejects(b.writeLine("late"), { code: "EPIPE" });
  await assert.rejects(a.writeLine("late"), { code: "EPIPE" });
  await a.close(); // idempotent
});

test("memory pair: a line with an embedded \\r splits as it would on a pipe", async () => {
  const [a, b] = createMemoryChannelPair();
  await a.writeLine("x\ry");
  assert.equal(await b.readLine(), "x");
  assert.equal(await b.readLine(), "y");
});

test("memory pair: the line limit applies", async () => {
  const [a, b] = createMemoryChannelPair({ maxLineBytes: 4 });
  await a.writeLine("12345");
  await assert.rejects(b.readLine(), LineTooLongError);
});

test("stream channel: chunked input, CR/CRLF, final line at EOF, one write per line", async () => {
  const input = new PassThrough();
  const output = new PassThrough();
  const writes: string[] = [];
  output.on("data", (c: Buffer) => writes.push(c.toString()));
  const ch = createStreamChannel(input, output);
  input.write("ab");
  input.write("c\r");
  input.write("\nd\re");
  input.end("f");
  assert.equal(await ch.readLine(), "abc");
  assert.equal(await ch.readLine(), "d");
  assert.equal(await ch.readLine(), "ef");
  assert.equal(await ch.readLine(), undefined);
  await ch.writeLine('{"id": 1}');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(writes, ['{"id": 1}\n']);
  await ch.close();
  assert.equal(await ch.readLine(), undefined);
});

test("stream channel: invalid UTF-8 rejects the read after the good lines", async () => {
  const input = new PassThrough();
  const ch = createStreamChannel(input, new PassThrough());
  input.write(Buffer.concat([Buffer.from("ok\n"), Buffer.from([0xc3, 0x28, 0x0a])]));
  assert.equal(await ch.readLine(), "ok");
  await assert.rejects(ch.readLine(), InvalidUtf8Error);
  await ch.close();
});

test("stream channel: a write error rejects writeLine with the error", async () => {
  const output = new PassThrough();
  const ch = createStreamChannel(new PassThrough(), output);
  output.destroy(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
  await new Promise((r) => setImmediate(r));
  await assert.rejects(ch.writeLine("x"), { code: "EPIPE" });
  await ch.close();
});

test("stream channel: many queued lines are all delivered (reading pauses and resumes)", async () => {
  const input = new PassThrough();
  const ch = createStreamChannel(input, new PassThrough());
  const n = 500;
  input.end(Array.from({ length: n }, (_, i) => `${i}\n`).join(""));
  for (let i = 0; i < n; i++) assert.equal(await ch.readLine(), String(i));
  assert.equal(await ch.readLine(), undefined);
  await ch.close();
});

test("fd channel over regular files reads lines and writes them; a bad fd throws", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "microtvm-channel-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "in"), '{"a": 1}\r\n{"b": 2}');
  const readFd = openSync(join(dir, "in"), "r");
  const writeFd = openSync(join(dir, "out"), "w");
  const ch = createFdChannel(readFd, writeFd);
  assert.equal(await ch.readLine(), '{"a": 1}');
  assert.equal(await ch.readLine(), '{"b": 2}');
  assert.equal(await ch.readLine(), undefined);
  await ch.writeLine("reply");
  await ch.close();
  assert.equal(readFileSync(join(dir, "out"), "utf8"), "reply\n");
  const fd = openSync(join(dir, "in"), "r");
  closeSync(fd);
  assert.throws(() => createFdChannel(fd, fd), { code: "EBADF" });
});
