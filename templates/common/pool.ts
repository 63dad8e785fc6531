// The firmware's memory pool, sized from what the model archive says the model needs.
//
// Everything the device allocates at run time comes from one pool (TVMPlatformMemoryAllocate):
// the RPC server and its reply buffer, each request's argument arena, the arrays of the AOT
// executor or the graph's storage (allocated by the host over RPC), and the operators' workspace
// (TVMBackendAllocWorkspace). Each allocation is a run of whole pages (256 bytes on every
// platform here) and carries a header, so the need is counted allocation by allocation, the way
// runtime/src/{memory,backend,rpc_server,aot_executor}.c and the platforms' allocators do it.
import { join } from "node:path";
import { openMlf, type MlfModel, type MlfModule } from "microtvm/mlf";
import { MODEL_ARCHIVE_NAME } from "./project.js";

/** What the platform's allocator and session look like to the pool. */
export interface PoolPlatform {
  /** Allocation granularity of TVMPlatformMemoryAllocate (pages of the host, blocks of Cortex-M). */
  pageBytes: number;
  /** 4 on Cortex-M, 8 on a 64-bit host: the size of the runtime's headers follows it. */
  pointerBytes: 4 | 8;
  /** TVM_CRT_MAX_PACKET_SIZE_BYTES: the RPC reply buffer, and the bound of one request. */
  packetBytes: number;
}

/**
 * The margin, in percent of the need less the RPC server and its reply buffer (fixed sizes known
 * exactly): it covers what the estimate cannot see (a client's extra tensors, profiling buffers).
 */
export const POOL_MARGIN_PERCENT = 25;

/** Timing repetitions the pool leaves room for, where the board's reply packet carries them. */
export const TIMING_REPEATS = 1000;

/** Header of a workspace block (backend.c, padded to 16 bytes). */
const WORKSPACE_HEADER_BYTES = 32;
/** Alignment of arrays and of the graph's storage (DevAllocData with 64, as TVM asks). */
const DATA_ALIGNMENT = 64;
/** Allocations per operator assumed when the code cannot be read (object files, computed sizes). */
const ASSUMED_ALLOCATIONS_PER_OPERATOR = 4;

/** One line of the need, for the build output. */
export interface PoolPart {
  what: string;
  bytes: number;
}

export interface WorkspaceNeed {
  /** Bytes the pool must hold, before the margin. */
  bytes: number;
  /** Of those, the RPC server and its reply buffer: no margin is taken on them. */
  fixedBytes: number;
  parts: PoolPart[];
  /** Where the model's workspace figures came from, and any assumption made. */
  notes: string[];
}

/** The pool a build uses, and why. */
export interface PoolSize {
  bytes: number;
  /** `archive`: need + margin; `option`: workspace_size_bytes; `default`: the archive did not say enough. */
  source: "archive" | "option" | "default";
  needBytes: number | null;
  marginBytes: number;
  /** Lines for the build log. */
  lines: string[];
}

const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

/** A function of the generated C and the workspace it allocates. */
interface CodeFunction {
  name: string;
  /** Constant sizes of its TVMBackendAllocWorkspace calls. */
  allocations: number[];
  /** A call whose size is not a constant. */
  computed: boolean;
}

