// A model ready to run on a connected device: the executor the model needs (AOT or graph) on a
// device connection, with one call to run an inference and one to time it.
import type { HostTensor } from "../rpc/index.js";
import type { DeviceConnection } from "./connection.js";
import { DeviceError } from "./errors.js";
import { createExecutor, type ModelExecutor } from "./executor.js";
import type { InferenceModel } from "./model.js";

export interface InferenceOutcome {
  readonly outputs: HostTensor[];
  /** Host seconds for copying the inputs in, the run call, and copying the outputs back. */
  readonly uploadSec: number;
  readonly runSec: number;
  readonly downloadSec: number;
}

export interface InferenceTiming {
  /** Device seconds per inference, one value per repetition. */
  readonly deviceSec: number[];
  readonly deviceMethod: string;
  /** Host seconds from sending `run` to its reply (AOT: one request; graph: one per kernel). */
  readonly roundTripSec: number[];
  readonly repeat: number;
  readonly number: number;
}

/** Inputs in the model's input order, or by input name. */
export type ModelInputs = readonly HostTensor[] | Readonly<Record<string, HostTensor>>;

export class DeviceModel {
  private constructor(
    readonly connection: DeviceConnection,
    readonly executor: ModelExecutor,
    readonly model: InferenceModel,
  ) {}

  /** Creates the model's executor on the device. */
  static async create(connection: DeviceConnection, model: InferenceModel): Promise<DeviceModel> {
    return new DeviceModel(connection, await createExecutor(connection.runtime, model), model);
  }

  private ordered(inputs: ModelInputs): readonly HostTensor[] {
    if (Array.isArray(inputs)) {
      if (inputs.length !== this.model.inputs.length) {
        throw new DeviceError(
          `model ${this.model.name} takes ${this.model.inputs.length} input(s) (${this.model.inputs.map((t) => t.name).join(", ")}), got ${inputs.length}`,
          "bad-argument",
        );
      }
      return inputs;
    }
    const byName = inputs as Readonly<Record<string, HostTensor>>;
    const unknown = Object.keys(byName).filter((name) => !this.model.inputs.some((t) => t.name === name));
    const missing = this.model.inputs.filter((t) => !(t.name in byName)).map((t) => t.name);
    if (unknown.length > 0 || missing.length > 0) {
      throw new DeviceError(
        `model ${this.model.name} takes the inputs ${this.model.inputs.map((t) => t.name).join(", ")}` +
          (unknown.length > 0 ? `; it has no input ${unknown.join(", ")}` : "") +
          (missing.length > 0 ? `; missing ${missing.join(", ")}` : ""),
        "bad-argument",
      );
    }
    return this.model.inputs.map((t) => byName[t.name]!);
  }

  /** Copies the inputs in, runs once, copies every output back. */
  async run(inputs: ModelInputs): Promise<InferenceOutcome> {
    const tensors = this.ordered(inputs);
    let started = performance.now();
    for (const [index, tensor] of tensors.entries()) await this.executor.setInput(index, tensor);
    const uploadSec = (performance.now() - started) / 1000;
    started = performance.now();
    await this.executor.run();
    const runSec = (performance.now() - started) / 1000;
    started = performance.now();
    const outputs = await this.executor.getOutputs();
    const downloadSec = (performance.now() - started) / 1000;
    return { outputs, uploadSec, runSec, downloadSec };
  }

  /**
   * Copies the inputs in, runs once and copies every output back, as run() does, in the fewest
   * round trips the device allows (one, for a small model on our runtime); no per-step times.
   */
  async infer(inputs: ModelInputs): Promise<HostTensor[]> {
    if (this.executor.infer) return this.executor.infer(this.ordered(inputs));
    return (await this.run(inputs)).outputs;
  }

  /**
   * Device time per inference (`repeat` repetitions of `number` runs, timed by the device) and
   * the host round trip of `repeat` single runs. Inputs stay as they are, so outputs do too.
   */
  async measure(repeat: number, number: number): Promise<InferenceTiming> {
    const device = await this.executor.deviceTime(repeat, number);
    const roundTripSec: number[] = [];
    for (let i = 0; i < repeat; i++) {
      const started = performance.now();
      await this.executor.run();
      roundTripSec.push((performance.now() - started) / 1000);
    }
    return { deviceSec: device.perRepeat, deviceMethod: device.method, roundTripSec, repeat, number };
  }

  /** Frees the executor's device objects (the connection stays open). */
  dispose(): Promise<void> {
    return this.executor.dispose();
  }
}

/** The median of `values` (NaN for none): what timing reports quote. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
