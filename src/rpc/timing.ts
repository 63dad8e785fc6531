// Device-side timing through runtime.RPCTimeEvaluator (docs/rpc.md, "Time evaluator") and host round-trip measurement.
import { Arg, type RpcValue } from "./codec.js";
import { RpcProtocolError, RpcUsageError } from "./errors.js";
import { RemoteFunction, toRpcValue, type RemoteArg } from "./remote.js";

export interface TimeEvaluatorOptions {
  /** Calls per repetition (Python's default 10). */
  readonly number?: number;
  /** Repetitions, one result each (default 1). */
  readonly repeat?: number;
  /** Grow `number` until one repetition takes at least this long (default 0). */
  readonly minRepeatMs?: number;
  /** Give up growing after this many repetitions that read exactly zero (default 100). */
  readonly limitZeroTimeIterations?: number;
  /** Sleep between repetitions; must stay 0 on MCUs (default 0). */
  readonly cooldownIntervalMs?: number;
  /** Sleep every this many repetitions (default 1). */
  readonly repeatsToCooldown?: number;
  /** Sent for TVM v0.14+ devices, which ignore it (default 0). */
  readonly cacheFlushBytes?: number;
  /** Argument list of the device's evaluator: 12 arguments from TVM v0.14 on, 11 before (default "v0.14"). */
  readonly argumentLayout?: "v0.14" | "v0.10";
}

/** Summary statistics in seconds, NumPy-style (population standard deviation). */
export interface TimingStats {
  readonly mean: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly std: number;
}

export interface TimingResult extends TimingStats {
  /** Mean seconds per call of each repetition, as the device measured it. */
  readonly results: number[];
  /** Host wall-clock seconds for the whole evaluator call (warm-up, all repetitions, RPC round trip). */
  readonly hostSeconds: number;
}

/** mean / median / min / max / std of a list of seconds. */
export function timingStats(values: readonly number[]): TimingStats {
  if (values.length === 0) return { mean: NaN, median: NaN, min: NaN, max: NaN, std: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
  return { mean, median, min: sorted[0]!, max: sorted[sorted.length - 1]!, std };
}

function nonNegativeInt(value: number, name: string, min = 0): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RpcUsageError(`time evaluator: ${name} must be an integer ≥ ${min}, got ${value}`);
  }
  return value;
}

/** Decodes the evaluator's Bytes result: `repeat` little-endian float64 seconds. */
export function decodeTimeEvaluatorResult(bytes: Uint8Array, repeat?: number): number[] {
  if (bytes.length % 8 !== 0 || (repeat !== undefined && bytes.length !== repeat * 8)) {
    throw new RpcProtocolError(
      `time evaluator returned ${bytes.length} bytes; expected ${repeat === undefined ? "a multiple of 8" : `${repeat * 8} (${repeat} float64 values)`}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length / 8 }, (_, i) => view.getFloat64(i * 8, true));
}

/** A device-side timer for one function, created by `timeEvaluator`. */
export class TimeEvaluator {
  constructor(
    /** The evaluator function handle the device returned. */
    readonly evaluator: RemoteFunction,
    readonly repeat: number,
  ) {}

  /** Runs the measurement with the target function's own arguments. */
  async run(...args: RemoteArg[]): Promise<TimingResult> {
    const started = performance.now();
    const result = await this.evaluator.callRaw(args.map(toRpcValue));
    const hostSeconds = (performance.now() - started) / 1000;
    if (result.type !== "bytes") {
      throw new RpcProtocolError(
        `time evaluator returned ${result.type}; expected Bytes holding float64 seconds`,
      );
    }
    const results = decodeTimeEvaluatorResult(result.value, this.repeat);
    return { results, hostSeconds, ...timingStats(results) };
  }

  /** Releases the evaluator handle. Creating another evaluator invalidates this one on the device anyway. */
  free(): Promise<void> {
    return this.evaluator.free();
  }
}

/**
 * Creates a device-side timer for a module function (`runtime.RPCTimeEvaluator`). The function must come
 * from `RemoteModule.getFunction`, because the device evaluator takes the module and the name. Only one
 * evaluator is live on the device at a time.
 */
export async function timeEvaluator(
  fn: RemoteFunction,
  options: TimeEvaluatorOptions = {},
): Promise<TimeEvaluator> {
  if (!fn.module) {
    throw new RpcUsageError(
      `time evaluator: "${fn.name}" is not a module function; look it up with RemoteModule.getFunction (for AOT: the executor module's "run")`,
    );
  }
  const number = nonNegativeInt(options.number ?? 10, "number", 1);
  const repeat = nonNegativeInt(options.repeat ?? 1, "repeat", 1);
  const args: RpcValue[] = [
    Arg.module(fn.module.handle),
    Arg.str(fn.name),
    Arg.int(fn.module.runtime.device.deviceType),
    Arg.int(fn.module.runtime.device.deviceId),
    Arg.int(number),
    Arg.int(repeat),
    Arg.int(nonNegativeInt(options.minRepeatMs ?? 0, "minRepeatMs")),
    Arg.int(nonNegativeInt(options.limitZeroTimeIterations ?? 100, "limitZeroTimeIterations")),
    Arg.int(nonNegativeInt(options.cooldownIntervalMs ?? 0, "cooldownIntervalMs")),
    Arg.int(nonNegativeInt(options.repeatsToCooldown ?? 1, "repeatsToCooldown", 1)),
  ];
  if ((options.argumentLayout ?? "v0.14") === "v0.14") {
    args.push(Arg.int(nonNegativeInt(options.cacheFlushBytes ?? 0, "cacheFlushBytes")));
  }
  args.push(Arg.str(""));
  const runtime = fn.module.runtime;
  const create = await runtime.client.internalGlobal("runtime.RPCTimeEvaluator");
  if (create === undefined) {
    throw new RpcUsageError(
      "the device has no runtime.RPCTimeEvaluator; device-side timing is not available",
    );
  }
  const result = await runtime.client.call(create, args, `CallFunc runtime.RPCTimeEvaluator("${fn.name}")`);
  if (result.type !== "function") {
    throw new RpcProtocolError(`runtime.RPCTimeEvaluator returned ${result.type}; expected a function`);
  }
  return new TimeEvaluator(new RemoteFunction(runtime, result.value, `time evaluator of ${fn.name}`), repeat);
}

/** Host-measured seconds per call (request sent to reply decoded), `repeat` calls after one warm-up call. */
export async function measureRoundTrip(
  fn: RemoteFunction,
  args: readonly RemoteArg[] = [],
  options: { repeat?: number; warmup?: boolean } = {},
): Promise<TimingStats & { results: number[] }> {
  const repeat = nonNegativeInt(options.repeat ?? 10, "repeat", 1);
  const values = args.map(toRpcValue);
  if (options.warmup ?? true) await fn.callRaw(values);
  const results: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const started = performance.now();
    await fn.callRaw(values);
    results.push((performance.now() - started) / 1000);
  }
  return { results, ...timingStats(results) };
}
