// Host tensors: typed views, raw .bin / .npy / JSON reading and writing, and fill modes.
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { extname } from "node:path";
import {
  DLDataTypeCode,
  dtypeEquals,
  elementBytes,
  elementCount,
  formatDType,
  parseDType,
  storageBytes,
  toDType,
  typedArrayOver,
  type DLDataType,
  type TensorData,
} from "../dtype/index.js";
import { checkShape, formatShape } from "./device.js";
import { TensorIoError } from "./errors.js";

/** A tensor on the host: dtype name (TVM spelling), shape, and compact row-major little-endian bytes. */
export interface HostTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

/** Where a tensor's bytes come from or go to. `auto` picks by extension: .npy, .json, anything else raw. */
export type TensorFileFormat = "bin" | "npy" | "json" | "auto";

/** How to fill an input nobody supplied. */
export type FillMode = "zeros" | "ones" | "random";

type Kind = "int" | "uint" | "float" | "float16" | "bool";

/** How the host handles a dtype's elements; only single-lane dtypes with a JS representation are supported. */
function kindOf(dtype: DLDataType): { kind: Kind; bytes: number } {
  const name = formatDType(dtype);
  if (dtype.lanes === 1) {
    if (name === "bool") return { kind: "bool", bytes: 1 };
    if (dtype.code === DLDataTypeCode.Int && [8, 16, 32, 64].includes(dtype.bits))
      return { kind: "int", bytes: dtype.bits / 8 };
    if (dtype.code === DLDataTypeCode.UInt && [8, 16, 32, 64].includes(dtype.bits))
      return { kind: "uint", bytes: dtype.bits / 8 };
    if (dtype.code === DLDataTypeCode.Float && dtype.bits === 16) return { kind: "float16", bytes: 2 };
    if (dtype.code === DLDataTypeCode.Float && (dtype.bits === 32 || dtype.bits === 64))
      return { kind: "float", bytes: dtype.bits / 8 };
  }
  throw new TensorIoError(
    `dtype ${name} has no host representation here; supported: int8/16/32/64, uint8/16/32/64, float16/32/64, bool`,
  );
}

/**
 * A typed array over the tensor's bytes (a copy when the bytes are not aligned for the element size).
 * float16 is viewed as its raw Uint16Array bits; use `tensorValues` for numbers.
 */
export function typedView(tensor: HostTensor): TensorData {
  const dtype = parseDType(tensor.dtype);
  kindOf(dtype); // refuses dtypes the host cannot represent, saying which ones it can
  return typedArrayOver(dtype, tensor.data)!;
}

