// The minRPC client: one request in flight, typed syscalls, CallFunc return decoding, chunked copies.
import {
  Arg,
  copyOverheadBytes,
  decodeReply,
  encodeCallFunc,
  encodeCopyFromRemote,
  encodeCopyToRemote,
  encodeShutdown,
  encodeSyscall,
  RpcCode,
  TypeCode,
  type DLTensor,
  type RpcReply,
  type RpcValue,
} from "./codec.js";
import { parseDType, storageBytes, type DLDataType } from "../dtype/index.js";
import { CPU_DEVICE, type Device } from "./device.js";
import { RpcChannelError, RpcDeviceError, RpcProtocolError, RpcUsageError } from "./errors.js";

/**
 * What the client needs from the layer below: send one minRPC packet, resolve with the reply packet.
 * At most one request is in flight at a time (the client guarantees it). A rejection (timeout, closed
 * session) is wrapped in RpcChannelError and disables the client.
 */
export interface PacketChannel {
  request(packet: Uint8Array, timeoutMs?: number): Promise<Uint8Array>;
  /**
   * Optional: sends packets back to back and resolves with their replies in order (each within
   * `timeoutMs`). The client uses it only with devices that take pipelined requests.
   */
  requestMany?(packets: readonly Uint8Array[], timeoutMs?: number): Promise<Uint8Array[]>;
  /** Sends a packet that has no reply (only kShutdown). Optional; without it `shutdown()` refuses. */
  send?(packet: Uint8Array): Promise<void>;
}

/** What `packetChannelOverMessages` needs: send one Normal message body, wait for the next one. */
export interface MessageEndpoint {
  send(body: Uint8Array): Promise<void>;
  receive(timeoutSec?: number | null): Promise<Uint8Array>;
  /** Optional: send then receive, in fewer round trips where the endpoint can (Session.request). */
  request?(body: Uint8Array, timeoutSec?: number | null): Promise<Uint8Array>;
  /** Optional: several sends, then as many receives (Session.requestMany). */
  requestMany?(bodies: readonly Uint8Array[], timeoutSec?: number | null): Promise<Uint8Array[]>;
}

/**
 * A PacketChannel over a message endpoint (a session) whose Normal messages each carry exactly one minRPC
 * packet: a request is one message out, its reply is the next message in.
 */
export function packetChannelOverMessages(endpoint: MessageEndpoint): PacketChannel {
  return {
    async request(packet, timeoutMs) {
      const timeoutSec = timeoutMs === undefined ? undefined : timeoutMs / 1000;
      if (endpoint.request) return endpoint.request(packet, timeoutSec);
      await endpoint.send(packet);
      return endpoint.receive(timeoutSec);
    },
    ...(endpoint.requestMany && {
      requestMany: (packets: readonly Uint8Array[], timeoutMs?: number) =>
        endpoint.requestMany!(packets, timeoutMs === undefined ? undefined : timeoutMs / 1000),
    }),
    send: (packet) => endpoint.send(packet),
  };
}

/** One exchange, for tracing and byte counting. */
export interface RpcTraceEvent {
  readonly operation: string;
  readonly sentBytes: number;
  readonly receivedBytes: number;
  readonly milliseconds: number;
}

export interface RpcClientOptions {
  /** Reply timeout per request, passed to the channel. Default: the channel's own. */
  readonly timeoutMs?: number;
  /** Overrides the device's packet-size query (`tvm.rpc.server.GetCRTMaxPacketSize`). */
  readonly maxTransferBytes?: number;
  /** Called after every exchange. */
  readonly trace?: (event: RpcTraceEvent) => void;
}

/** A decoded CallFunc result: a value of the real return type, or an NDArray with its release handle. */
export type RpcReturn =
  RpcValue | { readonly type: "ndarray"; readonly value: DLTensor; readonly handle: bigint };

