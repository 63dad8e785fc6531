// Running many samples in one session: every sample's inputs are copied in, the model runs, and
// its outputs are copied back, one sample after the other on the same executor.
import type { HostTensor } from "../rpc/index.js";
import type { Sample } from "./samples.js";

/** What runs one inference: a loaded model on an open device (DeviceModel). */
export interface InferenceRunner {
  infer(inputs: readonly HostTensor[]): Promise<HostTensor[]>;
}

export interface SampleResult {
  readonly name: string;
  readonly outputs: HostTensor[];
  /** Host seconds for the sample: upload, run, download. */
  readonly seconds: number;
}

export interface SamplesRun {
  readonly results: SampleResult[];
  /** Host seconds for all samples. */
  readonly seconds: number;
}

/** Runs every sample in order on `runner`; `onSample` hears of each as it finishes. */
export async function runSamples(
  runner: InferenceRunner,
  samples: readonly Sample[],
  onSample?: (result: SampleResult, index: number) => void,
): Promise<SamplesRun> {
  const results: SampleResult[] = [];
  const started = performance.now();
  for (const [index, sample] of samples.entries()) {
    const begin = performance.now();
    const outputs = await runner.infer(sample.inputs.map((i) => i.tensor));
    const result = { name: sample.name, outputs, seconds: (performance.now() - begin) / 1000 };
    results.push(result);
    onSample?.(result, index);
  }
  return { results, seconds: (performance.now() - started) / 1000 };
}

/** Sample results by name, for comparison with a reference. */
export function outputsByName(results: readonly SampleResult[]): Map<string, HostTensor[]> {
  return new Map(results.map((r) => [r.name, r.outputs]));
}
