// Operator profiling on the device. Graph models: each kernel timed on the device by
// runtime.RPCTimeEvaluator with its own arguments, as TVM's debug executor did. AOT models (which
// TVM never profiled): the firmware's -finstrument-functions hooks (runtime/src/profiler.c) time
// every operator call inside the AOT entry function; their sum is set next to the time evaluator's
// measurement of the whole `run`.
import {
  RpcProtocolError,
  RpcUsageError,
  timeEvaluator,
  type AotExecutor,
  type GraphExecutor,
  type RemoteFunction,
  type RemoteRuntime,
} from "../rpc/index.js";
import { STT_FUNC, type ElfFile } from "./elf.js";

/** One operator's device time per inference. */
export interface OperatorTime {
  /** The operator: its function (AOT) or kernel (graph) name. */
  readonly name: string;
  /** Calls per inference. */
  readonly calls: number;
  /** Device seconds per inference, all calls together. */
  readonly seconds: number;
  /** The same in clock ticks, when the clock counts ticks (AOT hooks; graph with a known timer). */
  readonly ticks?: number;
  /** Graph nodes that call it (graph models). */
  readonly nodes?: readonly string[];
}

export interface OperatorProfile {
  readonly executor: "aot" | "graph";
  /** Sorted by time, largest first. */
  readonly operators: readonly OperatorTime[];
  /** How the operators were timed. */
  readonly method: string;
  /** The clock the hooks read (AOT): name and ticks per second. */
  readonly clock?: { readonly name: string; readonly hz: number };
  /** Inferences (AOT) or runs per kernel (graph) the figures are averaged over. */
  readonly runs: number;
  /** AOT: the AOT main function's own time per inference (operators plus what lies between them). */
  readonly entrySeconds?: number;
  /** AOT: the time evaluator's seconds per `run` (hooks disarmed). */
  readonly wholeRunSeconds?: number;
  /** Things the reader must know (records dropped, deep calls not recorded). */
  readonly notes: readonly string[];
}

/** The table microtvm.profile.read returns (include/microtvm/profiler.h). */
export interface ProfileTable {
  readonly clockHz: number;
  readonly clockName: string;
  /** Where mtvm_profiler_register is in the running firmware. */
  readonly anchor: bigint;
  readonly truncated: boolean;
  readonly tooDeep: boolean;
  readonly records: readonly { address: bigint; ticks: bigint; calls: number; depth: number }[];
}

export function decodeProfileTable(bytes: Uint8Array): ProfileTable {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 48 || Buffer.from(bytes.subarray(0, 4)).toString("latin1") !== "MTPF") {
    throw new RpcProtocolError(
      `microtvm.profile.read returned ${bytes.length} bytes that are not a timing table`,
    );
  }
  if (bytes[4] !== 1)
    throw new RpcProtocolError(`operator timing table version ${bytes[4]} is not understood`);
  const count = view.getUint16(6, true);
  if (bytes.length !== 48 + count * 24) {
    throw new RpcProtocolError(`operator timing table: ${bytes.length} bytes for ${count} records`);
  }
  const nameEnd = bytes.indexOf(0, 24);
  const records = Array.from({ length: count }, (_, i) => {
    const o = 48 + i * 24;
    return {
      address: view.getBigUint64(o, true),
      ticks: view.getBigUint64(o + 8, true),
      calls: view.getUint32(o + 16, true),
      depth: view.getUint16(o + 20, true),
    };
  });
  return {
    clockHz: Number(view.getBigUint64(8, true)),
    clockName: Buffer.from(bytes.subarray(24, nameEnd < 0 || nameEnd > 48 ? 48 : nameEnd)).toString("latin1"),
    anchor: view.getBigUint64(16, true),
    truncated: (bytes[5]! & 1) !== 0,
    tooDeep: (bytes[5]! & 2) !== 0,
    records,
  };
}

/** Names for the addresses the hooks recorded, from the firmware's symbol table. */
export function functionNamer(elf: ElfFile, anchor: bigint): (address: bigint) => string | undefined {
  // Thumb function addresses carry bit 0; compare without it.
  const clear = (v: bigint) => (elf.machine === 40 ? v & ~1n : v);
  const functions = elf.symbols.filter((s) => s.kind === STT_FUNC && s.section !== 0);
  const anchorSymbol = functions.find((s) => s.name === "mtvm_profiler_register");
  if (!anchorSymbol) {
    throw new RpcUsageError(
      "the firmware's symbol table has no mtvm_profiler_register; it is not this project's firmware, or it was stripped",
    );
  }
  // A position-independent firmware (the host's) runs at another address than it was linked at.
  const slide = clear(anchor) - clear(BigInt(anchorSymbol.value));
  const byAddress = new Map<bigint, string>();
  for (const s of functions) {
    const key = clear(BigInt(s.value));
    const known = byAddress.get(key);
    // Prefer the global name of an address that has several.
    if (!known || s.binding === 1) byAddress.set(key, s.name);
  }
  return (address) => byAddress.get(clear(address) - slide);
}

/** The AOT main function (called by the entry wrapper; it calls the operators). */
const AOT_MAIN = /(_run_model|___tvm_main__)$/;

/**
 * Profiles an AOT model on the device: the time evaluator times `run` with the hooks disarmed,
 * then the hooks time `runs` inferences. The inputs already on the device are used.
 */
