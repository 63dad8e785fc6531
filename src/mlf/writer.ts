import { rename, rm, writeFile } from "node:fs/promises";
import { MlfError } from "./errors.js";
import { packedBytes, parseDType } from "../dtype/index.js";
import { sanitizeName } from "./c-names.js";
import { generateCInterfaceHeader, parseCInterfaceHeader } from "./header.js";
import { serializeParams, type ParamInput } from "./params.js";
import { buildTar, type TarInput } from "./tar.js";

/** A tensor of the model's interface. */
export interface WriteTensor {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
}

/** What {@link writeMlf} packs into a version 7, AOT, C-interface archive. */
export interface WriteMlfOptions {
  /** Module name; symbols are `tvmgen_<name>`. Default `default`. */
  readonly moduleName?: string;
  /** C sources, in order; written as `codegen/host/src/<mod>_lib<N>.c` (N from 0, extension kept). */
  readonly sources: readonly { readonly name: string; readonly content: string | Uint8Array }[];
  /** The C-interface header text; generated from the tensors when omitted. Must match them. */
  readonly header?: string;
  /** Inputs and outputs in argument order. */
  readonly inputs: readonly WriteTensor[];
  readonly outputs: readonly WriteTensor[];
  /** Bytes of workspace the model allocates through TVMBackendAllocWorkspace. */
  readonly workspaceBytes: number;
  /** Bytes of constants compiled into the code (metadata `constants_size_bytes`). Default 0. */
  readonly constantsBytes?: number;
  /** Parameters for `parameters/<mod>.params` (empty when constants are in the code). */
  readonly parameters?: readonly ParamInput[];
  /** Target strings. Default `["c -keys=cpu"]`. */
  readonly targets?: readonly string[];
  /** Relay text of the model for `src/<mod>.relay`; readers take tensor shapes from it. */
  readonly relay?: string;
  /** `operator_functions` entries. */
  readonly operatorFunctions?: readonly { readonly name: string; readonly workspaceBytes: number }[];
  /** `export_datetime` (`YYYY-MM-DD HH:MM:SSZ`); also the tar mtime. Default: now. */
  readonly exportDatetime?: string;
  /** Where to write the tar; written atomically. When omitted, only the bytes are returned. */
  readonly output?: string;
}

/** Sorts object keys recursively, as TVM's exporter does (`sort_keys=True`). */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