/** IEEE-754 half (bits) to number. */
export function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Number to IEEE-754 half bits, rounding to nearest even. */
export function numberToFloat16(value: number): number {
  const f32 = new Float32Array([value]);
  const x = new Uint32Array(f32.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half += 1;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa rounds up into the exponent (and to infinity at the top), as IEEE requires.
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half += 1;
  return sign | half;
}

/** The tensor's elements as numbers (64-bit integers as bigint). */
export function tensorValues(tensor: HostTensor): (number | bigint)[] {
  const dtype = parseDType(tensor.dtype);
  const view = typedView(tensor);
  if (kindOf(dtype).kind === "float16") return Array.from(view as Uint16Array, float16ToNumber);
  return Array.from(view as ArrayLike<number | bigint>);
}

function integerRange(kind: Kind, bytes: number): [bigint, bigint] {
  const bits = BigInt(bytes * 8);
  if (kind === "bool") return [0n, 1n];
  return kind === "int" ? [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n] : [0n, (1n << bits) - 1n];
}

/**
 * Builds a tensor from flat values. Integer dtypes need integers within range (64-bit ones may be bigint
 * or decimal strings); float dtypes take any number. `where` names the source in errors.
 */
export function tensorFromValues(
  values: readonly (number | bigint | string | boolean)[],
  dtype: string | DLDataType,
  shape: readonly number[],
  where = "values",
): HostTensor {
  const type = toDType(dtype);
  const name = formatDType(type);
  checkShape(shape, where);
  const { kind, bytes } = kindOf(type);
  const count = elementCount(shape);
  if (values.length !== count) {
    throw new TensorIoError(
      `${where}: ${values.length} values for shape ${formatShape(shape)}, which needs ${count}`,
    );
  }
  const data = new Uint8Array(count * bytes);
  const view = new DataView(data.buffer);
  const [min, max] = integerRange(kind, bytes);
  values.forEach((raw, i) => {
    const at = i * bytes;
    if (kind === "float" || kind === "float16") {
      const value = Number(raw);
      if (typeof raw === "string" && Number.isNaN(value) && raw.trim().toLowerCase() !== "nan") {
        throw new TensorIoError(`${where}: element ${i} is "${raw}", not a number`);
      }
      if (kind === "float16") view.setUint16(at, numberToFloat16(value), true);
      else if (bytes === 4) view.setFloat32(at, value, true);
      else view.setFloat64(at, value, true);
      return;
    }
    let value: bigint;
    if (typeof raw === "boolean") value = raw ? 1n : 0n;
    else if (typeof raw === "bigint") value = raw;
    else if (typeof raw === "number" && Number.isInteger(raw)) value = BigInt(raw);
    else if (typeof raw === "string" && /^\s*-?\d+\s*$/.test(raw)) value = BigInt(raw.trim());
    else
      throw new TensorIoError(`${where}: element ${i} is ${JSON.stringify(raw)}, but ${name} needs integers`);
    if (value < min || value > max) {
      throw new TensorIoError(
        `${where}: element ${i} (${value}) is outside the ${name} range [${min}, ${max}]`,
      );
    }
    if (bytes === 1) view.setUint8(at, Number(BigInt.asUintN(8, value)));
    else if (bytes === 2) view.setUint16(at, Number(BigInt.asUintN(16, value)), true);
    else if (bytes === 4) view.setUint32(at, Number(BigInt.asUintN(32, value)), true);
    else view.setBigUint64(at, BigInt.asUintN(64, value), true);
  });
  return { dtype: name, shape: [...shape], data };
}

/** A small seeded PRNG (mulberry32): the same seed gives the same inputs on every machine. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A tensor filled with zeros, ones, or seeded random values. Random follows tvmc: integers in [0, 128)
 * (bool: 0 or 1), floats uniform in [-1, 1).
 */
export function fillTensor(
  mode: FillMode,
  dtype: string | DLDataType,
  shape: readonly number[],
  seed = 0,
): HostTensor {
  const type = toDType(dtype);
  const { kind } = kindOf(type);
  const count = elementCount(shape);
  let values: number[];
  if (mode === "zeros") values = new Array<number>(count).fill(0);
  else if (mode === "ones") values = new Array<number>(count).fill(1);
  else if (mode === "random") {
    const next = seededRandom(seed);
    values = Array.from({ length: count }, () =>
      kind === "float" || kind === "float16"
        ? next() * 2 - 1
        : kind === "bool"
          ? Math.floor(next() * 2)
          : Math.floor(next() * 128),
    );
  } else {
    throw new TensorIoError(`unknown fill mode "${String(mode)}"; use zeros, ones or random`);
  }
  return tensorFromValues(values, type, shape, `${mode} fill`);
}

// ---- .npy ---------------------------------------------------------------------------------------------

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

const npyKinds: Record<string, (size: number) => string | undefined> = {
  i: (size) => (size === 1 || size === 2 || size === 4 || size === 8 ? `int${size * 8}` : undefined),
  u: (size) => (size === 1 || size === 2 || size === 4 || size === 8 ? `uint${size * 8}` : undefined),
  f: (size) => (size === 2 || size === 4 || size === 8 ? `float${size * 8}` : undefined),
  b: (size) => (size === 1 ? "bool" : undefined),
};

function npyDescr(dtype: string): string {
  const type = parseDType(dtype);
  const { kind, bytes } = kindOf(type);
  if (kind === "bool") return "|b1";
  const letter = kind === "int" ? "i" : kind === "uint" ? "u" : "f";
  return `${bytes === 1 ? "|" : "<"}${letter}${bytes}`;
}

type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

/** Parses the Python literal in an .npy header: a dict of strings, booleans, ints, tuples. */
function parsePyLiteral(text: string, where: string): PyValue {
  let i = 0;
  const fail = (what: string): never => {
    throw new TensorIoError(
      `${where}: bad .npy header (${what} at character ${i}): ${JSON.stringify(text.trim())}`,
    );
  };
  const skip = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const value = (): PyValue => {
    skip();
    const c = text[i];
    if (c === "{" || c === "(" || c === "[") {
      const close = c === "{" ? "}" : c === "(" ? ")" : "]";
      i++;
      const items: PyValue[] = [];
      const dict: Record<string, PyValue> = {};
      for (;;) {
        skip();
        if (text[i] === close) {
          i++;
          break;
        }
        const item = value();
        if (c === "{") {
          skip();
          if (text[i] !== ":") fail("expected ':'");
          i++;
          if (typeof item !== "string") fail("dict key is not a string");
          dict[item as string] = value();
        } else {
          items.push(item);
        }
        skip();
        if (text[i] === ",") i++;
        else if (text[i] !== close) fail(`expected ',' or '${close}'`);
      }
      return c === "{" ? dict : items;
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail("unterminated string");
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const word = /^(True|False|None|-?\d+L?)/.exec(text.slice(i));
    if (!word) return fail("unexpected token");
    i += word[0].length;
    if (word[0] === "True") return true;
    if (word[0] === "False") return false;
    if (word[0] === "None") return null;
    return Number(word[0].replace("L", ""));
  };
  const result = value();
  skip();
  if (i !== text.length) fail("trailing text");
  return result;
}

/** Parses an .npy file (format 1.0, 2.0 or 3.0; little-endian; C order) into a host tensor. */
export function parseNpy(bytes: Uint8Array, where = ".npy data"): HostTensor {
  if (bytes.length < 10 || !NPY_MAGIC.every((b, k) => bytes[k] === b)) {
    throw new TensorIoError(
      `${where}: not an .npy file (it does not start with \\x93NUMPY); use a file written by numpy.save`,
    );
  }
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLength: number;
  let headerStart: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new TensorIoError(`${where}: truncated .npy header`);
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new TensorIoError(
      `${where}: .npy format version ${major}.${bytes[7]} is not supported (1.0, 2.0 and 3.0 are)`,
    );
  }
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length)
    throw new TensorIoError(`${where}: truncated .npy header (declares ${headerLength} bytes)`);
  const headerText = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(headerStart, dataStart),
  );
  const header = parsePyLiteral(headerText, where);
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new TensorIoError(`${where}: .npy header is not a dict`);
  }
  const { descr, fortran_order: fortranOrder, shape } = header;
  if (typeof descr !== "string") {
    throw new TensorIoError(
      `${where}: .npy descr ${JSON.stringify(descr)} is not a simple dtype; structured arrays are not supported`,
    );
  }
  if (
    typeof fortranOrder !== "boolean" ||
    !Array.isArray(shape) ||
    !shape.every((d) => typeof d === "number" && d >= 0)
  ) {
    throw new TensorIoError(`${where}: .npy header lacks a valid fortran_order or shape`);
  }
  if (fortranOrder) {
    throw new TensorIoError(
      `${where}: the array is stored in Fortran order; save it in C order (numpy.save(path, numpy.ascontiguousarray(a)))`,
    );
  }
  const match = /^([<>|=])([a-zA-Z])(\d+)$/.exec(descr);
  const size = match ? Number(match[3]) : 0;
  const dtype = match ? npyKinds[match[2]!]?.(size) : undefined;
  if (!match || !dtype) {
    throw new TensorIoError(
      `${where}: .npy dtype "${descr}" is not supported; use int8/16/32/64, uint8/16/32/64, float16/32/64 or bool`,
    );
  }
  if (match[1] === ">" && size > 1) {
    throw new TensorIoError(
      `${where}: the array is big-endian ("${descr}"); save it little-endian (a.astype(a.dtype.newbyteorder("<")))`,
    );
  }
  const dims = shape as number[];
  const expected = elementCount(dims) * size;
  const actual = bytes.length - dataStart;
  if (actual !== expected) {
    throw new TensorIoError(
      `${where}: .npy data is ${actual} bytes, but ${descr} with shape ${formatShape(dims)} needs ${expected}`,
    );
  }
  return { dtype, shape: dims, data: bytes.slice(dataStart) };
}

