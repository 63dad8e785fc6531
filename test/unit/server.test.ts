// The server's wire behaviour, one test per behaviour of the reference server (TVM's
// project_api/server.py), driven in-process with raw request lines. Where we deliberately
// differ, the test is named after its row in docs/wire-deviations.md ("deviation N: ...").
import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { createStreamChannel } from "../../src/channel/index.js";
import type { ProjectOption } from "../../src/protocol/index.js";
import {
  IoTimeoutError,
  ServerError,
  TransportClosedError,
  UnsupportedTVMVersionError,
  b85encode,
  defaultProjectOptions,
} from "../../src/protocol/index.js";
import type { ProjectApiHandler, ServeEnd } from "../../src/server/index.js";
import { UsageError, parseServerArgs, serveChannel, serveOneRequest } from "../../src/server/index.js";

// Parsed replies: tests walk into them field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

type Call = [string, ...unknown[]];

/** A handler that records its calls; individual methods can be replaced. */
function recorder(overrides: Partial<ProjectApiHandler> = {}): { handler: ProjectApiHandler; calls: Call[] } {
  const calls: Call[] = [];
  const base: ProjectApiHandler = {
    serverInfoQuery: (v) => {
      calls.push(["serverInfoQuery", v]);
      return {
        platformName: "platform_name",
        isTemplate: true,
        modelLibraryFormatPath: "./model-library-format-path.sh",
        projectOptions: [],
      };
    },
    generateProject: (a) => void calls.push(["generateProject", a]),
    build: (o) => void calls.push(["build", o]),
    flash: (o) => void calls.push(["flash", o]),
    openTransport: (o) => {
      calls.push(["openTransport", o]);
      return {
        sessionStartRetryTimeoutSec: 1.0,
        sessionStartTimeoutSec: 2.0,
        sessionEstablishedTimeoutSec: 3.5,
      };
    },
    closeTransport: (...args: unknown[]) => void calls.push(["closeTransport", ...args]),
    readTransport: (n, t) => {
      calls.push(["readTransport", n, t]);
      return new TextEncoder().encode("foo\x1b");
    },
    writeTransport: (d, t) => void calls.push(["writeTransport", d, t]),
  };
  const handler = { ...base, ...overrides };
  return { handler, calls };
}

const req = (method: string, params: unknown, id: unknown = 1) =>
  JSON.stringify({ jsonrpc: "2.0", method, params, id }).replace(/,"/g, ', "').replace(/":/g, '": ');

async function one(handler: ProjectApiHandler, line: string) {
  const r = await serveOneRequest(handler, line);
  return { ...r, json: r.reply === undefined ? undefined : (JSON.parse(r.reply) as Record<string, Json>) };
}

/** Feeds raw chunks through a real stream channel and serves until the server stops. */
async function serveBytes(
  handler: ProjectApiHandler,
  chunks: (string | Uint8Array)[],
): Promise<{ out: string; lines: Json[]; end: ServeEnd }> {
  const input = new PassThrough();
  const output = new PassThrough();
  let out = "";
  output.on("data", (c: Buffer) => (out += c.toString("utf8")));
  const channel = createStreamChannel(input, output);
  const serving = serveChannel(handler, channel);
  for (const c of chunks) {
    input.write(typeof c === "string" ? Buffer.from(c, "utf8") : c);
    await new Promise((r) => setImmediate(r));
  }
  input.end();
  const end = await serving;
  await channel.close();
  const lines = out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));
  return { out, lines, end };
}

const invalid = (message: string) =>
  `{"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": ${JSON.stringify(message)}, "data": null}}`;

// ---- behaviours TVM's own server tests check ----

test("server_info_query adds protocol_version 1 when the handler does not", async () => {
  const { json } = await one(recorder().handler, req("server_info_query", { tvm_version: "0.19.dev0" }));
  assert.equal(json!.result.protocol_version, 1);
});

test("platform_name, is_template and model_library_format_path are echoed exactly", async () => {
  const { handler, calls } = recorder();
  const { json } = await one(handler, req("server_info_query", { tvm_version: "0.19.dev0" }));
  assert.equal(json!.result.platform_name, "platform_name");
  assert.equal(json!.result.is_template, true);
  assert.equal(json!.result.model_library_format_path, "./model-library-format-path.sh");
  assert.deepEqual(calls, [["serverInfoQuery", "0.19.dev0"]]);
});

