import { MlfError } from "./errors.js";
import { storageBytes } from "../dtype/index.js";

/** The parts of a graph-executor JSON this reader uses. */
export interface GraphJson {
  readonly nodes: readonly { op: string; name: string; inputs: unknown[]; attrs?: Record<string, unknown> }[];
  readonly arg_nodes: readonly number[];
  readonly heads: readonly (readonly number[])[];
  readonly node_row_ptr?: readonly number[];
  readonly attrs: {
    readonly dltype: readonly [string, readonly string[]];
    readonly shape: readonly [string, readonly (readonly number[])[]];
    readonly storage_id: readonly [string, readonly number[]];
    readonly device_index?: readonly [string, readonly number[]];
  };
}

/** One node entry (a tensor) of the graph. */
export interface GraphTensor {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly bytes: number;
  readonly storageId: number;
}

/** A storage buffer of the graph's memory plan, sized by the largest entry that shares it. */
export interface GraphStorage {
  readonly storageId: number;
  readonly bytes: number;
  /** The arg node bound to it, if any (as `memory.sids[].input_binding`). */
  readonly inputBinding?: string;
}

export function parseGraphJson(text: string, file: string): GraphJson {
  let g: unknown;
  try {
    g = JSON.parse(text);
  } catch (error) {
    throw new MlfError("bad-file", `${file}: not valid JSON (${(error as Error).message})`, file);
  }
  const o = g as Partial<GraphJson> | null;
  const bad = (what: string): never => {
    throw new MlfError("bad-file", `${file}: graph JSON ${what}`, file);
  };
  if (!o || typeof o !== "object") bad("is not an object");
  if (!Array.isArray(o!.nodes)) bad("has no nodes list");
  if (!Array.isArray(o!.arg_nodes)) bad("has no arg_nodes list");
  if (!Array.isArray(o!.heads)) bad("has no heads list");
  const attrs = o!.attrs;
  if (
    !attrs ||
    !Array.isArray(attrs.dltype?.[1]) ||
    !Array.isArray(attrs.shape?.[1]) ||
    !Array.isArray(attrs.storage_id?.[1])
  )
    bad("attrs lack dltype, shape or storage_id lists");
  return o as GraphJson;
}

/** Index of the node entry for output `index` of node `nid`. */
function entryIndex(g: GraphJson, nid: number, index: number): number {
  if (g.node_row_ptr) return g.node_row_ptr[nid]! + index;
  let e = 0;
  for (let i = 0; i < nid; i++) {
    const n = Number(g.nodes[i]!.attrs?.num_outputs ?? 1);
    e += Number.isFinite(n) ? n : 1;
  }
  return e + index;
}

function tensorAt(g: GraphJson, entry: number, name: string, file: string): GraphTensor {
  const dtype = g.attrs.dltype[1][entry];
  const shape = g.attrs.shape[1][entry];
  const sid = g.attrs.storage_id[1][entry];
  if (dtype === undefined || shape === undefined || sid === undefined)
    throw new MlfError(
      "bad-file",
      `${file}: node entry ${entry} (${name}) has no dtype, shape or storage id`,
      file,
    );
  return { name, dtype, shape: [...shape], bytes: storageBytes(dtype, shape), storageId: sid };
}

/** Every arg node, in argument order (inputs and bound parameters together). */
export function graphArgs(g: GraphJson, file: string): GraphTensor[] {
  return g.arg_nodes.map((nid) => {
    const node = g.nodes[nid];
    if (!node) throw new MlfError("bad-file", `${file}: arg node ${nid} does not exist`, file);
    return tensorAt(g, entryIndex(g, nid, 0), node.name, file);
  });
}

/** The graph's outputs (heads), in order; names are `output` or `output0`, `output1`, …. */
export function graphOutputs(g: GraphJson, file: string): GraphTensor[] {
  return g.heads.map((h, i) => {
    const [nid, index] = h as [number, number];
    const name = g.heads.length === 1 ? "output" : `output${i}`;
    return tensorAt(g, entryIndex(g, nid, index ?? 0), name, file);
  });
}

/** Storage buffers in order of first appearance, each as large as its largest entry. */
export function graphStorage(g: GraphJson): GraphStorage[] {
  const bytes = new Map<number, number>();
  const binding = new Map<number, string>();
  g.attrs.storage_id[1].forEach((sid, entry) => {
    // As the runtime allocates: whole bytes per element.
    const size = storageBytes(g.attrs.dltype[1][entry]!, g.attrs.shape[1][entry]!);
    bytes.set(sid, Math.max(bytes.get(sid) ?? 0, size));
  });
  for (const nid of g.arg_nodes) {
    const sid = g.attrs.storage_id[1][entryIndex(g, nid, 0)];
    if (sid !== undefined && !binding.has(sid)) binding.set(sid, g.nodes[nid]!.name);
  }
  return [...bytes].map(([storageId, size]) => ({
    storageId,
    bytes: size,
    inputBinding: binding.get(storageId),
  }));
}

/** `func_name` of every `tvm_op` node. */
export function graphFunctionNames(g: GraphJson): string[] {
  return g.nodes
    .filter((n) => n.op === "tvm_op")
    .map((n) => String(n.attrs?.func_name ?? ""))
    .filter((n) => n !== "" && n !== "__nop" && n !== "__copy");
}