/** Values of FreeHandle's type-code argument the device accepts; any other value trips a check and hangs it. */
const FREEABLE_TYPE_CODES: readonly number[] = [
  TypeCode.NDArrayHandle,
  TypeCode.PackedFuncHandle,
  TypeCode.ModuleHandle,
  TypeCode.ObjectHandle,
];

const float32: DLDataType = parseDType("float32");

/**
 * Most bytes of pipelined requests sent after the first of a burst: they wait in the device's
 * receive buffer while it works on the first. The smallest, the micro:bit's 256-byte UART ring,
 * holds them even framed and with every byte escaped. (A `run` call and a 2-d output copy: 92.)
 */
const PIPELINE_BYTES = 100;

/** One request of RpcClient.pipeline: its packet, its name in errors, and how its reply is read. */
export interface PipelinedRequest<T> {
  readonly packet: Uint8Array;
  readonly operation: string;
  /** Turns the (non-exception) reply into the result; throws when the reply is not the expected one. */
  readonly read: (reply: RpcReply) => T;
}

/** Requests in bursts: each as long as the bytes after its first stay within PIPELINE_BYTES. */
function splitBursts<T>(requests: readonly PipelinedRequest<T>[]): PipelinedRequest<T>[][] {
  const bursts: PipelinedRequest<T>[][] = [];
  let after = 0;
  for (const request of requests) {
    const current = bursts.at(-1);
    if (current && after + request.packet.length <= PIPELINE_BYTES) {
      current.push(request);
      after += request.packet.length;
    } else {
      bursts.push([request]);
      after = 0;
    }
  }
  return bursts;
}

/** Requests up to this many bytes fit any device (TVM's smallest packet buffers are hundreds of bytes). */
const SMALL_PACKET_BYTES = 128;

/** Decodes a kCallFunc reply: `[Int rc, value…]` (docs/rpc.md, "The minRPC wire format") into the real return value. */
export function decodeCallReturn(values: readonly RpcValue[], context: string): RpcReturn {
  const head = values[0];
  if (head?.type !== "int") {
    throw new RpcProtocolError(
      `${context}: a CallFunc reply starts with an Int return type code, got [${values.map((v) => v.type).join(", ")}]`,
    );
  }
  const rc = Number(head.value);
  const rest = values.slice(1);
  const shape = rest.map((v) => v.type).join(", ");
  const bad = (expected: string) =>
    new RpcProtocolError(
      `${context}: return type code ${rc} must be followed by ${expected}, got [${shape}]`,
    );
  switch (rc) {
    case TypeCode.Null:
      if (rest.length === 0 || (rest.length === 1 && rest[0]!.type === "null")) return { type: "null" };
      throw bad("one Null");
    case TypeCode.NDArrayHandle: {
      const [tensor, handle] = rest;
      if (rest.length !== 2 || tensor?.type !== "tensor" || handle?.type !== "handle") {
        throw bad("a DLTensor and an OpaqueHandle");
      }
      return { type: "ndarray", value: tensor.value, handle: handle.value };
    }
    case TypeCode.ModuleHandle:
    case TypeCode.PackedFuncHandle:
    case TypeCode.ObjectHandle: {
      const [handle] = rest;
      if (rest.length !== 1 || handle?.type !== "handle") throw bad("one OpaqueHandle");
      const type =
        rc === TypeCode.ModuleHandle ? "module" : rc === TypeCode.PackedFuncHandle ? "function" : "object";
      return { type, value: handle.value };
    }
    case TypeCode.Int:
    case TypeCode.UInt:
    case TypeCode.Float:
    case TypeCode.OpaqueHandle:
    case TypeCode.DataType:
    case TypeCode.DLDevice:
    case TypeCode.Str:
    case TypeCode.Bytes:
    case TypeCode.Bool: {
      const [value] = rest;
      const expectedType = {
        [TypeCode.Int]: "int",
        [TypeCode.UInt]: "uint",
        [TypeCode.Float]: "float",
        [TypeCode.OpaqueHandle]: "handle",
        [TypeCode.DataType]: "dtype",
        [TypeCode.DLDevice]: "device",
        [TypeCode.Str]: "str",
        [TypeCode.Bytes]: "bytes",
        [TypeCode.Bool]: "bool",
      }[rc];
      if (rest.length !== 1 || value?.type !== expectedType) throw bad(`one value of type code ${rc}`);
      return value;
    }
    default:
      throw new RpcProtocolError(`${context}: unknown return type code ${rc}`);
  }
}