test("project_options keep order and exactly the 7 keys; unset fields are null", async () => {
  const options = [
    { name: "foo", choices: ["qux"], type: "str", required: ["generate_project"], help: "Option foo" },
    { name: "bar", type: "int", optional: ["build"], help: "Option bar" },
  ] as unknown as ProjectOption[];
  const { handler } = recorder({
    serverInfoQuery: () => ({
      platformName: "p",
      isTemplate: true,
      modelLibraryFormatPath: "",
      projectOptions: options,
    }),
  });
  const { reply } = await one(handler, req("server_info_query", { tvm_version: "x" }));
  assert.ok(
    reply!.includes(
      '"project_options": [{"name": "foo", "choices": ["qux"], "default": null, "type": "str", "required": ["generate_project"], "optional": null, "help": "Option foo"}, ' +
        '{"name": "bar", "choices": null, "default": null, "type": "int", "required": null, "optional": ["build"], "help": "Option bar"}]',
    ),
    reply,
  );
});

test("UnsupportedTVMVersionError crosses the wire as its class name", async () => {
  const { handler } = recorder({
    serverInfoQuery: () => {
      throw new UnsupportedTVMVersionError();
    },
  });
  const { json, stop } = await one(handler, req("server_info_query", { tvm_version: "0.1" }));
  assert.equal(stop, false);
  assert.equal(json!.error.code, -32000);
  assert.equal(json!.error.message, "UnsupportedTVMVersionError");
  assert.match(json!.error.data.traceback, /UnsupportedTVMVersionError/);
});

test("a handler's own protocolVersion is sent as is", async () => {
  const { handler } = recorder({
    serverInfoQuery: () => ({
      platformName: "p",
      isTemplate: false,
      modelLibraryFormatPath: "",
      projectOptions: [],
      protocolVersion: 0,
    }),
  });
  const { json } = await one(handler, req("server_info_query", { tvm_version: "x" }));
  assert.equal(json!.result.protocol_version, 0);
});

test("build and flash get exactly the options object and reply result null", async () => {
  for (const method of ["build", "flash"] as const) {
    const { handler, calls } = recorder();
    const { reply } = await one(handler, req(method, { options: { bar: "baz" } }));
    assert.equal(reply, '{"jsonrpc": "2.0", "id": 1, "result": null}');
    assert.deepEqual(calls, [[method, { bar: "baz" }]]);
  }
});

test("open_transport passes options and replies {timeouts: {...}} with the three keys", async () => {
  const { handler, calls } = recorder();
  const { reply } = await one(handler, req("open_transport", { options: { bar: "baz" } }));
  assert.equal(
    reply,
    '{"jsonrpc": "2.0", "id": 1, "result": {"timeouts": {"session_start_retry_timeout_sec": 1, "session_start_timeout_sec": 2, "session_established_timeout_sec": 3.5}}}',
  );
  assert.deepEqual(calls, [["openTransport", { bar: "baz" }]]);
});

test("close_transport calls the handler once with no arguments", async () => {
  const { handler, calls } = recorder();
  const { reply } = await one(handler, req("close_transport", {}));
  assert.equal(reply, '{"jsonrpc": "2.0", "id": 1, "result": null}');
  assert.deepEqual(calls, [["closeTransport"]]);
});

test("read_transport passes n and timeout_sec and base85-encodes the bytes", async () => {
  const { handler, calls } = recorder();
  const { reply } = await one(handler, req("read_transport", { n: 128, timeout_sec: 5.0 }));
  assert.equal(reply, '{"jsonrpc": "2.0", "id": 1, "result": {"data": "W^ZpB"}}');
  assert.deepEqual(calls, [["readTransport", 128, 5]]);
  const nullTimeout = await one(
    handler,
    '{"jsonrpc": "2.0", "method": "read_transport", "params": {"n": 1, "timeout_sec": null}, "id": 2}',
  );
  assert.equal(nullTimeout.json!.id, 2);
  assert.deepEqual(calls.at(-1), ["readTransport", 1, null]);
});

test("IoTimeoutError and TransportClosedError from read_transport; the server keeps serving", async () => {
  let i = 0;
  const errors = [() => new IoTimeoutError(), () => new TransportClosedError()];
  const { handler } = recorder({
    readTransport: () => {
      if (i < errors.length) throw errors[i++]!();
      return Uint8Array.of(1);
    },
  });
  const { lines, end } = await serveBytes(handler, [
    `${req("read_transport", { n: 1, timeout_sec: 0 }, 1)}\n`,
    `${req("read_transport", { n: 1, timeout_sec: 0 }, 2)}\n`,
    `${req("read_transport", { n: 1, timeout_sec: 0 }, 3)}\n`,
  ]);
  assert.deepEqual(
    lines.map((l) => l.error?.message ?? l.result),
    ["IoTimeoutError", "TransportClosedError", { data: "0R" }],
  );
  assert.equal(end.reason, "eof");
});