function formatDatetime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}Z`;
}

/**
 * Writes a valid Model Library Format version 7 archive (AOT executor, C interface) and returns
 * its bytes. Same input, same bytes: the output is deterministic.
 */
export async function writeMlf(options: WriteMlfOptions): Promise<Buffer> {
  const mod = options.moduleName ?? "default";
  const bad = (message: string): never => {
    throw new MlfError("bad-input", message);
  };
  if (!/^[\x21-\x7e]*$/.test(mod) || mod.includes("/"))
    bad(`module name ${JSON.stringify(mod)} must be printable ASCII without '/'`);
  if (options.sources.length === 0) bad("at least one C source is needed");
  if (options.inputs.length === 0 || options.outputs.length === 0)
    bad("the model needs at least one input and one output");
  if (!Number.isInteger(options.workspaceBytes) || options.workspaceBytes < 0)
    bad("workspaceBytes must be a non-negative integer");
  for (const group of [options.inputs, options.outputs]) {
    const ids = new Set<string>();
    for (const t of group) {
      try {
        parseDType(t.dtype);
      } catch (error) {
        bad(`tensor ${t.name}: ${(error as Error).message}`);
      }
      if (!t.shape.every((d) => Number.isInteger(d) && d >= 0))
        bad(`tensor ${t.name}: shape ${JSON.stringify(t.shape)} is not a list of sizes`);
      const id = sanitizeName(t.name);
      if (ids.has(id)) bad(`tensor names sanitize to the same C identifier ${id}`);
      ids.add(id);
    }
  }
  const sized = (t: WriteTensor) => ({ name: t.name, bytes: packedBytes(t.dtype, t.shape) });
  const prefix = `tvmgen_${mod}`.toLowerCase();
  const header =
    options.header ??
    generateCInterfaceHeader({
      moduleName: mod,
      inputs: options.inputs.map(sized),
      outputs: options.outputs.map(sized),
      workspaceBytes: options.workspaceBytes,
    });
  const parsed = parseCInterfaceHeader(header, `${prefix}.h`);
  if (parsed.prefix !== prefix) bad(`the header declares ${parsed.prefix}_run, expected ${prefix}_run`);
  const expectIn = options.inputs.map((t) => sanitizeName(t.name));
  const expectOut = options.outputs.map((t) => sanitizeName(t.name));
  if (parsed.inputs.join() !== expectIn.join() || parsed.outputs.join() !== expectOut.join())
    bad(
      `the header's structs (inputs ${parsed.inputs.join(", ")}; outputs ${parsed.outputs.join(", ")}) do not match the tensors (inputs ${expectIn.join(", ")}; outputs ${expectOut.join(", ")})`,
    );

  const tensorMap = (list: readonly WriteTensor[]) =>
    Object.fromEntries(list.map((t) => [t.name, { dtype: t.dtype, size: packedBytes(t.dtype, t.shape) }]));
  const io = [...options.inputs, ...options.outputs].reduce((a, t) => a + packedBytes(t.dtype, t.shape), 0);
  const exportDatetime = options.exportDatetime ?? formatDatetime(new Date());
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})Z$/.exec(exportDatetime);
  if (!m) bad(`exportDatetime ${exportDatetime} is not YYYY-MM-DD HH:MM:SSZ`);
  const mtime = Math.floor(Date.UTC(+m![1]!, +m![2]! - 1, +m![3]!, +m![4]!, +m![5]!, +m![6]!) / 1000);
  const metadata = {
    modules: {
      [mod]: {
        executors: ["aot"],
        export_datetime: exportDatetime,
        memory: {
          functions: {
            main: [
              {
                constants_size_bytes: options.constantsBytes ?? 0,
                device: 1,
                inputs: tensorMap(options.inputs),
                io_size_bytes: io,
                outputs: tensorMap(options.outputs),
                workspace_size_bytes: options.workspaceBytes,
              },
            ],
            operator_functions: (options.operatorFunctions ?? []).map((f) => ({
              function_name: f.name,
              workspace: [{ device: 1, workspace_size_bytes: f.workspaceBytes }],
            })),
          },
        },
        model_name: mod,
        style: "full-model",
        target: [...(options.targets ?? ["c -keys=cpu"])],
      },
    },
    version: 7,
  };

  const files = new Map<string, Uint8Array>();
  const text = (s: string | Uint8Array) => (typeof s === "string" ? Buffer.from(s, "utf8") : s);
  files.set(`codegen/host/include/${prefix}.h`, text(header));
  options.sources.forEach((s, i) => {
    const ext = /\.(c|cc|cpp)$/.exec(s.name)?.[1] ?? bad(`source ${s.name} must end in .c, .cc or .cpp`);
    files.set(`codegen/host/src/${mod}_lib${i}.${ext}`, text(s.content));
  });
  files.set("metadata.json", Buffer.from(JSON.stringify(sortKeys(metadata), null, 2), "utf8"));
  files.set(`parameters/${mod}.params`, serializeParams(options.parameters ?? []));
  if (options.relay !== undefined) files.set(`src/${mod}.relay`, text(options.relay));

  // Directories and files in the order Python's tarfile.add walks a tree (sorted, depth first).
  const dirs = new Set<string>([""]);
  for (const f of files.keys()) {
    const parts = f.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  const entries: TarInput[] = [
    ...[...dirs].map((name) => ({ name, type: "directory" as const })),
    ...[...files].map(([name, data]) => ({ name, type: "file" as const, data })),
  ].sort((a, b) => comparePaths(a.name, b.name));
  const tar = buildTar(entries, mtime);
  if (options.output) {
    const tmp = `${options.output}.partial-${process.pid}`;
    try {
      await writeFile(tmp, tar);
      await rename(tmp, options.output);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }
  return tar;
}

/** Orders paths segment by segment, so a directory's contents follow it directly. */
function comparePaths(a: string, b: string): number {
  const x = a === "" ? [] : a.split("/");
  const y = b === "" ? [] : b.split("/");
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  }
  return x.length - y.length;
}
