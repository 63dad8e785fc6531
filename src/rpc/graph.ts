// The host-side graph executor (docs/runtime.md, "Graph"): the graph runs on the host, every kernel is a system-lib function
// on the device called over RPC with DLTensors that point into device storage.
import type { DLTensor } from "./codec.js";
import {
  dtypeEquals,
  elementCount,
  formatDType,
  parseDType,
  storageBytes,
  type DLDataType,
} from "../dtype/index.js";
import { formatShape } from "./device.js";
import { MissingKernelError, RpcError, RpcUsageError } from "./errors.js";
import { RemoteNDArray, type RemoteFunction, type RemoteRuntime } from "./remote.js";
import type { HostTensor } from "./tensors.js";
import type { TensorInfo } from "./aot.js";

/** A graph JSON problem; the message names the field. */
export class GraphJsonError extends RpcError {
  override name = "GraphJsonError";
}

/** One node entry (an output slot of a node): where it lives and what it holds. */
export interface GraphEntry {
  readonly storageId: number;
  readonly shape: readonly number[];
  readonly dtype: DLDataType;
  readonly deviceType?: number;
}

export interface GraphNode {
  readonly op: string;
  readonly name: string;
  /** Entry ids of the inputs. */
  readonly inputs: readonly number[];
  /** Entry ids of the outputs. */
  readonly outputs: readonly number[];
  readonly funcName?: string;
  readonly flattenData: boolean;
}

/** A storage pool entry: the largest entry assigned to the storage id decides its size. */
export interface StorageEntry {
  readonly storageId: number;
  /** Largest entry size in bytes. */
  readonly bytes: number;
  /** What to allocate: rounded up to whole float32 words, as TVM does (`4·ceil(bytes/4)`). */
  readonly allocBytes: number;
}

/** The graph, checked and indexed. */
export interface GraphPlan {
  readonly nodes: readonly GraphNode[];
  readonly entries: readonly GraphEntry[];
  /** Argument nodes (model inputs and parameters) in `arg_nodes` order. */
  readonly inputs: readonly { readonly name: string; readonly nodeId: number; readonly entryId: number }[];
  /** Entry ids of `heads`. */
  readonly outputs: readonly number[];
  /** Indexed by storage id. */
  readonly storage: readonly StorageEntry[];
}

type Json = unknown;

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function intList(value: Json, what: string): number[] {
  if (!Array.isArray(value) || !value.every((v) => Number.isSafeInteger(v) && (v as number) >= 0)) {
    throw new GraphJsonError(`graph JSON: ${what} must be a list of non-negative integers`);
  }
  return value as number[];
}

/** Reads `attrs.<key>`, which TVM writes as `["list_int", [...]]` (or a bare list). */
function typedAttr(
  attrs: Record<string, Json>,
  key: string,
  tag: string,
  required: boolean,
): Json[] | undefined {
  const value = attrs[key];
  if (value === undefined) {
    if (required) throw new GraphJsonError(`graph JSON: attrs.${key} is missing`);
    return undefined;
  }
  if (Array.isArray(value) && value.length === 2 && value[0] === tag && Array.isArray(value[1]))
    return value[1];
  if (Array.isArray(value) && value[0] !== tag && typeof value[0] !== "string") return value;
  throw new GraphJsonError(`graph JSON: attrs.${key} must be ["${tag}", [...]]`);
}

/**
 * Checks graph JSON (object or text) and computes the storage plan: entry ids from `node_row_ptr`, each
 * entry's storage id, shape and dtype, and per storage id the largest entry's byte size.
 */
