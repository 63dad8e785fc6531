// Remote objects: functions, modules and NDArrays that live on the device, with their handle lifetimes.
import { Arg, TypeCode, type DLTensor, type RpcValue } from "./codec.js";
import { RpcClient, type RpcReturn } from "./client.js";
import { dtypeEquals, formatDType, storageBytes, toDType, type DLDataType } from "../dtype/index.js";
import { CPU_DEVICE, checkShape, type Device } from "./device.js";
import { RpcUsageError } from "./errors.js";
import type { HostTensor } from "./tensors.js";

/**
 * An argument of `RemoteFunction.call`. Plain values map as: integer number or bigint → Int (0), other number
 * → Float (2), boolean → Int 0/1 (devices before TVM v0.17 hang on Bool), string → Str, Uint8Array → Bytes,
 * null → Null; remote objects → their handle types; anything else: a tagged value from `Arg`.
 */
export type RemoteArg =
  | RpcValue
  | RemoteModule
  | RemoteFunction
  | RemoteNDArray
  | number
  | bigint
  | boolean
  | string
  | Uint8Array
  | null;

/** What `RemoteFunction.call` resolves with. Int/UInt/handle → bigint; Float → number. */
export type RemoteResult =
  | null
  | bigint
  | number
  | boolean
  | string
  | Uint8Array
  | DLDataType
  | Device
  | RemoteModule
  | RemoteFunction
  | RemoteNDArray
  | RemoteObject;

/** Converts a convenience argument to its tagged wire value. */
export function toRpcValue(arg: RemoteArg): RpcValue {
  if (arg === null) return Arg.null();
  if (arg instanceof RemoteModule) return Arg.module(arg.handle);
  if (arg instanceof RemoteFunction) return Arg.function(arg.handle);
  if (arg instanceof RemoteNDArray) return Arg.tensor(arg.tensor);
  if (arg instanceof Uint8Array) return Arg.bytes(arg);
  switch (typeof arg) {
    case "bigint":
      return Arg.int(arg);
    case "number":
      return Number.isInteger(arg) ? Arg.int(arg) : Arg.float(arg);
    case "boolean":
      return Arg.int(arg ? 1 : 0);
    case "string":
      return Arg.str(arg);
    default:
      return arg;
  }
}

/** The device's runtime seen from the host: globals, the system library, device memory. */
export class RemoteRuntime {
  private systemLibPromise: Promise<RemoteModule> | undefined;

  constructor(
    readonly client: RpcClient,
    readonly device: Device = CPU_DEVICE,
  ) {}

  /** A global function, or undefined when the device does not register it. */
  async getGlobalFunction(name: string): Promise<RemoteFunction | undefined> {
    const handle = await this.client.getGlobalFunc(name);
    return handle === undefined ? undefined : new RemoteFunction(this, handle, name);
  }

  /** A global function that must exist; the error names it. */
  async globalFunction(name: string): Promise<RemoteFunction> {
    const fn = await this.getGlobalFunction(name);
    if (!fn) {
      throw new RpcUsageError(
        `the device has no global function "${name}"; check that the firmware's runtime registers it`,
      );
    }
    return fn;
  }

  /** The system library module (`runtime.SystemLib()`), fetched once. */
  systemLib(): Promise<RemoteModule> {
    if (!this.systemLibPromise) {
      const fetch = async () => {
        const create = await this.globalFunction("runtime.SystemLib");
        const lib = await create.call();
        if (!(lib instanceof RemoteModule)) {
          throw new RpcUsageError(
            `runtime.SystemLib returned ${describe(lib)} instead of a module; the model must be built with a system library`,
          );
        }
        return new RemoteModule(this, lib.handle, "system lib", true);
      };
      this.systemLibPromise = fetch();
      this.systemLibPromise.catch(() => (this.systemLibPromise = undefined));
    }
    return this.systemLibPromise;
  }

