// Our client against our server (serveChannel) over an in-memory channel pair: the reference
// suite's client ↔ server behaviours, one test per behaviour TVM's own tests check.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createMemoryChannelPair } from "../../src/channel/index.js";
import { ProjectApiClient, UnsupportedProtocolVersionError } from "../../src/client/index.js";
import {
  IoTimeoutError,
  JsonRpcError,
  ServerError,
  TransportClosedError,
  UnsupportedTVMVersionError,
  type ServerInfo,
} from "../../src/protocol/index.js";
import { serveChannel, type ProjectApiHandler } from "../../src/server/index.js";

class ProjectAPITestError extends Error {
  override name = "ProjectAPITestError";
}

/** A handler that records every call and answers from `behaviour`. */
function recordingHandler(behaviour: Partial<ProjectApiHandler> = {}) {
  const calls: [string, unknown[]][] = [];
  const record =
    <T>(name: string, fallback: (...args: never[]) => T) =>
    (...args: unknown[]) => {
      calls.push([name, args]);
      const own = (behaviour as Record<string, ((...a: unknown[]) => unknown) | undefined>)[name];
      return own ? own(...args) : (fallback as (...a: unknown[]) => T)(...args);
    };
  const handler = {
    serverInfoQuery: record("serverInfoQuery", (): ServerInfo => serverInfo),
    generateProject: record("generateProject", () => undefined),
    build: record("build", () => undefined),
    flash: record("flash", () => undefined),
    openTransport: record("openTransport", () => ({
      sessionStartRetryTimeoutSec: 1.0,
      sessionStartTimeoutSec: 2.0,
      sessionEstablishedTimeoutSec: 3.0,
    })),
    closeTransport: record("closeTransport", () => undefined),
    readTransport: record("readTransport", () => new Uint8Array([0x66, 0x6f, 0x6f, 0x1b])),
    writeTransport: record("writeTransport", () => undefined),
  } as ProjectApiHandler;
  return { handler, calls };
}

const serverInfo: ServerInfo = {
  platformName: "platform_name",
  isTemplate: true,
  modelLibraryFormatPath: "./model-library-format-path.sh",
  projectOptions: [
    {
      name: "foo",
      choices: null,
      default: null,
      type: "str",
      required: null,
      optional: ["build"],
      help: "Option foo",
    },
    {
      name: "bar",
      choices: ["qux"],
      default: null,
      type: "str",
      required: ["generate_project"],
      optional: null,
      help: "Option bar",
    },
  ],
};

/** A client connected to `handler` through serveChannel; `done` resolves when serving ends. */
function connect(handler: ProjectApiHandler) {
  const [clientEnd, serverEnd] = createMemoryChannelPair();
  const done = serveChannel(handler, serverEnd);
  return { client: new ProjectApiClient(clientEnd), done };
}

test("server_info_query: protocol_version added, fields echoed, options with 7 keys in order", async () => {
  const { handler, calls } = recordingHandler();
  const { client, done } = connect(handler);
  const wire = await client.serverInfoQueryWire("0.19.dev0");
  assert.deepEqual(calls, [["serverInfoQuery", ["0.19.dev0"]]]);
  assert.equal(wire.protocol_version, 1);
  assert.equal(wire.platform_name, "platform_name");
  assert.equal(wire.is_template, true);
  assert.equal(wire.model_library_format_path, "./model-library-format-path.sh");
  assert.deepEqual(Object.keys(wire), [
    "platform_name",
    "is_template",
    "model_library_format_path",
    "project_options",
    "protocol_version",
  ]);
  for (const o of wire.project_options)
    assert.deepEqual(Object.keys(o), ["name", "choices", "default", "type", "required", "optional", "help"]);
  assert.deepEqual(
    wire.project_options.map((o) => o.name),
    ["foo", "bar"],
  );
  assert.deepEqual(wire.project_options[0], {
    name: "foo",
    choices: null,
    default: null,
    type: "str",
    required: null,
    optional: ["build"],
    help: "Option foo",
  });
  assert.deepEqual(wire.project_options[1]!.choices, ["qux"]);
  assert.deepEqual(wire.project_options[1]!.required, ["generate_project"]);
  const info = await client.serverInfoQuery();
  assert.equal(info.platformName, "platform_name");
  assert.equal(info.projectOptions[1]!.name, "bar");
  await client.close();
  assert.equal((await done).reason, "eof");
});

test("UnsupportedTVMVersionError from the handler reaches the client as that class", async () => {
  const { handler } = recordingHandler({
    serverInfoQuery: () => {
      throw new UnsupportedTVMVersionError();
    },
  });
  const { client } = connect(handler);
  await assert.rejects(
    client.serverInfoQuery(),
    (e: unknown) =>
      e instanceof UnsupportedTVMVersionError && String(e).includes("UnsupportedTVMVersionError"),
  );
  await client.close();
});

test("a handler's protocol_version 0 is sent and refused by the client", async () => {
  const { handler } = recordingHandler({ serverInfoQuery: () => ({ ...serverInfo, protocolVersion: 0 }) });
  const { client } = connect(handler);
  await assert.rejects(
    client.serverInfoQuery(),
    (e: unknown) =>
      e instanceof UnsupportedProtocolVersionError &&
      String(e).includes("microTVM API Server supports protocol version 0; want 1"),
  );
  await client.close();
});

