// The wire contract without I/O: base85, Python-compatible JSON and repr, errors, option records.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  Base85Error,
  ErrorCode,
  IoTimeoutError,
  JsonRpcError,
  JsonSyntaxError,
  METHODS,
  METHOD_NAMES,
  PROTOCOL_VERSION,
  PyFloat,
  ServerError,
  TransportClosedError,
  UnsupportedTVMVersionError,
  WireFormatError,
  b85decode,
  b85encode,
  defaultProjectOptions,
  errorFromWire,
  parseJson,
  parseJsonExact,
  pyFloatRepr,
  pyJsonDumps,
  pyRepr,
  pyTypeName,
  serverInfoFromWire,
  serverInfoToWire,
  timeoutsFromWire,
  timeoutsToWire,
} from "../../src/protocol/index.js";

const bytes = (...b: number[]) => Uint8Array.from(b);
const ascii = (s: string) => new TextEncoder().encode(s);

// Vectors computed with Python 3.11 base64.b85encode (RFC 1924 alphabet, no `z` shortcut).
const B85_VECTORS: [Uint8Array, string][] = [
  [bytes(), ""],
  [bytes(0), "00"],
  [bytes(0, 0), "000"],
  [bytes(0, 0, 0), "0000"],
  [bytes(0, 0, 0, 0), "00000"],
  [ascii("hello"), "Xk~0{Zv"],
  [bytes(0, 1, 2, 3, 4, 5, 6), "009C61O)~"],
  [Uint8Array.from({ length: 16 }, (_, i) => i), "009C61O)~M2nh-c3=Iws"],
  [ascii("abcd"), "VPa!s"],
  [ascii("abcde"), "VPa!sWd"],
  [ascii("foo"), "W^Zo"],
  [bytes(0x66, 0x6f, 0x6f, 0x1b), "W^ZpB"],
  [ascii("xxxxx"), "czAetcm"],
  [bytes(0xff), "{{"],
  [bytes(0xff, 0xff), "|Nj"],
  [bytes(0xff, 0xff, 0xff), "|Ns9"],
  [bytes(0xff, 0xff, 0xff, 0xff), "|NsC0"],
  [bytes(0x01, 0x78), "0eA"],
];

test("b85encode/b85decode match Python's vectors", () => {
  for (const [raw, text] of B85_VECTORS) {
    assert.equal(b85encode(raw), text, `encode ${[...raw]}`);
    assert.deepEqual(b85decode(text), raw, `decode ${text}`);
  }
});

test("b85decode decode-only vectors and Python's error messages", () => {
  assert.deepEqual(b85decode("0"), bytes());
  assert.deepEqual(b85decode("VPa"), ascii("ab"));
  assert.deepEqual(b85decode("0~"), bytes(3));
  assert.throws(() => b85decode("|NsC"), {
    name: "Base85Error",
    message: "base85 overflow in hunk starting at byte 0",
  });
  assert.throws(() => b85decode("ab cd"), { message: "bad base85 character at position 2" });
  assert.throws(() => b85decode("00000~~~~~"), { message: "base85 overflow in hunk starting at byte 5" });
  assert.throws(() => b85decode("café"), { message: "string argument should contain only ASCII characters" });
  assert.throws(() => b85decode('ab"'), Base85Error);
});

test("base85 round-trips random bytes of length 0..5000 with n + ceil(n/4) characters", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 5000 }), (raw) => {
      const text = b85encode(raw);
      assert.equal(text.length, raw.length + Math.ceil(raw.length / 4));
      assert.match(text, /^[0-9A-Za-z!#$%&()*+\-;<=>?@^_`{|}~]*$/);
      assert.deepEqual(b85decode(text), raw);
    }),
    { numRuns: 200 },
  );
});

test("b85decode rejects any text containing a character outside the alphabet", () => {
  const alphabet = new Set(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~",
  );
  const bad = fc
    .integer({ min: 0, max: 0x7f })
    .map((c) => String.fromCharCode(c))
    .filter((c) => !alphabet.has(c));
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), bad, fc.nat(), (raw, ch, at) => {
      const text = b85encode(raw);
      const pos = at % (text.length + 1);
      const broken = text.slice(0, pos) + ch + text.slice(pos);
      assert.throws(() => b85decode(broken), { message: `bad base85 character at position ${pos}` });
    }),
  );
});

