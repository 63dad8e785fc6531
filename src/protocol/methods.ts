// The eight Project API methods, declared once. The server binds params from this table and the
// client builds requests from it, so the two cannot disagree on names, order or the camelCase
// names the TypeScript API gives the params.

/** The protocol version the reference server reports (`ProjectAPIServer._PROTOCOL_VERSION`). */
export const PROTOCOL_VERSION = 1;

/**
 * The type a parameter must have on the wire, in Python's words (`dict`, `str`, `int`), as the
 * -32602 message names it. `timeout` is a number (int or float) or null.
 */
export type ParamType = "dict" | "str" | "int" | "timeout";

export interface MethodDescriptor {
  /** Parameter names in declaration order; missing ones are reported in this order. */
  readonly params: readonly string[];
  /**
   * True where the reference itself type-checks `options` (build and flash only). We check every
   * parameter (see docs/wire-deviations.md); this flag records what the reference does.
   */
  readonly optionsTypeChecked: boolean;
  /** The wire type of each parameter. */
  readonly paramTypes: Readonly<Record<string, ParamType>>;
  /** Each parameter's name in the TypeScript API (camelCase), by its wire name. */
  readonly apiNames: Readonly<Record<string, string>>;
}

export const METHODS = {
  server_info_query: {
    params: ["tvm_version"],
    optionsTypeChecked: false,
    paramTypes: { tvm_version: "str" },
    apiNames: { tvm_version: "tvmVersion" },
  },
  generate_project: {
    params: ["model_library_format_path", "standalone_crt_dir", "project_dir", "options"],
    optionsTypeChecked: false,
    paramTypes: {
      model_library_format_path: "str",
      standalone_crt_dir: "str",
      project_dir: "str",
      options: "dict",
    },
    apiNames: {
      model_library_format_path: "modelLibraryFormatPath",
      standalone_crt_dir: "standaloneCrtDir",
      project_dir: "projectDir",
      options: "options",
    },
  },
  build: {
    params: ["options"],
    optionsTypeChecked: true,
    paramTypes: { options: "dict" },
    apiNames: { options: "options" },
  },
  flash: {
    params: ["options"],
    optionsTypeChecked: true,
    paramTypes: { options: "dict" },
    apiNames: { options: "options" },
  },
  open_transport: {
    params: ["options"],
    optionsTypeChecked: false,
    paramTypes: { options: "dict" },
    apiNames: { options: "options" },
  },
  close_transport: { params: [], optionsTypeChecked: false, paramTypes: {}, apiNames: {} },
  read_transport: {
    params: ["n", "timeout_sec"],
    optionsTypeChecked: false,
    paramTypes: { n: "int", timeout_sec: "timeout" },
    apiNames: { n: "n", timeout_sec: "timeoutSec" },
  },
  write_transport: {
    params: ["data", "timeout_sec"],
    optionsTypeChecked: false,
    paramTypes: { data: "str", timeout_sec: "timeout" },
    apiNames: { data: "data", timeout_sec: "timeoutSec" },
  },
} as const satisfies Record<string, MethodDescriptor>;

/** A wire method name. */
export type MethodName = keyof typeof METHODS;

/** The method names in the reference's declaration order. */
export const METHOD_NAMES = Object.keys(METHODS) as MethodName[];

/** True when `name` is one of the eight methods (and not, say, `__proto__` or `toString`). */
export function isMethodName(name: string): name is MethodName {
  return Object.prototype.hasOwnProperty.call(METHODS, name);
}

type ApiNames<M extends MethodName> = (typeof METHODS)[M]["apiNames"];

/** A method's params under their TypeScript (camelCase) names, each of type V. */
export type ApiParams<M extends MethodName, V = unknown> = {
  -readonly [W in keyof ApiNames<M> as ApiNames<M>[W] & string]: V;
};

/** A method's params under their wire names, each of type V. */
export type WireParams<M extends MethodName, V = unknown> = {
  -readonly [W in keyof ApiNames<M> & string]: V;
};

/** A request's params on the wire, from their camelCase names, in the method's declaration order. */
export function paramsToWire<M extends MethodName, V>(method: M, params: ApiParams<M, V>): WireParams<M, V> {
  const names: Readonly<Record<string, string>> = METHODS[method].apiNames;
  const api = params as Record<string, V>;
  const wire: Record<string, V> = {};
  for (const name of METHODS[method].params) wire[name] = api[names[name]!]!;
  return wire as WireParams<M, V>;
}

/** A request's bound params under their camelCase names (the server's side of paramsToWire). */
export function paramsFromWire<M extends MethodName, V>(
  method: M,
  wire: Readonly<Record<string, V>>,
): ApiParams<M, V> {
  const names: Readonly<Record<string, string>> = METHODS[method].apiNames;
  const api: Record<string, V> = {};
  for (const name of METHODS[method].params) api[names[name]!] = wire[name]!;
  return api as ApiParams<M, V>;
}
