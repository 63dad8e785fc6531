// Samples: the sets of input tensors one session runs, from `NAME=PATH` assignments where PATH is
// a file, a folder (its tensor files sorted by name), a glob, or an .npz archive. Each file's stem
// (its name without the extension; an .npz member's key) names the sample it belongs to, and
// samples pair across inputs by stem. An input given as one file is the same in every sample.
import { existsSync, statSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { basename, extname, join, resolve } from "node:path";
import { glob, isDynamicPattern } from "tinyglobby";
import { decodeTensor, fillTensor, TensorIoError, type FillMode, type HostTensor } from "../rpc/index.js";
import { DeviceError } from "./errors.js";
import { compareNames, readNpzFile } from "./npz.js";

/** An input or output tensor of a model as the user names it (a model's `ModelTensor`). */
export interface TensorSpec {
  readonly name: string;
  readonly index: number;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly bytes: number;
}

/**
 * Extensions of a folder's tensor files: `.npy`, `.bin` and `.raw`, or `.json` when the folder
 * has none of those (so a reference file such as expected.json beside .bin samples is not taken
 * for a sample). Other files are ignored.
 */
export const TENSOR_FILE_EXTENSIONS = [".npy", ".bin", ".raw"] as const;
const JSON_EXTENSION = ".json";

/** Where one input tensor of one sample came from. */
export type SampleSource =
  { readonly file: string } | { readonly npz: string; readonly key: string } | { readonly fill: FillMode };

export interface SampleInput {
  readonly spec: TensorSpec;
  readonly tensor: HostTensor;
  readonly source: SampleSource;
}

/** One run of the model: a tensor for every input, in the model's input order. */
export interface Sample {
  readonly name: string;
  readonly inputs: readonly SampleInput[];
}

/** How a PATH was read. */
export type InputPathKind = "file" | "folder" | "glob" | "npz";

/** One tensor source found by expanding a PATH, not yet read. */
export interface InputEntry {
  readonly stem: string;
  readonly source: { readonly file: string } | { readonly npz: string; readonly key: string };
  /** For .npz members: the raw .npy bytes. */
  readonly npy?: Uint8Array;
}

export interface ExpandedInputPath {
  readonly path: string;
  readonly kind: InputPathKind;
  /** Sorted by stem. */
  readonly entries: readonly InputEntry[];
}

/** A file's stem: its name without the last extension (`yes.bin` → `yes`). */
export function fileStem(path: string): string {
  const name = basename(path);
  const ext = extname(name);
  return ext ? name.slice(0, -ext.length) : name;
}

function hasExtension(name: string, extensions: readonly string[]): boolean {
  return !name.startsWith(".") && extensions.includes(extname(name).toLowerCase());
}

function sortedUnique(entries: InputEntry[], path: string): InputEntry[] {
  entries.sort((a, b) => compareNames(a.stem, b.stem));
  for (let i = 1; i < entries.length; i++) {
    if (entries[i]!.stem === entries[i - 1]!.stem) {
      const files = [entries[i - 1]!, entries[i]!].map((e) =>
        "file" in e.source ? e.source.file : e.source.key,
      );
      throw new DeviceError(
        `${path}: two files have the stem ${JSON.stringify(entries[i]!.stem)} (${files.join(", ")}); samples are paired by stem, so keep one`,
        "bad-argument",
      );
    }
  }
  return entries;
}

/**
 * Expands one PATH: an existing folder gives its tensor files (see TENSOR_FILE_EXTENSIONS;
 * hidden files and subfolders are skipped), an `.npz` file its members, another existing file
 * itself, and a path that does not exist but has glob characters the files it matches.
 */
export async function expandInputPath(pathArg: string): Promise<ExpandedInputPath> {
  const path = resolve(pathArg);
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) {
      const files = (await readdir(path, { withFileTypes: true }))
        .filter((d) => d.isFile() || (d.isSymbolicLink() && statSync(join(path, d.name)).isFile()))
        .map((d) => d.name);
      let names = files.filter((name) => hasExtension(name, TENSOR_FILE_EXTENSIONS));
      if (names.length === 0) names = files.filter((name) => hasExtension(name, [JSON_EXTENSION]));
      if (names.length === 0) {
        throw new DeviceError(
          `${path}: the folder has no tensor files (${[...TENSOR_FILE_EXTENSIONS, JSON_EXTENSION].join(", ")})`,
          "bad-file",
        );
      }
      const entries = names.map((name) => ({ stem: fileStem(name), source: { file: join(path, name) } }));
      return { path, kind: "folder", entries: sortedUnique(entries, path) };
    }
    if (extname(path).toLowerCase() === ".npz") {
      const members = await readNpzFile(path);
      if (members.length === 0)
        throw new DeviceError(`${path}: the .npz archive holds no arrays`, "bad-file");
      const entries = members.map((m) => ({ stem: m.key, source: { npz: path, key: m.key }, npy: m.npy }));
      return { path, kind: "npz", entries: sortedUnique(entries, path) };
    }
    return { path, kind: "file", entries: [{ stem: fileStem(path), source: { file: path } }] };
  }
  if (isDynamicPattern(pathArg)) {
    const files = await glob([pathArg], {
      absolute: true,
      onlyFiles: true,
      expandDirectories: false,
      dot: false,
    });
    if (files.length === 0) {
      throw new DeviceError(`${pathArg}: the pattern matches no files`, "bad-file");
    }
    const entries = files.map((file) => ({ stem: fileStem(file), source: { file } }));
    return { path: pathArg, kind: "glob", entries: sortedUnique(entries, pathArg) };
  }
  throw new DeviceError(
    `${path} does not exist; give a file, a folder, a glob (quoted, so the shell leaves it alone) or an .npz`,
    "bad-file",
  );
}

