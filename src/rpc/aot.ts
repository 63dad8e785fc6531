// The AOT executor driven over RPC, following TVM's Python AOT executor in its lean, wire-compatible form.
import { withCleanup } from "./cleanup.js";
import { Arg } from "./codec.js";
import { formatDType, parseDType, dtypeEquals, storageBytes } from "../dtype/index.js";
import { formatShape } from "./device.js";
import type { PipelinedRequest, RpcReturn } from "./client.js";
import { RpcProtocolError, RpcUsageError } from "./errors.js";
import { RemoteFunction, RemoteModule, RemoteNDArray, type RemoteRuntime } from "./remote.js";
import type { HostTensor } from "./tensors.js";
import { timeEvaluator, type TimeEvaluatorOptions, type TimingResult } from "./timing.js";

/** Name, position, dtype and shape of an executor input or output. */
export interface TensorInfo {
  readonly name: string;
  readonly index: number;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly nbytes: number;
}

export interface AotExecutorOptions {
  /**
   * The MLF module name (`metadata.json`). TVM's Python hard-codes "default"; passing the real name makes
   * other module names work.
   */
  readonly moduleName?: string;
  /**
   * Input names in order, e.g. from MLF metadata. Needed for name lookups on devices whose executor lacks
   * `get_input_name` (TVM v0.10/v0.11); otherwise the device's names are used.
   */
  readonly inputNames?: readonly string[];
}

function toInt(value: unknown, what: string): number {
  if (typeof value !== "bigint")
    throw new RpcProtocolError(`${what} returned ${typeof value}; expected an Int`);
  return Number(value);
}

/** An AOT executor module on the device (`tvm.aot_executor.create`). */
export class AotExecutor {
  private inputInfoCache: TensorInfo[] | undefined;
  private outputInfoCache: TensorInfo[] | undefined;
  /**
   * The executor's input and output arrays, fetched once: they live (at fixed addresses) as long
   * as the executor does, so an inference is one copy in, `run` and one copy out instead of also
   * a get_input / get_output and a FreeHandle per tensor. Released by dispose().
   */
  private readonly inputArrays: (RemoteNDArray | undefined)[] = [];
  private readonly outputArrays: (RemoteNDArray | undefined)[] = [];

  private constructor(
    readonly runtime: RemoteRuntime,
    /** The executor module (`M_aot`). */
    readonly module: RemoteModule,
    readonly moduleName: string,
    private readonly fns: {
      getInput: RemoteFunction;
      getOutput: RemoteFunction;
      run: RemoteFunction;
      getInputName: RemoteFunction | undefined;
    },
    readonly numInputs: number,
    readonly numOutputs: number,
    /** Input names in order. */
    readonly inputNames: readonly string[],
  ) {}

  /**
   * System lib → `tvm.aot_executor.create(sys_lib, Device{1,0}, module_name)` → the executor's functions.
   * The device keeps one executor per boot (a second create fails).
   */
  static async create(runtime: RemoteRuntime, options: AotExecutorOptions = {}): Promise<AotExecutor> {
    const moduleName = options.moduleName ?? "default";
    const systemLib = await runtime.systemLib();
    const create = await runtime.getGlobalFunction("tvm.aot_executor.create");
    if (!create) {
      throw new RpcUsageError(
        "the device has no tvm.aot_executor.create; the firmware was built without the AOT executor",
      );
    }
    const created = await create.call(systemLib, Arg.device(runtime.device), moduleName);
    if (!(created instanceof RemoteModule)) {
      throw new RpcProtocolError(`tvm.aot_executor.create returned ${String(created)} instead of a module`);
    }
    const module = new RemoteModule(runtime, created.handle, `AOT executor "${moduleName}"`);
    const getInput = await module.function("get_input");
    const getOutput = await module.function("get_output");
    const run = await module.function("run");
    const getNumInputs = await module.function("get_num_inputs");
    const getNumOutputs = await module.function("get_num_outputs");
    const getInputName = await module.getFunction("get_input_name");
    const numInputs = toInt(await getNumInputs.call(), "get_num_inputs");
    const numOutputs = toInt(await getNumOutputs.call(), "get_num_outputs");
    await getNumInputs.free();
    await getNumOutputs.free();
    let inputNames: string[];
    if (getInputName) {
      inputNames = [];
      for (let i = 0; i < numInputs; i++) {
        const name = await getInputName.call(i);
        if (typeof name !== "string")
          throw new RpcProtocolError(`get_input_name(${i}) returned ${typeof name}; expected a Str`);
        inputNames.push(name);
      }
    } else {
      inputNames = options.inputNames ? [...options.inputNames] : [];
    }
    if (options.inputNames && options.inputNames.join("\n") !== inputNames.join("\n")) {
      throw new RpcUsageError(
        `the device's AOT module "${moduleName}" has inputs [${inputNames.join(", ")}], the model metadata says [${options.inputNames.join(", ")}]; is the firmware built from this model?`,
      );
    }
    if (inputNames.length !== 0 && inputNames.length !== numInputs) {
      throw new RpcUsageError(`${inputNames.length} input names given for ${numInputs} device inputs`);
    }
    return new AotExecutor(
      runtime,
      module,
      moduleName,
      { getInput, getOutput, run, getInputName },
      numInputs,
      numOutputs,
      inputNames,
    );
  }