/** Encodes a host tensor as an .npy file: format 1.0 (2.0 if the header is too long), 64-byte aligned. */
export function encodeNpy(tensor: HostTensor): Uint8Array {
  const shape = formatShape(tensor.shape);
  const dict = `{'descr': '${npyDescr(tensor.dtype)}', 'fortran_order': False, 'shape': ${shape}, }`;
  const expected = storageBytes(parseDType(tensor.dtype), tensor.shape);
  if (tensor.data.length !== expected) {
    throw new TensorIoError(
      `cannot write ${tensor.dtype} ${shape}: data is ${tensor.data.length} bytes, expected ${expected}`,
    );
  }
  let major = 1;
  let prefix = 10;
  let padded = Math.ceil((prefix + dict.length + 1) / 64) * 64 - prefix;
  if (padded > 0xffff) {
    major = 2;
    prefix = 12;
    padded = Math.ceil((prefix + dict.length + 1) / 64) * 64 - prefix;
  }
  const header = dict.padEnd(padded - 1, " ") + "\n";
  const out = new Uint8Array(prefix + padded + tensor.data.length);
  out.set(NPY_MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, padded, true);
  else view.setUint32(8, padded, true);
  out.set(new TextEncoder().encode(header), prefix);
  out.set(tensor.data, prefix + padded);
  return out;
}

