// One interface over the two ways a model runs from the host: the AOT executor module on the
// device, or the host-side graph executor whose kernels are device system-lib functions.
import {
  AotExecutor,
  GraphExecutor,
  MissingKernelError,
  RemoteFunction,
  timeEvaluator,
  type HostTensor,
  type RemoteRuntime,
} from "../rpc/index.js";
import { DeviceError } from "./errors.js";
import type { InferenceModel } from "./model.js";

export interface DeviceTiming {
  /** Seconds per inference, one value per repetition, as the device measured it. */
  readonly perRepeat: number[];
  /** How it was measured. */
  readonly method: string;
}

export interface ModelExecutor {
  readonly kind: "aot" | "graph";
  /** Copies input `index` (MLF input order) to the device. */
  setInput(index: number, tensor: HostTensor): Promise<void>;
  run(): Promise<void>;
  getOutputs(): Promise<HostTensor[]>;
  /**
   * Every input in, one run, every output back, in fewer round trips than the steps apart.
   * Absent where there is nothing to save (the graph's kernels are host-driven calls).
   */
  infer?(inputs: readonly HostTensor[]): Promise<HostTensor[]>;
  /**
   * Device time per inference: `repeat` repetitions of `number` inferences each, timed on the
   * device by runtime.RPCTimeEvaluator.
   */
  deviceTime(repeat: number, number: number): Promise<DeviceTiming>;
  dispose(): Promise<void>;
}

class AotModelExecutor implements ModelExecutor {
  readonly kind = "aot";
  constructor(private readonly executor: AotExecutor) {}
  setInput(index: number, tensor: HostTensor): Promise<void> {
    return this.executor.setInput(index, tensor);
  }
  run(): Promise<void> {
    return this.executor.run();
  }
  getOutputs(): Promise<HostTensor[]> {
    return this.executor.getOutputs();
  }
  infer(inputs: readonly HostTensor[]): Promise<HostTensor[]> {
    return this.executor.infer(inputs);
  }
  async deviceTime(repeat: number, number: number): Promise<DeviceTiming> {
    const result = await this.executor.timeRun({ repeat, number });
    return {
      perRepeat: result.results,
      method: `runtime.RPCTimeEvaluator on the AOT executor's run (${number} runs per repetition)`,
    };
  }
  dispose(): Promise<void> {
    return this.executor.dispose();
  }
}

class GraphModelExecutor implements ModelExecutor {
  readonly kind = "graph";
  constructor(
    private readonly runtime: RemoteRuntime,
    private readonly executor: GraphExecutor,
    private readonly inputNames: readonly string[],
  ) {}
  setInput(index: number, tensor: HostTensor): Promise<void> {
    return this.executor.setInput(this.inputNames[index]!, tensor);
  }
  run(): Promise<void> {
    return this.executor.run();
  }
  getOutputs(): Promise<HostTensor[]> {
    return this.executor.getOutputs();
  }
  /**
   * The graph runs on the host, so no single device function covers an inference. Each kernel is
   * timed on the device with its own arguments, and the per-repetition times are summed: the
   * device's share of one inference, without the RPC round trips between kernels.
   */
  async deviceTime(repeat: number, number: number): Promise<DeviceTiming> {
    const plan = this.executor.plan;
    const systemLib = await this.runtime.systemLib();
    const totals = new Array<number>(repeat).fill(0);
    const kernels = new Map<string, RemoteFunction>();
    try {
      for (const node of plan.nodes) {
        if (node.op !== "tvm_op" || !node.funcName || node.funcName === "__nop" || node.funcName === "__copy")
          continue;
        let fn = kernels.get(node.funcName);
        if (!fn) {
          fn = await systemLib.function(node.funcName);
          kernels.set(node.funcName, fn);
        }
        const args = [...node.inputs, ...node.outputs].map((eid) => ({
          type: "tensor" as const,
          value: this.executor.entryTensor(eid, node.flattenData),
        }));
        const evaluator = await timeEvaluator(fn, { repeat, number });
        try {
          const result = await evaluator.run(...args);
          result.results.forEach((seconds, r) => (totals[r]! += seconds));
        } finally {
          await evaluator.free();
        }
      }
    } finally {
      for (const fn of kernels.values()) await fn.free();
    }
    return {
      perRepeat: totals,
      method: `sum over the graph's kernels of runtime.RPCTimeEvaluator (${number} runs per repetition)`,
    };
  }
  dispose(): Promise<void> {
    return this.executor.dispose();
  }
}

/**
 * A kernel missing from firmware built from a 1-byte-count registry is almost always a C runtime
 * that reads the count as 2 bytes (TVM 0.9+'s standalone CRT; ours reads both): every name it
 * looks up is shifted by one byte. Says so, and how to re-pack the archive.
 */
function registryCountError(error: unknown, model: InferenceModel): unknown {
  if (!(error instanceof MissingKernelError) || model.registryCountStyle !== "u8-count") return error;
  return new DeviceError(
    `device: the firmware's system lib has none of the model's operators (first missing: ${error.kernel}). ` +
      "The archive's function registry writes its count in 1 byte, as Model Library Format version 4 " +
      "archives (TVM 0.8) do; this firmware's C runtime reads a 2-byte count (TVM 0.9 and later, e.g. " +
      "TVM's standalone CRT), so it finds no function by name. Re-pack the archive with " +
      "`microtvm pack --repack-registry <archive> -o <new.tar>` and generate the project from that, " +
      "or use a microtvm template",
    "incompatible-firmware",
    { cause: error },
  );
}

/** Creates the executor the model needs on a connected device. */
export async function createExecutor(runtime: RemoteRuntime, model: InferenceModel): Promise<ModelExecutor> {
  if (model.executor === "aot") {
    return new AotModelExecutor(await AotExecutor.create(runtime, { moduleName: model.name }));
  }
  const executor = await GraphExecutor.create(runtime, model.graphJson!, {
    params: model.params,
    lookupLinkedParams: true,
  }).catch((error: unknown) => {
    throw registryCountError(error, model);
  });
  return new GraphModelExecutor(
    runtime,
    executor,
    model.inputs.map((t) => t.name),
  );
}
