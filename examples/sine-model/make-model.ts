// Fits the sine MLP, generates its C and packs examples/sine-model/sine.tar (MLF version 7).
// Usage: npx tsx examples/sine-model/make-model.ts [--out <file>]
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSineArchive, maxError } from "./model.js";

const args = process.argv.slice(2);
const outIndex = args.indexOf("--out");
const output = outIndex >= 0 ? args[outIndex + 1] : join(dirname(fileURLToPath(import.meta.url)), "sine.tar");
if (!output) {
  console.error("usage: make-model.ts [--out <file>]");
  process.exit(2);
}
const started = performance.now();
const { tar, weights } = await buildSineArchive(output);
const seconds = ((performance.now() - started) / 1000).toFixed(2);
console.log(`max |model(x) - sin(x)| over 1000 points of [0, 2π]: ${maxError(weights).toFixed(4)}`);
console.log(`wrote ${output} (${tar.length} bytes) in ${seconds} s`);
