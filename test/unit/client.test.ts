// The client against scripted servers over in-memory channels: ids, key order, reply checks,
// error mapping, queueing, time limits and shutdown, as TVM's client behaves (docs/interop.md).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createMemoryChannelPair, type Channel } from "../../src/channel/index.js";
import {
  ConnectionShutdownError,
  MalformedReplyError,
  MismatchedIdError,
  ProjectApiClient,
  RequestTimeoutError,
  UnsupportedProtocolVersionError,
  type ClientOptions,
} from "../../src/client/index.js";
import {
  b85encode,
  IoTimeoutError,
  JsonRpcError,
  ServerError,
  TransportClosedError,
} from "../../src/protocol/index.js";

type Answer = string | undefined | "CLOSE";

/** A server that answers each request line with whatever `respond` returns ("CLOSE" ends the channel). */
function scripted(
  respond: (request: Record<string, unknown>, line: string) => Answer | Promise<Answer>,
  options: ClientOptions = {},
) {
  const [clientEnd, serverEnd]: [Channel, Channel] = createMemoryChannelPair();
  const seen: string[] = [];
  void (async () => {
    for (;;) {
      const line = await serverEnd.readLine();
      if (line === undefined) return;
      seen.push(line);
      const answer = await respond(JSON.parse(line) as Record<string, unknown>, line);
      if (answer === "CLOSE") return void (await serverEnd.close());
      if (answer !== undefined) await serverEnd.writeLine(answer);
    }
  })();
  return { client: new ProjectApiClient(clientEnd, options), seen };
}

const reply = (id: unknown, result: unknown) => JSON.stringify({ jsonrpc: "2.0", id, result });
const info = (extra: Record<string, unknown> = {}) => ({
  platform_name: "p",
  is_template: true,
  model_library_format_path: "",
  project_options: [],
  protocol_version: 1,
  ...extra,
});

test("ids start at 1 and increase; keys are jsonrpc, method, params, id; options default to {}", async () => {
  const { client, seen } = scripted((r) => reply(r.id, null));
  await client.build();
  await client.flash();
  await client.openTransport().catch(() => {});
  await client.close();
  assert.deepEqual(seen.slice(0, 2), [
    '{"jsonrpc":"2.0","method":"build","params":{"options":{}},"id":1}',
    '{"jsonrpc":"2.0","method":"flash","params":{"options":{}},"id":2}',
  ]);
  assert.equal(JSON.parse(seen[2]!).id, 3);
});

test("every method sends the reference's params", async () => {
  const { client, seen } = scripted((r) => {
    if (r.method === "server_info_query") return reply(r.id, info());
    if (r.method === "open_transport")
      return reply(r.id, {
        timeouts: {
          session_start_retry_timeout_sec: 1,
          session_start_timeout_sec: 2,
          session_established_timeout_sec: 3,
        },
      });
    if (r.method === "read_transport") return reply(r.id, { data: "W^ZpB" });
    return reply(r.id, null);
  });
  await client.serverInfoQuery("1.2.3");
  await client.generateProject({
    modelLibraryFormatPath: "/m.tar",
    standaloneCrtDir: "/crt",
    projectDir: "/p",
  });
  assert.deepEqual(await client.openTransport({ a: 1 }), {
    sessionStartRetryTimeoutSec: 1,
    sessionStartTimeoutSec: 2,
    sessionEstablishedTimeoutSec: 3,
  });
  assert.deepEqual(await client.readTransport(128, 5.0), new Uint8Array([0x66, 0x6f, 0x6f, 0x1b]));
  await client.writeTransport(new TextEncoder().encode("hello"), null);
  await client.closeTransport();
  await client.close();
  assert.deepEqual(
    seen.map((l) => JSON.parse(l).params),
    [
      { tvm_version: "1.2.3" },
      { model_library_format_path: "/m.tar", standalone_crt_dir: "/crt", project_dir: "/p", options: {} },
      { options: { a: 1 } },
      { n: 128, timeout_sec: 5 },
      { data: "Xk~0{Zv", timeout_sec: null },
      {},
    ],
  );
});