test("write_transport decodes base85 for the handler and always replies null", async () => {
  const { handler, calls } = recorder({
    writeTransport: (d, t) => void calls.push(["writeTransport", d, t]),
  });
  const { reply } = await one(
    handler,
    req("write_transport", { data: b85encode(new TextEncoder().encode("foo")), timeout_sec: 5.0 }),
  );
  assert.equal(reply, '{"jsonrpc": "2.0", "id": 1, "result": null}');
  assert.deepEqual(calls, [["writeTransport", new TextEncoder().encode("foo"), 5]]);
});

test("IoTimeoutError and TransportClosedError from write_transport; the server keeps serving", async () => {
  let i = 0;
  const { handler } = recorder({
    writeTransport: () => {
      if (i++ === 0) throw new IoTimeoutError();
      throw new TransportClosedError();
    },
  });
  const { lines, end } = await serveBytes(handler, [
    `${req("write_transport", { data: "W^Zo", timeout_sec: 1 }, 1)}\n${req("write_transport", { data: "W^Zo", timeout_sec: 1 }, 2)}\n`,
    `${req("close_transport", {}, 3)}\n`,
  ]);
  assert.deepEqual(
    lines.map((l) => [l.id, l.error?.message ?? l.result]),
    [
      [1, "IoTimeoutError"],
      [2, "TransportClosedError"],
      [3, null],
    ],
  );
  assert.equal(end.reason, "eof");
});

test("any other exception becomes -32000 `calling method X` with the class name in the traceback", async () => {
  class ProjectAPITestError extends Error {}
  const { handler } = recorder({
    closeTransport: () => {
      throw new ProjectAPITestError("This is a test error");
    },
  });
  const { json } = await one(handler, req("close_transport", {}, 42));
  assert.equal(json!.id, 42);
  assert.equal(json!.error.code, -32000);
  assert.equal(json!.error.message, "calling method close_transport");
  assert.match(json!.error.data.traceback, /ProjectAPITestError: This is a test error\n\s+at /);
});

test("an unknown method gets -32601", async () => {
  const { reply } = await one(recorder().handler, req("invalid_method", { bar: null }));
  assert.equal(
    reply,
    '{"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "invalid_method: no such method", "data": null}}',
  );
});

test("an extra parameter gets -32602 `X: extra parameters: name`", async () => {
  for (const method of ["build", "open_transport"]) {
    const { json, stop } = await one(
      recorder().handler,
      req(method, { invalid_param_name: null, options: {} }),
    );
    assert.equal(stop, false);
    assert.deepEqual(json!.error, {
      code: -32602,
      message: `${method}: extra parameters: invalid_param_name`,
      data: null,
    });
  }
});

test("a missing parameter gets -32602 `method X: parameter options not given`", async () => {
  for (const method of ["build", "open_transport"]) {
    const { json } = await one(recorder().handler, req(method, {}));
    assert.deepEqual(json!.error, {
      code: -32602,
      message: `method ${method}: parameter options not given`,
      data: null,
    });
  }
});

test("build with options null gets -32602 with Python type names", async () => {
  const { json } = await one(recorder().handler, req("build", { options: null }));
  assert.equal(
    json!.error.message,
    "method build: parameter options: want <class 'dict'>, got <class 'NoneType'>",
  );
  const list = await one(recorder().handler, req("flash", { options: [1] }));
  assert.equal(
    list.json!.error.message,
    "method flash: parameter options: want <class 'dict'>, got <class 'list'>",
  );
});

test("a line that is not JSON gets no reply and stops the server", async () => {
  assert.deepEqual(await serveOneRequest(recorder().handler, "foobar"), { stop: true });
});

test("EOF gets no reply and stops the server quietly", async () => {
  const { out, end } = await serveBytes(recorder().handler, []);
  assert.equal(out, "");
  assert.deepEqual(end, { reason: "eof", replies: 0 });
});

test("request `1` gets -32600 `request: want dict; got 1` with id null, then stop", async () => {
  assert.deepEqual(await serveOneRequest(recorder().handler, "1"), {
    reply: invalid("request: want dict; got 1"),
    stop: true,
  });
});

test("jsonrpc 1.0 is reported as `got 1.0` (float lexeme kept)", async () => {
  assert.deepEqual(await serveOneRequest(recorder().handler, '{"jsonrpc": 1.0}'), {
    reply: invalid('request["jsonrpc"]: want "2.0"; got 1.0'),
    stop: true,
  });
});