// ---- JSON ----------------------------------------------------------------------------------------------

/** Flattens nested arrays, returning the values and the nested shape. */
function flattenJson(value: unknown, where: string): { values: unknown[]; shape: number[] } {
  if (!Array.isArray(value)) return { values: [value], shape: [] };
  if (value.length === 0) return { values: [], shape: [0] };
  const parts = value.map((v) => flattenJson(v, where));
  const inner = parts[0]!.shape;
  parts.forEach((p, i) => {
    if (p.shape.join(",") !== inner.join(",")) {
      throw new TensorIoError(
        `${where}: ragged nested array (element ${i} has shape ${formatShape(p.shape)}, element 0 has ${formatShape(inner)})`,
      );
    }
  });
  return { values: parts.flatMap((p) => p.values), shape: [value.length, ...inner] };
}

/**
 * Parses JSON tensor data: a flat array (of `prod(shape)` numbers) or a nested array whose shape equals
 * `shape`. 64-bit integers may be given as decimal strings.
 */
export function parseTensorJson(
  text: string,
  expected: { dtype: string | DLDataType; shape: readonly number[] },
  where = "JSON data",
): HostTensor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new TensorIoError(`${where}: not valid JSON (${(error as Error).message})`, undefined, {
      cause: error,
    });
  }
  if (!Array.isArray(parsed)) throw new TensorIoError(`${where}: expected a JSON array of numbers`);
  const { values, shape } = flattenJson(parsed, where);
  const isFlat = !parsed.some(Array.isArray);
  if (!isFlat && shape.join(",") !== expected.shape.join(",")) {
    throw new TensorIoError(
      `${where}: nested array has shape ${formatShape(shape)}, expected ${formatShape(expected.shape)} (or give a flat array of ${elementCount(expected.shape)} numbers)`,
    );
  }
  values.forEach((v, i) => {
    if (typeof v !== "number" && typeof v !== "string" && typeof v !== "boolean") {
      throw new TensorIoError(`${where}: element ${i} is ${JSON.stringify(v)}, not a number`);
    }
  });
  return tensorFromValues(values as (number | string | boolean)[], expected.dtype, expected.shape, where);
}