/** The host end of minRPC over a PacketChannel. */
export class RpcClient {
  private tail: Promise<unknown> = Promise.resolve();
  /** Requests queued or running (see inTurn). */
  private pending = 0;
  private failure: RpcChannelError | undefined;
  private maxTransfer: Promise<number> | undefined;
  private pipelining: Promise<boolean> | undefined;
  private readonly internalGlobals = new Map<string, Promise<bigint | undefined>>();
  /** Counters over the client's lifetime. */
  readonly stats = { requests: 0, bytesSent: 0, bytesReceived: 0 };

  constructor(
    readonly channel: PacketChannel,
    private readonly options: RpcClientOptions = {},
  ) {
    if (options.maxTransferBytes !== undefined) {
      if (!Number.isSafeInteger(options.maxTransferBytes) || options.maxTransferBytes <= 0) {
        throw new RpcUsageError(
          `maxTransferBytes must be a positive integer, got ${options.maxTransferBytes}`,
        );
      }
      this.maxTransfer = Promise.resolve(options.maxTransferBytes);
    }
  }

  /** Set once a request got no reply; every later request fails with it. */
  get broken(): RpcChannelError | undefined {
    return this.failure;
  }

  /** Sends one packet and waits for its reply, after every earlier request has finished. */
  exchange(packet: Uint8Array, operation: string): Promise<Uint8Array> {
    return this.inTurn(async (): Promise<Uint8Array> => (await this.transfer([packet], [operation]))[0]!);
  }

  /**
   * Runs `run` after every earlier request has finished: at once when none is pending (a
   * round trip's worth of promise turns saved on every call), otherwise queued behind them.
   */
  private inTurn<T>(run: () => Promise<T>): Promise<T> {
    const result = this.pending === 0 ? run() : this.tail.then(run, run);
    this.pending++;
    const done = () => {
      this.pending--;
    };
    this.tail = result.then(done, done);
    return result;
  }

  /**
   * Whether requests may go out back to back: only to our runtime (it answers
   * `microtvm.rpc.max_packet_size`), which serves each message of a burst in turn. TVM's CRT
   * gets one request at a time.
   */
  private takesPipelining(): Promise<boolean> {
    this.pipelining ??= this.channel.requestMany
      ? this.internalGlobal("microtvm.rpc.max_packet_size").then(
          (handle) => handle !== undefined,
          () => false,
        )
      : Promise.resolve(false);
    return this.pipelining;
  }

  /**
   * Runs requests in order and returns what each one's `read` made of its reply. To a device
   * that takes it, a run of requests goes out in one burst, and their replies come back in one
   * exchange; a burst ends where the bytes after its first packet would pass PIPELINE_BYTES, so
   * that a board's receive buffer holds them while it works on the first. Stops after the burst
   * in which a request failed (on the device, or in `read`) and throws that error; later
   * requests of its burst were still served, and their replies are read and dropped.
   */
  async pipeline<T>(requests: readonly PipelinedRequest<T>[]): Promise<T[]> {
    // Asked before queueing: these are requests of their own.
    const pipelined = await this.takesPipelining();
    for (const request of requests) await this.checkFits(request.packet, request.operation);
    const run = async (): Promise<T[]> => {
      const bursts = pipelined ? splitBursts(requests) : requests.map((r) => [r]);
      const results: T[] = [];
      for (const burst of bursts) {
        const replies = await this.transfer(
          burst.map((r) => r.packet),
          burst.map((r) => r.operation),
        );
        let failure: { error: unknown } | undefined;
        burst.forEach((request, i) => {
          if (failure) return;
          try {
            const reply = decodeReply(replies[i]!, `reply to ${request.operation}`);
            if (reply.kind === "exception") throw new RpcDeviceError(request.operation, reply.message);
            results.push(request.read(reply));
          } catch (error) {
            failure = { error };
          }
        });
        if (failure) throw failure.error;
      }
      return results;
    };
    return this.inTurn(run);
  }

