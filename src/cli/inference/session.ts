// A model ready to run on a connected device: the connection plus the executor the model needs.
// `run`, the demo and the benchmark all drive inference through this.
import type { GeneratedProject } from "../../client/index.js";
import type { HostTensor } from "../../rpc/index.js";
import { DeviceConnection, type DeviceConnectionOptions } from "./device.js";
import { createExecutor, type ModelExecutor } from "./executor.js";
import type { InferenceModel } from "./model.js";
import { median } from "./summary.js";

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

export class InferenceSession {
  private constructor(
    readonly connection: DeviceConnection,
    readonly executor: ModelExecutor,
    readonly model: InferenceModel,
  ) {}

  /** Opens the device session and creates the model's executor; closes again on failure. */
  static async open(
    project: GeneratedProject,
    model: InferenceModel,
    options: DeviceConnectionOptions = {},
  ): Promise<InferenceSession> {
    const connection = await DeviceConnection.open(project, options);
    try {
      return new InferenceSession(connection, await createExecutor(connection.runtime, model), model);
    } catch (error) {
      await connection.close();
      throw error;
    }
  }

  /** Copies the inputs in (model input order), runs once, copies every output back. */
  async infer(inputs: readonly HostTensor[]): Promise<InferenceOutcome> {
    let started = performance.now();
    for (const [index, tensor] of inputs.entries()) await this.executor.setInput(index, tensor);
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

  /** Ends the session and closes the transport; never throws. */
  close(): Promise<void> {
    return this.connection.close();
  }
}

export { median };