  /** Allocates an empty tensor on the device (DevAllocDataWithScope, as `tvm.nd.empty` does). */
  async empty(shape: readonly number[], dtype: string | DLDataType): Promise<RemoteNDArray> {
    checkShape(shape, "empty tensor");
    const type = toDType(dtype);
    const data = await this.client.devAllocDataWithScope({ shape, dtype: type, device: this.device });
    return new RemoteNDArray(
      this,
      { data, device: this.device, dtype: type, shape: [...shape], byteOffset: 0 },
      {
        kind: "allocation",
      },
    );
  }

  /** Allocates a tensor on the device and copies a host tensor into it. */
  async array(host: HostTensor): Promise<RemoteNDArray> {
    const remote = await this.empty(host.shape, host.dtype);
    try {
      await remote.copyFrom(host.data);
    } catch (error) {
      await remote.free().catch(() => undefined);
      throw error;
    }
    return remote;
  }

  /** Wraps a CallFunc result in remote objects. */
  wrap(result: RpcReturn, origin: string): RemoteResult {
    switch (result.type) {
      case "null":
        return null;
      case "int":
      case "uint":
      case "handle":
        return result.value;
      case "float":
      case "str":
      case "bytes":
      case "bool":
      case "dtype":
      case "device":
        return result.value;
      case "module":
        return new RemoteModule(this, result.value, origin);
      case "function":
        return new RemoteFunction(this, result.value, origin);
      case "object":
        return new RemoteObject(this, result.value);
      case "ndarray":
        return new RemoteNDArray(this, result.value, { kind: "ndarray", handle: result.handle });
      case "tensor":
        // A bare DLTensor return is a borrowed view; nothing to release.
        return new RemoteNDArray(this, result.value, { kind: "borrowed" });
    }
  }
}

function describe(value: RemoteResult): string {
  if (value === null) return "null";
  if (typeof value === "object" && "constructor" in value) return value.constructor.name;
  return typeof value;
}

/** Base for objects that hold a device handle released with FreeHandle. */
abstract class RemoteHandle {
  private released = false;
  constructor(
    readonly runtime: RemoteRuntime,
    readonly handle: bigint,
    private readonly freeTypeCode: number,
  ) {}

  get freed(): boolean {
    return this.released;
  }

  /** Releases the device handle (FreeHandle); safe to call twice. */
  async free(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.runtime.client.freeHandle(this.handle, this.freeTypeCode);
  }
}

/** An object handle (type code 8, TVM v0.17 and later). */
export class RemoteObject extends RemoteHandle {
  constructor(runtime: RemoteRuntime, handle: bigint) {
    super(runtime, handle, TypeCode.ObjectHandle);
  }
}

/** A packed function on the device. */
export class RemoteFunction extends RemoteHandle {
  constructor(
    runtime: RemoteRuntime,
    handle: bigint,
    /** The name it was looked up by, for messages and the time evaluator. */
    readonly name: string,
    /** The module it came from, when it came from one (the time evaluator needs it). */
    readonly module?: RemoteModule,
  ) {
    super(runtime, handle, TypeCode.PackedFuncHandle);
  }

  /** Calls the function; see RemoteArg and RemoteResult for how values map. */
  async call(...args: RemoteArg[]): Promise<RemoteResult> {
    return this.runtime.wrap(await this.callRaw(args.map(toRpcValue)), this.name);
  }

  /** Calls the function with tagged arguments and returns the undecorated result. */
  callRaw(args: readonly RpcValue[]): Promise<RpcReturn> {
    return this.runtime.client.call(this.handle, args, `CallFunc ${this.name}`);
  }
}

/** A module on the device (the system library, an executor). */
export class RemoteModule extends RemoteHandle {
  constructor(
    runtime: RemoteRuntime,
    handle: bigint,
    readonly name: string,
    /** The system library is never freed by the device; free() skips it. */
    readonly isSystemLib = false,
  ) {
    super(runtime, handle, TypeCode.ModuleHandle);
  }

