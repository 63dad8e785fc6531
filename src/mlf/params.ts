import { MlfError } from "./errors.js";
import {
  elementCount,
  formatDType,
  isDTypeCode,
  parseDType,
  typedArrayOver,
  type TensorData,
} from "../dtype/index.js";

/** Magic of TVM's NDArray list (`relay.save_param_dict`). */
export const PARAMS_LIST_MAGIC = 0xf7e58d4f05049cb7n;
/** Magic of one serialized NDArray. */
export const NDARRAY_MAGIC = 0xdd5e40f096b4a13fn;

/** One named parameter: dtype, shape and its data as a typed array (and the raw bytes). */
export interface MlfParameter {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly bytes: number;
  readonly data: TensorData;
  readonly raw: Uint8Array;
}

/** Parses a `.params` file into its parameters, in file order. */
export function parseParams(buf: Uint8Array, file = "parameters"): MlfParameter[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  const fail = (why: string): never => {
    throw new MlfError("bad-file", `${file}: ${why} (at byte ${pos})`, file);
  };
  const need = (n: number) => {
    if (pos + n > buf.length) fail(`truncated: needs ${n} more bytes, has ${buf.length - pos}`);
  };
  const u64 = (): bigint => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    return v;
  };
  const count = (what: string): number => {
    const v = u64();
    if (v > BigInt(buf.length)) fail(`${what} ${v} is larger than the file`);
    return Number(v);
  };
  const i32 = (): number => {
    need(4);
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };
  if (buf.length < 8 || u64() !== PARAMS_LIST_MAGIC) {
    pos = 0;
    fail("not a TVM parameter file (the list magic b7 9c 04 05 4f 8d e5 f7 is missing)");
  }
  u64(); // reserved
  const nameCount = count("name count");
  const names: string[] = [];
  for (let i = 0; i < nameCount; i++) {
    const len = count("name length");
    need(len);
    names.push(Buffer.from(buf.subarray(pos, pos + len)).toString("utf8"));
    pos += len;
  }
  const arrayCount = count("array count");
  if (arrayCount !== nameCount) fail(`${nameCount} names but ${arrayCount} arrays`);
  const out: MlfParameter[] = [];
  for (let i = 0; i < arrayCount; i++) {
    if (u64() !== NDARRAY_MAGIC) {
      pos -= 8;
      fail(`array ${names[i]} lacks the NDArray magic`);
    }
    u64(); // reserved
    i32(); // device_type
    i32(); // device_id
    const ndim = i32();
    if (ndim < 0 || ndim > 32) fail(`array ${names[i]} has ndim ${ndim}`);
    need(4);
    const code = buf[pos]!;
    const bits = buf[pos + 1]!;
    const lanes = view.getUint16(pos + 2, true);
    pos += 4;
    const shape: number[] = [];
    for (let d = 0; d < ndim; d++) {
      need(8);
      const dim = view.getBigInt64(pos, true);
      pos += 8;
      if (dim < 0n || dim > BigInt(Number.MAX_SAFE_INTEGER)) fail(`array ${names[i]} has dimension ${dim}`);
      shape.push(Number(dim));
    }
    const byteSize = count(`array ${names[i]} data size`);
    if (!isDTypeCode(code)) fail(`array ${names[i]} has dtype code ${code}, which no DLDataType has`);
    const expected = paramDataBytes(bits, shape);
    if (byteSize !== expected)
      fail(`array ${names[i]} says ${byteSize} data bytes, its shape needs ${expected}`);
    need(byteSize);
    const dtype = formatDType({ code, bits, lanes });
    const raw = new Uint8Array(buf.subarray(pos, pos + byteSize));
    pos += byteSize;
    out.push({
      name: names[i]!,
      dtype,
      shape,
      bytes: byteSize,
      data: typedArrayOver(dtype, raw.slice()) ?? raw.slice(),
      raw,
    });
  }
  if (pos !== buf.length) fail(`${buf.length - pos} trailing bytes after the last array`);
  return out;
}

/**
 * Data bytes of one array in a params file: elements × ceil(bits / 8). TVM's NDArray serializer sizes it so,
 * without the lanes; files it writes say so, and files it reads must.
 */
function paramDataBytes(bits: number, shape: readonly number[]): number {
  return Math.ceil(bits / 8) * elementCount(shape);
}

/** A parameter to serialize: dtype, shape and the little-endian bytes. */
export interface ParamInput {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data: Uint8Array | ArrayBufferView;
}

/** Serializes parameters in TVM's NDArray-list format; an empty list gives the 32-byte file. */
export function serializeParams(params: readonly ParamInput[]): Buffer {
  const parts: Buffer[] = [];
  const u64 = (v: bigint | number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    parts.push(b);
  };
  u64(PARAMS_LIST_MAGIC);
  u64(0);
  u64(params.length);
  for (const p of params) {
    const name = Buffer.from(p.name, "utf8");
    u64(name.length);
    parts.push(name);
  }
  u64(params.length);
  for (const p of params) {
    let d;
    try {
      d = parseDType(p.dtype);
    } catch (error) {
      throw new MlfError("bad-input", `parameter ${p.name}: ${(error as Error).message}`);
    }
    const data = Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength);
    const expected = paramDataBytes(d.bits, p.shape);
    if (data.length !== expected)
      throw new MlfError(
        "bad-input",
        `parameter ${p.name}: ${data.length} data bytes, ${p.dtype}${JSON.stringify(p.shape)} needs ${expected}`,
      );
    u64(NDARRAY_MAGIC);
    u64(0);
    const head = Buffer.alloc(16 + 8 * p.shape.length);
    head.writeInt32LE(1, 0); // device_type kDLCPU
    head.writeInt32LE(0, 4); // device_id
    head.writeInt32LE(p.shape.length, 8);
    head.writeUInt8(d.code, 12);
    head.writeUInt8(d.bits, 13);
    head.writeUInt16LE(d.lanes, 14);
    p.shape.forEach((dim, i) => head.writeBigInt64LE(BigInt(dim), 16 + 8 * i));
    parts.push(head);
    u64(data.length);
    parts.push(data);
  }
  return Buffer.concat(parts);
}