test("parseJsonExact keeps int/float lexemes, big integers, key order and duplicate keys like Python", () => {
  const v = parseJsonExact(
    '{"b": 1, "1": 1.0, "a": 1e2, "b": 2, "big": 123456789012345678901234567890}',
  ) as Map<string, unknown>;
  assert.deepEqual([...v.keys()], ["b", "1", "a", "big"]);
  assert.equal(v.get("b"), 2);
  assert.ok(v.get("1") instanceof PyFloat);
  assert.equal(pyRepr(v.get("a")), "100.0");
  assert.equal(v.get("big"), 123456789012345678901234567890n);
  assert.equal(pyRepr(parseJsonExact("[NaN, Infinity, -Infinity, -0, -0.0]")), "[nan, inf, -inf, 0, -0.0]");
  assert.equal(parseJsonExact('"\\ud83d\\ude00\\u00e9"'), "😀é");
});

test("parseJson gives plain values and accepts what json.loads accepts", () => {
  assert.deepEqual(
    parseJson(' {"a": [1, 2.5, null, true], "__proto__": 1}\n'),
    JSON.parse('{"a": [1, 2.5, null, true], "__proto__": 1}'),
  );
  assert.equal(Object.getPrototypeOf(parseJson('{"__proto__": {"x": 1}}')), Object.prototype);
  assert.equal(parseJson("9007199254740993"), 9007199254740993n);
  for (const bad of [
    "",
    "\n",
    "foobar",
    "{} {}",
    "01",
    "1.",
    "[1,]",
    "{'a': 1}",
    '"\t"',
    '"\\x"',
    "\ufeff{}",
    "+1",
  ])
    assert.throws(() => parseJson(bad), JsonSyntaxError, JSON.stringify(bad));
  assert.throws(() => parseJson("[".repeat(5000)), JsonSyntaxError);
});

test("pyJsonDumps produces exactly json.dumps output", () => {
  assert.equal(
    pyJsonDumps({ jsonrpc: "2.0", id: 1, result: { a: [1, 2.5, null, true, false], b: "x" } }),
    '{"jsonrpc": "2.0", "id": 1, "result": {"a": [1, 2.5, null, true, false], "b": "x"}}',
  );
  assert.equal(
    pyJsonDumps('é☃😀\u0000\u001f\u007f"\\/\n\r\t\b\f'),
    '"\\u00e9\\u2603\\ud83d\\ude00\\u0000\\u001f\\u007f\\"\\\\/\\n\\r\\t\\b\\f"',
  );
  assert.equal(
    pyJsonDumps([new PyFloat(1), new PyFloat(1e16), 1e16, 1e-5, 0.1, NaN, -Infinity, 10n ** 30n]),
    "[1.0, 1e+16, 10000000000000000, 1e-05, 0.1, NaN, -Infinity, 1000000000000000000000000000000]",
  );
  assert.equal(
    pyJsonDumps(
      new Map([
        ["2", 1],
        ["1", 2],
      ]),
    ),
    '{"2": 1, "1": 2}',
  );
  assert.equal(pyJsonDumps({ a: undefined, b: 1 }), '{"b": 1}');
  assert.throws(() => pyJsonDumps({ x: new Uint8Array(1) }), {
    message: "Object of type Uint8Array is not JSON serializable",
  });
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => pyJsonDumps(cyclic), TypeError);
  assert.throws(() => pyJsonDumps(() => 1), TypeError);
});

test("pyFloatRepr matches Python's repr(float)", () => {
  const cases: [number, string][] = [
    [1, "1.0"],
    [1.5, "1.5"],
    [100, "100.0"],
    [1e-5, "1e-05"],
    [0.0001, "0.0001"],
    [1e16, "1e+16"],
    [1e15, "1000000000000000.0"],
    [1.5e300, "1.5e+300"],
    [123.456, "123.456"],
    [-2.5e-7, "-2.5e-07"],
    [5e-324, "5e-324"],
    [0.1 + 0.2, "0.30000000000000004"],
    [-0, "-0.0"],
  ];
  for (const [x, text] of cases) assert.equal(pyFloatRepr(x), text, String(x));
});

