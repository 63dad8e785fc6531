// The malformed requests conformance sends and the reference server's answers to them, as data.
// The messages are the reference's, to the letter (docs/wire-deviations.md lists where our own
// servers knowingly differ; these cases hold for both).

/** Bytes that are not a request at all: the reference sends nothing back and exits. */
export interface NoReplyCase {
  readonly name: string;
  readonly send: string | Uint8Array;
}

/** An invalid request: a -32600 reply with id null and this message, then the server exits. */
export interface InvalidRequestCase {
  readonly name: string;
  /** The request line, without its line end. */
  readonly line: string;
  readonly message: string;
}

/** A valid request the method table refuses: this error with the id echoed, and the server goes on. */
export interface ErrorCase {
  readonly name: string;
  readonly request: { readonly method: string; readonly params: unknown; readonly id: unknown };
  readonly code: -32601 | -32602 | -32000;
  readonly message: string;
}

export const NO_REPLY_CASES: readonly NoReplyCase[] = [
  { name: "a line that is not JSON gets no reply and the server exits", send: "foobar\n" },
  { name: "a blank line gets no reply and the server exits", send: "\n" },
  {
    name: "invalid UTF-8 gets no reply and the server exits",
    send: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d, 0x0a]),
  },
];

export const INVALID_REQUEST_CASES: readonly InvalidRequestCase[] = [
  { name: "-32600 for a request that is not an object", line: "1", message: "request: want dict; got 1" },
  { name: "-32600 for a batch (array) request", line: "[1, 2]", message: "request: want dict; got [1, 2]" },
  {
    name: '-32600 for "jsonrpc": 1.0',
    line: '{"jsonrpc": 1.0}',
    message: 'request["jsonrpc"]: want "2.0"; got 1.0',
  },
  {
    name: "-32600 for a missing jsonrpc",
    line: '{"method": "build", "params": {"options": {}}, "id": 1}',
    message: 'request["jsonrpc"]: want "2.0"; got None',
  },
  {
    name: "-32600 for a non-string method",
    line: '{"jsonrpc": "2.0", "method": 123}',
    message: 'request["method"]: want str; got 123',
  },
  {
    name: "-32600 for a method name outside [a-zA-Z0-9_]",
    line: '{"jsonrpc": "2.0", "method": "bar!", "params": {}, "id": 1}',
    message: "request[\"method\"]: should match regex ^[a-zA-Z0-9_]+$; got 'bar!'",
  },
  {
    name: "-32600 for numeric params",
    line: '{"jsonrpc": "2.0", "method": "build", "params": 123, "id": 1}',
    message: "request[\"params\"]: want dict; got <class 'int'>",
  },
  {
    name: "-32600 for array params",
    line: '{"jsonrpc": "2.0", "method": "build", "params": [], "id": 1}',
    message: "request[\"params\"]: want dict; got <class 'list'>",
  },
  {
    name: "-32600 for missing params",
    line: '{"jsonrpc": "2.0", "method": "build", "id": 1}',
    message: "request[\"params\"]: want dict; got <class 'NoneType'>",
  },
  {
    name: "-32600 for an object id",
    line: '{"jsonrpc": "2.0", "method": "build", "params": {}, "id": {}}',
    message: 'request["id"]: want str, number, null; got {}',
  },
  {
    name: "-32600 for a float id",
    line: '{"jsonrpc": "2.0", "method": "build", "params": {}, "id": 1.5}',
    message: 'request["id"]: want str, number, null; got 1.5',
  },
];

export const ERROR_CASES: readonly ErrorCase[] = [
  {
    name: "-32601 for an unknown method, id echoed, server continues",
    request: { method: "invalid_method", params: { bar: null }, id: 7 },
    code: -32601,
    message: "invalid_method: no such method",
  },
  {
    name: "-32602 for a missing parameter, string id echoed, server continues",
    request: { method: "build", params: {}, id: "abc" },
    code: -32602,
    message: "method build: parameter options not given",
  },
  {
    name: "-32602 reports the first missing parameter in declaration order",
    request: { method: "generate_project", params: { project_dir: "x" }, id: 3 },
    code: -32602,
    message: "method generate_project: parameter model_library_format_path not given",
  },
  {
    name: "-32602 for build options: null",
    request: { method: "build", params: { options: null }, id: 4 },
    code: -32602,
    message: "method build: parameter options: want <class 'dict'>, got <class 'NoneType'>",
  },
  {
    name: "-32602 lists extra parameters in request order",
    request: { method: "build", params: { options: {}, zzz: 1, aaa: 2 }, id: 5 },
    code: -32602,
    message: "build: extra parameters: zzz, aaa",
  },
  {
    name: "-32602 for close_transport with any parameter",
    request: { method: "close_transport", params: { options: {} }, id: 6 },
    code: -32602,
    message: "close_transport: extra parameters: options",
  },
  {
    name: "-32000 for invalid base85 in write_transport, server continues",
    request: { method: "write_transport", params: { data: "ab cd", timeout_sec: 1 }, id: 8 },
    code: -32000,
    message: "calling method write_transport",
  },
];

/** Transport sizes for the loopback round trips: edges of base85 groups and of common buffers. */
export const ROUND_TRIP_SIZES: readonly number[] = [
  1, 2, 3, 4, 5, 7, 8, 63, 64, 65, 255, 256, 1000, 1024, 4095, 4096, 4097, 16384, 65535, 65536,
];

/** server_info_query's result keys, in the reference's order. */
export const SERVER_INFO_KEYS: readonly string[] = [
  "platform_name",
  "is_template",
  "model_library_format_path",
  "project_options",
  "protocol_version",
];

/** A project option's keys, in the reference's order. */
export const OPTION_KEYS: readonly string[] = [
  "name",
  "choices",
  "default",
  "type",
  "required",
  "optional",
  "help",
];
