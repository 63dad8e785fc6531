import { MlfError } from "./errors.js";

/** A TVM dtype parsed from its string form, e.g. `int8`, `float32`, `uint1`, `float32x4`. */
export interface DType {
  readonly kind: "int" | "uint" | "float" | "bfloat" | "handle";
  readonly bits: number;
  readonly lanes: number;
}

const KIND_CODES = { int: 0, uint: 1, float: 2, handle: 3, bfloat: 4 } as const;

export function parseDType(text: string): DType {
  if (text === "bool") return { kind: "uint", bits: 1, lanes: 1 };
  const m = /^(int|uint|float|bfloat|handle)(\d+)?(?:x(\d+))?$/.exec(text);
  if (!m) throw new MlfError("bad-file", `unknown dtype "${text}"`);
  const kind = m[1] as DType["kind"];
  const bits = m[2] ? Number(m[2]) : kind === "handle" ? 64 : 32;
  return { kind, bits, lanes: m[3] ? Number(m[3]) : 1 };
}

export function formatDType(d: DType): string {
  return `${d.kind}${d.bits}${d.lanes > 1 ? `x${d.lanes}` : ""}`;
}

export function dtypeCode(d: DType): number {
  return KIND_CODES[d.kind];
}

export function dtypeFromCode(code: number, bits: number, lanes: number): DType {
  const kind = (Object.keys(KIND_CODES) as DType["kind"][]).find((k) => KIND_CODES[k] === code);
  if (!kind) throw new MlfError("bad-file", `unknown DLDataType code ${code}`);
  return { kind, bits, lanes };
}

/** Bytes per element as TVM's metadata computes sizes: ceil(bits × lanes / 8). */
export function elementBytes(dtype: string): number {
  const d = parseDType(dtype);
  return Math.ceil((d.bits * d.lanes) / 8);
}

/** ceil(bits × lanes × prod(shape) / 8), the `size` formula of metadata.json. */
export function tensorBytes(dtype: string, shape: readonly number[]): number {
  const d = parseDType(dtype);
  return Math.ceil((d.bits * d.lanes * shape.reduce((a, b) => a * b, 1)) / 8);
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A typed array matching a dtype; 16-bit floats and anything unusual stay raw bytes. */
export type TensorData =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

/** Copies little-endian bytes into a typed array of the dtype's element type. */
export function typedArrayOf(dtype: string, bytes: Uint8Array): TensorData {
  const d = parseDType(dtype);
  const copy = new Uint8Array(bytes); // aligned, owned copy
  const b = copy.buffer;
  const n = (size: number) => Math.floor(copy.length / size);
  if (d.lanes !== 1) return copy;
  switch (`${d.kind}${d.bits}`) {
    case "int8":
      return new Int8Array(b, 0, copy.length);
    case "int16":
      return new Int16Array(b, 0, n(2));
    case "uint16":
    case "float16":
    case "bfloat16":
      return new Uint16Array(b, 0, n(2));
    case "int32":
      return new Int32Array(b, 0, n(4));
    case "uint32":
      return new Uint32Array(b, 0, n(4));
    case "int64":
      return new BigInt64Array(b, 0, n(8));
    case "uint64":
      return new BigUint64Array(b, 0, n(8));
    case "float32":
      return new Float32Array(b, 0, n(4));
    case "float64":
      return new Float64Array(b, 0, n(8));
    default:
      return copy;
  }
}

/** Replaces every non-alphanumeric character with `_`, as TVM does for C identifiers. */
export function sanitizeName(name: string): string {
  return name.replace(/[^A-Za-z0-9]/g, "_");
}