export async function profileAot(
  runtime: RemoteRuntime,
  executor: AotExecutor,
  elf: ElfFile,
  options: { runs?: number } = {},
): Promise<OperatorProfile> {
  const runs = options.runs ?? 10;
  const start = await runtime.getGlobalFunction("microtvm.profile.start");
  const read = await runtime.getGlobalFunction("microtvm.profile.read");
  if (!start || !read) {
    await start?.free();
    throw new RpcUsageError(
      "the firmware has no operator timing (microtvm.profile.start); it was built by an older microtvm or another runtime: rebuild the project (microtvm build --force)",
    );
  }
  try {
    const whole = await executor.timeRun({ repeat: 1, number: runs });
    await start.call();
    for (let i = 0; i < runs; i++) await executor.run();
    const result = await read.call();
    if (!(result instanceof Uint8Array)) {
      throw new RpcProtocolError("microtvm.profile.read did not return bytes");
    }
    const table = decodeProfileTable(result);
    if (table.clockHz === 0) {
      throw new RpcUsageError(
        "this platform has no operator-timing clock (mtvm_profile_clock); its port must supply one",
      );
    }
    if (table.records.length === 0) {
      throw new RpcUsageError(
        "no model function was timed: the model's code was compiled without -finstrument-functions (MODEL_PROFILE_FLAGS), or it is not C (object files from the archive are not instrumented)",
      );
    }
    return summariseAot(table, functionNamer(elf, table.anchor), runs, whole.mean);
  } finally {
    await start.free();
    await read.free();
  }
}

/** Turns the hooks' table into per-operator times: the callees of the AOT main function. */
export function summariseAot(
  table: ProfileTable,
  nameOf: (address: bigint) => string | undefined,
  runs: number,
  wholeRunSeconds: number,
): OperatorProfile {
  const named = table.records.map((r) => ({
    ...r,
    name: nameOf(r.address) ?? `0x${r.address.toString(16)}`,
  }));
  let main = named.find((r) => AOT_MAIN.test(r.name));
  if (!main) {
    // Unknown naming: the deepest level above the most-called one.
    const depths = [...new Set(named.map((r) => r.depth))].sort((a, b) => a - b);
    const mainDepth = depths.length > 1 ? depths[depths.length - 2]! : depths[0]!;
    main = named.find((r) => r.depth === mainDepth);
  }
  const level = main!.depth + 1;
  const hz = table.clockHz;
  const operators = named
    .filter((r) => r.depth === level)
    .map((r) => ({
      name: r.name,
      calls: r.calls / runs,
      ticks: Number(r.ticks) / runs,
      seconds: Number(r.ticks) / runs / hz,
    }))
    .sort((a, b) => b.seconds - a.seconds || a.name.localeCompare(b.name));
  const notes: string[] = [];
  if (table.truncated) notes.push("the device's table was full: some functions were not recorded");
  if (operators.length === 0) notes.push(`no operator calls were seen below ${main!.name}`);
  return {
    executor: "aot",
    operators,
    method: `-finstrument-functions hooks around every operator call of ${main!.name}, ${table.clockName} clock`,
    clock: { name: table.clockName, hz },
    runs,
    entrySeconds: Number(main!.ticks) / runs / hz,
    wholeRunSeconds,
    notes,
  };
}

/**
 * Profiles a graph model: every kernel node timed on the device by the time evaluator with the
 * node's own tensors (`number` calls per repetition, the median of `repeat`), as TVM's debug
 * executor timed each node. The graph's inputs and parameters must be on the device already.
 */
export async function profileGraph(
  runtime: RemoteRuntime,
  executor: GraphExecutor,
  options: { number?: number; repeat?: number } = {},
): Promise<OperatorProfile> {
  const number = options.number ?? 10;
  const repeat = options.repeat ?? 3;
  const systemLib = await runtime.systemLib();
  const kernels = new Map<string, RemoteFunction>();
  const byKernel = new Map<string, { calls: number; seconds: number; nodes: string[] }>();
  try {
    for (const node of executor.plan.nodes) {
      if (node.op !== "tvm_op" || !node.funcName || node.funcName === "__nop" || node.funcName === "__copy")
        continue;
      let fn = kernels.get(node.funcName);
      if (!fn) {
        fn = await systemLib.function(node.funcName);
        kernels.set(node.funcName, fn);
      }
      const args = [...node.inputs, ...node.outputs].map((eid) => ({
        type: "tensor" as const,
        value: executor.entryTensor(eid, node.flattenData),
      }));
      const evaluator = await timeEvaluator(fn, { repeat, number });
      let seconds: number;
      try {
        seconds = (await evaluator.run(...args)).median;
      } finally {
        await evaluator.free();
      }
      const entry = byKernel.get(node.funcName) ?? { calls: 0, seconds: 0, nodes: [] };
      entry.calls++;
      entry.seconds += seconds;
      entry.nodes.push(node.name);
      byKernel.set(node.funcName, entry);
    }
  } finally {
    for (const fn of kernels.values()) await fn.free();
  }
  const operators = [...byKernel.entries()]
    .map(([name, e]) => ({ name, calls: e.calls, seconds: e.seconds, nodes: e.nodes }))
    .sort((a, b) => b.seconds - a.seconds || a.name.localeCompare(b.name));
  return {
    executor: "graph",
    operators,
    method: `runtime.RPCTimeEvaluator on each graph node's kernel with its own tensors (median of ${repeat} repetitions × ${number} calls)`,
    runs: number,
    notes: [],
  };
}