test("write_transport lines, alone and sent with read_transport, are exactly JSON.stringify's", async () => {
  const { client, seen } = scripted((r) =>
    r.method === "read_transport" ? reply(r.id, { data: "W^ZpB" }) : reply(r.id, null),
  );
  // Every byte value, an ff run and a length that leaves a partial base85 group.
  const data = Uint8Array.from({ length: 263 }, (_, i) => (i < 256 ? i : 0xff));
  await client.writeTransport(data, 2.5);
  const read = await client.writeThenReadTransport(data.subarray(0, 7), null, 64, 0);
  await client.writeTransport(new Uint8Array(0), 1e308);
  await client.close();
  assert.deepEqual(read, new Uint8Array([0x66, 0x6f, 0x6f, 0x1b]));
  const envelope = (id: number, method: string, params: unknown) =>
    JSON.stringify({ jsonrpc: "2.0", method, params, id });
  assert.deepEqual(seen, [
    envelope(1, "write_transport", { data: b85encode(data), timeout_sec: 2.5 }),
    envelope(2, "write_transport", { data: b85encode(data.subarray(0, 7)), timeout_sec: null }),
    envelope(3, "read_transport", { n: 64, timeout_sec: 0 }),
    envelope(4, "write_transport", { data: "", timeout_sec: 1e308 }),
  ]);
});

test("EOF while waiting → ConnectionShutdownError, then 'connection already closed'", async () => {
  const { client } = scripted(() => "CLOSE");
  await assert.rejects(
    client.build(),
    (e: unknown) =>
      e instanceof ConnectionShutdownError && e.message === "got EOF reading reply from API server",
  );
  assert.equal(client.isShutdown, true);
  await assert.rejects(
    client.flash(),
    (e: unknown) => e instanceof ConnectionShutdownError && e.message === "connection already closed",
  );
});

test("a reply without jsonrpc 2.0 is a MalformedReplyError naming what it saw", async () => {
  for (const [jsonrpc, shown] of [
    [undefined, "None"],
    ["1.0", "'1.0'"],
    [2, "2"],
  ] as const) {
    const { client } = scripted((r) => JSON.stringify({ jsonrpc, id: r.id, result: null }));
    await assert.rejects(client.build(), (e: unknown) => {
      assert.ok(e instanceof MalformedReplyError);
      assert.equal(e.message, `Server reply should include 'jsonrpc': '2.0'; saw jsonrpc=${shown}`);
      return true;
    });
    await client.close();
  }
});

test("a reply without result or error is a MalformedReplyError", async () => {
  const { client } = scripted((r) => JSON.stringify({ jsonrpc: "2.0", id: r.id }));
  await assert.rejects(
    client.build(),
    (e: unknown) =>
      e instanceof MalformedReplyError &&
      /Expected 'result' key in server reply, got \{'jsonrpc': '2.0', 'id': 1\}/.test(e.message),
  );
  await client.close();
});

test("a reply with another id is a MismatchedIdError and the client shuts down", async () => {
  const { client } = scripted((r) => reply((r.id as number) + 1, null));
  await assert.rejects(
    client.build(),
    (e: unknown) =>
      e instanceof MismatchedIdError && e.message === "Reply id (2) does not equal request id (1)",
  );
  await assert.rejects(client.build(), ConnectionShutdownError);
});

test("error takes precedence over result", async () => {
  const { client } = scripted((r) =>
    JSON.stringify({
      jsonrpc: "2.0",
      id: r.id,
      result: 1,
      error: { code: -32000, message: "IoTimeoutError", data: null },
    }),
  );
  await assert.rejects(client.readTransport(1, 1), IoTimeoutError);
  await client.close();
});

test("non-JSON, non-object, id-less and error:null replies are MalformedReplyError", async () => {
  const cases: [string, (id: unknown) => string, RegExp][] = [
    ["not JSON", () => "this is not json", /reply to build is not JSON/],
    ["an array", () => "[1, 2]", /reply to build is not a JSON object: \[1, 2\]/],
    ["a number", () => "7", /not a JSON object/],
    ["no id", () => JSON.stringify({ jsonrpc: "2.0", result: null }), /reply to build has no "id"/],
    [
      "error: null",
      (id) => JSON.stringify({ jsonrpc: "2.0", id, error: null }),
      /has "error": None; want an object/,
    ],
    [
      "error without code",
      (id) => JSON.stringify({ jsonrpc: "2.0", id, error: { message: "x" } }),
      /malformed "error"/,
    ],
  ];
  for (const [name, make, pattern] of cases) {
    const { client } = scripted((r) => make(r.id));
    await assert.rejects(
      client.build(),
      (e: unknown) => e instanceof MalformedReplyError && pattern.test(e.message),
      name,
    );
    assert.equal(client.isShutdown, true, `${name}: the client stops trusting the stream`);
    await client.close();
  }
});

