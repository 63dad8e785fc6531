// The smallest archive with the Model Library Format's shape, for servers to generate a project from.
import { writeMlf } from "../mlf/index.js";

/**
 * Writes a model with one uint8[4] input and output, no operators (the C has none), an empty params file and
 * its Relay text. A template can generate a project from it; building one needs a real model.
 */
export async function writeTinyMlf(file: string): Promise<string> {
  await writeMlf({
    sources: [{ name: "default_lib0.c", content: "/* conformance check model: no operators */\n" }],
    inputs: [{ name: "input", dtype: "uint8", shape: [4] }],
    outputs: [{ name: "output", dtype: "uint8", shape: [4] }],
    workspaceBytes: 0,
    relay: "def @main(%input: Tensor[(4), uint8]) { %input }\n",
    exportDatetime: "2024-01-01 00:00:00Z",
    output: file,
  });
  return file;
}
