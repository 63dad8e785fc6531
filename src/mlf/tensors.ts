// Inputs and outputs of a module in argument order, from whichever sources the archive has:
// metadata.json (TVM v0.11+), the C-interface header, the graph JSON, the Relay text.
import { MlfError } from "./errors.js";
import { elementBytes, packedBytes, storageBytes } from "../dtype/index.js";
import { sanitizeName } from "./c-names.js";
import { graphArgs, graphOutputs, type GraphJson } from "./graph.js";
import type { CInterfaceHeader } from "./header.js";
import type { MainEntry } from "./metadata.js";
import type { MlfExecutor, MlfTensor } from "./model.js";
import { isConstantParamName, type RelayMain, type RelayType } from "./relay.js";

export interface ResolveContext {
  name: string;
  executor: MlfExecutor;
  main: MainEntry;
  header?: CInterfaceHeader;
  graph?: GraphJson;
  graphFile?: string;
  relay?: RelayMain;
  paramNames: Set<string>;
  cText: string;
  symbolPrefix: string;
  warn: (code: string, message: string) => void;
}

/** Fills an inferred shape's single unknown dimension from the element count, or falls back to [n]. */
function completeShape(type: RelayType | undefined, elements: number): number[] {
  const shape = type?.shape;
  if (shape) {
    const unknown = shape.filter((d) => d === null).length;
    const known = shape.reduce<number>((a, d) => a * (d ?? 1), 1);
    if (unknown === 0 && known === elements) return shape as number[];
    if (unknown === 1 && known > 0 && elements % known === 0) return shape.map((d) => d ?? elements / known);
  }
  return [elements];
}

function knownShape(type: RelayType | undefined): number[] | undefined {
  return type?.shape && type.shape.every((d) => d !== null) ? (type.shape as number[]) : undefined;
}

