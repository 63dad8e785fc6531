// Reference outputs to validate a device against, per sample (by stem) and per model output, from
// a folder of .npy/.bin files, an .npz archive, or a JSON file `{"samples": {stem: values}}`.
// Values are compared as numbers, so a reference may have another dtype than the output (a float
// reference for an int8 output) as long as it has as many elements.
import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { extname, join, resolve } from "node:path";
import {
  decodeTensor,
  elementCount,
  formatShape,
  parseNpy,
  tensorValues,
  TensorIoError,
  type HostTensor,
} from "../rpc/index.js";
import { DeviceError } from "./errors.js";
import { readNpzFile, type NpzMember } from "./npz.js";
import type { TensorSpec } from "./samples.js";

/** One reference output: its values (row-major) and where they came from. */
export interface ReferenceOutput {
  readonly values: Float64Array;
  readonly source: string;
}

export type ReferenceKind = "folder" | "npz" | "json" | "host";

export interface Reference {
  readonly kind: ReferenceKind;
  /** What it is, for people (a path, or what produced it). */
  readonly description: string;
  /** Per sample name: one entry per model output, in the model's output order. */
  readonly samples: ReadonlyMap<string, readonly ReferenceOutput[]>;
}

/** A tensor's values as float64 (64-bit integers beyond 2^53 lose precision). */
export function tensorNumbers(tensor: HostTensor): Float64Array {
  return Float64Array.from(tensorValues(tensor), Number);
}

/** The file-name forms an output may go by: its name, its name made file-safe, its index. */
function outputKeys(output: TensorSpec): string[] {
  const safe = output.name.replace(/[^\w.-]+/g, "_").replace(/^\.+/, "");
  return [...new Set([output.name, safe, String(output.index), `output_${output.index}`].filter(Boolean))];
}

function checkCount(
  values: Float64Array,
  output: TensorSpec,
  source: string,
  shape?: readonly number[],
): void {
  const needed = elementCount(output.shape);
  if (values.length !== needed) {
    throw new DeviceError(
      `${source}: the reference has ${values.length} values${shape ? ` (shape ${formatShape(shape)})` : ""}, but output ${JSON.stringify(output.name)} is ${output.dtype} ${formatShape(output.shape)} (${needed} values)`,
      "bad-file",
    );
  }
}

function fromNpy(bytes: Uint8Array, output: TensorSpec, source: string): ReferenceOutput {
  let tensor: HostTensor;
  try {
    tensor = parseNpy(bytes, source);
  } catch (error) {
    if (error instanceof TensorIoError) throw new DeviceError(error.message, "bad-file", { cause: error });
    throw error;
  }
  const values = tensorNumbers(tensor);
  checkCount(values, output, source, tensor.shape);
  return { values, source };
}

async function fromFile(file: string, output: TensorSpec): Promise<ReferenceOutput> {
  const bytes = new Uint8Array(await readFile(file));
  if (extname(file).toLowerCase() === ".npy") return fromNpy(bytes, output, file);
  try {
    // A raw reference has the output's own dtype and size.
    return { values: tensorNumbers(decodeTensor(bytes, output, "bin", file)), source: file };
  } catch (error) {
    if (error instanceof TensorIoError) throw new DeviceError(error.message, "bad-file", { cause: error });
    throw error;
  }
}

function missingError(where: string, missing: readonly string[], expected: string): DeviceError {
  const shown = missing.slice(0, 6).join("; ");
  return new DeviceError(
    `${where}: no reference for ${shown}${missing.length > 6 ? ` and ${missing.length - 6} more` : ""} (${expected})`,
    "bad-file",
  );
}

