// minRPC packet codec: envelope, packed sequences, DLTensor wire struct, requests and replies
// (the layout is in docs/rpc.md, "The minRPC wire format").
// Pure functions over bytes; every multi-byte integer is little-endian.
import type { DLDataType } from "../dtype/index.js";
import type { Device } from "./device.js";
import { RpcProtocolError, RpcUsageError } from "./errors.js";

/** RPCCode values (`rpc_reference.h`). */
export const RpcCode = {
  None: 0,
  Shutdown: 1,
  InitServer: 2,
  CallFunc: 3,
  Return: 4,
  Exception: 5,
  CopyFromRemote: 6,
  CopyToRemote: 7,
  CopyAck: 8,
  GetGlobalFunc: 9,
  FreeHandle: 10,
  DevSetDevice: 11,
  DevGetAttr: 12,
  DevAllocData: 13,
  DevFreeData: 14,
  DevStreamSync: 15,
  CopyAmongRemote: 16,
  DevAllocDataWithScope: 17,
  DevCreateStream: 18,
  DevFreeStream: 19,
  DevSetStream: 20,
  DevGetCurrentStream: 21,
} as const;
export type RpcCodeValue = (typeof RpcCode)[keyof typeof RpcCode];

/** TVMArgTypeCode values. */
export const TypeCode = {
  Int: 0,
  UInt: 1,
  Float: 2,
  OpaqueHandle: 3,
  Null: 4,
  DataType: 5,
  DLDevice: 6,
  DLTensorHandle: 7,
  ObjectHandle: 8,
  ModuleHandle: 9,
  PackedFuncHandle: 10,
  Str: 11,
  Bytes: 12,
  NDArrayHandle: 13,
  ObjectRValueRefArg: 14,
  Bool: 15,
} as const;

/** `type_index` of RPCObjectRef, the only object an ObjectHandle (8) may carry on the wire. */
export const RPC_OBJECT_REF_TYPE_INDEX = 9;

/** A DLTensor as it travels: the remote data pointer plus shape/dtype; strides are never sent. */
export interface DLTensor {
  /** Device address of the data (a remote pointer; opaque to the host). */
  readonly data: bigint;
  readonly device: Device;
  readonly dtype: DLDataType;
  readonly shape: readonly number[];
  /** Byte offset from `data`. */
  readonly byteOffset: number;
  /** Must be absent or null: the wire format has no strides (compact row-major only). */
  readonly strides?: readonly number[] | null;
}

/** One value of a packed sequence, tagged with its wire type. */
export type RpcValue =
  | { readonly type: "int"; readonly value: bigint }
  | { readonly type: "uint"; readonly value: bigint }
  | { readonly type: "float"; readonly value: number }
  | { readonly type: "handle"; readonly value: bigint }
  | { readonly type: "null" }
  | { readonly type: "dtype"; readonly value: DLDataType }
  | { readonly type: "device"; readonly value: Device }
  | { readonly type: "tensor"; readonly value: DLTensor }
  | { readonly type: "object"; readonly value: bigint }
  | { readonly type: "module"; readonly value: bigint }
  | { readonly type: "function"; readonly value: bigint }
  | { readonly type: "str"; readonly value: string }
  | { readonly type: "bytes"; readonly value: Uint8Array }
  | { readonly type: "bool"; readonly value: boolean };

/** Constructors for tagged values. */
export const Arg = {
  int: (value: number | bigint): RpcValue => ({ type: "int", value: toI64(value, "Int argument") }),
  uint: (value: number | bigint): RpcValue => ({ type: "uint", value: toU64(value, "UInt argument") }),
  float: (value: number): RpcValue => ({ type: "float", value }),
  handle: (value: bigint): RpcValue => ({ type: "handle", value }),
  null: (): RpcValue => ({ type: "null" }),
  dtype: (value: DLDataType): RpcValue => ({ type: "dtype", value }),
  device: (value: Device): RpcValue => ({ type: "device", value }),
  tensor: (value: DLTensor): RpcValue => ({ type: "tensor", value }),
  object: (value: bigint): RpcValue => ({ type: "object", value }),
  module: (value: bigint): RpcValue => ({ type: "module", value }),
  function: (value: bigint): RpcValue => ({ type: "function", value }),
  str: (value: string): RpcValue => ({ type: "str", value }),
  bytes: (value: Uint8Array): RpcValue => ({ type: "bytes", value }),
  /** Type code 15. Only devices from TVM v0.17 on understand it; older ones hang. Prefer `Arg.int(0|1)`. */
  bool: (value: boolean): RpcValue => ({ type: "bool", value }),
} as const;