test("pyRepr and pyTypeName follow Appendix A", () => {
  assert.equal(pyRepr(null), "None");
  assert.equal(pyRepr(true), "True");
  assert.equal(pyRepr("bar!"), "'bar!'");
  assert.equal(pyRepr("it's"), `"it's"`);
  assert.equal(pyRepr(`it's "q"`), `'it\\'s "q"'`);
  assert.equal(pyRepr("café\n\t\\"), "'café\\n\\t\\\\'");
  assert.equal(pyRepr("\u0000\u007f\u00a0\u2028\ud800😀"), "'\\x00\\x7f\\xa0\\u2028\\ud800😀'");
  assert.equal(pyRepr([]), "[]");
  assert.equal(pyRepr({}), "{}");
  assert.equal(
    pyRepr(parseJsonExact('{"b": [1, {"a": null}], "1": true}')),
    "{'b': [1, {'a': None}], '1': True}",
  );
  assert.equal(pyTypeName(parseJsonExact("{}")), "<class 'dict'>");
  assert.equal(pyTypeName([]), "<class 'list'>");
  assert.equal(pyTypeName("s"), "<class 'str'>");
  assert.equal(pyTypeName(1), "<class 'int'>");
  assert.equal(pyTypeName(new PyFloat(1)), "<class 'float'>");
  assert.equal(pyTypeName(true), "<class 'bool'>");
  assert.equal(pyTypeName(null), "<class 'NoneType'>");
});

test("the method table declares the eight methods once, in order, with the reference's params", () => {
  assert.equal(PROTOCOL_VERSION, 1);
  assert.deepEqual(METHOD_NAMES, [
    "server_info_query",
    "generate_project",
    "build",
    "flash",
    "open_transport",
    "close_transport",
    "read_transport",
    "write_transport",
  ]);
  assert.deepEqual(METHODS.generate_project.params, [
    "model_library_format_path",
    "standalone_crt_dir",
    "project_dir",
    "options",
  ]);
  assert.deepEqual(METHODS.read_transport.params, ["n", "timeout_sec"]);
  assert.deepEqual(
    METHOD_NAMES.filter((m) => METHODS[m].optionsTypeChecked),
    ["build", "flash"],
  );
});

test("JsonRpcError string form is `JSON-RPC error # code: message` plus traceback or repr(data)", () => {
  assert.equal(
    String(new JsonRpcError(-32601, "x: no such method")),
    "JSON-RPC error # -32601: x: no such method",
  );
  assert.equal(new JsonRpcError(-32602, "m", {}).message, "JSON-RPC error # -32602: m");
  assert.equal(new JsonRpcError(-32602, "m", { a: 1 }).message, "JSON-RPC error # -32602: m\n{'a': 1}");
  const e = new ServerError(
    "calling method build",
    { traceback: "TB\nRuntimeError: boom\n" },
    { context: "calling method build" },
  );
  assert.equal(
    e.message,
    "calling method build: JSON-RPC error # -32000: calling method build\nTB\nRuntimeError: boom\n",
  );
  assert.equal(e.wireMessage, "calling method build");
  assert.deepEqual(e.toWire(), {
    code: -32000,
    message: "calling method build",
    data: { traceback: "TB\nRuntimeError: boom\n" },
  });
  assert.throws(() => new ServerError(), TypeError);
});

test("ServerError subclasses send their class name as the message", () => {
  assert.equal(new IoTimeoutError().wireMessage, "IoTimeoutError");
  assert.equal(new TransportClosedError().wireMessage, "TransportClosedError");
  assert.equal(new UnsupportedTVMVersionError().wireMessage, "UnsupportedTVMVersionError");
  class BoardNotFoundError extends ServerError {}
  const e = new BoardNotFoundError();
  assert.equal(e.wireMessage, "BoardNotFoundError");
  assert.equal(e.code, ErrorCode.serverError);
  assert.equal(e.name, "BoardNotFoundError");
});