  /** Sends packets (one, or a burst) and returns their replies; see exchange() for failures. */
  private async transfer(
    packets: readonly Uint8Array[],
    operations: readonly string[],
  ): Promise<Uint8Array[]> {
    const operation = operations.length === 1 ? operations[0]! : operations.join(", ");
    if (this.failure) {
      throw new RpcChannelError(`${operation} not sent: ${this.failure.message}`, { cause: this.failure });
    }
    const started = performance.now();
    let replies: Uint8Array[];
    try {
      replies =
        packets.length === 1
          ? [await this.channel.request(packets[0]!, this.options.timeoutMs)]
          : await this.channel.requestMany!(packets, this.options.timeoutMs);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      // A lost frame or a closed transport is its own fault, not a hung device.
      const known = error instanceof Error && /^Session(Frame|Transport|Terminated)Error$/.test(error.name);
      const hint = known
        ? "a new session is needed"
        : "the device may be hung and need a reset, then a new session";
      this.failure = new RpcChannelError(`${operation} got no reply (${detail}); ${hint}`, {
        cause: error,
      });
      throw this.failure;
    }
    const milliseconds = performance.now() - started;
    packets.forEach((packet, i) => {
      this.stats.requests += 1;
      this.stats.bytesSent += packet.length;
      this.stats.bytesReceived += replies[i]!.length;
      this.options.trace?.({
        operation: operations[i]!,
        sentBytes: packet.length,
        receivedBytes: replies[i]!.length,
        milliseconds,
      });
    });
    return replies;
  }

  private async exchangeReply(packet: Uint8Array, operation: string): Promise<RpcReply> {
    const reply = decodeReply(await this.exchange(packet, operation), `reply to ${operation}`);
    if (reply.kind === "exception") throw new RpcDeviceError(operation, reply.message);
    return reply;
  }

  /**
   * Refuses a request the device cannot receive: a packet longer than its limit is silently lost and the
   * device then waits for ever. Packets up to SMALL_PACKET_BYTES go without asking the limit first.
   */
  private checkFits(packet: Uint8Array, operation: string): Promise<void> | undefined {
    if (packet.length - 8 <= SMALL_PACKET_BYTES) return undefined;
    return this.checkFitsLarge(packet, operation);
  }

  private async checkFitsLarge(packet: Uint8Array, operation: string): Promise<void> {
    const max = await this.maxTransferSize();
    if (packet.length - 8 > max) {
      throw new RpcUsageError(
        `${operation}: the request is ${packet.length - 8} bytes but the device accepts at most ${max} per packet; only tensor copies are split, so shorten the arguments or build the firmware with a larger TVM_CRT_MAX_PACKET_SIZE_BYTES`,
      );
    }
  }

  /** kCallFunc on a function handle; returns the decoded real return value. */
  async call(
    handle: bigint,
    args: readonly RpcValue[],
    operation = `CallFunc 0x${handle.toString(16)}`,
  ): Promise<RpcReturn> {
    const request = this.callRequest(handle, args, operation);
    const fits = this.checkFits(request.packet, operation);
    if (fits) await fits;
    const reply = await this.exchangeReply(request.packet, operation);
    return request.read(reply);
  }

  /** The request of call(), for pipeline(). */
  callRequest(
    handle: bigint,
    args: readonly RpcValue[],
    operation = `CallFunc 0x${handle.toString(16)}`,
  ): PipelinedRequest<RpcReturn> {
    return {
      packet: encodeCallFunc(handle, args),
      operation,
      read: (reply) => {
        if (reply.kind !== "return") {
          throw new RpcProtocolError(`reply to ${operation}: expected kReturn, got ${reply.kind}`);
        }
        return decodeCallReturn(reply.values, `reply to ${operation}`);
      },
    };
  }

