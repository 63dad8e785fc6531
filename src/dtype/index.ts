// TVM data types (DLPack's DLDataType) as TVM spells them ("int8", "float32x4", "bool"), their
// byte sizes, and typed arrays over their bytes. A leaf: Model Library Format and the minRPC
// client both use it, so a dtype means the same everywhere in the package.

/** DLDataType type codes (`kDLInt`, `kDLUInt`, ...). */
export const DLDataTypeCode = {
  Int: 0,
  UInt: 1,
  Float: 2,
  OpaqueHandle: 3,
  Bfloat: 4,
  Complex: 5,
  Bool: 6,
} as const;

/** A DLDataType: type code, bits per lane, lanes. */
export interface DLDataType {
  readonly code: number;
  readonly bits: number;
  readonly lanes: number;
}

/** A dtype string that is not a TVM dtype, or a code no DLDataType has. */
export class DTypeError extends Error {
  override name = "DTypeError";
}

/** The kinds TVM spells in dtype strings; a complex dtype has a code but no spelling. */
const codeOfName: Record<string, number> = {
  int: DLDataTypeCode.Int,
  uint: DLDataTypeCode.UInt,
  float: DLDataTypeCode.Float,
  handle: DLDataTypeCode.OpaqueHandle,
  bfloat: DLDataTypeCode.Bfloat,
};

/**
 * Parses a TVM dtype string: `int8`, `uint8`, `float16`, `bfloat16`, `bool`, `handle`, with an optional lane
 * count (`float32x4`). As in TVM, a kind without bits is 32 bits wide (`int` is `int32`; `handle` is 64), and
 * `bool` is `{ code 1 (uint), bits 1, lanes 1 }`.
 */
export function parseDType(text: string): DLDataType {
  const trimmed = text.trim();
  if (trimmed === "bool") return { code: DLDataTypeCode.UInt, bits: 1, lanes: 1 };
  const match = /^(int|uint|float|bfloat|handle)(\d+)?(?:x(\d+))?$/.exec(trimmed);
  const bits = match ? (match[2] !== undefined ? Number(match[2]) : match[1] === "handle" ? 64 : 32) : NaN;
  const lanes = match?.[3] !== undefined ? Number(match[3]) : 1;
  if (!match || !(bits >= 1 && bits <= 255) || !(lanes >= 1 && lanes <= 65535)) {
    throw new DTypeError(
      `unknown dtype "${text}"; use a TVM dtype such as int8, uint8, int16, int32, int64, float16, float32, float64 or bool`,
    );
  }
  return { code: codeOfName[match[1]!]!, bits, lanes };
}

/** Formats a DLDataType the way TVM prints it (`int8`, `float32x4`, `bool`, `handle`). */
export function formatDType(dtype: DLDataType): string {
  if (dtype.code === DLDataTypeCode.UInt && dtype.bits === 1 && dtype.lanes === 1) return "bool";
  if (dtype.code === DLDataTypeCode.OpaqueHandle && dtype.bits === 64 && dtype.lanes === 1) return "handle";
  const name =
    Object.entries(codeOfName).find(([, code]) => code === dtype.code)?.[0] ??
    (dtype.code === DLDataTypeCode.Bool
      ? "bool"
      : dtype.code === DLDataTypeCode.Complex
        ? "complex"
        : `custom[${dtype.code}]`);
  return dtype.lanes === 1 ? `${name}${dtype.bits}` : `${name}${dtype.bits}x${dtype.lanes}`;
}

/** Whether a number is one of the DLDataType codes (a file's dtype code is checked with it). */
export function isDTypeCode(code: number): boolean {
  return (Object.values(DLDataTypeCode) as number[]).includes(code);
}

/** Accepts either a dtype string or a DLDataType. */
export function toDType(dtype: string | DLDataType): DLDataType {
  return typeof dtype === "string" ? parseDType(dtype) : dtype;
}

export function dtypeEquals(a: DLDataType, b: DLDataType): boolean {
  return a.code === b.code && a.bits === b.bits && a.lanes === b.lanes;
}

/** Number of elements of a shape (1 for a scalar shape `[]`). */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

/** Bytes one element takes in memory: ceil(bits × lanes / 8), so a `bool` or an `int4` takes a whole byte. */
export function elementBytes(dtype: string | DLDataType): number {
  const d = toDType(dtype);
  return Math.ceil((d.bits * d.lanes) / 8);
}

/**
 * Bytes of a compact tensor in memory: elements × `elementBytes` (each element rounded up to whole bytes),
 * as TVM allocates NDArrays, graph executor storage and the device's tensors. `bool[10]` is 10 bytes.
 * Use it for anything that holds or moves a tensor's data.
 */
export function storageBytes(dtype: string | DLDataType, shape: readonly number[]): number {
  return elementCount(shape) * elementBytes(dtype);
}

/**
 * Bytes of a tensor with its bits packed: ceil(bits × lanes × elements / 8). This is the `size` that Model
 * Library Format's metadata.json gives each input and output (TVM rounds once, for the whole tensor), so
 * `bool[10]` is 2 bytes. Use it only to read or write those sizes.
 */
export function packedBytes(dtype: string | DLDataType, shape: readonly number[]): number {
  const d = toDType(dtype);
  return Math.ceil((d.bits * d.lanes * elementCount(shape)) / 8);
}

/** A typed array over a tensor's elements; 16-bit floats are their raw bits (Uint16Array). */
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

/**
 * A typed array of the dtype's element type over little-endian bytes: a view when the bytes are aligned for
 * the element size, a copy otherwise. `bool` is a Uint8Array (one byte each); float16 and bfloat16 are their
 * bits. Undefined for dtypes JavaScript has no array for (several lanes, sub-byte or odd widths, complex).
 */
export function typedArrayOver(dtype: string | DLDataType, bytes: Uint8Array): TensorData | undefined {
  const d = toDType(dtype);
  if (d.lanes !== 1) return undefined;
  const make = (size: number) => {
    const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
    return [aligned.buffer, aligned.byteOffset, Math.floor(aligned.byteLength / size)] as const;
  };
  const key = d.bits === 1 && d.code === DLDataTypeCode.UInt ? "bool" : `${formatDType(d)}`;
  switch (key) {
    case "bool":
    case "uint8":
      return new Uint8Array(...make(1));
    case "int8":
      return new Int8Array(...make(1));
    case "int16":
      return new Int16Array(...make(2));
    case "uint16":
    case "float16":
    case "bfloat16":
      return new Uint16Array(...make(2));
    case "int32":
      return new Int32Array(...make(4));
    case "uint32":
      return new Uint32Array(...make(4));
    case "int64":
      return new BigInt64Array(...make(8));
    case "uint64":
      return new BigUint64Array(...make(8));
    case "float32":
      return new Float32Array(...make(4));
    case "float64":
      return new Float64Array(...make(8));
    default:
      return undefined;
  }
}