export function planGraph(graphJson: Json): GraphPlan {
  let graph = graphJson;
  if (typeof graph === "string") {
    try {
      graph = JSON.parse(graph) as Json;
    } catch (error) {
      throw new GraphJsonError(`graph JSON is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (!isObject(graph) || !Array.isArray(graph.nodes) || !isObject(graph.attrs)) {
    throw new GraphJsonError("graph JSON must be an object with nodes, arg_nodes, heads and attrs");
  }
  const rawNodes = graph.nodes;
  const attrs = graph.attrs;
  const numOutputs = rawNodes.map((node, nid) => {
    if (!isObject(node) || typeof node.op !== "string" || typeof node.name !== "string") {
      throw new GraphJsonError(`graph JSON: node ${nid} needs string "op" and "name"`);
    }
    const count =
      isObject(node.attrs) && node.attrs.num_outputs !== undefined ? Number(node.attrs.num_outputs) : 1;
    if (!Number.isSafeInteger(count) || count < 0)
      throw new GraphJsonError(`graph JSON: node ${nid} has a bad num_outputs`);
    return count;
  });
  let rowPtr: number[];
  if (graph.node_row_ptr !== undefined) {
    rowPtr = intList(graph.node_row_ptr, "node_row_ptr");
    if (rowPtr.length !== rawNodes.length + 1) {
      throw new GraphJsonError(
        `graph JSON: node_row_ptr has ${rowPtr.length} items, expected ${rawNodes.length + 1}`,
      );
    }
  } else {
    rowPtr = [0];
    for (const n of numOutputs) rowPtr.push(rowPtr[rowPtr.length - 1]! + n);
  }
  const entryCount = rowPtr[rowPtr.length - 1]!;
  const storageIds = intList(typedAttr(attrs, "storage_id", "list_int", true), "attrs.storage_id");
  const shapes = typedAttr(attrs, "shape", "list_shape", true)!;
  const dltypes = typedAttr(attrs, "dltype", "list_str", true)!;
  const deviceIndex = typedAttr(attrs, "device_index", "list_int", false);
  const scopes = typedAttr(attrs, "storage_scope", "list_str", false);
  for (const [name, list] of [
    ["storage_id", storageIds],
    ["shape", shapes],
    ["dltype", dltypes],
    ["device_index", deviceIndex],
    ["storage_scope", scopes],
  ] as const) {
    if (list !== undefined && list.length !== entryCount) {
      throw new GraphJsonError(
        `graph JSON: attrs.${name} has ${list.length} items for ${entryCount} node entries`,
      );
    }
  }
  const entries: GraphEntry[] = storageIds.map((storageId, eid) => {
    const shape = intList(shapes[eid], `attrs.shape[${eid}]`);
    const dltype = dltypes[eid];
    if (typeof dltype !== "string")
      throw new GraphJsonError(`graph JSON: attrs.dltype[${eid}] is not a string`);
    let dtype: DLDataType;
    try {
      dtype = parseDType(dltype);
    } catch (error) {
      throw new GraphJsonError(`graph JSON: attrs.dltype[${eid}]: ${(error as Error).message}`);
    }
    const bits = dtype.bits * dtype.lanes;
    if (bits % 8 !== 0 && bits !== 1 && bits !== 4) {
      throw new GraphJsonError(
        `graph JSON: entry ${eid} has dtype ${dltype}, whose size is not a whole number of bytes`,
      );
    }
    const scope = scopes?.[eid];
    if (scope !== undefined && scope !== "" && scope !== "global") {
      throw new GraphJsonError(
        `graph JSON: entry ${eid} uses storage scope "${String(scope)}"; only global memory exists on a microTVM device`,
      );
    }
    const deviceType = deviceIndex?.[eid];
    return { storageId, shape, dtype, ...(typeof deviceType === "number" ? { deviceType } : {}) };
  });

  const nodes: GraphNode[] = rawNodes.map((raw, nid) => {
    const node = raw as Record<string, Json>;
    if (!Array.isArray(node.inputs))
      throw new GraphJsonError(`graph JSON: node ${nid} (${String(node.name)}) has no inputs list`);
    const inputs = node.inputs.map((input, k) => {
      if (!Array.isArray(input) || input.length < 2) {
        throw new GraphJsonError(`graph JSON: node ${nid} input ${k} must be [node_id, index, version]`);
      }
      const [source, index] = intList(input, `node ${nid} input ${k}`);
      if (source! >= rawNodes.length || index! >= numOutputs[source!]!) {
        throw new GraphJsonError(
          `graph JSON: node ${nid} input ${k} refers to missing entry [${source}, ${index}]`,
        );
      }
      return rowPtr[source!]! + index!;
    });
    const nodeAttrs = isObject(node.attrs) ? node.attrs : {};
    const outputs = Array.from({ length: numOutputs[nid]! }, (_, k) => rowPtr[nid]! + k);
    const op = node.op as string;
    if (op !== "null" && op !== "tvm_op") {
      throw new GraphJsonError(
        `graph JSON: node ${nid} has op "${op}"; only "null" and "tvm_op" nodes can run`,
      );
    }
    const funcName = typeof nodeAttrs.func_name === "string" ? nodeAttrs.func_name : undefined;
    if (op === "tvm_op" && !funcName)
      throw new GraphJsonError(`graph JSON: tvm_op node ${nid} has no attrs.func_name`);
    return {
      op,
      name: node.name as string,
      inputs,
      outputs,
      ...(funcName !== undefined ? { funcName } : {}),
      flattenData: String(nodeAttrs.flatten_data ?? "0") === "1",
    };
  });

  const argNodes = intList(graph.arg_nodes, "arg_nodes");
  const inputs = argNodes.map((nodeId) => {
    if (nodeId >= nodes.length)
      throw new GraphJsonError(`graph JSON: arg_nodes refers to missing node ${nodeId}`);
    return { name: nodes[nodeId]!.name, nodeId, entryId: rowPtr[nodeId]! };
  });
  if (!Array.isArray(graph.heads)) throw new GraphJsonError("graph JSON: heads is missing");
  const outputs = graph.heads.map((head, k) => {
    const [nodeId, index] = intList(head, `heads[${k}]`);
    if (nodeId === undefined || nodeId >= nodes.length || (index ?? 0) >= numOutputs[nodeId]!) {
      throw new GraphJsonError(`graph JSON: heads[${k}] refers to a missing entry`);
    }
    return rowPtr[nodeId]! + (index ?? 0);
  });

  const bytesBySid: number[] = [];
  entries.forEach((entry) => {
    const bytes = storageBytes(entry.dtype, entry.shape);
    bytesBySid[entry.storageId] = Math.max(bytesBySid[entry.storageId] ?? 0, bytes);
  });
  const storage: StorageEntry[] = Array.from(bytesBySid, (bytes = 0, storageId) => ({
    storageId,
    bytes,
    allocBytes: 4 * Math.ceil(bytes / 4),
  }));
  return { nodes, entries, inputs, outputs, storage };
}

export interface GraphExecutorOptions {
  /** Parameters to upload after allocation (name → tensor), e.g. from the MLF params file. */
  readonly params?: ReadonlyMap<string, HostTensor>;
  /** Ask the system lib for `_lookup_linked_param` and use linked parameters in place (default true). */
  readonly lookupLinkedParams?: boolean;
}

/** Where a storage id lives on the device. */
interface StorageSlot {
  readonly data: bigint;
  readonly owned: boolean;
}

/** A graph model run from the host; kernels execute on the device. */
export class GraphExecutor {
  private disposed = false;
  private readonly loadedParams = new Set<string>();

  private constructor(
    readonly runtime: RemoteRuntime,
    readonly plan: GraphPlan,
    private readonly slots: readonly StorageSlot[],
    private readonly kernels: ReadonlyMap<number, RemoteFunction>,
  ) {}

  /**
   * Plans storage, allocates one device buffer per storage id (DevAllocData, 64-byte aligned, float32 hint),
   * looks up every kernel in the system lib, then uploads `params`. On failure, frees what it allocated.
   */
  static async create(
    runtime: RemoteRuntime,
    graphJson: unknown,
    options: GraphExecutorOptions = {},
  ): Promise<GraphExecutor> {
    const plan = planGraph(graphJson);
    const systemLib = await runtime.systemLib();
    const linked = new Map<number, bigint>();
    if (options.lookupLinkedParams ?? true) {
      const lookup = await systemLib.getFunction("_lookup_linked_param");
      if (lookup) {
        for (const slot of plan.storage) {
          const found = await lookup.call(slot.storageId);
          if (typeof found === "bigint" && found !== 0n) linked.set(slot.storageId, found);
        }
        await lookup.free();
      }
    }
    const slots: StorageSlot[] = [];
    const kernels = new Map<number, RemoteFunction>();
    const executor = new GraphExecutor(runtime, plan, slots, kernels);
    try {
      for (const slot of plan.storage) {
        const data = linked.get(slot.storageId);
        if (data !== undefined) slots.push({ data, owned: false });
        else
          slots.push({
            data: await runtime.client.devAllocData(slot.allocBytes, { device: runtime.device }),
            owned: true,
          });
      }
      const byName = new Map<string, RemoteFunction>();
      for (const [nid, node] of plan.nodes.entries()) {
        if (node.op !== "tvm_op" || node.funcName === "__nop" || node.funcName === "__copy") continue;
        const name = node.funcName!;
        let fn = byName.get(name);
        if (!fn) {
          fn = await systemLib.getFunction(name);
          if (!fn) {
            throw new MissingKernelError(
              `graph node ${nid} (${node.name}) needs kernel "${name}", which the device's system lib does not have; is the firmware built from this model?`,
              name,
            );
          }
          byName.set(name, fn);
        }
        kernels.set(nid, fn);
      }
      if (options.params) await executor.loadParams(options.params);
    } catch (error) {
      await executor.dispose().catch(() => undefined);
      throw error;
    }
    return executor;
  }

  /** The device tensor of a node entry: its storage base, byte_offset 0, the entry's own shape and dtype. */
  entryTensor(entryId: number, flatten = false): DLTensor {
    const entry = this.plan.entries[entryId]!;
    const shape = flatten ? [elementCount(entry.shape)] : entry.shape;
    return {
      data: this.slots[entry.storageId]!.data,
      device: this.runtime.device,
      dtype: entry.dtype,
      shape,
      byteOffset: 0,
    };
  }

  private info(entryId: number, name: string, index: number): TensorInfo {
    const entry = this.plan.entries[entryId]!;
    return {
      name,
      index,
      dtype: formatDType(entry.dtype),
      shape: entry.shape,
      nbytes: storageBytes(entry.dtype, entry.shape),
    };
  }

  /** Every argument node (model inputs and parameters), as TVM's graph executor counts inputs. */
  inputs(): TensorInfo[] {
    return this.plan.inputs.map((input, i) => this.info(input.entryId, input.name, i));
  }

  /** Argument nodes that are not loaded parameters: what the user must supply. */
  modelInputs(): TensorInfo[] {
    return this.inputs().filter((input) => !this.loadedParams.has(input.name));
  }

  outputs(): TensorInfo[] {
    return this.plan.outputs.map((entryId, i) => this.info(entryId, `output_${i}`, i));
  }

  get numInputs(): number {
    return this.plan.inputs.length;
  }
  get numOutputs(): number {
    return this.plan.outputs.length;
  }

  inputIndex(key: string | number): number {
    if (typeof key === "number") {
      if (!Number.isInteger(key) || key < 0 || key >= this.plan.inputs.length) {
        throw new RpcUsageError(
          `input index ${key} is out of range; the graph has ${this.plan.inputs.length} inputs`,
        );
      }
      return key;
    }
    const index = this.plan.inputs.findIndex((input) => input.name === key);
    if (index < 0) {
      throw new RpcUsageError(
        `the graph has no input "${key}"; its inputs are: ${this.plan.inputs.map((i) => i.name).join(", ")}`,
      );
    }
    return index;
  }

  private checkLive(): void {
    if (this.disposed) throw new RpcUsageError("this graph executor was disposed");
  }

  /** Copies an input (or parameter) into its storage; dtype and shape must match, raw bytes must match the size. */
  async setInput(key: string | number, value: HostTensor | Uint8Array): Promise<void> {
    this.checkLive();
    const input = this.plan.inputs[this.inputIndex(key)]!;
    const tensor = this.entryTensor(input.entryId);
    const expected = storageBytes(tensor.dtype, tensor.shape);
    const label = `input "${input.name}" (${formatDType(tensor.dtype)} ${formatShape(tensor.shape)})`;
    if (!(value instanceof Uint8Array)) {
      const dtype = parseDType(value.dtype);
      if (!dtypeEquals(dtype, tensor.dtype) || value.shape.join(",") !== tensor.shape.join(",")) {
        throw new RpcUsageError(`${label} cannot take a ${value.dtype} ${formatShape(value.shape)} tensor`);
      }
    }
    const bytes = value instanceof Uint8Array ? value : value.data;
    if (bytes.length !== expected)
      throw new RpcUsageError(`${label} needs ${expected} bytes, got ${bytes.length}`);
    await this.runtime.client.copyToRemote(tensor, bytes);
  }

  /** Uploads parameters by name; names that are not graph inputs are skipped, as TVM does. Returns the names used. */
  async loadParams(params: ReadonlyMap<string, HostTensor>): Promise<string[]> {
    const used: string[] = [];
    for (const [name, value] of params) {
      if (!this.plan.inputs.some((input) => input.name === name)) continue;
      await this.setInput(name, value);
      this.loadedParams.add(name);
      used.push(name);
    }
    return used;
  }

  /** Calls every kernel in node order with its input and output entries as DLTensors. */
  async run(): Promise<void> {
    this.checkLive();
    for (const [nid, node] of this.plan.nodes.entries()) {
      if (node.op !== "tvm_op" || node.funcName === "__nop") continue;
      const args = [...node.inputs, ...node.outputs].map((eid) => this.entryTensor(eid, node.flattenData));
      if (node.funcName === "__copy") {
        await this.runtime.client.copyAmongRemote(args[0]!, args[1]!);
        continue;
      }
      const kernel = this.kernels.get(nid)!;
      await this.runtime.client.call(
        kernel.handle,
        args.map((value) => ({ type: "tensor", value })),
        `CallFunc ${node.funcName} (graph node ${nid})`,
      );
    }
  }

  /** Copies output `index` (a `heads` entry) back. */
  async getOutput(index: number): Promise<HostTensor> {
    this.checkLive();
    if (!Number.isInteger(index) || index < 0 || index >= this.plan.outputs.length) {
      throw new RpcUsageError(
        `output index ${index} is out of range; the graph has ${this.plan.outputs.length} outputs`,
      );
    }
    const tensor = this.entryTensor(this.plan.outputs[index]!);
    return {
      dtype: formatDType(tensor.dtype),
      shape: [...tensor.shape],
      data: await this.runtime.client.copyFromRemote(tensor),
    };
  }

  async getOutputs(): Promise<HostTensor[]> {
    const outputs: HostTensor[] = [];
    for (let j = 0; j < this.plan.outputs.length; j++) outputs.push(await this.getOutput(j));
    return outputs;
  }

  /** A borrowed view of an entry's device memory (for the time evaluator or custom calls). */
  entryArray(entryId: number): RemoteNDArray {
    return new RemoteNDArray(this.runtime, this.entryTensor(entryId), { kind: "borrowed" });
  }

  /** Frees the device storage (DevFreeData) and kernel handles; safe to call twice. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const errors: unknown[] = [];
    for (const slot of this.slots) {
      if (slot.owned)
        await this.runtime.client
          .devFreeData(slot.data, this.runtime.device)
          .catch((e: unknown) => errors.push(e));
    }
    for (const fn of new Set(this.kernels.values())) await fn.free().catch((e: unknown) => errors.push(e));
    if (errors.length > 0) throw errors[0];
  }
}