  /** A syscall; the reply must be kReturn with exactly one value of the expected type. */
  async syscall<T extends RpcValue["type"]>(
    code: number,
    args: readonly RpcValue[],
    expected: T,
    operation: string,
  ): Promise<Extract<RpcValue, { type: T }>> {
    const packet = encodeSyscall(code, args);
    await this.checkFits(packet, operation);
    const reply = await this.exchangeReply(packet, operation);
    const value = reply.kind === "return" && reply.values.length === 1 ? reply.values[0] : undefined;
    if (value?.type !== expected) {
      const got = reply.kind === "return" ? `[${reply.values.map((v) => v.type).join(", ")}]` : reply.kind;
      throw new RpcProtocolError(`reply to ${operation}: expected one ${expected} value, got ${got}`);
    }
    return value as Extract<RpcValue, { type: T }>;
  }

  /** GetGlobalFunc: the function handle, or undefined when the device has no such global (handle 0). */
  async getGlobalFunc(name: string): Promise<bigint | undefined> {
    const shown = name.length > 80 ? `${name.slice(0, 77)}...` : name;
    const result = await this.syscall(
      RpcCode.GetGlobalFunc,
      [Arg.str(name)],
      "handle",
      `GetGlobalFunc("${shown}")`,
    );
    return result.value === 0n ? undefined : result.value;
  }

  /** GetGlobalFunc for a runtime-internal global, looked up once per client. */
  internalGlobal(name: string): Promise<bigint | undefined> {
    let found = this.internalGlobals.get(name);
    if (!found) {
      found = this.getGlobalFunc(name);
      this.internalGlobals.set(name, found);
      found.catch(() => this.internalGlobals.delete(name));
    }
    return found;
  }

  /**
   * FreeHandle(handle, typeCode). Only 13 (NDArray), 10 (function), 9 (module) and 8 (object) are valid.
   * A no-op once the client is broken (see `release`).
   */
  async freeHandle(handle: bigint, typeCode: number): Promise<void> {
    if (!FREEABLE_TYPE_CODES.includes(typeCode)) {
      throw new RpcUsageError(
        `FreeHandle type code ${typeCode} is not one the device accepts (13 NDArray, 10 function, 9 module, 8 object); it would hang the device`,
      );
    }
    await this.release(
      RpcCode.FreeHandle,
      [Arg.handle(handle), Arg.int(typeCode)],
      `FreeHandle(0x${handle.toString(16)}, ${typeCode})`,
    );
  }

  /** DevAllocData(device, nbytes, alignment, type hint): a device pointer. */
  async devAllocData(
    nbytes: number,
    options: { alignment?: number; typeHint?: DLDataType; device?: Device } = {},
  ): Promise<bigint> {
    const alignment = options.alignment ?? 64;
    if (!Number.isSafeInteger(nbytes) || nbytes < 0)
      throw new RpcUsageError(`DevAllocData: bad size ${nbytes}`);
    if (!Number.isSafeInteger(alignment) || alignment <= 0) {
      throw new RpcUsageError(`DevAllocData: alignment must be a positive integer, got ${alignment}`);
    }
    const result = await this.syscall(
      RpcCode.DevAllocData,
      [
        Arg.device(options.device ?? CPU_DEVICE),
        Arg.int(nbytes),
        Arg.int(alignment),
        Arg.dtype(options.typeHint ?? float32),
      ],
      "handle",
      `DevAllocData(${nbytes} bytes)`,
    );
    if (result.value === 0n && nbytes > 0) {
      throw new RpcDeviceError(`DevAllocData(${nbytes} bytes)`, "the device returned a null pointer");
    }
    return result.value;
  }