/** Resolves inputs and outputs in argument order; see docs/mlf.md ("Tensors"). */
export function resolveTensors(ctx: ResolveContext): { inputs: MlfTensor[]; outputs: MlfTensor[] } {
  const { main, header, graph, graphFile, relay, warn, name } = ctx;
  const graphIns = graph
    ? graphArgs(graph, graphFile!).filter((a) => !ctx.paramNames.has(a.name))
    : undefined;
  const graphOuts = graph ? graphOutputs(graph, graphFile!) : undefined;
  const relayParam = (n: string) => relay?.params.find((p) => p.name === n || sanitizeName(p.name) === n);

  // Names in argument order.
  let inputNames: string[];
  let outputNames: string[];
  if (main.inputs && main.outputs) {
    const metaIn = Object.keys(main.inputs);
    const metaOut = Object.keys(main.outputs);
    const orderBy = (keys: string[], order: string[] | undefined, what: string): string[] => {
      if (!order) return keys;
      const sorted = order.map((o) => keys.find((k) => k === o || sanitizeName(k) === o));
      if (sorted.some((s) => s === undefined) || sorted.length !== keys.length) {
        warn(
          "name-mismatch",
          `${name}: ${what} in metadata (${keys.join(", ")}) differ from the code (${order.join(", ")})`,
        );
        return keys;
      }
      return sorted as string[];
    };
    inputNames = orderBy(
      metaIn,
      header?.inputs.slice() ??
        graphIns?.map((g) => g.name) ??
        relay?.params.map((p) => p.name).filter((p) => metaIn.includes(p)),
      "inputs",
    );
    const outputOrder =
      header?.outputs.slice() ??
      relay?.outputTensorNames?.slice() ??
      (metaOut.length > 1
        ? [...metaOut].sort((a, b) => Number(a.replace(/^output/, "")) - Number(b.replace(/^output/, "")))
        : undefined);
    outputNames = orderBy(metaOut, outputOrder, "outputs");
  } else {
    if (header) inputNames = header.inputs.slice();
    else if (graphIns) inputNames = graphIns.map((g) => g.name);
    else {
      const candidates = relay?.params.filter((p) => !isConstantParamName(p.name)).map((p) => p.name) ?? [];
      const entryArgs = countEntryArguments(ctx.cText, ctx.symbolPrefix);
      const outCount = relay?.resultTypes.length || 1;
      if (entryArgs !== undefined && candidates.length !== entryArgs - outCount) {
        const all = relay?.params.map((p) => p.name) ?? [];
        warn(
          "derived-inputs",
          `${name}: the entry takes ${entryArgs} tensors but Relay @main has ${candidates.length} non-constant parameters; taking the first ${entryArgs - outCount}`,
        );
        inputNames = all.slice(0, Math.max(0, entryArgs - outCount));
      } else inputNames = candidates;
    }
    if (header) outputNames = header.outputs.slice();
    else if (relay?.outputTensorNames) outputNames = relay.outputTensorNames.slice();
    else {
      const n = graphOuts?.length ?? (relay?.resultTypes.length || 1);
      outputNames = n === 1 ? ["output"] : Array.from({ length: n }, (_, i) => `output${i}`);
    }
  }

  const fromMeta = !!(main.inputs && main.outputs);
  const inputs: MlfTensor[] = inputNames.map((n) => {
    const meta = main.inputs?.[n];
    const g = graphIns?.find((x) => x.name === n || sanitizeName(x.name) === n);
    const r = relayParam(n);
    const dtype = meta?.dtype ?? g?.dtype ?? r?.dtype;
    const displayName = g?.name ?? (r && header ? r.name : n);
    if (!dtype)
      throw new MlfError(
        "bad-file",
        `${name}: cannot tell the dtype of input ${n} (no metadata, graph or Relay type)`,
      );
    const shape = g?.shape.slice() ?? knownShape(r);
    const bytes = meta?.size ?? (shape ? packedBytes(dtype, shape) : headerSize(ctx, n));
    if (bytes === undefined) throw new MlfError("bad-file", `${name}: cannot tell the size of input ${n}`);
    if (meta && shape && packedBytes(dtype, shape) !== meta.size)
      warn(
        "size-mismatch",
        `${name}: input ${n} is ${meta.size} bytes in metadata but ${dtype}${JSON.stringify(shape)} needs ${packedBytes(dtype, shape)}`,
      );
    return {
      name: fromMeta ? n : displayName,
      cName: sanitizeName(fromMeta ? n : displayName),
      dtype,
      shape: shape ?? [Math.floor(bytes / elementBytes(dtype))],
      bytes,
      derived: !fromMeta,
    };
  });

  const inputBytes = inputs.reduce((a, t) => a + t.bytes, 0);
  const outputs: MlfTensor[] = [];
  outputNames.forEach((n, i) => {
    const meta = main.outputs?.[n];
    const g = graphOuts?.[i];
    const declared = relay?.returnTypes?.[i];
    const inferred = relay?.resultTypes[i];
    const dtype = meta?.dtype ?? g?.dtype ?? declared?.dtype ?? inferred?.dtype;
    if (!dtype)
      throw new MlfError(
        "bad-file",
        `${name}: cannot tell the dtype of output ${n} (no metadata, graph or Relay type)`,
      );
    let bytes = meta?.size ?? g?.bytes ?? headerSize(ctx, n);
    if (bytes === undefined) {
      const shape = knownShape(declared) ?? knownShape(inferred);
      if (shape) bytes = packedBytes(dtype, shape);
      else if (outputNames.length === 1 && main.io_size_bytes !== undefined)
        bytes = main.io_size_bytes - inputBytes;
    }
    if (bytes === undefined || bytes < 0)
      throw new MlfError("bad-file", `${name}: cannot tell the size of output ${n}`);
    const elements = Math.floor(bytes / elementBytes(dtype));
    const shape = g?.shape.slice() ?? completeShape(knownShape(declared) ? declared : inferred, elements);
    if (meta && g && g.bytes !== meta.size)
      warn(
        "size-mismatch",
        `${name}: output ${n} is ${meta.size} bytes in metadata but the graph needs ${g.bytes}`,
      );
    if (storageBytes(dtype, shape) !== bytes && !meta)
      warn(
        "size-mismatch",
        `${name}: output ${n} is ${bytes} bytes, which ${dtype}${JSON.stringify(shape)} does not fill exactly`,
      );
    outputs.push({ name: n, cName: sanitizeName(n), dtype, shape, bytes, derived: !fromMeta });
  });
  return { inputs, outputs };
}

function headerSize(ctx: ResolveContext, tensor: string): number | undefined {
  return ctx.header?.macros.get(
    `${ctx.symbolPrefix.toUpperCase()}_${sanitizeName(tensor).toUpperCase()}_SIZE`,
  );
}

/** Number of tensor arguments of the AOT inner function (`…_run_model` or `…___tvm_main__`). */
function countEntryArguments(cText: string, prefix: string): number | undefined {
  const m = new RegExp(`int32_t\\s+${prefix}_(?:run_model|__tvm_main__)\\s*\\(([^)]*)\\)`).exec(cText);
  if (!m) return undefined;
  const params = m[1]!
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "" && p !== "void");
  // A packed main (`void* args, int32_t* arg_type_ids, int32_t num_args, ...`) says nothing about
  // how many tensors it takes.
  if (params.length === 6 && /\bargs$/.test(params[0]!) && /num_args$/.test(params[2]!)) return undefined;
  return params.length;
}