const typeCodeOf: Record<RpcValue["type"], number> = {
  int: TypeCode.Int,
  uint: TypeCode.UInt,
  float: TypeCode.Float,
  handle: TypeCode.OpaqueHandle,
  null: TypeCode.Null,
  dtype: TypeCode.DataType,
  device: TypeCode.DLDevice,
  tensor: TypeCode.DLTensorHandle,
  object: TypeCode.ObjectHandle,
  module: TypeCode.ModuleHandle,
  function: TypeCode.PackedFuncHandle,
  str: TypeCode.Str,
  bytes: TypeCode.Bytes,
  bool: TypeCode.Bool,
};

/** The wire type code of a value. */
export function typeCodeOfValue(value: RpcValue): number {
  return typeCodeOf[value.type];
}

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function toI64(value: number | bigint, what: string): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new RpcUsageError(
      `${what} ${value} is not an integer that fits in a JavaScript number; pass a bigint`,
    );
  }
  const big = BigInt(value);
  if (big < I64_MIN || big > I64_MAX) throw new RpcUsageError(`${what} ${big} does not fit in int64`);
  return big;
}

function toU64(value: number | bigint, what: string): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new RpcUsageError(
      `${what} ${value} is not an integer that fits in a JavaScript number; pass a bigint`,
    );
  }
  const big = BigInt(value);
  if (big < 0n || big > U64_MAX) throw new RpcUsageError(`${what} ${big} does not fit in uint64`);
  return big;
}

/**
 * `size` uninitialised bytes from Node's allocation pool, as a plain Uint8Array: packets are
 * small, and a typed array of their own (or a DataView over one) costs about a microsecond each.
 * (src/protocol's allocBytes; minRPC does not depend on the Project API layers.)
 */
function poolBytes(size: number): Uint8Array {
  const pooled = Buffer.allocUnsafe(size);
  return new Uint8Array(pooled.buffer, pooled.byteOffset, size);
}

/** A growable little-endian byte writer. */
export class ByteWriter {
  private buffer = poolBytes(64);
  private view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
  private length = 0;

  private reserve(extra: number): number {
    const at = this.length;
    const needed = at + extra;
    if (needed > this.buffer.length) {
      let size = this.buffer.length * 2;
      while (size < needed) size *= 2;
      const grown = poolBytes(size);
      grown.set(this.buffer.subarray(0, at));
      this.buffer = grown;
      this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
    }
    this.length = needed;
    return at;
  }

  u8(value: number): this {
    const at = this.reserve(1);
    this.view.setUint8(at, value);
    return this;
  }
  u16(value: number): this {
    const at = this.reserve(2);
    this.view.setUint16(at, value, true);
    return this;
  }
  i32(value: number): this {
    const at = this.reserve(4);
    this.view.setInt32(at, value, true);
    return this;
  }
  u32(value: number): this {
    const at = this.reserve(4);
    this.view.setUint32(at, value, true);
    return this;
  }
  i64(value: bigint): this {
    const at = this.reserve(8);
    this.view.setBigInt64(at, value, true);
    return this;
  }
  u64(value: bigint | number): this {
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt(value), true);
    return this;
  }
  f64(value: number): this {
    const at = this.reserve(8);
    this.view.setFloat64(at, value, true);
    return this;
  }
  bytes(value: Uint8Array): this {
    const at = this.reserve(value.length);
    this.buffer.set(value, at);
    return this;
  }
  get size(): number {
    return this.length;
  }
  /** Overwrites the u64 at `at` (a length known only once the body is written). */
  setU64(at: number, value: bigint): this {
    this.view.setBigUint64(at, value, true);
    return this;
  }
  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    const out = poolBytes(this.length);
    out.set(this.buffer.subarray(0, this.length));
    return out;
  }
}