  /** DevFreeData(device, pointer); a no-op once the client is broken (see `release`). */
  async devFreeData(pointer: bigint, device: Device = CPU_DEVICE): Promise<void> {
    await this.release(
      RpcCode.DevFreeData,
      [Arg.device(device), Arg.handle(pointer)],
      `DevFreeData(0x${pointer.toString(16)})`,
    );
  }

  /**
   * A FreeHandle or DevFreeData, skipped once the client is broken (also when it was queued behind
   * the request that broke it): the device has to be reset, which releases everything, and the
   * clean-up's "not sent" error would hide the failure that broke the channel.
   */
  private async release(code: number, args: readonly RpcValue[], operation: string): Promise<void> {
    if (this.failure) return;
    try {
      await this.syscall(code, args, "null", operation);
    } catch (error) {
      if (error instanceof RpcChannelError && this.failure && error !== this.failure) return;
      throw error;
    }
  }

  /** DevAllocDataWithScope(template tensor, scope): a device pointer sized for the template's shape and dtype. */
  async devAllocDataWithScope(
    template: { shape: readonly number[]; dtype: DLDataType; device?: Device },
    scope?: string,
  ): Promise<bigint> {
    const tensor: DLTensor = {
      data: 0n,
      device: template.device ?? CPU_DEVICE,
      dtype: template.dtype,
      shape: template.shape,
      byteOffset: 0,
    };
    const operation = `DevAllocDataWithScope(${template.shape.join("x") || "scalar"})`;
    const result = await this.syscall(
      RpcCode.DevAllocDataWithScope,
      [Arg.tensor(tensor), scope === undefined ? Arg.null() : Arg.str(scope)],
      "handle",
      operation,
    );
    if (result.value === 0n && storageBytes(template.dtype, template.shape) > 0) {
      throw new RpcDeviceError(operation, "the device returned a null pointer");
    }
    return result.value;
  }

  /** CopyAmongRemote(from, to, stream 0): copies the full size of `from` on the device. */
  async copyAmongRemote(from: DLTensor, to: DLTensor): Promise<void> {
    await this.syscall(
      RpcCode.CopyAmongRemote,
      [Arg.tensor(from), Arg.tensor(to), Arg.handle(0n)],
      "null",
      `CopyAmongRemote(0x${from.data.toString(16)} → 0x${to.data.toString(16)})`,
    );
  }

  /**
   * The largest packet the device accepts (`M`), queried once: through our firmware's
   * `microtvm.rpc.max_packet_size` (its whole session buffer), else TVM's
   * `tvm.rpc.server.GetCRTMaxPacketSize` (which our firmware caps at what TVM's own host can
   * receive); Infinity when the device has neither.
   */
  maxTransferSize(): Promise<number> {
    if (!this.maxTransfer) {
      const query = async () => {
        for (const name of ["microtvm.rpc.max_packet_size", "tvm.rpc.server.GetCRTMaxPacketSize"]) {
          const handle = await this.internalGlobal(name);
          if (handle === undefined) continue;
          const result = await this.call(handle, [], `CallFunc ${name}`);
          if (result.type !== "int" || result.value <= 0n) {
            throw new RpcProtocolError(
              `${name} returned ${result.type === "int" ? result.value : result.type}; expected a positive Int`,
            );
          }
          return Number(result.value);
        }
        return Infinity;
      };
      this.maxTransfer = query();
      this.maxTransfer.catch(() => (this.maxTransfer = undefined));
    }
    return this.maxTransfer;
  }

  private async chunkSize(tensor: DLTensor, what: string): Promise<number> {
    const max = await this.maxTransferSize();
    const overhead = copyOverheadBytes(tensor.shape.length);
    if (max <= overhead) {
      throw new RpcProtocolError(
        `${what}: the device's packet limit (${max} bytes) does not exceed the ${overhead}-byte copy header of a ${tensor.shape.length}-d tensor`,
      );
    }
    return max - overhead;
  }

