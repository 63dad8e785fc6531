// DLPack data types and devices as TVM spells them ("int8", "float32x4", "bool") and as they travel on the wire.
import { RpcUsageError } from "./errors.js";

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

/** A DLDevice. microTVM devices are always `{ deviceType: 1 (CPU), deviceId: 0 }`. */
export interface Device {
  readonly deviceType: number;
  readonly deviceId: number;
}

/** `kDLCPU`, device 0: the only device a microTVM target has. */
export const CPU_DEVICE: Device = Object.freeze({ deviceType: 1, deviceId: 0 });

/**
 * Parses a device as TVM spells it: `cpu`, `cpu:0`, `cpu(0)`, or a number pair `1:0`. microTVM devices are
 * always the CPU, device 0, and anything else is refused because the device runtime rejects it.
 */
export function parseDevice(text: string): Device {
  const match = /^\s*(cpu|llvm|c|\d+)\s*(?:[:(]\s*(\d+)\s*\)?)?\s*$/i.exec(text);
  const deviceType = match ? (/^\d+$/.test(match[1]!) ? Number(match[1]) : 1) : NaN;
  const deviceId = match?.[2] !== undefined ? Number(match[2]) : 0;
  if (deviceType !== 1 || deviceId !== 0) {
    throw new RpcUsageError(
      `device "${text}" is not supported; a microTVM device is always "cpu" (device type 1, id 0)`,
    );
  }
  return CPU_DEVICE;
}

const dtypeNames: Record<string, number> = {
  int: DLDataTypeCode.Int,
  uint: DLDataTypeCode.UInt,
  float: DLDataTypeCode.Float,
  handle: DLDataTypeCode.OpaqueHandle,
  bfloat: DLDataTypeCode.Bfloat,
  complex: DLDataTypeCode.Complex,
};

/**
 * Parses a TVM dtype string: `int8`, `uint8`, `int32`, `float32`, `float16`, `bfloat16`, `bool`, `handle`,
 * with an optional lane count (`float32x4`). `bool` is `{ code 1, bits 1, lanes 1 }`, as TVM sends it.
 */
export function parseDType(text: string): DLDataType {
  const trimmed = text.trim();
  if (trimmed === "bool") return { code: DLDataTypeCode.UInt, bits: 1, lanes: 1 };
  if (trimmed === "handle") return { code: DLDataTypeCode.OpaqueHandle, bits: 64, lanes: 1 };
  const match = /^(int|uint|float|bfloat|complex|handle)(\d+)(?:x(\d+))?$/.exec(trimmed);
  const bits = match ? Number(match[2]) : NaN;
  const lanes = match?.[3] !== undefined ? Number(match[3]) : 1;
  if (!match || !(bits >= 1 && bits <= 255) || !(lanes >= 1 && lanes <= 65535)) {
    throw new RpcUsageError(
      `unknown dtype "${text}"; use a TVM dtype such as int8, uint8, int16, int32, int64, float16, float32, float64 or bool`,
    );
  }
  return { code: dtypeNames[match[1]!]!, bits, lanes };
}

/** Formats a DLDataType the way TVM prints it (`int8`, `float32x4`, `bool`). */
export function formatDType(dtype: DLDataType): string {
  if (dtype.code === DLDataTypeCode.UInt && dtype.bits === 1 && dtype.lanes === 1) return "bool";
  const name =
    Object.entries(dtypeNames).find(([, code]) => code === dtype.code)?.[0] ??
    (dtype.code === DLDataTypeCode.Bool ? "bool" : `custom[${dtype.code}]`);
  if (dtype.code === DLDataTypeCode.OpaqueHandle && dtype.bits === 64 && dtype.lanes === 1) return "handle";
  return dtype.lanes === 1 ? `${name}${dtype.bits}` : `${name}${dtype.bits}x${dtype.lanes}`;
}

/** Accepts either a dtype string or a DLDataType. */
export function toDType(dtype: string | DLDataType): DLDataType {
  return typeof dtype === "string" ? parseDType(dtype) : dtype;
}

export function dtypeEquals(a: DLDataType, b: DLDataType): boolean {
  return a.code === b.code && a.bits === b.bits && a.lanes === b.lanes;
}

/** Bytes per element: `(bits × lanes + 7) / 8`, as TVM computes it. */
export function elementBytes(dtype: DLDataType): number {
  return Math.floor((dtype.bits * dtype.lanes + 7) / 8);
}

/** Number of elements of a shape (1 for a scalar shape `[]`). */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

/** Byte size of a compact tensor: `prod(shape) × elementBytes(dtype)`. */
export function tensorBytes(shape: readonly number[], dtype: DLDataType): number {
  return elementCount(shape) * elementBytes(dtype);
}

/** Checks a shape is a list of non-negative safe integers; says which dimension is wrong otherwise. */
export function checkShape(shape: readonly number[], what: string): void {
  shape.forEach((dim, i) => {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new RpcUsageError(
        `${what}: shape dimension ${i} is ${String(dim)}; dimensions must be integers ≥ 0`,
      );
    }
  });
}

/** Formats a shape as TVM/NumPy do: `(1, 1960)`, `(4,)`, `()`. */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}