test("error replies map to the reference's classes; unknown codes do not crash", async () => {
  const errors: Record<string, unknown>[] = [
    { code: -32000, message: "something odd", data: { detail: 1 } },
    { code: -32000, message: "TransportClosedError", data: { traceback: "tb" } },
    { code: -32601, message: "nope: no such method", data: null },
    { code: -32001, message: "custom", data: null },
  ];
  let i = 0;
  const { client } = scripted((r) => JSON.stringify({ jsonrpc: "2.0", id: r.id, error: errors[i++] }));
  await assert.rejects(client.build(), (e: unknown) => {
    assert.ok(e instanceof ServerError);
    assert.equal(e.constructor, ServerError);
    assert.equal(e.wireMessage, "something odd");
    assert.deepEqual(e.data, { detail: 1 });
    assert.match(e.message, /^calling method build: JSON-RPC error # -32000: something odd/);
    return true;
  });
  await assert.rejects(client.readTransport(1, 1), TransportClosedError);
  await assert.rejects(
    client.call("nope", {}),
    (e: unknown) => e instanceof JsonRpcError && e.code === -32601,
  );
  await assert.rejects(client.build(), (e: unknown) => e instanceof JsonRpcError && e.code === -32001);
  assert.equal(client.isShutdown, false, "error replies keep the connection");
  await client.close();
});

test("protocol_version other than 1 → UnsupportedProtocolVersionError", async () => {
  const { client } = scripted((r) => reply(r.id, info({ protocol_version: 0 })));
  await assert.rejects(
    client.serverInfoQuery(),
    (e: unknown) =>
      e instanceof UnsupportedProtocolVersionError &&
      e.message.includes("microTVM API Server supports protocol version 0; want 1"),
  );
  await client.close();
});

test("invalid base85 in a read_transport reply is a MalformedReplyError", async () => {
  const { client } = scripted((r) => reply(r.id, { data: "ab cd" }));
  await assert.rejects(client.readTransport(4, 1), MalformedReplyError);
  await client.close();
});

test("concurrent calls are sent one at a time, in order", async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const { client, seen } = scripted(async (r) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((res) => setTimeout(res, 5));
    inFlight--;
    return reply(r.id, r.method);
  });
  const results = await Promise.all([
    client.call("build", {}),
    client.call("flash", {}),
    client.call("close_transport", {}),
  ]);
  assert.deepEqual(results, ["build", "flash", "close_transport"]);
  assert.equal(maxInFlight, 1);
  assert.deepEqual(
    seen.map((l) => JSON.parse(l).id),
    [1, 2, 3],
  );
  await client.close();
});

test("no reply within the method's limit → RequestTimeoutError, and the client shuts down", async () => {
  const { client } = scripted(() => undefined, { requestTimeouts: { build: 40 } });
  const started = Date.now();
  await assert.rejects(
    client.build(),
    (e: unknown) => e instanceof RequestTimeoutError && e.method === "build" && e.timeoutMs === 40,
  );
  assert.ok(Date.now() - started < 2000);
  await assert.rejects(client.build(), ConnectionShutdownError);
});

test("read_transport's limit is its own timeout_sec plus the margin", async () => {
  const { client } = scripted(() => undefined, { transportMarginMs: 30 });
  await assert.rejects(
    client.readTransport(1, 0.02),
    (e: unknown) => e instanceof RequestTimeoutError && e.timeoutMs === 50,
  );
});

test("close() fails the pending call at once and is idempotent", async () => {
  const { client } = scripted(() => undefined);
  const pending = client.build();
  const queued = client.flash();
  await new Promise((res) => setTimeout(res, 10));
  await Promise.all([client.close(), client.close()]);
  await assert.rejects(pending, ConnectionShutdownError);
  await assert.rejects(
    queued,
    (e: unknown) => e instanceof ConnectionShutdownError && e.message === "connection already closed",
  );
});

test("closing the transport does not shut the client down (unlike the reference)", async () => {
  const { client } = scripted((r) =>
    r.method === "open_transport"
      ? reply(r.id, {
          timeouts: {
            session_start_retry_timeout_sec: 0,
            session_start_timeout_sec: 0,
            session_established_timeout_sec: 0,
          },
        })
      : reply(r.id, null),
  );
  const transport = client.transport({ x: 1 });
  assert.throws(() => transport.timeouts(), /call open\(\) first/);
  await transport.open();
  assert.equal(transport.timeouts().sessionStartTimeoutSec, 0);
  await transport.close();
  assert.equal(client.isShutdown, false);
  await transport.open();
  await transport.close();
  await client.close();
});