/** An `--input` given as `NAME=PATH` (split at the first `=`). */
export interface InputAssignment {
  readonly key: string;
  readonly path: string;
}

export function describeTensors(tensors: readonly TensorSpec[], what = "inputs"): string {
  if (tensors.length === 0) return `the model takes no ${what}`;
  return (
    `the model's ${what} are: ` +
    tensors
      .map(
        (t) => `#${t.index} ${JSON.stringify(t.name)} ${t.dtype} [${t.shape.join(", ")}] (${t.bytes} bytes)`,
      )
      .join("; ")
  );
}

/** Splits `NAME=PATH` assignments; a malformed one is a bad argument naming the model's inputs. */
export function parseInputAssignments(
  assignments: readonly string[],
  inputs: readonly TensorSpec[],
): InputAssignment[] {
  return assignments.map((assignment) => {
    const eq = assignment.indexOf("=");
    if (eq <= 0 || eq === assignment.length - 1) {
      throw new DeviceError(
        `--input ${JSON.stringify(assignment)}: use NAME=PATH (NAME is an input's name or index; PATH a file, a folder, a glob or an .npz); ${describeTensors(inputs)}`,
        "bad-argument",
      );
    }
    return { key: assignment.slice(0, eq), path: assignment.slice(eq + 1) };
  });
}

/** The tensor a `NAME` refers to: its exact name, else its index. */
export function findTensor(key: string, tensors: readonly TensorSpec[], what = "input"): TensorSpec {
  const byName = tensors.find((t) => t.name === key);
  if (byName) return byName;
  if (/^\d+$/.test(key)) {
    const byIndex = tensors[Number(key)];
    if (byIndex) return byIndex;
  }
  throw new DeviceError(
    `--${what} ${key}: the model has no ${what} named or numbered ${JSON.stringify(key)}; ${describeTensors(tensors, `${what}s`)}`,
    "bad-argument",
  );
}

function readError(error: unknown, spec: TensorSpec): unknown {
  if (!(error instanceof TensorIoError)) return error;
  // JSON.parse quotes the file's text into its message, line breaks included: keep one line.
  return new DeviceError(
    `input ${JSON.stringify(spec.name)} (${spec.dtype} [${spec.shape.join(", ")}], ${spec.bytes} bytes): ${error.message.replace(/\s*\n\s*/g, " ")}`,
    "bad-file",
    { cause: error },
  );
}