test("a non-string method gets `want str; got 123`", async () => {
  const r = await serveOneRequest(recorder().handler, '{"jsonrpc": "2.0", "method": 123}');
  assert.deepEqual(r, { reply: invalid('request["method"]: want str; got 123'), stop: true });
});

test("a method outside ^[a-zA-Z0-9_]+$ gets the regex message with its repr", async () => {
  const r = await serveOneRequest(recorder().handler, '{"jsonrpc": "2.0", "method": "bar!"}');
  assert.deepEqual(r, {
    reply: invalid(`request["method"]: should match regex ^[a-zA-Z0-9_]+$; got 'bar!'`),
    stop: true,
  });
});

test("params 123 gets `want dict; got <class 'int'>`", async () => {
  const r = await serveOneRequest(recorder().handler, '{"jsonrpc": "2.0", "method": "bar", "params": 123}');
  assert.deepEqual(r, { reply: invalid(`request["params"]: want dict; got <class 'int'>`), stop: true });
});

test("id {} gets `want str, number, null; got {}`", async () => {
  const r = await serveOneRequest(
    recorder().handler,
    '{"jsonrpc": "2.0", "method": "bar", "params": {}, "id": {}}',
  );
  assert.deepEqual(r, { reply: invalid('request["id"]: want str, number, null; got {}'), stop: true });
});

// Items 30 and 31 (default_project_options) are in protocol.test.ts.

// ---- further behaviours of the reference server ----

test("\\n, \\r\\n and a lone \\r end requests; replies end with \\n", async () => {
  const { handler } = recorder();
  const { out, lines } = await serveBytes(handler, [
    `${req("close_transport", {}, 1)}\r${req("close_transport", {}, 2)}\r\n${req("close_transport", {}, 3)}\n`,
  ]);
  assert.deepEqual(
    lines.map((l) => l.id),
    [1, 2, 3],
  );
  assert.ok(out.endsWith("}\n") && !out.includes("\r"));
});

test("a final request without a terminator is served at EOF", async () => {
  const { lines } = await serveBytes(recorder().handler, [req("close_transport", {}, 7)]);
  assert.deepEqual(lines, [{ jsonrpc: "2.0", id: 7, result: null }]);
});

test("a blank line or two JSON values on one line: no reply, server stops", async () => {
  for (const bad of ["\n", "{} {}\n"]) {
    const { handler, calls } = recorder();
    const { out, end } = await serveBytes(handler, [bad, `${req("close_transport", {})}\n`]);
    assert.equal(out, "");
    assert.equal(end.reason, "bad-input");
    assert.deepEqual(calls, [], "nothing after the bad line is served");
  }
});

test("invalid UTF-8 in a request: no reply, server stops", async () => {
  const { out, end } = await serveBytes(recorder().handler, [
    Uint8Array.of(0x7b, 0xff, 0x7d, 0x0a),
    `${req("close_transport", {})}\n`,
  ]);
  assert.equal(out, "");
  assert.equal(end.reason, "bad-input");
});

test("after a -32600 reply the server stops", async () => {
  const { handler, calls } = recorder();
  const { lines, end } = await serveBytes(handler, [`[]\n${req("close_transport", {})}\n`]);
  assert.deepEqual(lines, [
    { jsonrpc: "2.0", id: null, error: { code: -32600, message: "request: want dict; got []", data: null } },
  ]);
  assert.equal(end.reason, "invalid-request");
  assert.deepEqual(calls, []);
});

test("after -32601, -32602 and -32000 the server keeps serving", async () => {
  const { handler } = recorder({
    flash: () => {
      throw new Error("boom");
    },
  });
  const { lines, end } = await serveBytes(handler, [
    `${req("nope", {}, 1)}\n${req("build", {}, 2)}\n${req("flash", { options: {} }, 3)}\n${req("close_transport", {}, 4)}\n`,
  ]);
  assert.deepEqual(
    lines.map((l) => [l.id, l.error?.code ?? "ok"]),
    [
      [1, -32601],
      [2, -32602],
      [3, -32000],
      [4, "ok"],
    ],
  );
  assert.equal(end.reason, "eof");
});

test("params [] and missing params name the Python type", async () => {
  const h = recorder().handler;
  assert.equal(
    (await serveOneRequest(h, '{"jsonrpc": "2.0", "method": "build", "params": [], "id": 1}')).reply,
    invalid(`request["params"]: want dict; got <class 'list'>`),
  );
  assert.equal(
    (await serveOneRequest(h, '{"jsonrpc": "2.0", "method": "build", "id": 1}')).reply,
    invalid(`request["params"]: want dict; got <class 'NoneType'>`),
  );
});