const FUNCTION_START = /^(?:[A-Za-z_][\w]*[\s*]+)+?([A-Za-z_]\w*)\s*\([^;{]*\)\s*\{\s*$/;
const ALLOC_CALL = /\bTVMBackendAllocWorkspace\s*\(([^;]*)/g;

/** The functions of TVM's generated C, split at each top-level definition, with their workspace calls. */
function codeFunctions(text: string): CodeFunction[] {
  const functions: CodeFunction[] = [];
  let current: CodeFunction | undefined;
  for (const line of text.split("\n")) {
    const start = FUNCTION_START.exec(line);
    if (start) {
      current = { name: start[1]!, allocations: [], computed: false };
      functions.push(current);
      continue;
    }
    if (!current || !line.includes("TVMBackendAllocWorkspace")) continue;
    for (const call of line.matchAll(ALLOC_CALL)) {
      const args = call[1]!;
      if (/^\s*int\s+device_type/.test(args)) continue; // a declaration
      const size = /^[^,]+,[^,]+,\s*(?:\(\s*uint64_t\s*\))?\s*(\d+)\s*(?:[uU][lL]{0,2})?\s*,/.exec(args);
      if (size) current.allocations.push(Number(size[1]));
      else current.computed = true;
    }
  }
  return functions;
}

class Pages {
  constructor(readonly page: number) {}
  /** Bytes one allocation of n bytes takes from the pool. */
  of(n: number): number {
    return roundUp(Math.max(n, 1), this.page);
  }
}

/** What one module (model) of the archive takes from the pool, and the longest function name it uses. */
function moduleNeed(
  model: MlfModel,
  mod: MlfModule,
  platform: PoolPlatform,
  pages: Pages,
  parts: PoolPart[],
  notes: string[],
): { bytes: number; requestBytes: number } {
  const dataHeader = 4 * platform.pointerBytes; // data_block_t: next, data, nbytes, owned flag
  const dataBlock = (bytes: number) =>
    pages.of(dataHeader + DATA_ALIGNMENT - 1 + roundUp(bytes, DATA_ALIGNMENT));
  const workspace = (bytes: number) => pages.of(bytes + WORKSPACE_HEADER_BYTES);
  const label = model.modules.length > 1 ? `model ${mod.name}: ` : "";
  let bytes = 0;
  const add = (what: string, n: number) => {
    if (n === 0) return;
    parts.push({ what: label + what, bytes: n });
    bytes += n;
  };

  // The generated C says exactly what each function allocates; metadata says how many bytes.
  const sources = mod.codegen.sources.filter((f) => /\.(c|cc|cpp)$/.test(f));
  const text = sources.map((f) => model.read(f).toString("latin1")).join("\n");
  const functions = codeFunctions(text);
  const readable =
    mod.codegen.objects.length === 0 && sources.length > 0 && functions.every((f) => !f.computed);
  const isMain = (name: string) =>
    name === `${mod.symbolPrefix}___tvm_main__` || name === `${mod.symbolPrefix}_run_model`;
  const opMetadata = mod.operatorFunctions.reduce((m, f) => Math.max(m, f.workspaceBytes), 0);

  let mainBytes = 0;
  let operatorBytes = 0;
  if (readable) {
    const sum = (f: CodeFunction) => f.allocations.reduce((s, n) => s + workspace(n), 0);
    // A parallel lambda runs inside its operator: its workspace adds to the operator's.
    let lambda = 0;
    for (const f of functions) {
      if (isMain(f.name)) mainBytes += sum(f);
      else if (/lambda/.test(f.name)) lambda = Math.max(lambda, sum(f));
      else operatorBytes = Math.max(operatorBytes, sum(f));
    }
    operatorBytes += lambda;
    const count = functions.filter((f) => !isMain(f.name)).reduce((s, f) => s + f.allocations.length, 0);
    notes.push(
      `${label}workspace from the generated C: ${functions.filter((f) => isMain(f.name)).reduce((s, f) => s + f.allocations.length, 0)} ` +
        `allocation(s) in the main function, ${count} in operators (metadata: main ${mod.workspaceBytes} bytes, ` +
        `largest operator ${opMetadata} bytes)`,
    );
    if (mod.executor === "aot" && !functions.some((f) => isMain(f.name)) && !mod.pools.length) {
      // No main function found by name: count metadata's main workspace as allocations of its own.
      mainBytes = pages.of(
        mod.workspaceBytes +
          Math.max(1, mod.operatorFunctions.length) * (WORKSPACE_HEADER_BYTES + pages.page - 1),
      );
      notes.push(
        `${label}no main function found in the C: its workspace is metadata's ${mod.workspaceBytes} bytes`,
      );
    }
  } else {
    if (mod.operatorFunctions.length === 0) {
      throw new Error(
        `model ${mod.name}: metadata.json lists no operator functions and the code cannot be read for its workspace`,
      );
    }
    // Object code, or sizes computed at run time: metadata's bytes, each function assumed to
    // split its workspace into several allocations (page rounding and a header each).
    const perAllocation = WORKSPACE_HEADER_BYTES + pages.page - 1;
    const external = mod.pools.some((p) => p.kind === "workspace");
    if (mod.executor === "aot" && !external) {
      const allocations = Math.max(1, mod.operatorFunctions.length);
      mainBytes = pages.of(mod.workspaceBytes + allocations * perAllocation);
    }
    operatorBytes = pages.of(opMetadata + ASSUMED_ALLOCATIONS_PER_OPERATOR * perAllocation);
    notes.push(
      `${label}workspace from metadata.json (${mod.codegen.objects.length > 0 ? "object code" : "the C computes sizes at run time"}): ` +
        `main ${mod.workspaceBytes} bytes${external ? " (in the model's own static pools)" : ""}, largest operator ${opMetadata} bytes; ` +
        `assumed up to ${ASSUMED_ALLOCATIONS_PER_OPERATOR} allocations per operator` +
        (mod.executor === "aot" && !external
          ? ` and ${Math.max(1, mod.operatorFunctions.length)} in the main function`
          : ""),
    );
  }
  add("main function workspace", mainBytes);
  add("largest operator workspace", operatorBytes);

  // Longest name the host may send in a request (GetFunction of an operator, for profiling).
  const longestName = Math.max(
    mod.name.length + 32,
    ...mod.operatorFunctions.map((f) => f.name.length),
    ...functions.map((f) => f.name.length),
  );
  let requestBytes = 192 + longestName;

  if (mod.executor === "aot") {
    // mtvm_aot_executor_create: the executor (with one pointer per tensor) and an array each.
    const tensors = [...mod.inputs, ...mod.outputs];
    const arrayStruct = pages.of(56 + 8 * 6 + 8 + 2 * platform.pointerBytes);
    add(
      `AOT executor and its ${tensors.length} input/output arrays`,
      pages.of(8 * platform.pointerBytes + tensors.length * platform.pointerBytes) +
        tensors.reduce((s, t) => s + arrayStruct + dataBlock(t.bytes), 0),
    );
  } else {
    // The host's graph executor allocates every storage id (4-byte rounded), except parameters the
    // firmware links in (found with _lookup_linked_param).
    const linked = /\b_lookup_linked_param\b/.test(text);
    const inputs = new Set(mod.inputs.map((t) => t.name));
    let count = 0;
    let storageBytes = 0;
    for (const s of mod.storage ?? []) {
      if (linked && s.inputBinding !== undefined && !inputs.has(s.inputBinding)) continue;
      count++;
      storageBytes += dataBlock(4 * Math.ceil(s.bytes / 4));
    }
    // Twice: a client may hold two executors over the model at once (TVM's graph executor and its
    // debug executor, each with its own storage, in one session).
    add(
      `graph storage, ${count} tensor(s)${linked ? " (linked parameters excluded)" : ""}, for two executors`,
      2 * storageBytes,
    );
    // A kernel call carries a DLTensor per argument (type code, data, device, ndim, dtype,
    // shape, strides, byte offset).
    const graph = mod.graph;
    if (graph) {
      const maxNdim = Math.max(1, ...graph.attrs.shape[1].map((s) => s.length));
      for (const node of graph.nodes) {
        if (node.op !== "tvm_op") continue;
        const args = node.inputs.length + Number(node.attrs?.num_outputs ?? 1);
        requestBytes = Math.max(requestBytes, 64 + args * (4 + 48 + 8 * maxNdim));
      }
    }
  }
  return { bytes, requestBytes };
}

/**
 * The bytes of pool the archive's models need on this platform: the model part from the archive
 * (generated C, else metadata.json), the runtime part from the platform.
 */
export function workspaceNeed(model: MlfModel, platform: PoolPlatform): WorkspaceNeed {
  const pages = new Pages(platform.pageBytes);
  const parts: PoolPart[] = [];
  const notes: string[] = [];
  let requestBytes = 0;
  for (const mod of model.modules) {
    const need = moduleNeed(model, mod, platform, pages, parts, notes);
    requestBytes = Math.max(requestBytes, need.requestBytes);
  }
  // The RPC server and its reply buffer (rpc_server.c), one request's argument arena of 4 bytes
  // per request byte plus 64, and the pages a persistent allocation made during a request can
  // strand below it once that request's arena is freed (two small arenas).
  const request = Math.min(requestBytes, platform.packetBytes);
  const fixedBytes = pages.of(64) + pages.of(platform.packetBytes);
  parts.push({ what: "RPC server and reply buffer", bytes: fixedBytes });
  parts.push({ what: `request arena (requests up to ${request} bytes)`, bytes: pages.of(4 * request + 64) });
  parts.push({ what: "pages left between allocations (two small arenas)", bytes: 2 * pages.page });
  // The time evaluator allocates its result (8 bytes a repetition, and the byte array that holds
  // them) while it runs; the result travels back in one reply, so no more repetitions than a
  // reply carries can be asked for, and `run --repeat` goes up to TIMING_REPEATS.
  const repeats = Math.min(TIMING_REPEATS, Math.floor((platform.packetBytes - 64) / 8));
  parts.push({
    what: `time evaluator result (up to ${repeats} repetitions)`,
    bytes: pages.of(2 * platform.pointerBytes) + pages.of(8 * repeats),
  });
  return { bytes: parts.reduce((s, p) => s + p.bytes, 0), fixedBytes, parts, notes };
}

/** The margin on top of a need: POOL_MARGIN_PERCENT of what is not fixed, at least one page, whole pages. */
export function poolMargin(need: WorkspaceNeed, pageBytes: number): number {
  const base = need.bytes - need.fixedBytes;
  return Math.max(pageBytes, roundUp(Math.ceil((base * POOL_MARGIN_PERCENT) / 100), pageBytes));
}

/**
 * The pool of a build: `workspace_size_bytes` when set, else the archive's need plus the margin,
 * else (the archive cannot be read for it) the template's default.
 */
export function choosePoolSize(
  override: number | null,
  need: () => WorkspaceNeed,
  platform: PoolPlatform,
  fallback: { bytes: number; what: string },
): PoolSize {
  let computed: WorkspaceNeed | undefined;
  let failure: string | undefined;
  try {
    computed = need();
  } catch (error) {
    failure = (error as Error).message;
  }
  const breakdown = computed
    ? [...computed.parts.map((p) => `  ${p.what}: ${p.bytes}`), ...computed.notes.map((n) => `  (${n})`)]
    : [];
  if (override !== null) {
    const lines = [`memory pool: ${override} bytes, from the option workspace_size_bytes`];
    if (computed && override < computed.bytes) {
      lines.push(
        `memory pool: warning: the model archive needs about ${computed.bytes} bytes; a smaller pool may fail at run ` +
          'with "out of memory" (unset workspace_size_bytes to size the pool from the archive)',
      );
    }
    return { bytes: override, source: "option", needBytes: computed?.bytes ?? null, marginBytes: 0, lines };
  }
  if (!computed) {
    return {
      bytes: fallback.bytes,
      source: "default",
      needBytes: null,
      marginBytes: 0,
      lines: [
        `memory pool: ${fallback.bytes} bytes, ${fallback.what}: the model archive did not say enough to size it (${failure}); ` +
          "set workspace_size_bytes to choose",
      ],
    };
  }
  const margin = poolMargin(computed, platform.pageBytes);
  return {
    bytes: computed.bytes + margin,
    source: "archive",
    needBytes: computed.bytes,
    marginBytes: margin,
    lines: [
      `memory pool: ${computed.bytes + margin} bytes, sized from the model archive: ${computed.bytes} needed + ${margin} margin (${POOL_MARGIN_PERCENT}% of the ${computed.bytes - computed.fixedBytes} besides the reply buffer)`,
      ...breakdown,
    ],
  };
}

/** The pool of a generated project's build, from its model archive (see choosePoolSize). */
export async function projectPoolSize(
  projectDir: string,
  override: number | null,
  platform: PoolPlatform,
  fallback: { bytes: number; what: string },
): Promise<PoolSize> {
  return archivePoolSize(join(projectDir, MODEL_ARCHIVE_NAME), override, platform, fallback);
}

/** The pool for a model archive (see choosePoolSize). */
export async function archivePoolSize(
  archivePath: string,
  override: number | null,
  platform: PoolPlatform,
  fallback: { bytes: number; what: string },
): Promise<PoolSize> {
  let model: MlfModel | undefined;
  let failure: unknown;
  try {
    model = await openMlf(archivePath);
  } catch (error) {
    failure = error;
  }
  return choosePoolSize(
    override,
    () => {
      if (!model) throw failure instanceof Error ? failure : new Error(String(failure));
      return workspaceNeed(model, platform);
    },
    platform,
    fallback,
  );
}
