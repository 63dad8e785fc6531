// `--input` and `--fill-mode` for the commands that run one sample (profile): the inputs are read
// by the device layer's loadSamples, before the device is touched.
import { loadSamples, type SampleInput } from "../../device/index.js";
import type { FillMode } from "../../rpc/index.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { cliErrorFrom } from "../options.js";

export const FILL_MODES: readonly FillMode[] = ["zeros", "ones", "random"];

/** `--fill-mode`'s parser, shared by run, validate and profile. */
export function parseFillMode(text: string): FillMode {
  if (!(FILL_MODES as readonly string[]).includes(text)) {
    throw new CliError(
      `--fill-mode must be one of ${FILL_MODES.join(", ")}, got ${JSON.stringify(text)}`,
      ExitCode.usage,
    );
  }
  return text as FillMode;
}

/** `--timeout`'s parser, shared by run, validate and profile: seconds > 0. */
export function parseTimeoutSeconds(text: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n <= 0) {
    throw new CliError(
      `--timeout must be a number of seconds > 0, got ${JSON.stringify(text)}`,
      ExitCode.usage,
    );
  }
  return n;
}

/** The one sample `assignments` give (every input, in model order); several are a usage error. */
export async function resolveInputs(
  assignments: readonly string[],
  inputs: Parameters<typeof loadSamples>[1],
  fillMode: FillMode,
): Promise<SampleInput[]> {
  const samples = await loadSamples(assignments, inputs, fillMode).catch((error: unknown) => {
    throw cliErrorFrom(error);
  });
  if (samples.length !== 1) {
    throw new CliError(
      `--input: this command runs one sample, but the paths give ${samples.length} (${samples
        .slice(0, 4)
        .map((s) => JSON.stringify(s.name))
        .join(", ")}${samples.length > 4 ? ", …" : ""}); give one file per input`,
      ExitCode.usage,
    );
  }
  return [...samples[0]!.inputs];
}