test("missing jsonrpc gets `got None`, \"2\" gets `got '2'`", async () => {
  const h = recorder().handler;
  assert.equal(
    (await serveOneRequest(h, '{"method": "build", "params": {}, "id": 1}')).reply,
    invalid('request["jsonrpc"]: want "2.0"; got None'),
  );
  assert.equal(
    (await serveOneRequest(h, '{"jsonrpc": "2", "method": "build", "params": {}, "id": 1}')).reply,
    invalid(`request["jsonrpc"]: want "2.0"; got '2'`),
  );
});

test("missing method gets `got None`, an empty one the regex message with ''", async () => {
  const h = recorder().handler;
  assert.equal(
    (await serveOneRequest(h, '{"jsonrpc": "2.0", "params": {}, "id": 1}')).reply,
    invalid('request["method"]: want str; got None'),
  );
  assert.equal(
    (await serveOneRequest(h, '{"jsonrpc": "2.0", "method": "", "params": {}, "id": 1}')).reply,
    invalid(`request["method"]: should match regex ^[a-zA-Z0-9_]+$; got ''`),
  );
});

test("a batch (array) gets -32600 with the Python repr of the list", async () => {
  const r = await serveOneRequest(
    recorder().handler,
    `[{"jsonrpc": "2.0", "id": 1}, 2.0, "it's", null, true, {"1": 1e16}]`,
  );
  assert.equal(
    r.reply,
    invalid(`request: want dict; got [{'jsonrpc': '2.0', 'id': 1}, 2.0, "it's", None, True, {'1': 1e+16}]`),
  );
  assert.equal(r.stop, true);
});

test("string, integer (any size), null and boolean ids are echoed; float ids are refused", async () => {
  const h = recorder().handler;
  const echo = async (idText: string) =>
    (
      await serveOneRequest(
        h,
        `{"jsonrpc": "2.0", "method": "close_transport", "params": {}, "id": ${idText}}`,
      )
    ).reply;
  for (const idText of [
    '"abc\\u00e9"',
    "0",
    "-9007199254740991",
    "9007199254740991",
    "123456789012345678901234567890",
    "null",
    "true",
    "false",
  ]) {
    const expectedId = idText === '"abc\\u00e9"' ? '"abc\\u00e9"' : idText;
    assert.equal(await echo(idText), `{"jsonrpc": "2.0", "id": ${expectedId}, "result": null}`, idText);
  }
  for (const [idText, shown] of [
    ["1.5", "1.5"],
    ["1.0", "1.0"],
    ["1e2", "100.0"],
    ["NaN", "nan"],
    ["[1]", "[1]"],
  ])
    assert.equal(await echo(idText), invalid(`request["id"]: want str, number, null; got ${shown}`), idText);
});

test("unknown method: -32601 `{method}: no such method`, id echoed, data null", async () => {
  const { reply } = await one(recorder().handler, req("frobnicate", {}, "q"));
  assert.equal(
    reply,
    '{"jsonrpc": "2.0", "id": "q", "error": {"code": -32601, "message": "frobnicate: no such method", "data": null}}',
  );
});

test("missing params are reported one at a time in declaration order", async () => {
  const h = recorder().handler;
  assert.equal(
    (await one(h, req("generate_project", {}))).json!.error.message,
    "method generate_project: parameter model_library_format_path not given",
  );
  assert.equal(
    (await one(h, req("generate_project", { model_library_format_path: "a", project_dir: "p" }))).json!.error
      .message,
    "method generate_project: parameter standalone_crt_dir not given",
  );
});

test("extra params are listed in request order, only when none is missing", async () => {
  const h = recorder().handler;
  assert.equal(
    (await one(h, req("build", { options: {}, zzz: 1, aaa: 2 }))).json!.error.message,
    "build: extra parameters: zzz, aaa",
  );
  assert.equal(
    (await one(h, req("build", { zzz: 1 }))).json!.error.message,
    "method build: parameter options not given",
  );
  assert.equal(
    (
      await one(
        h,
        '{"jsonrpc": "2.0", "method": "build", "params": {"options": {}, "2": 1, "1": 2}, "id": 1}',
      )
    ).json!.error.message,
    "build: extra parameters: 2, 1",
    "integer-like keys keep their place",
  );
});