/** JSON text for a tensor: nested arrays following its shape; 64-bit integers beyond 2^53 as strings. */
export function encodeTensorJson(tensor: HostTensor): string {
  const flat = tensorValues(tensor).map((v) =>
    typeof v === "bigint"
      ? v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(v)
        : v.toString()
      : v,
  );
  const nest = (offset: number, dims: readonly number[]): unknown => {
    if (dims.length === 0) return flat[offset];
    const step = elementCount(dims.slice(1));
    return Array.from({ length: dims[0]! }, (_, k) => nest(offset + k * step, dims.slice(1)));
  };
  return JSON.stringify(nest(0, tensor.shape)) + "\n";
}

// ---- files ---------------------------------------------------------------------------------------------

function formatOf(path: string, format: TensorFileFormat): Exclude<TensorFileFormat, "auto"> {
  if (format !== "auto") return format;
  const ext = extname(path).toLowerCase();
  return ext === ".npy" ? "npy" : ext === ".json" ? "json" : "bin";
}

/**
 * Decodes tensor bytes read from a file against what the model expects. A raw file must be exactly
 * `prod(shape) × element size` bytes; an .npy file must carry the same dtype and shape.
 */
export function decodeTensor(
  bytes: Uint8Array,
  expected: { dtype: string | DLDataType; shape: readonly number[] },
  format: Exclude<TensorFileFormat, "auto">,
  where: string,
): HostTensor {
  const dtype = toDType(expected.dtype);
  const dtypeName = formatDType(dtype);
  checkShape(expected.shape, where);
  if (format === "bin") {
    const size = storageBytes(dtype, expected.shape);
    if (bytes.length !== size) {
      throw new TensorIoError(
        `${where}: raw file is ${bytes.length} bytes, but ${dtypeName} with shape ${formatShape(expected.shape)} needs ${size} (${elementCount(expected.shape)} × ${elementBytes(dtype)}); check the input's dtype and shape, or give an .npy file`,
        where,
      );
    }
    return { dtype: dtypeName, shape: [...expected.shape], data: bytes };
  }
  if (format === "json") return parseTensorJson(new TextDecoder().decode(bytes), expected, where);
  const tensor = parseNpy(bytes, where);
  if (!dtypeEquals(parseDType(tensor.dtype), dtype)) {
    throw new TensorIoError(
      `${where}: the array's dtype is ${tensor.dtype}, the input needs ${dtypeName}; convert it (a.astype("${dtypeName}")) before saving`,
      where,
    );
  }
  if (tensor.shape.join(",") !== expected.shape.join(",")) {
    throw new TensorIoError(
      `${where}: the array's shape is ${formatShape(tensor.shape)}, the input needs ${formatShape(expected.shape)}; reshape it before saving`,
      where,
    );
  }
  return tensor;
}

/** Reads a tensor file (.bin/raw, .npy or .json) for an input of known dtype and shape. */
export async function readTensorFile(
  path: string,
  expected: { dtype: string | DLDataType; shape: readonly number[] },
  format: TensorFileFormat = "auto",
): Promise<HostTensor> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (error as Error).message;
    throw new TensorIoError(`cannot read input file ${path}: ${why}`, path, { cause: error });
  }
  return decodeTensor(
    new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    expected,
    formatOf(path, format),
    path,
  );
}

/** Encodes a tensor in a file format. */
export function encodeTensor(tensor: HostTensor, format: Exclude<TensorFileFormat, "auto">): Uint8Array {
  if (format === "npy") return encodeNpy(tensor);
  if (format === "json") return new TextEncoder().encode(encodeTensorJson(tensor));
  return tensor.data;
}

/** Writes a tensor to a file (.bin raw bytes, .npy, .json); written whole or not at all. */
export async function writeTensorFile(
  path: string,
  tensor: HostTensor,
  format: TensorFileFormat = "auto",
): Promise<void> {
  const bytes = encodeTensor(tensor, formatOf(path, format));
  const temporary = `${path}.partial-${process.pid}`;
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new TensorIoError(`cannot write output file ${path}: ${(error as Error).message}`, path, {
      cause: error,
    });
  }
}