test("errorFromWire maps -32000 by class name, other codes to JsonRpcError, unknown codes too", () => {
  const timeout = errorFromWire(
    { code: -32000, message: "IoTimeoutError", data: { traceback: "tb" } },
    "calling method read_transport",
  );
  assert.ok(timeout instanceof IoTimeoutError);
  assert.equal(timeout.message, "calling method read_transport: JSON-RPC error # -32000: IoTimeoutError\ntb");
  assert.ok(
    errorFromWire({ code: -32000, message: "TransportClosedError", data: null }) instanceof
      TransportClosedError,
  );
  assert.ok(
    errorFromWire({ code: -32000, message: "UnsupportedTVMVersionError" }) instanceof
      UnsupportedTVMVersionError,
  );
  const plain = errorFromWire({ code: -32000, message: "calling method build", data: null }, "ctx");
  assert.equal(plain.constructor, ServerError);
  assert.equal(plain.wireMessage, "calling method build");
  const proto = errorFromWire({ code: -32000, message: "__proto__" });
  assert.equal(proto.constructor, ServerError);
  const notFound = errorFromWire({ code: -32601, message: "x: no such method", data: null }, "ctx");
  assert.equal(notFound.constructor, JsonRpcError);
  assert.equal(String(notFound), "JSON-RPC error # -32601: x: no such method");
  const unknown = errorFromWire({ code: -32001, message: "custom", data: [1] });
  assert.equal(unknown.code, -32001);
  assert.equal(String(unknown), "JSON-RPC error # -32001: custom\n[1]");
  assert.throws(() => errorFromWire(null), WireFormatError);
  assert.throws(() => errorFromWire({ code: "-32601", message: "x" }), WireFormatError);
  assert.throws(() => errorFromWire({ code: -32000 }), WireFormatError);
});

test("default_project_options: the seven options with exact help, and overrides", () => {
  const options = defaultProjectOptions();
  assert.deepEqual(
    options.map((o) => o.name),
    [
      "verbose",
      "project_type",
      "board",
      "cmsis_path",
      "warning_as_error",
      "compile_definitions",
      "extra_files_tar",
    ],
  );
  const byName = Object.fromEntries(options.map((o) => [o.name, o]));
  assert.ok(byName.verbose!.optional!.includes("generate_project"));
  assert.ok(byName.project_type!.required!.includes("generate_project"));
  assert.ok(byName.board!.required!.includes("generate_project"));
  assert.ok(byName.warning_as_error!.optional!.includes("generate_project"));
  assert.equal(byName.cmsis_path!.help, "Path to the CMSIS directory.");
  assert.equal(
    byName.extra_files_tar!.help,
    "If given, during generate_project, uncompress the tarball at this path into the project dir.",
  );
  const changed = defaultProjectOptions({
    verbose: { optional: ["flash"], required: ["build"] },
    board: { choices: ["board1", "board2"] },
  });
  assert.deepEqual(changed[0]!.optional, ["flash"]);
  assert.deepEqual(changed[0]!.required, ["build"]);
  assert.deepEqual(changed[2]!.choices, ["board1", "board2"]);
  assert.deepEqual(defaultProjectOptions()[0]!.optional, ["generate_project"], "overrides do not leak");
  assert.throws(() => defaultProjectOptions({ nope: {} }), {
    message: "Option nope was not found in default ProjectOptions.",
  });
});

test("server info and timeouts map between camelCase and the wire, in wire key order", () => {
  const wire = serverInfoToWire({
    platformName: "p",
    isTemplate: true,
    modelLibraryFormatPath: "",
    projectOptions: defaultProjectOptions().slice(0, 1),
  });
  assert.deepEqual(Object.keys(wire), [
    "platform_name",
    "is_template",
    "model_library_format_path",
    "project_options",
    "protocol_version",
  ]);
  assert.deepEqual(Object.keys(wire.project_options[0]!), [
    "name",
    "choices",
    "default",
    "type",
    "required",
    "optional",
    "help",
  ]);
  assert.equal(wire.protocol_version, 1);
  assert.deepEqual(serverInfoFromWire(JSON.parse(JSON.stringify(wire))), {
    platformName: "p",
    isTemplate: true,
    modelLibraryFormatPath: "",
    projectOptions: defaultProjectOptions().slice(0, 1),
    protocolVersion: 1,
  });
  assert.throws(() => serverInfoFromWire({ ...wire, is_template: "yes" }), {
    message: "server_info_query result.is_template: want bool; got 'yes'",
  });
  const t = { sessionStartRetryTimeoutSec: 1, sessionStartTimeoutSec: 2, sessionEstablishedTimeoutSec: 3.5 };
  assert.deepEqual(timeoutsToWire(t), {
    session_start_retry_timeout_sec: 1,
    session_start_timeout_sec: 2,
    session_established_timeout_sec: 3.5,
  });
  assert.deepEqual(timeoutsFromWire(timeoutsToWire(t)), t);
  assert.throws(() => timeoutsFromWire({ ...timeoutsToWire(t), extra: 1 }), WireFormatError);
  assert.throws(() => timeoutsFromWire({ session_start_retry_timeout_sec: 1 }), WireFormatError);
});