test("deviation 3: every parameter is type-checked with the reference's -32602 message shape", async () => {
  const { handler, calls } = recorder();
  const cases: [string, unknown, string][] = [
    [
      "server_info_query",
      { tvm_version: 5 },
      "method server_info_query: parameter tvm_version: want <class 'str'>, got <class 'int'>",
    ],
    [
      "open_transport",
      { options: null },
      "method open_transport: parameter options: want <class 'dict'>, got <class 'NoneType'>",
    ],
    [
      "generate_project",
      { model_library_format_path: 1, standalone_crt_dir: "c", project_dir: "p", options: {} },
      "method generate_project: parameter model_library_format_path: want <class 'str'>, got <class 'int'>",
    ],
    [
      "read_transport",
      { n: "5", timeout_sec: null },
      "method read_transport: parameter n: want <class 'int'>, got <class 'str'>",
    ],
    [
      "read_transport",
      { n: 5, timeout_sec: "1" },
      "method read_transport: parameter timeout_sec: want typing.Optional[float], got <class 'str'>",
    ],
    [
      "write_transport",
      { data: 5, timeout_sec: 1 },
      "method write_transport: parameter data: want <class 'str'>, got <class 'int'>",
    ],
  ];
  for (const [method, params, message] of cases) {
    const { json, stop } = await one(handler, req(method, params));
    assert.deepEqual(json!.error, { code: -32602, message, data: null }, method);
    assert.equal(stop, false);
  }
  assert.deepEqual(calls, [], "no handler ran");
  const floatTimeout = await one(
    handler,
    '{"jsonrpc": "2.0", "method": "read_transport", "params": {"n": 3, "timeout_sec": 1e-3}, "id": 1}',
  );
  assert.ok(floatTimeout.json!.result);
  assert.deepEqual(calls, [["readTransport", 3, 0.001]]);
});

test("close_transport with any param gets `close_transport: extra parameters: …`", async () => {
  const { json } = await one(recorder().handler, req("close_transport", { options: {} }));
  assert.deepEqual(json!.error, {
    code: -32602,
    message: "close_transport: extra parameters: options",
    data: null,
  });
});

test("a handler exception gives -32000 `calling method X`, a traceback and the request id", async () => {
  const { handler } = recorder({
    build: () => {
      throw new RangeError("boom", { cause: new Error("root cause") });
    },
  });
  const { json } = await one(handler, req("build", { options: {} }, "b-1"));
  assert.equal(json!.id, "b-1");
  assert.equal(json!.error.message, "calling method build");
  assert.match(json!.error.data.traceback, /^RangeError: boom\n/);
  assert.match(json!.error.data.traceback, /Caused by: Error: root cause/);
});

test("a ServerError subclass gives message = class name and a traceback; handler data is kept", async () => {
  class BoardNotFoundError extends ServerError {}
  const thrown: unknown[] = [
    new BoardNotFoundError(),
    new ServerError("custom text", { hint: "plug it in" }),
  ];
  const { handler } = recorder({
    flash: () => {
      throw thrown.shift();
    },
  });
  const first = await one(handler, req("flash", { options: {} }));
  assert.equal(first.json!.error.message, "BoardNotFoundError");
  assert.match(first.json!.error.data.traceback, /BoardNotFoundError/);
  const second = await one(handler, req("flash", { options: {} }));
  assert.equal(second.json!.error.message, "custom text");
  assert.deepEqual(Object.keys(second.json!.error.data), ["hint", "traceback"]);
});

test("deviation 4: ServerError data that is not an object does not crash the server", async () => {
  const { handler } = recorder({
    flash: () => {
      throw new ServerError("odd data", [1, 2]);
    },
    build: () => {
      throw new ServerError("unserializable", { f: () => 1 });
    },
  });
  const list = await one(handler, req("flash", { options: {} }));
  assert.deepEqual(list.json!.error.data.data, [1, 2]);
  assert.equal(typeof list.json!.error.data.traceback, "string");
  const bad = await one(handler, req("build", { options: {} }));
  assert.match(bad.json!.error.data.traceback, /error data dropped/);
  const keeps = await one(
    recorder({
      build: () => {
        throw new ServerError("own traceback", { traceback: "mine" });
      },
    }).handler,
    req("build", { options: {} }),
  );
  assert.deepEqual(keeps.json!.error.data, { traceback: "mine" });
});

test("write_transport replies null whatever the handler returns; invalid base85 gives -32000", async () => {
  const { handler } = recorder({ writeTransport: () => 42 as unknown as void });
  assert.equal(
    (await one(handler, req("write_transport", { data: "", timeout_sec: null }))).reply,
    '{"jsonrpc": "2.0", "id": 1, "result": null}',
  );
  for (const data of ["ab cd", "café", "~~~~~"]) {
    const { json } = await one(handler, req("write_transport", { data, timeout_sec: 1 }));
    assert.equal(json!.error.message, "calling method write_transport", data);
    assert.match(
      json!.error.data.traceback,
      /Base85Error: (bad base85 character|string argument|base85 overflow)/,
    );
  }
});

