// `--input NAME=FILE` and `--fill-mode`: every model input gets a host tensor before the device
// is touched, so a wrong name or size is reported without starting anything.
import {
  TensorIoError,
  fillTensor,
  readTensorFile,
  type FillMode,
  type HostTensor,
} from "../../rpc/index.js";
import { CliError, ExitCode } from "../exit-codes.js";
import type { ModelTensor } from "./model.js";

export const FILL_MODES: readonly FillMode[] = ["zeros", "ones", "random"];

export interface ResolvedInput {
  readonly info: ModelTensor;
  readonly tensor: HostTensor;
  /** The file it was read from, or the fill mode. */
  readonly source: { readonly file: string } | { readonly fill: FillMode };
}

function describeInputs(inputs: readonly ModelTensor[]): string {
  if (inputs.length === 0) return "the model takes no inputs";
  return (
    "the model's inputs are: " +
    inputs
      .map(
        (t) => `#${t.index} ${JSON.stringify(t.name)} ${t.dtype} [${t.shape.join(", ")}] (${t.bytes} bytes)`,
      )
      .join("; ")
  );
}

/** Finds the input a `NAME` refers to: its exact name, else its index. */
function findInput(key: string, inputs: readonly ModelTensor[]): ModelTensor {
  const byName = inputs.find((t) => t.name === key);
  if (byName) return byName;
  if (/^\d+$/.test(key)) {
    const byIndex = inputs[Number(key)];
    if (byIndex) return byIndex;
  }
  throw new CliError(
    `--input ${key}: the model has no input named or numbered ${JSON.stringify(key)}; ${describeInputs(inputs)}`,
    ExitCode.usage,
  );
}

/**
 * Resolves the `--input` assignments (split at the first `=`) against the model's inputs and
 * fills the rest with `fillMode`. Files may be raw (.bin or any other extension: exactly the
 * input's byte size), .npy (same dtype and shape) or .json (flat or nested numbers).
 */
export async function resolveInputs(
  assignments: readonly string[],
  inputs: readonly ModelTensor[],
  fillMode: FillMode,
): Promise<ResolvedInput[]> {
  const files = new Map<number, string>();
  for (const assignment of assignments) {
    const eq = assignment.indexOf("=");
    if (eq <= 0 || eq === assignment.length - 1) {
      throw new CliError(
        `--input ${JSON.stringify(assignment)}: use NAME=FILE (NAME is an input's name or index); ${describeInputs(inputs)}`,
        ExitCode.usage,
      );
    }
    const info = findInput(assignment.slice(0, eq), inputs);
    if (files.has(info.index)) {
      throw new CliError(
        `--input: input ${JSON.stringify(info.name)} is given twice; give each input once`,
        ExitCode.usage,
      );
    }
    files.set(info.index, assignment.slice(eq + 1));
  }
  const resolved: ResolvedInput[] = [];
  for (const info of inputs) {
    const file = files.get(info.index);
    if (file === undefined) {
      resolved.push({
        info,
        tensor: fillTensor(fillMode, info.dtype, info.shape, info.index),
        source: { fill: fillMode },
      });
      continue;
    }
    try {
      resolved.push({ info, tensor: await readTensorFile(file, info), source: { file } });
    } catch (error) {
      if (error instanceof TensorIoError) {
        throw new CliError(
          // JSON.parse quotes the file's text into its message, line breaks included: keep one line.
          `input ${JSON.stringify(info.name)} (${info.dtype} [${info.shape.join(", ")}], ${info.bytes} bytes): ${error.message.replace(/\s*\n\s*/g, " ")}`,
          ExitCode.badInput,
          { cause: error },
        );
      }
      throw error;
    }
  }
  return resolved;
}