async function loadFolder(
  dir: string,
  outputs: readonly TensorSpec[],
  names: readonly string[],
): Promise<Reference> {
  const samples = new Map<string, ReferenceOutput[]>();
  const missing: string[] = [];
  for (const name of names) {
    const found: ReferenceOutput[] = [];
    for (const output of outputs) {
      const bases: string[] = [];
      if (outputs.length === 1) bases.push(join(dir, name));
      for (const key of outputKeys(output)) bases.push(join(dir, name, key));
      // `<base>.npy` and `<base>.bin` side by side (as `run --output-dir` writes them) hold the
      // same tensor: the .npy is read, as it carries its dtype and shape.
      const isFile = (file: string) => existsSync(file) && statSync(file).isFile();
      const present = [...new Set(bases)]
        .map((base) => [`${base}.npy`, `${base}.bin`].find(isFile))
        .filter((file): file is string => file !== undefined);
      if (present.length === 0) {
        missing.push(
          outputs.length === 1
            ? `sample ${JSON.stringify(name)}`
            : `sample ${JSON.stringify(name)} output ${JSON.stringify(output.name)}`,
        );
        continue;
      }
      if (present.length > 1) {
        throw new DeviceError(
          `${dir}: sample ${JSON.stringify(name)} has ${present.length} references for output ${JSON.stringify(output.name)} (${present.join(", ")}); keep one`,
          "bad-file",
        );
      }
      found.push(await fromFile(present[0]!, output));
    }
    samples.set(name, found);
  }
  if (missing.length > 0) {
    const layout =
      outputs.length === 1
        ? "expected <sample>.npy or <sample>.bin"
        : "expected <sample>/<output>.npy or .bin";
    throw missingError(dir, missing, layout);
  }
  return { kind: "folder", description: dir, samples };
}

async function loadNpz(
  path: string,
  outputs: readonly TensorSpec[],
  names: readonly string[],
): Promise<Reference> {
  const members = new Map<string, NpzMember>((await readNpzFile(path)).map((m) => [m.key, m]));
  const samples = new Map<string, ReferenceOutput[]>();
  const missing: string[] = [];
  for (const name of names) {
    const found: ReferenceOutput[] = [];
    for (const output of outputs) {
      const keys = [
        ...(outputs.length === 1 ? [name] : []),
        ...outputKeys(output).map((k) => `${name}/${k}`),
      ];
      const present = keys.filter((k) => members.has(k));
      if (present.length === 0) {
        missing.push(
          outputs.length === 1
            ? `sample ${JSON.stringify(name)}`
            : `sample ${JSON.stringify(name)} output ${JSON.stringify(output.name)}`,
        );
        continue;
      }
      if (present.length > 1) {
        throw new DeviceError(
          `${path}: sample ${JSON.stringify(name)} has ${present.length} references for output ${JSON.stringify(output.name)} (keys ${present.join(", ")}); keep one`,
          "bad-file",
        );
      }
      found.push(fromNpy(members.get(present[0]!)!.npy, output, `${path}[${present[0]!}]`));
    }
    samples.set(name, found);
  }
  if (missing.length > 0) {
    const layout = outputs.length === 1 ? "expected keys <sample>" : "expected keys <sample>/<output>";
    throw missingError(path, missing, `${layout}; it has ${[...members.keys()].slice(0, 6).join(", ")}`);
  }
  return { kind: "npz", description: path, samples };
}

/** Flattens a JSON number array (nested or flat) into values; `where` names it in errors. */
function jsonNumbers(value: unknown, where: string): Float64Array {
  const out: number[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const item of v) walk(item);
      return;
    }
    if (typeof v === "number") out.push(v);
    else if (v === null) out.push(NaN);
    else if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) out.push(Number(v));
    else throw new DeviceError(`${where}: ${JSON.stringify(v)} is not a number`, "bad-file");
  };
  if (!Array.isArray(value)) throw new DeviceError(`${where}: expected an array of numbers`, "bad-file");
  walk(value);
  return Float64Array.from(out);
}