test("read_transport five x bytes → czAetcm; a non-byte result is a -32000", async () => {
  const { handler } = recorder({ readTransport: () => new TextEncoder().encode("xxxxx") });
  assert.equal(
    (await one(handler, req("read_transport", { n: 5, timeout_sec: null }))).reply,
    '{"jsonrpc": "2.0", "id": 1, "result": {"data": "czAetcm"}}',
  );
  const bad = recorder({ readTransport: () => "xxxxx" as unknown as Uint8Array }).handler;
  const { json } = await one(bad, req("read_transport", { n: 5, timeout_sec: null }));
  assert.equal(json!.error.message, "calling method read_transport");
  assert.match(json!.error.data.traceback, /must return a Uint8Array/);
});

test("server_info_query result key order", async () => {
  const { reply } = await one(
    recorder({
      serverInfoQuery: () => ({
        platformName: "echo",
        isTemplate: false,
        modelLibraryFormatPath: "/p/model.tar",
        projectOptions: defaultProjectOptions().slice(0, 1),
      }),
    }).handler,
    req("server_info_query", { tvm_version: "0.19.dev0" }),
  );
  assert.equal(
    reply,
    '{"jsonrpc": "2.0", "id": 1, "result": {"platform_name": "echo", "is_template": false, "model_library_format_path": "/p/model.tar", "project_options": ' +
      '[{"name": "verbose", "choices": null, "default": false, "type": "bool", "required": null, "optional": ["generate_project"], "help": "Run build with verbose output."}], "protocol_version": 1}}',
  );
});

test("deviation 2: a request without id is not run; -32000 `calling method X` with id null, and serving goes on", async () => {
  const { handler, calls } = recorder();
  const { lines, end } = await serveBytes(handler, [
    '{"jsonrpc": "2.0", "method": "build", "params": {"options": {}}}\n',
    '{"jsonrpc": "2.0", "method": "build", "params": {}}\n',
    `${req("close_transport", {}, 2)}\n`,
  ]);
  assert.equal(lines[0].id, null);
  assert.equal(lines[0].error.code, -32000);
  assert.equal(lines[0].error.message, "calling method build");
  assert.match(lines[0].error.data.traceback, /no "id".*build was not called/);
  assert.deepEqual(
    lines[1].error,
    { code: -32602, message: "method build: parameter options not given", data: null },
    "params are checked first, as the reference does",
  );
  assert.deepEqual(lines[2], { jsonrpc: "2.0", id: 2, result: null });
  assert.deepEqual(calls, [["closeTransport"]]);
  assert.equal(end.reason, "eof");
});

// ---- deviations (docs/wire-deviations.md) and robustness ----

test("deviation 1: only the eight methods exist — no attribute names like __init__ or toString", async () => {
  for (const name of [
    "__init__",
    "__class__",
    "mro",
    "register",
    "toString",
    "constructor",
    "__proto__",
    "hasOwnProperty",
    "_dispatch_build",
  ]) {
    const { json } = await one(recorder().handler, req(name, {}));
    assert.deepEqual(json!.error, { code: -32601, message: `${name}: no such method`, data: null }, name);
  }
  const { json } = await one(
    recorder().handler,
    '{"jsonrpc": "2.0", "method": "build\\n", "params": {"options": {}}, "id": 1}',
  );
  assert.equal(
    json!.error.message,
    "build\n: no such method",
    "Python's $ lets one trailing newline through to lookup",
  );
});

test("a result that is not JSON data becomes -32000 `calling method X`", async () => {
  const { json } = await one(
    recorder({ build: () => ({ bytes: new Uint8Array(2) }) as unknown as void }).handler,
    req("build", { options: {} }),
  );
  assert.equal(json!.error.message, "calling method build");
  assert.match(json!.error.data.traceback, /Object of type Uint8Array is not JSON serializable/);
});

test("handler methods may be async; option values reach them as plain JSON", async () => {
  const { handler, calls } = recorder({
    build: async (o) => {
      await new Promise((r) => setTimeout(r, 5));
      calls.push(["build", o]);
    },
  });
  const { reply } = await one(
    handler,
    '{"jsonrpc": "2.0", "method": "build", "params": {"options": {"a": 1.0, "b": [1e2], "__proto__": {"x": 1}}}, "id": 1}',
  );
  assert.equal(reply, '{"jsonrpc": "2.0", "id": 1, "result": null}');
  const options = calls[0]![1] as Record<string, unknown>;
  assert.equal(options.a, 1);
  assert.deepEqual(options.b, [100]);
  assert.ok(Object.prototype.hasOwnProperty.call(options, "__proto__"));
});