/** A bounds-checked little-endian reader; running off the end is a protocol error naming what was read. */
export class ByteReader {
  private readonly view: DataView;
  offset = 0;

  constructor(
    readonly packet: Uint8Array,
    private readonly context: string,
  ) {
    this.view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  }

  private take(n: number, what: string): number {
    if (this.offset + n > this.packet.length) {
      throw new RpcProtocolError(
        `${this.context}: truncated while reading ${what} (needs ${n} bytes at offset ${this.offset}, packet has ${this.packet.length})`,
        this.packet,
      );
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  u8(what: string): number {
    return this.view.getUint8(this.take(1, what));
  }
  u16(what: string): number {
    return this.view.getUint16(this.take(2, what), true);
  }
  i32(what: string): number {
    return this.view.getInt32(this.take(4, what), true);
  }
  u32(what: string): number {
    return this.view.getUint32(this.take(4, what), true);
  }
  i64(what: string): bigint {
    return this.view.getBigInt64(this.take(8, what), true);
  }
  u64(what: string): bigint {
    return this.view.getBigUint64(this.take(8, what), true);
  }
  f64(what: string): number {
    return this.view.getFloat64(this.take(8, what), true);
  }
  bytes(n: number, what: string): Uint8Array {
    const at = this.take(n, what);
    return this.packet.slice(at, at + n);
  }
  /** A u64 length that must fit in the rest of the packet. */
  length(what: string): number {
    const n = this.u64(`${what} length`);
    const left = this.packet.length - this.offset;
    if (n > BigInt(left)) {
      throw new RpcProtocolError(
        `${this.context}: ${what} declares ${n} bytes but only ${left} remain in the packet`,
        this.packet,
      );
    }
    return Number(n);
  }
  get remaining(): number {
    return this.packet.length - this.offset;
  }
}

/** Wire size of a DLTensor: 32 + 8·ndim bytes. */
export function dlTensorWireSize(ndim: number): number {
  return 32 + 8 * ndim;
}

/** The RPC session mask (device type + 128 × (index + 1)) is host-local; only the base type is sent. */
function wireDeviceType(deviceType: number): number {
  return deviceType >= 128 ? deviceType % 128 : deviceType;
}

function writeDevice(w: ByteWriter, device: Device): void {
  w.i32(wireDeviceType(device.deviceType)).i32(device.deviceId);
}

function writeDType(w: ByteWriter, dtype: DLDataType): void {
  if (![dtype.code, dtype.bits].every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) {
    throw new RpcUsageError(
      `dtype {code ${dtype.code}, bits ${dtype.bits}} does not fit the wire's u8 fields`,
    );
  }
  if (!Number.isInteger(dtype.lanes) || dtype.lanes < 0 || dtype.lanes > 65535) {
    throw new RpcUsageError(`dtype lanes ${dtype.lanes} does not fit the wire's u16 field`);
  }
  w.u8(dtype.code).u8(dtype.bits).u16(dtype.lanes);
}

/** Writes the DLTensor wire struct. Refuses strides: the wire cannot carry them. */
export function writeDLTensor(w: ByteWriter, tensor: DLTensor): void {
  if (tensor.strides != null) {
    throw new RpcUsageError(
      "a DLTensor with strides cannot be sent; minRPC carries compact row-major tensors only (copy it into a compact tensor first)",
    );
  }
  w.u64(tensor.data);
  writeDevice(w, tensor.device);
  w.i32(tensor.shape.length);
  writeDType(w, tensor.dtype);
  for (const dim of tensor.shape) w.i64(toI64(dim, "shape dimension"));
  w.u64(toU64(tensor.byteOffset, "byte_offset"));
}

function safeNumber(value: bigint, what: string, reader: ByteReader, context: string): number {
  if (value < BigInt(Number.MIN_SAFE_INTEGER) || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RpcProtocolError(`${context}: ${what} ${value} is out of the supported range`, reader.packet);
  }
  return Number(value);
}

/** Reads the DLTensor wire struct. */
export function readDLTensor(r: ByteReader, context: string): DLTensor {
  const data = r.u64("DLTensor.data");
  const device = { deviceType: r.i32("DLTensor.device_type"), deviceId: r.i32("DLTensor.device_id") };
  const ndim = r.i32("DLTensor.ndim");
  if (ndim < 0 || ndim * 8 > r.remaining) {
    throw new RpcProtocolError(`${context}: DLTensor.ndim ${ndim} does not fit in the packet`, r.packet);
  }
  const dtype = { code: r.u8("dtype.code"), bits: r.u8("dtype.bits"), lanes: r.u16("dtype.lanes") };
  const shape: number[] = [];
  for (let i = 0; i < ndim; i++) shape.push(safeNumber(r.i64(`shape[${i}]`), `shape[${i}]`, r, context));
  const byteOffset = safeNumber(r.u64("DLTensor.byte_offset"), "byte_offset", r, context);
  return { data, device, dtype, shape, byteOffset };
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: false });

/** Writes a packed sequence: i32 num_args, i32 type codes, then each value. */
export function writePackedSeq(w: ByteWriter, values: readonly RpcValue[]): void {
  w.i32(values.length);
  for (const v of values) w.i32(typeCodeOf[v.type]);
  for (const v of values) {
    switch (v.type) {
      case "int":
        w.i64(toI64(v.value, "Int argument"));
        break;
      case "uint":
      case "handle":
      case "module":
      case "function":
        w.u64(toU64(v.value, `${v.type} argument`));
        break;
      case "float":
        w.f64(v.value);
        break;
      case "null":
        break;
      case "dtype":
        writeDType(w, v.value);
        w.u32(0);
        break;
      case "device":
        writeDevice(w, v.value);
        break;
      case "tensor":
        writeDLTensor(w, v.value);
        break;
      case "object":
        w.u32(RPC_OBJECT_REF_TYPE_INDEX).u64(toU64(v.value, "object handle"));
        break;
      case "str": {
        const bytes = utf8.encode(v.value);
        w.u64(bytes.length).bytes(bytes);
        break;
      }
      case "bytes":
        w.u64(v.value.length).bytes(v.value);
        break;
      case "bool":
        w.i64(v.value ? 1n : 0n);
        break;
    }
  }
}

/** Reads a packed sequence. Codes 13 and 14 never travel on the wire and are protocol errors. */
export function readPackedSeq(r: ByteReader, context: string): RpcValue[] {
  const count = r.i32("num_args");
  if (count < 0 || count * 4 > r.remaining) {
    throw new RpcProtocolError(`${context}: num_args ${count} does not fit in the packet`, r.packet);
  }
  const codes: number[] = [];
  for (let i = 0; i < count; i++) codes.push(r.i32(`type_codes[${i}]`));
  return codes.map((code, i): RpcValue => {
    const what = `value ${i} (type code ${code})`;
    switch (code) {
      case TypeCode.Int:
        return { type: "int", value: r.i64(what) };
      case TypeCode.UInt:
        return { type: "uint", value: r.u64(what) };
      case TypeCode.Float:
        return { type: "float", value: r.f64(what) };
      case TypeCode.OpaqueHandle:
        return { type: "handle", value: r.u64(what) };
      case TypeCode.Null:
        return { type: "null" };
      case TypeCode.DataType: {
        const value = { code: r.u8(what), bits: r.u8(what), lanes: r.u16(what) };
        r.u32(`${what} padding`);
        return { type: "dtype", value };
      }
      case TypeCode.DLDevice:
        return { type: "device", value: { deviceType: r.i32(what), deviceId: r.i32(what) } };
      case TypeCode.DLTensorHandle:
        return { type: "tensor", value: readDLTensor(r, context) };
      case TypeCode.ObjectHandle: {
        const typeIndex = r.u32(`${what} type_index`);
        if (typeIndex !== RPC_OBJECT_REF_TYPE_INDEX) {
          throw new RpcProtocolError(
            `${context}: ${what} has type_index ${typeIndex}; only RPCObjectRef (${RPC_OBJECT_REF_TYPE_INDEX}) may travel`,
            r.packet,
          );
        }
        return { type: "object", value: r.u64(what) };
      }
      case TypeCode.ModuleHandle:
        return { type: "module", value: r.u64(what) };
      case TypeCode.PackedFuncHandle:
        return { type: "function", value: r.u64(what) };
      case TypeCode.Str:
        return { type: "str", value: utf8Decoder.decode(r.bytes(r.length(what), what)) };
      case TypeCode.Bytes:
        return { type: "bytes", value: r.bytes(r.length(what), what) };
      case TypeCode.Bool:
        return { type: "bool", value: r.i64(what) !== 0n };
      default:
        throw new RpcProtocolError(
          `${context}: ${what} cannot travel on the wire (known codes are 0–12 and 15)`,
          r.packet,
        );
    }
  });
}

/** Wraps a body into a packet: u64 L, i32 code, body. */
function packet(code: number, body: (w: ByteWriter) => void): Uint8Array {
  const w = new ByteWriter();
  w.u64(0).i32(code);
  body(w);
  return w.setU64(0, BigInt(w.size - 8)).finish();
}

/** Values built by hand in plain JavaScript can carry any tag; only wire-legal ones may be encoded. */
function checkKnownTypes(values: readonly RpcValue[]): void {
  for (const v of values) {
    if (!(v.type in typeCodeOf)) throw new RpcUsageError(`unknown argument type "${String(v.type)}"`);
  }
}

/** kCallFunc: `u64 L | i32 3 | u64 handle | packed args`. */
export function encodeCallFunc(handle: bigint, args: readonly RpcValue[]): Uint8Array {
  checkKnownTypes(args);
  return packet(RpcCode.CallFunc, (w) => {
    w.u64(toU64(handle, "function handle"));
    writePackedSeq(w, args);
  });
}

/** A syscall (codes ≥ 9): `u64 L | i32 code | packed args`. */
export function encodeSyscall(code: number, args: readonly RpcValue[]): Uint8Array {
  if (code < RpcCode.GetGlobalFunc || code > RpcCode.DevGetCurrentStream) {
    throw new RpcUsageError(`RPC code ${code} is not a syscall (syscalls are 9–21)`);
  }
  checkKnownTypes(args);
  return packet(code, (w) => writePackedSeq(w, args));
}

/** kCopyToRemote: `u64 L | i32 7 | DLTensor | u64 nbytes | bytes`; the device writes at data + byte_offset. */
export function encodeCopyToRemote(tensor: DLTensor, bytes: Uint8Array): Uint8Array {
  return packet(RpcCode.CopyToRemote, (w) => {
    writeDLTensor(w, tensor);
    w.u64(bytes.length).bytes(bytes);
  });
}

/** kCopyFromRemote: `u64 L | i32 6 | DLTensor | u64 nbytes`; the device reads from data + byte_offset. */
export function encodeCopyFromRemote(tensor: DLTensor, nbytes: number): Uint8Array {
  return packet(RpcCode.CopyFromRemote, (w) => {
    writeDLTensor(w, tensor);
    w.u64(toU64(nbytes, "nbytes"));
  });
}

/** kShutdown: `u64 4 | i32 1`. The device sends no reply. */
export function encodeShutdown(): Uint8Array {
  return packet(RpcCode.Shutdown, () => {});
}

/** Bytes of kCopyToRemote / kCopyFromRemote that are not payload: 44 + 8·ndim (counts the code, not L). */
export function copyOverheadBytes(ndim: number): number {
  return 4 + dlTensorWireSize(ndim) + 8;
}

/** A decoded reply packet. */
export type RpcReply =
  | { readonly kind: "return"; readonly values: RpcValue[] }
  | { readonly kind: "exception"; readonly message: string }
  | { readonly kind: "copyAck"; readonly data: Uint8Array };

/**
 * Decodes a reply packet (kReturn, kException or kCopyAck). The declared length must match the packet
 * exactly; anything else is an RpcProtocolError.
 */
export function decodeReply(packetBytes: Uint8Array, context = "reply"): RpcReply {
  const r = new ByteReader(packetBytes, context);
  const declared = r.u64("packet length");
  if (declared !== BigInt(packetBytes.length - 8)) {
    throw new RpcProtocolError(
      `${context}: packet declares ${declared} bytes after the length but carries ${packetBytes.length - 8}`,
      packetBytes,
    );
  }
  const code = r.i32("RPC code");
  let reply: RpcReply;
  switch (code) {
    case RpcCode.Return:
      reply = { kind: "return", values: readPackedSeq(r, context) };
      break;
    case RpcCode.Exception: {
      const values = readPackedSeq(r, context);
      const first = values[0];
      if (values.length !== 1 || first?.type !== "str") {
        throw new RpcProtocolError(
          `${context}: kException must carry exactly one Str value, got [${values.map((v) => v.type).join(", ")}]`,
          packetBytes,
        );
      }
      reply = { kind: "exception", message: first.value };
      break;
    }
    case RpcCode.CopyAck:
      reply = { kind: "copyAck", data: r.bytes(r.remaining, "copy data") };
      break;
    default:
      throw new RpcProtocolError(
        `${context}: unexpected RPC code ${code} (a reply is kReturn 4, kException 5 or kCopyAck 8)`,
        packetBytes,
      );
  }
  if (r.remaining !== 0) {
    throw new RpcProtocolError(
      `${context}: ${r.remaining} unexpected bytes after the reply body`,
      packetBytes,
    );
  }
  return reply;
}

/** Encodes a kReturn reply (used by test doubles and to build golden vectors). */
export function encodeReturn(values: readonly RpcValue[]): Uint8Array {
  return packet(RpcCode.Return, (w) => writePackedSeq(w, values));
}

/** Encodes a kException reply carrying a message. */
export function encodeException(message: string): Uint8Array {
  return packet(RpcCode.Exception, (w) => writePackedSeq(w, [{ type: "str", value: message }]));
}

/** Encodes a kCopyAck reply carrying data. */
export function encodeCopyAck(data: Uint8Array): Uint8Array {
  return packet(RpcCode.CopyAck, (w) => w.bytes(data));
}

/** A decoded request (the device's view; used by test doubles and tracing). */
export type RpcRequest =
  | { readonly kind: "callFunc"; readonly handle: bigint; readonly args: RpcValue[] }
  | { readonly kind: "syscall"; readonly code: number; readonly args: RpcValue[] }
  | { readonly kind: "copyToRemote"; readonly tensor: DLTensor; readonly data: Uint8Array }
  | { readonly kind: "copyFromRemote"; readonly tensor: DLTensor; readonly nbytes: number }
  | { readonly kind: "shutdown" };

/** Decodes a host-to-device request packet. */
export function decodeRequest(packetBytes: Uint8Array, context = "request"): RpcRequest {
  const r = new ByteReader(packetBytes, context);
  const declared = r.u64("packet length");
  if (declared !== BigInt(packetBytes.length - 8)) {
    throw new RpcProtocolError(
      `${context}: packet declares ${declared} bytes after the length but carries ${packetBytes.length - 8}`,
      packetBytes,
    );
  }
  const code = r.i32("RPC code");
  let request: RpcRequest;
  if (code === RpcCode.CallFunc) {
    request = { kind: "callFunc", handle: r.u64("function handle"), args: readPackedSeq(r, context) };
  } else if (code >= RpcCode.GetGlobalFunc && code <= RpcCode.DevGetCurrentStream) {
    request = { kind: "syscall", code, args: readPackedSeq(r, context) };
  } else if (code === RpcCode.CopyToRemote) {
    const tensor = readDLTensor(r, context);
    request = { kind: "copyToRemote", tensor, data: r.bytes(r.length("copy data"), "copy data") };
  } else if (code === RpcCode.CopyFromRemote) {
    const tensor = readDLTensor(r, context);
    request = { kind: "copyFromRemote", tensor, nbytes: Number(r.u64("nbytes")) };
  } else if (code === RpcCode.Shutdown) {
    request = { kind: "shutdown" };
  } else {
    throw new RpcProtocolError(`${context}: RPC code ${code} is not a host-to-device request`, packetBytes);
  }
  if (r.remaining !== 0) {
    throw new RpcProtocolError(
      `${context}: ${r.remaining} unexpected bytes after the request body`,
      packetBytes,
    );
  }
  return request;
}