  /** Resolves a name or index to a checked index (the device aborts on unknown names and misreads index == count). */
  inputIndex(key: string | number): number {
    if (typeof key === "number") {
      if (!Number.isInteger(key) || key < 0 || key >= this.numInputs) {
        throw new RpcUsageError(
          `input index ${key} is out of range; the model has ${this.numInputs} inputs (0–${this.numInputs - 1})`,
        );
      }
      return key;
    }
    if (this.inputNames.length === 0) {
      throw new RpcUsageError(
        `cannot look up input "${key}" by name: this device's executor has no get_input_name; pass inputNames from the model metadata, or use an index`,
      );
    }
    const index = this.inputNames.indexOf(key);
    if (index < 0) {
      throw new RpcUsageError(
        `the model has no input "${key}"; its inputs are: ${this.inputNames.join(", ")}`,
      );
    }
    return index;
  }

  private async tensorAt(fn: RemoteFunction, index: number): Promise<RemoteNDArray> {
    const result = await fn.call(index);
    if (!(result instanceof RemoteNDArray)) {
      throw new RpcProtocolError(`${fn.name}(${index}) returned ${String(result)}; expected an NDArray`);
    }
    return result;
  }

  private async cachedArray(
    cache: (RemoteNDArray | undefined)[],
    fn: RemoteFunction,
    index: number,
  ): Promise<RemoteNDArray> {
    return (cache[index] ??= await this.tensorAt(fn, index));
  }

  private async infoOf(fn: RemoteFunction, index: number, name: string): Promise<TensorInfo> {
    const array = await this.tensorAt(fn, index);
    return withCleanup(
      () =>
        Promise.resolve({
          name,
          index,
          dtype: array.dtypeName,
          shape: [...array.shape],
          nbytes: array.nbytes,
        }),
      () => array.free(),
    );
  }

  /** dtype and shape of every input, read from the device's tensors (cached). */
  async inputs(): Promise<TensorInfo[]> {
    if (!this.inputInfoCache) {
      const infos: TensorInfo[] = [];
      for (let i = 0; i < this.numInputs; i++) {
        infos.push(await this.infoOf(this.fns.getInput, i, this.inputNames[i] ?? `input_${i}`));
      }
      this.inputInfoCache = infos;
    }
    return this.inputInfoCache;
  }

  /** dtype and shape of every output (cached); names are `output_<i>` (the device has none). */
  async outputs(): Promise<TensorInfo[]> {
    if (!this.outputInfoCache) {
      const infos: TensorInfo[] = [];
      for (let j = 0; j < this.numOutputs; j++)
        infos.push(await this.infoOf(this.fns.getOutput, j, `output_${j}`));
      this.outputInfoCache = infos;
    }
    return this.outputInfoCache;
  }

  /**
   * Copies an input into the device's input tensor: a chunked copy into the array `get_input(Int i)`
   * returned (fetched on first use).
   * A HostTensor must match the input's dtype and shape; raw bytes must match its byte size.
   */
  async setInput(key: string | number, value: HostTensor | Uint8Array): Promise<void> {
    const index = this.inputIndex(key);
    const array = await this.cachedArray(this.inputArrays, this.fns.getInput, index);
    await array.copyFrom(this.inputBytes(index, array, value));
  }

