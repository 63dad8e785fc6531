// The eight Project API methods, declared once. The server binds params from this table and the
// client builds requests from it, so the two cannot disagree on names or order.

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
}

export const METHODS = {
  server_info_query: {
    params: ["tvm_version"],
    optionsTypeChecked: false,
    paramTypes: { tvm_version: "str" },
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
  },
  build: { params: ["options"], optionsTypeChecked: true, paramTypes: { options: "dict" } },
  flash: { params: ["options"], optionsTypeChecked: true, paramTypes: { options: "dict" } },
  open_transport: { params: ["options"], optionsTypeChecked: false, paramTypes: { options: "dict" } },
  close_transport: { params: [], optionsTypeChecked: false, paramTypes: {} },
  read_transport: {
    params: ["n", "timeout_sec"],
    optionsTypeChecked: false,
    paramTypes: { n: "int", timeout_sec: "timeout" },
  },
  write_transport: {
    params: ["data", "timeout_sec"],
    optionsTypeChecked: false,
    paramTypes: { data: "str", timeout_sec: "timeout" },
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