  private checkCopyBounds(tensor: DLTensor, nbytes: number, what: string): void {
    const size = storageBytes(tensor.dtype, tensor.shape);
    if (tensor.byteOffset + nbytes > size) {
      throw new RpcUsageError(
        `${what}: byte_offset ${tensor.byteOffset} + ${nbytes} bytes exceeds the tensor's ${size} bytes (shape [${tensor.shape.join(", ")}])`,
      );
    }
  }

  /** Writes `bytes` to the tensor's memory (at its byte_offset), chunked to the device's packet limit. */
  async copyToRemote(tensor: DLTensor, bytes: Uint8Array): Promise<void> {
    await this.pipeline(await this.copyToRemoteRequests(tensor, bytes));
  }

  /** The requests of copyToRemote, for pipeline(). */
  async copyToRemoteRequests(tensor: DLTensor, bytes: Uint8Array): Promise<PipelinedRequest<void>[]> {
    const what = `CopyToRemote(0x${tensor.data.toString(16)})`;
    this.checkCopyBounds(tensor, bytes.length, what);
    const block = await this.chunkSize(tensor, what);
    const requests: PipelinedRequest<void>[] = [];
    for (let start = 0; start < bytes.length; start += block) {
      const chunk = bytes.subarray(start, Math.min(start + block, bytes.length));
      requests.push({
        packet: encodeCopyToRemote({ ...tensor, byteOffset: tensor.byteOffset + start }, chunk),
        operation: `${what} chunk at +${start}`,
        read: (reply) => {
          if (reply.kind !== "return" || reply.values.length !== 1 || reply.values[0]!.type !== "null")
            throw new RpcProtocolError(`reply to ${what}: expected kReturn with one Null value`);
        },
      });
    }
    return requests;
  }

  /** Reads `nbytes` (default: the whole tensor) from the tensor's memory, chunked to the device's packet limit. */
  async copyFromRemote(
    tensor: DLTensor,
    nbytes = storageBytes(tensor.dtype, tensor.shape) - tensor.byteOffset,
  ): Promise<Uint8Array> {
    const copy = await this.copyFromRemoteRequests(tensor, nbytes);
    await this.pipeline(copy.requests);
    return copy.bytes;
  }

  /** The requests of copyFromRemote, for pipeline(), and the bytes they fill in. */
  async copyFromRemoteRequests(
    tensor: DLTensor,
    nbytes = storageBytes(tensor.dtype, tensor.shape) - tensor.byteOffset,
  ): Promise<{ requests: PipelinedRequest<void>[]; bytes: Uint8Array }> {
    const what = `CopyFromRemote(0x${tensor.data.toString(16)})`;
    this.checkCopyBounds(tensor, nbytes, what);
    const block = await this.chunkSize(tensor, what);
    const out = new Uint8Array(nbytes);
    const requests: PipelinedRequest<void>[] = [];
    for (let start = 0; start < nbytes; start += block) {
      const length = Math.min(block, nbytes - start);
      requests.push({
        packet: encodeCopyFromRemote({ ...tensor, byteOffset: tensor.byteOffset + start }, length),
        operation: `${what} chunk at +${start}`,
        read: (reply) => {
          if (reply.kind !== "copyAck")
            throw new RpcProtocolError(`reply to ${what}: expected kCopyAck, got ${reply.kind}`);
          if (reply.data.length !== length) {
            throw new RpcProtocolError(
              `reply to ${what}: asked for ${length} bytes, kCopyAck carries ${reply.data.length}`,
            );
          }
          out.set(reply.data, start);
        },
      });
    }
    return { requests, bytes: out };
  }

  /**
   * Sends kShutdown (no reply): the device frees its arena and stops serving. Waits for earlier requests.
   * Needs a channel with `send`.
   */
  async shutdown(): Promise<void> {
    const send = this.channel.send?.bind(this.channel);
    if (!send)
      throw new RpcUsageError("this packet channel cannot send a packet without a reply; kShutdown not sent");
    const run = async () => {
      await send(encodeShutdown());
      this.failure ??= new RpcChannelError("the device was shut down with kShutdown");
    };
    return this.inTurn(run);
  }
}
