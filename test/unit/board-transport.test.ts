// The cortex-m template's transports without hardware: the RFC 2217 client against a server
// written here from the RFC (negotiation, baud confirmation, IAC escaping both ways), raw
// socket:// ports, skipping what a board printed before the session, the bound on bytes in
// flight, and the message when the serialport package is missing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IAC } from "../../templates/cortex-m/transport/rfc2217.js";
import { TcpLink, parseTcpAddress } from "../../templates/cortex-m/transport/tcp.js";
import { ReceiveQueue, writeInPieces } from "../../templates/cortex-m/transport/link.js";
import { loadSerialPort } from "../../templates/cortex-m/serial-package.js";
import { IoTimeoutError } from "../../src/protocol/index.js";

const WILL = 251,
  DO = 253,
  DONT = 254,
  SB = 250,
  SE = 240;

interface FakeServer {
  server: Server;
  port: number;
  /** Data bytes the server received (telnet removed). */
  received: number[];
  /** Raw bytes the server received. */
  raw: number[];
  socket?: Socket;
  /** The baud rate the client asked for. */
  baud?: number;
}

/** A minimal RFC 2217 server: agrees to every option, confirms settings (or refuses COM-PORT). */
async function fakeRfc2217(mode: "ok" | "refuse" | "silent" | "raw"): Promise<FakeServer> {
  const fake: FakeServer = { server: createServer(), port: 0, received: [], raw: [] };
  fake.server.on("connection", (socket) => {
    fake.socket = socket;
    let state = "data";
    let sb: number[] = [];
    socket.on("data", (chunk) => {
      for (const b of chunk) {
        fake.raw.push(b);
        if (mode === "raw") {
          fake.received.push(b);
          continue;
        }
        if (state === "data") {
          if (b === IAC) state = "iac";
          else fake.received.push(b);
        } else if (state === "iac") {
          if (b === IAC) {
            fake.received.push(IAC);
            state = "data";
          } else if (b === SB) {
            sb = [];
            state = "sb";
          } else state = `opt${b}`;
        } else if (state.startsWith("opt")) {
          const cmd = Number(state.slice(3));
          if (cmd === WILL && b === 44) socket.write(Buffer.from([IAC, mode === "refuse" ? DONT : DO, 44]));
          state = "data";
        } else if (state === "sb") {
          if (b === IAC) state = "sb-iac";
          else sb.push(b);
        } else if (state === "sb-iac") {
          if (b === IAC) {
            sb.push(IAC);
            state = "sb";
          } else {
            if (sb[0] === 44 && sb[1] === 1) fake.baud = Buffer.from(sb.slice(2, 6)).readUInt32BE(0);
            if (sb[0] === 44 && mode === "ok") {
              const reply = [IAC, SB, 44, sb[1]! + 100];
              for (const v of sb.slice(2)) reply.push(...(v === IAC ? [IAC, IAC] : [v]));
              socket.write(Buffer.from([...reply, IAC, SE]));
            }
            state = "data";
          }
        }
      }
    });
  });
  await new Promise<void>((resolve) => fake.server.listen(0, "127.0.0.1", resolve));
  fake.port = (fake.server.address() as { port: number }).port;
  return fake;
}

async function closeFake(fake: FakeServer): Promise<void> {
  fake.socket?.destroy();
  await new Promise<void>((resolve) => fake.server.close(() => resolve()));
}

test("port addresses: socket:// and rfc2217:// with host and port; bad ones are explained", () => {
  assert.deepEqual(parseTcpAddress("rfc2217://127.0.0.1:4000"), {
    scheme: "rfc2217",
    host: "127.0.0.1",
    port: 4000,
  });
  assert.deepEqual(parseTcpAddress("socket://[::1]:5"), { scheme: "socket", host: "::1", port: 5 });
  assert.equal(parseTcpAddress("/dev/ttyACM0"), undefined);
  assert.throws(
    () => parseTcpAddress("rfc2217://host"),
    /not rfc2217:\/\/HOST:PORT with a port from 1 to 65535/,
  );
  assert.throws(() => parseTcpAddress("socket://host:70000"), /not socket:\/\/HOST:PORT/);
});