  /** The bytes of `value` for input `index`, checked against the device's input tensor. */
  private inputBytes(index: number, array: RemoteNDArray, value: HostTensor | Uint8Array): Uint8Array {
    const label = `input ${this.inputNames[index] ?? index}`;
    let bytes: Uint8Array;
    if (value instanceof Uint8Array) {
      bytes = value;
    } else {
      if (
        !dtypeEquals(parseDType(value.dtype), array.dtype) ||
        value.shape.join(",") !== array.shape.join(",")
      ) {
        throw new RpcUsageError(
          `${label} is ${array.dtypeName} ${formatShape(array.shape)}, the given tensor is ${formatDType(parseDType(value.dtype))} ${formatShape(value.shape)}`,
        );
      }
      bytes = value.data;
    }
    if (bytes.length !== array.nbytes) {
      throw new RpcUsageError(
        `${label} is ${array.dtypeName} ${formatShape(array.shape)} = ${array.nbytes} bytes, but ${bytes.length} bytes were given`,
      );
    }
    return bytes;
  }

  /**
   * set_input for every input (in input order), run, and get_output for every output, as one
   * RpcClient.pipeline: to our runtime that is one round trip for a small model, where the
   * three steps take three or more.
   */
  async infer(inputs: readonly (HostTensor | Uint8Array)[]): Promise<HostTensor[]> {
    if (inputs.length !== this.numInputs) {
      throw new RpcUsageError(`the model has ${this.numInputs} inputs, ${inputs.length} were given`);
    }
    const client = this.runtime.client;
    const requests: PipelinedRequest<unknown>[] = [];
    for (let index = 0; index < inputs.length; index++) {
      const array = await this.cachedArray(this.inputArrays, this.fns.getInput, index);
      const bytes = this.inputBytes(index, array, inputs[index]!);
      requests.push(...(await client.copyToRemoteRequests(array.tensor, bytes)));
    }
    const call = client.callRequest(this.fns.run.handle, [], `CallFunc ${this.fns.run.name}`);
    requests.push({
      ...call,
      read: (reply) => checkRunReturn(call.read(reply)),
    });
    const outputs: HostTensor[] = [];
    for (let j = 0; j < this.numOutputs; j++) {
      const array = await this.cachedArray(this.outputArrays, this.fns.getOutput, j);
      const copy = await client.copyFromRemoteRequests(array.tensor);
      requests.push(...copy.requests);
      outputs.push({ dtype: array.dtypeName, shape: [...array.shape], data: copy.bytes });
    }
    await client.pipeline(requests);
    return outputs;
  }

  /** Runs one inference (`run()`). */
  async run(): Promise<void> {
    checkRunReturn(await this.fns.run.callRaw([]));
  }

  /** Copies output `index` back: a chunked copy from the array `get_output(Int j)` returned (fetched on first use). */
  async getOutput(index: number): Promise<HostTensor> {
    if (!Number.isInteger(index) || index < 0 || index >= this.numOutputs) {
      throw new RpcUsageError(
        `output index ${index} is out of range; the model has ${this.numOutputs} outputs`,
      );
    }
    const array = await this.cachedArray(this.outputArrays, this.fns.getOutput, index);
    const data = await array.copyTo();
    if (data.length !== storageBytes(array.dtype, array.shape))
      throw new RpcProtocolError("short output copy");
    return { dtype: array.dtypeName, shape: [...array.shape], data };
  }

  /** All outputs in order. */
  async getOutputs(): Promise<HostTensor[]> {
    const outputs: HostTensor[] = [];
    for (let j = 0; j < this.numOutputs; j++) outputs.push(await this.getOutput(j));
    return outputs;
  }

  /** Times `run` on the device with runtime.RPCTimeEvaluator (as TVM's evaluation helper does). */
  async timeRun(options: TimeEvaluatorOptions = {}): Promise<TimingResult> {
    const evaluator = await timeEvaluator(this.fns.run, options);
    return withCleanup(
      () => evaluator.run(),
      () => evaluator.free(),
    );
  }

  /** Releases the arrays, function and module handles. The device still allows only one executor per boot. */
  async dispose(): Promise<void> {
    for (const cache of [this.inputArrays, this.outputArrays]) {
      for (const [i, array] of cache.entries()) {
        cache[i] = undefined;
        await array?.free();
      }
    }
    for (const fn of [this.fns.getInput, this.fns.getOutput, this.fns.run, this.fns.getInputName])
      await fn?.free();
    await this.module.free();
  }
}

/** `run` returns Null (or a zero); anything else means the executor did not run as asked. */
function checkRunReturn(result: RpcReturn): void {
  if (result.type === "null") return;
  const value = "value" in result && typeof result.value === "bigint" ? result.value : undefined;
  if (value === 0n && (result.type === "int" || result.type === "uint" || result.type === "handle")) return;
  throw new RpcProtocolError(
    `run returned ${result.type}${value === undefined ? "" : ` ${value}`}; expected Null`,
  );
}