test("build, flash and open_transport pass options through once; timeouts come back", async () => {
  const { handler, calls } = recordingHandler();
  const { client } = connect(handler);
  assert.equal(await client.build({ bar: "baz" }), null);
  assert.equal(await client.flash({ bar: "baz" }), null);
  assert.deepEqual(await client.call("open_transport", { options: { bar: "baz" } }), {
    timeouts: {
      session_start_retry_timeout_sec: 1.0,
      session_start_timeout_sec: 2.0,
      session_established_timeout_sec: 3.0,
    },
  });
  assert.deepEqual(await client.openTransport({ bar: "baz" }), {
    sessionStartRetryTimeoutSec: 1,
    sessionStartTimeoutSec: 2,
    sessionEstablishedTimeoutSec: 3,
  });
  assert.deepEqual(calls, [
    ["build", [{ bar: "baz" }]],
    ["flash", [{ bar: "baz" }]],
    ["openTransport", [{ bar: "baz" }]],
    ["openTransport", [{ bar: "baz" }]],
  ]);
  await client.close();
});

test("close_transport sends no params and calls the handler with no arguments", async () => {
  const { handler, calls } = recordingHandler();
  const { client } = connect(handler);
  await client.closeTransport();
  assert.deepEqual(calls, [["closeTransport", []]]);
  await client.close();
});

test("read_transport delivers the handler's bytes; the handler sees n and timeout", async () => {
  const { handler, calls } = recordingHandler();
  const { client } = connect(handler);
  assert.deepEqual(await client.readTransport(128, 5.0), new Uint8Array([0x66, 0x6f, 0x6f, 0x1b]));
  assert.deepEqual(calls, [["readTransport", [128, 5.0]]]);
  await client.close();
});

test("IoTimeoutError / TransportClosedError from read and write keep their class; serving continues", async () => {
  let n = 0;
  const kinds = [IoTimeoutError, TransportClosedError];
  const { handler, calls } = recordingHandler({
    readTransport: () => {
      throw new kinds[n++ % 2]!();
    },
    writeTransport: () => {
      throw new kinds[n++ % 2]!();
    },
  });
  const { client } = connect(handler);
  await assert.rejects(client.readTransport(128, 5.0), IoTimeoutError);
  await assert.rejects(client.readTransport(128, 5.0), TransportClosedError);
  await assert.rejects(client.writeTransport(new Uint8Array([1]), 5.0), IoTimeoutError);
  await assert.rejects(client.writeTransport(new Uint8Array([1]), 5.0), TransportClosedError);
  assert.equal(calls.length, 4);
  assert.equal(client.isShutdown, false);
  await client.close();
});

test("write_transport delivers exactly the bytes and the timeout; returns nothing", async () => {
  const { handler, calls } = recordingHandler();
  const { client } = connect(handler);
  assert.equal(await client.writeTransport(new TextEncoder().encode("foo"), 5.0), undefined);
  assert.deepEqual(calls, [["writeTransport", [new Uint8Array([0x66, 0x6f, 0x6f]), 5.0]]]);
  await client.close();
});

test("any other handler exception becomes a ServerError whose text names it", async () => {
  const { handler } = recordingHandler({
    closeTransport: () => {
      throw new ProjectAPITestError("boom");
    },
  });
  const { client } = connect(handler);
  await assert.rejects(client.closeTransport(), (e: unknown) => {
    assert.ok(e instanceof ServerError);
    assert.equal(e.wireMessage, "calling method close_transport");
    assert.match(String(e), /ProjectAPITestError/);
    return true;
  });
  await client.close();
});

test("protocol errors: unknown method, extra, missing and mistyped params", async () => {
  const { handler, calls } = recordingHandler();
  const { client } = connect(handler);
  const rejectsWith = (promise: Promise<unknown>, code: number, text: string) =>
    assert.rejects(
      promise,
      (e: unknown) => e instanceof JsonRpcError && e.code === code && String(e).includes(text),
    );
  await rejectsWith(client.call("invalid_method", { bar: null }), -32601, "invalid_method: no such method");
  await rejectsWith(
    client.call("build", { invalid_param_name: null, options: {} }),
    -32602,
    "build: extra parameters: invalid_param_name",
  );
  await rejectsWith(
    client.call("open_transport", { invalid_param_name: null, options: {} }),
    -32602,
    "open_transport: extra parameters: invalid_param_name",
  );
  await rejectsWith(client.call("build", {}), -32602, "build: parameter options not given");
  await rejectsWith(client.call("open_transport", {}), -32602, "open_transport: parameter options not given");
  await rejectsWith(
    client.call("build", { options: null }),
    -32602,
    "build: parameter options: want <class 'dict'>, got <class 'NoneType'>",
  );
  assert.deepEqual(calls, [], "no handler ran");
  assert.equal(await client.build(), null, "the server kept serving");
  await client.close();
});

test("write_transport and read_transport sent together: run in order, both replies in one write", async () => {
  const { handler, calls } = recordingHandler();
  const [clientEnd, serverEnd] = createMemoryChannelPair();
  // Count the server's writes: the write's reply waits for the read's and both go out at once.
  const serverWrites: string[] = [];
  const writeLine = serverEnd.writeLine.bind(serverEnd);
  serverEnd.writeLine = (line: string | Uint8Array) => {
    serverWrites.push(typeof line === "string" ? line : new TextDecoder().decode(line));
    return writeLine(line);
  };
  const done = serveChannel(handler, serverEnd);
  const client = new ProjectApiClient(clientEnd);
  const read = await client.writeThenReadTransport(Uint8Array.of(1, 2), 5, 4, 1);
  assert.deepEqual(read, new Uint8Array([0x66, 0x6f, 0x6f, 0x1b]));
  assert.deepEqual(
    calls.map(([name]) => name),
    ["writeTransport", "readTransport"],
  );
  assert.equal(serverWrites.length, 1, serverWrites.join("\n---\n"));
  assert.equal(serverWrites[0]!.split("\n").length, 2);
  // A request on its own is answered at once, as before.
  await client.writeTransport(Uint8Array.of(3), 5);
  assert.equal(serverWrites.length, 2);
  await client.close();
  await done;
});