test("RFC 2217: the client negotiates, sets 8N1 at the baud rate, and escapes 0xFF both ways", async (t) => {
  const fake = await fakeRfc2217("ok");
  t.after(() => closeFake(fake));
  const link = await TcpLink.open({ scheme: "rfc2217", host: "127.0.0.1", port: fake.port }, 0x1c2ff);
  t.after(() => link.close());
  // 0x0001c2ff has an 0xFF byte: sent escaped, confirmed, decoded.
  assert.equal(fake.baud, 0x1c2ff);
  const raw = Buffer.from(fake.raw);
  for (const option of [
    [IAC, WILL, 0],
    [IAC, DO, 0],
    [IAC, WILL, 3],
    [IAC, WILL, 44],
    [IAC, SB, 44, 2, 8, IAC, SE],
    [IAC, SB, 44, 3, 1, IAC, SE],
    [IAC, SB, 44, 4, 1, IAC, SE],
    [IAC, SB, 44, 5, 1, IAC, SE],
  ])
    assert.ok(raw.includes(Buffer.from(option)), `sent ${option.join(",")}`);
  fake.raw.length = 0;
  fake.received.length = 0;
  const payload = Uint8Array.from([1, 0xff, 2, 0xff, 0xff, 3]);
  await link.write(payload, 5);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(fake.raw, [1, 0xff, 0xff, 2, 0xff, 0xff, 0xff, 0xff, 3]);
  assert.deepEqual(fake.received, [...payload]);
  // From the server: data with escaped 0xFF and a notification in between.
  fake.socket!.write(Buffer.from([9, IAC, IAC, IAC, SB, 44, 106, 0x60, IAC, SE, 8, IAC, 241, 7]));
  const got: number[] = [];
  while (got.length < 4) got.push(...(await link.read(16, 2)));
  assert.deepEqual(got, [9, 0xff, 8, 7]);
  await assert.rejects(link.read(1, 0.05), IoTimeoutError);
});

test("RFC 2217: a server that refuses COM-PORT-OPTION or never confirms gives a clear error", async (t) => {
  for (const [mode, message] of [
    ["refuse", /refused the RFC 2217 COM-PORT-OPTION .*use socket:\/\/ for a raw TCP port/],
    ["silent", /did not confirm the baud rate within 5 s: is it an RFC 2217 server/],
  ] as const) {
    const fake = await fakeRfc2217(mode);
    t.after(() => closeFake(fake));
    await assert.rejects(
      TcpLink.open({ scheme: "rfc2217", host: "127.0.0.1", port: fake.port }, 115200),
      (e: Error) => message.test(e.message) && e.message.includes(`rfc2217://127.0.0.1:${fake.port}: `),
    );
  }
});

test("socket://: raw bytes, 0xFF untouched; what came before the first write is skipped", async (t) => {
  const fake = await fakeRfc2217("raw");
  t.after(() => closeFake(fake));
  const link = await TcpLink.open({ scheme: "socket", host: "127.0.0.1", port: fake.port }, 115200);
  t.after(() => link.close());
  await new Promise((resolve) => setTimeout(resolve, 50));
  fake.socket!.write("boot banner\r\n");
  await new Promise((resolve) => setTimeout(resolve, 100));
  await link.write(Uint8Array.from([0xff, 0xfe]), 5);
  fake.socket!.write(Buffer.from([0xff, 0x00]));
  const got: number[] = [];
  while (got.length < 2) got.push(...(await link.read(8, 2)));
  assert.deepEqual(got, [0xff, 0x00], "the banner was skipped, the reply kept");
  assert.equal(link.skippedBytes, "boot banner\r\n".length);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(fake.received, [0xff, 0xfe]);
});

test("a refused connection names the address and what to check", async () => {
  const fake = await fakeRfc2217("raw");
  const port = fake.port;
  await closeFake(fake);
  await assert.rejects(
    TcpLink.open({ scheme: "rfc2217", host: "127.0.0.1", port }, 115200),
    new RegExp(`cannot connect to rfc2217://127.0.0.1:${port}: connection refused \\(is ser2net`),
  );
});

test("writes go out in pieces of at most the in-flight bound, each waited for; a stuck one times out", async () => {
  const pieces: number[] = [];
  let inFlight = 0;
  let most = 0;
  await writeInPieces(new Uint8Array(1000), 5, 256, async (piece) => {
    inFlight += piece.length;
    most = Math.max(most, inFlight);
    pieces.push(piece.length);
    await new Promise((resolve) => setTimeout(resolve, 1));
    inFlight -= piece.length;
  });
  assert.deepEqual(pieces, [256, 256, 256, 232]);
  assert.equal(most, 256);
  await assert.rejects(
    writeInPieces(new Uint8Array(10), 0.05, 4, () => new Promise(() => {})),
    IoTimeoutError,
  );
});

test("the receive queue drops only what arrived before the first write", async () => {
  const queue = new ReceiveQueue(
    () => {},
    () => {},
  );
  queue.push(Buffer.from("noise"));
  assert.equal(queue.beforeWrite(), 5);
  queue.push(Buffer.from([1, 2, 3]));
  assert.equal(queue.beforeWrite(), 0, "later writes keep what arrived");
  assert.deepEqual([...(await queue.read(2, 1))], [1, 2]);
  assert.deepEqual([...(await queue.read(2, 1))], [3]);
  queue.end();
  await assert.rejects(queue.read(1, 1), /closed/i);
});

test("device paths without the serialport package: a clear error saying what to install", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "microtvm-no-serialport-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.throws(
    () => loadSerialPort(dir),
    /device paths need the serialport npm package \(v13\), but it is not installed: run `npm install serialport@13` in .*; socket:\/\/ and rfc2217:\/\/ ports work without it/,
  );
});