test("a request split across writes and several requests in one write are both served", async () => {
  const line = req("server_info_query", { tvm_version: "0.19.dev0" });
  const split = await serveBytes(recorder().handler, [
    line.slice(0, 7),
    line.slice(7, 30),
    `${line.slice(30)}\r`,
    `\n${req("close_transport", {}, 2)}\n`,
  ]);
  assert.deepEqual(
    split.lines.map((l) => l.id),
    [1, 2],
  );
  const many = await serveBytes(recorder().handler, [
    `${req("close_transport", {}, 1)}\n${req("close_transport", {}, 2)}\n${req("close_transport", {}, 3)}\n`,
  ]);
  assert.deepEqual(
    many.lines.map((l) => l.id),
    [1, 2, 3],
  );
});

test("deviation 5: a client that goes away mid-reply ends serving quietly (client-gone)", async () => {
  const input = new PassThrough();
  const output = new PassThrough();
  const channel = createStreamChannel(input, output);
  output.destroy(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
  const serving = serveChannel(recorder().handler, channel);
  input.write(`${req("close_transport", {})}\n`);
  assert.deepEqual(await serving, { reason: "client-gone", replies: 0 });
  await channel.close();
});

test("parseServerArgs accepts the reference's command line and rejects others as argparse does", () => {
  assert.deepEqual(parseServerArgs(["--read-fd", "3", "--write-fd", "6"]), {
    readFd: 3,
    writeFd: 6,
    debug: false,
  });
  assert.deepEqual(parseServerArgs(["--debug", "--read-fd=3", "--write-fd=4"]), {
    readFd: 3,
    writeFd: 4,
    debug: true,
  });
  assert.equal(parseServerArgs(["-h"]), "help");
  const usage = (argv: string[], message: string) =>
    assert.throws(
      () => parseServerArgs(argv),
      (e: unknown) => e instanceof UsageError && e.message === message,
      argv.join(" "),
    );
  usage([], "the following arguments are required: --read-fd, --write-fd");
  usage(["--read-fd", "3"], "the following arguments are required: --write-fd");
  usage(["--read-fd", "x", "--write-fd", "4"], "argument --read-fd: invalid int value: 'x'");
  usage(["--read-fd"], "argument --read-fd: expected one argument");
  usage(["--read-fd", "3", "--write-fd", "4", "extra.py"], "unrecognized arguments: extra.py");
});

test("deviation 6: a good line before an invalid-UTF-8 line in the same chunk is still served", async () => {
  const good = Buffer.from(`${req("close_transport", {}, 1)}\n`);
  const { lines, end } = await serveBytes(recorder().handler, [
    Buffer.concat([good, Buffer.from([0x7b, 0xff, 0x7d, 0x0a])]),
  ]);
  assert.deepEqual(lines, [{ jsonrpc: "2.0", id: 1, result: null }]);
  assert.equal(end.reason, "bad-input");
});

test("deviation 7: a line over the channel's limit is treated as unusable input (no reply, stop)", async () => {
  const input = new PassThrough();
  const output = new PassThrough();
  let out = "";
  output.on("data", (c: Buffer) => (out += c));
  const channel = createStreamChannel(input, output, { maxLineBytes: 100 });
  const serving = serveChannel(recorder().handler, channel);
  input.write(`${req("close_transport", {}, 1)}\n`);
  input.write(
    `{"jsonrpc": "2.0", "method": "close_transport", "params": {"pad": "${"x".repeat(200)}"}, "id": 2}\n`,
  );
  assert.deepEqual(await serving, { reason: "bad-input", replies: 1 });
  assert.equal(out, '{"jsonrpc": "2.0", "id": 1, "result": null}\n');
  await channel.close();
});

test("deviation 9: JSON nested deeper than 1,000 levels is unusable input (no reply, stop); 999 levels are parsed", async () => {
  const nested = (depth: number) =>
    `{"jsonrpc": "2.0", "method": "close_transport", "params": {"x": ${"[".repeat(depth)}${"]".repeat(depth)}}, "id": 1}`;
  assert.deepEqual(await serveOneRequest(recorder().handler, nested(1001)), { stop: true });
  const ok = await serveOneRequest(recorder().handler, nested(990));
  assert.ok("reply" in ok, "a deep but allowed request gets a reply");
});