async function loadJson(
  path: string,
  outputs: readonly TensorSpec[],
  names: readonly string[],
): Promise<Reference> {
  let document: unknown;
  try {
    document = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new DeviceError(`${path}: not valid JSON (${(error as Error).message})`, "bad-file", {
      cause: error,
    });
  }
  const table =
    document !== null && typeof document === "object" && !Array.isArray(document)
      ? (document as { samples?: unknown }).samples
      : undefined;
  if (table === null || typeof table !== "object" || Array.isArray(table)) {
    throw new DeviceError(
      `${path}: expected {"samples": {"<sample>": [values…]}} (or {"<sample>": {"<output>": [values…]}} for several outputs)`,
      "bad-file",
    );
  }
  const entries = table as Record<string, unknown>;
  const samples = new Map<string, ReferenceOutput[]>();
  const missing: string[] = [];
  for (const name of names) {
    if (!Object.hasOwn(entries, name)) {
      missing.push(`sample ${JSON.stringify(name)}`);
      continue;
    }
    const entry = entries[name];
    const found: ReferenceOutput[] = [];
    for (const output of outputs) {
      const where = `${path} samples.${name}`;
      let value: unknown;
      if (Array.isArray(entry)) {
        if (outputs.length !== 1) {
          throw new DeviceError(
            `${where}: the model has ${outputs.length} outputs; give {"<output>": [values…]} for each`,
            "bad-file",
          );
        }
        value = entry;
      } else if (entry !== null && typeof entry === "object") {
        const key = outputKeys(output).find((k) => Object.hasOwn(entry, k));
        if (key === undefined) {
          missing.push(`sample ${JSON.stringify(name)} output ${JSON.stringify(output.name)}`);
          continue;
        }
        value = (entry as Record<string, unknown>)[key];
      } else {
        throw new DeviceError(`${where}: expected an array of numbers or an object of outputs`, "bad-file");
      }
      const values = jsonNumbers(value, where);
      checkCount(values, output, where);
      found.push({ values, source: where });
    }
    samples.set(name, found);
  }
  if (missing.length > 0) {
    throw missingError(path, missing, `it has samples ${Object.keys(entries).slice(0, 6).join(", ")}`);
  }
  return { kind: "json", description: path, samples };
}

/**
 * Loads a reference file for the samples `names`: a folder (`<sample>.npy`/`.bin` for a model with
 * one output, `<sample>/<output>.npy`/`.bin` for several), an `.npz` (keys `<sample>` or
 * `<sample>/<output>`) or a `.json` file (`{"samples": {"<sample>": values}}`). `<output>` is the
 * output's name, its name with characters other than letters, digits, `.`, `-`, `_` replaced by
 * `_`, or its index. Every sample must have a reference; extra ones are ignored.
 */
export async function loadReferenceFile(
  pathArg: string,
  outputs: readonly TensorSpec[],
  names: readonly string[],
): Promise<Reference> {
  const path = resolve(pathArg);
  if (!existsSync(path)) {
    throw new DeviceError(
      `--reference ${path} does not exist; give a folder, an .npz, a .json file, or "host"`,
      "bad-file",
    );
  }
  if (statSync(path).isDirectory()) return loadFolder(path, outputs, names);
  const ext = extname(path).toLowerCase();
  if (ext === ".npz") return loadNpz(path, outputs, names);
  if (ext === ".json") return loadJson(path, outputs, names);
  throw new DeviceError(
    `--reference ${path}: use a folder of .npy/.bin files, an .npz, a .json file, or "host" (not a ${ext || "file without extension"})`,
    "bad-file",
  );
}

/** A reference made from outputs computed here (for example by the same model on the host). */
export function referenceFromOutputs(
  description: string,
  outputs: ReadonlyMap<string, readonly HostTensor[]>,
): Reference {
  const samples = new Map<string, ReferenceOutput[]>();
  for (const [name, tensors] of outputs) {
    samples.set(
      name,
      tensors.map((t, index) => ({
        values: tensorNumbers(t),
        source: `${description}, sample ${name} output ${index}`,
      })),
    );
  }
  return { kind: "host", description, samples };
}