async function readEntry(entry: InputEntry, spec: TensorSpec): Promise<HostTensor> {
  try {
    if ("npz" in entry.source) {
      return decodeTensor(entry.npy!, spec, "npy", `${entry.source.npz}[${entry.source.key}]`);
    }
    const file = entry.source.file;
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new TensorIoError(
        `cannot read input file ${file}: ${code === "ENOENT" ? "no such file" : (error as Error).message}`,
        file,
        {
          cause: error,
        },
      );
    }
    const ext = extname(file).toLowerCase();
    const format = ext === ".npy" ? "npy" : ext === ".json" ? "json" : "bin";
    return decodeTensor(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), spec, format, file);
  } catch (error) {
    throw readError(error, spec);
  }
}

/**
 * Reads every sample before anything runs, so a wrong name, a missing pair or a bad size is
 * reported first. Inputs given as a folder, a glob or an .npz must all hold the same stems; an
 * input given as one file is shared by every sample; the other inputs are filled (`fillMode`,
 * the same values in every sample). Samples come sorted by name. With no collection the one
 * sample is named after the first input file given, else `fillMode`.
 */
export async function loadSamples(
  assignments: readonly string[],
  inputs: readonly TensorSpec[],
  fillMode: FillMode,
): Promise<Sample[]> {
  const given = new Map<number, { assignment: InputAssignment; expanded: ExpandedInputPath }>();
  for (const assignment of parseInputAssignments(assignments, inputs)) {
    const spec = findTensor(assignment.key, inputs);
    if (given.has(spec.index)) {
      throw new DeviceError(
        `--input: input ${JSON.stringify(spec.name)} is given twice; give each input once (a folder, a glob or an .npz holds many samples)`,
        "bad-argument",
      );
    }
    given.set(spec.index, { assignment, expanded: await expandInputPath(assignment.path) });
  }

  const collections = [...given.entries()].filter(([, g]) => g.expanded.kind !== "file");
  let names: string[];
  if (collections.length === 0) {
    const first = [...given.values()][0];
    names = [first ? first.expanded.entries[0]!.stem : fillMode];
  } else {
    const [, lead] = collections[0]!;
    names = lead.expanded.entries.map((e) => e.stem);
    for (const [index, other] of collections.slice(1)) {
      const stems = new Set(other.expanded.entries.map((e) => e.stem));
      const leadStems = new Set(names);
      const missing = names.filter((s) => !stems.has(s));
      const extra = [...stems].filter((s) => !leadStems.has(s));
      if (missing.length > 0 || extra.length > 0) {
        const name = (i: number) => JSON.stringify(inputs[i]!.name);
        const parts: string[] = [];
        if (missing.length > 0)
          parts.push(`${other.expanded.path} (input ${name(index)}) has no ${list(missing)}`);
        if (extra.length > 0)
          parts.push(`${lead.expanded.path} (input ${name(collections[0]![0])}) has no ${list(extra)}`);
        throw new DeviceError(
          `--input: samples pair across inputs by file stem, and ${parts.join("; ")}`,
          "bad-argument",
        );
      }
    }
  }

  const fills = new Map<number, HostTensor>();
  const samples: Sample[] = [];
  for (const name of names) {
    const sampleInputs: SampleInput[] = [];
    for (const spec of inputs) {
      const g = given.get(spec.index);
      if (!g) {
        let tensor = fills.get(spec.index);
        if (!tensor) {
          tensor = fillTensor(fillMode, spec.dtype, spec.shape, spec.index);
          fills.set(spec.index, tensor);
        }
        sampleInputs.push({ spec, tensor, source: { fill: fillMode } });
        continue;
      }
      const entry =
        g.expanded.kind === "file"
          ? g.expanded.entries[0]!
          : g.expanded.entries.find((e) => e.stem === name)!;
      sampleInputs.push({ spec, tensor: await readEntry(entry, spec), source: entry.source });
    }
    samples.push({ name, inputs: sampleInputs });
  }
  return samples;
}

function list(stems: readonly string[]): string {
  const shown = stems.slice(0, 5).map((s) => JSON.stringify(s));
  return `${stems.length === 1 ? "sample" : "samples"} ${shown.join(", ")}${stems.length > 5 ? ` and ${stems.length - 5} more` : ""}`;
}