  /**
   * `tvm.rpc.server.ModuleGetFunction(module, name, query_imports)`; undefined when the module has no such
   * function. query_imports is sent as Int (type code 0): devices before TVM v0.17 ignore a Bool there.
   */
  async getFunction(name: string, queryImports = true): Promise<RemoteFunction | undefined> {
    const getter = await this.runtime.client.internalGlobal("tvm.rpc.server.ModuleGetFunction");
    if (getter === undefined) {
      throw new RpcUsageError(
        "the device has no tvm.rpc.server.ModuleGetFunction, so module functions cannot be looked up",
      );
    }
    const result = await this.runtime.client.call(
      getter,
      [Arg.module(this.handle), Arg.str(name), Arg.int(queryImports ? 1 : 0)],
      `ModuleGetFunction(${this.name}, "${name}")`,
    );
    if (result.type === "null") return undefined;
    if (result.type !== "function") {
      throw new RpcUsageError(
        `ModuleGetFunction(${this.name}, "${name}") returned ${result.type}, not a function`,
      );
    }
    return new RemoteFunction(this.runtime, result.value, name, this);
  }

  /** A function that must exist; the error names the module and the function. */
  async function(name: string): Promise<RemoteFunction> {
    const fn = await this.getFunction(name);
    if (!fn) throw new RpcUsageError(`the ${this.name} module on the device has no function "${name}"`);
    return fn;
  }

  override async free(): Promise<void> {
    if (this.isSystemLib) return;
    await super.free();
  }
}

/** How a RemoteNDArray's memory is released. */
export type NDArrayOwnership =
  /** Returned by a function as an NDArray: FreeHandle(handle, 13) drops the device's reference. */
  | { readonly kind: "ndarray"; readonly handle: bigint }
  /** Allocated by the host with DevAllocData*: DevFreeData releases it. */
  | { readonly kind: "allocation" }
  /** Memory owned by someone else (a graph storage view); free() does nothing. */
  | { readonly kind: "borrowed" };

/** A tensor whose data lives on the device. */
export class RemoteNDArray {
  private released = false;
  constructor(
    readonly runtime: RemoteRuntime,
    readonly tensor: DLTensor,
    readonly ownership: NDArrayOwnership,
  ) {}

  get shape(): readonly number[] {
    return this.tensor.shape;
  }
  get dtype(): DLDataType {
    return this.tensor.dtype;
  }
  get dtypeName(): string {
    return formatDType(this.tensor.dtype);
  }
  get nbytes(): number {
    return storageBytes(this.tensor.dtype, this.tensor.shape);
  }
  get freed(): boolean {
    return this.released;
  }

  /** Copies host bytes (exactly `nbytes` of them) into the tensor, chunked. */
  async copyFrom(data: Uint8Array | ArrayBufferView): Promise<void> {
    const bytes =
      data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.length !== this.nbytes) {
      throw new RpcUsageError(
        `cannot copy ${bytes.length} bytes into a ${this.dtypeName} tensor of shape [${this.shape.join(", ")}], which holds ${this.nbytes} bytes`,
      );
    }
    await this.runtime.client.copyToRemote(this.tensor, bytes);
  }

  /** Copies a host tensor in, checking its dtype and element count match. */
  async copyFromHost(host: HostTensor): Promise<void> {
    const dtype = toDType(host.dtype);
    if (!dtypeEquals(dtype, this.dtype)) {
      throw new RpcUsageError(
        `cannot copy a ${formatDType(dtype)} tensor into a ${this.dtypeName} tensor; convert it first`,
      );
    }
    await this.copyFrom(host.data);
  }

  /** Reads the whole tensor back. */
  copyTo(): Promise<Uint8Array> {
    return this.runtime.client.copyFromRemote(this.tensor, this.nbytes);
  }

  /** Reads the tensor back as a host tensor. */
  async toHost(): Promise<HostTensor> {
    return { dtype: this.dtypeName, shape: [...this.shape], data: await this.copyTo() };
  }

  /** Releases the device memory or reference; safe to call twice. */
  async free(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.ownership.kind === "ndarray") {
      await this.runtime.client.freeHandle(this.ownership.handle, TypeCode.NDArrayHandle);
    } else if (this.ownership.kind === "allocation") {
      await this.runtime.client.devFreeData(this.tensor.data, this.tensor.device);
    }
  }
}
