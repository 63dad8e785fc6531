import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { MlfError, type MlfWarning } from "./errors.js";
import { elementBytes, elementCount, sanitizeName, tensorBytes } from "./dtype.js";
import { readElfInfo } from "./elf.js";
import {
  graphArgs,
  graphFunctionNames,
  graphOutputs,
  graphStorage,
  parseGraphJson,
  type GraphJson,
} from "./graph.js";
import { parseCInterfaceHeader, type CInterfaceHeader } from "./header.js";
import type {
  MlfCodegen,
  MlfEntryStyle,
  MlfExecutor,
  MlfExternalDependency,
  MlfModel,
  MlfModule,
  MlfObjectFile,
  MlfPool,
  MlfTensor,
  MlfVersion,
} from "./model.js";
import { SUPPORTED_VERSIONS } from "./model.js";
import { parseParams } from "./params.js";
import { findFunctionRegistry } from "./portability.js";
import { isConstantParamName, parseRelayMain, type RelayMain, type RelayType } from "./relay.js";
import { readTarFile, tarLimitsFromEnv, type TarLimits } from "./tar.js";

/** Options for {@link openMlf}. */
export interface OpenOptions {
  readonly limits?: Partial<TarLimits>;
}

type Files = Map<string, Buffer>;

async function loadDirectory(root: string, limits: TarLimits): Promise<Files> {
  const files: Files = new Map();
  let total = 0;
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const relPath = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(root, relPath));
      if (st.isSymbolicLink())
        throw new MlfError(
          "unsafe-entry",
          `entry ${relPath} is a symbolic link; only regular files and directories are allowed`,
          relPath,
        );
      if (st.isDirectory()) await walk(relPath);
      else if (st.isFile()) {
        if (st.size > limits.maxEntryBytes)
          throw new MlfError(
            "too-large",
            `entry ${relPath} is ${st.size} bytes, over the ${limits.maxEntryBytes}-byte limit per entry`,
            relPath,
          );
        total += st.size;
        if (total > limits.maxTotalBytes)
          throw new MlfError(
            "too-large",
            `directory is larger than the ${limits.maxTotalBytes}-byte limit (at ${relPath})`,
            relPath,
          );
        files.set(relPath, await readFile(join(root, relPath)));
      } else
        throw new MlfError("unsafe-entry", `entry ${relPath} is not a regular file or directory`, relPath);
    }
  };
  await walk("");
  return files;
}

/**
 * Opens a Model Library Format archive (`.tar`, `.tar.gz`/`.tgz`, or an extracted directory), validates
 * it and returns one normalised model. Throws {@link MlfError} with a stable `code` when it cannot be used.
 */
export async function openMlf(path: string, options: OpenOptions = {}): Promise<MlfModel> {
  const limits = { ...tarLimitsFromEnv(), ...options.limits };
  let st;
  try {
    st = await lstat(path);
  } catch (error) {
    throw new MlfError("not-found", `${path} does not exist or cannot be read`, undefined, { cause: error });
  }
  let files: Files;
  let container: MlfModel["container"];
  if (st.isDirectory()) {
    files = await loadDirectory(path, limits);
    container = "directory";
  } else {
    files = new Map();
    const { gzip } = await readTarFile(
      path,
      (entry) => {
        if (entry.type === "file") files.set(entry.name, entry.data);
      },
      limits,
    );
    container = gzip ? "tar.gz" : "tar";
  }
  return buildModel(path, container, files);
}

/** Builds the model from archive files already in memory (used by {@link openMlf} and the writer's tests). */
export function buildModel(path: string, container: MlfModel["container"], files: Files): MlfModel {
  const metaBytes = files.get("metadata.json");
  if (!metaBytes)
    throw new MlfError(
      "not-mlf",
      `${path} is not a Model Library Format archive: it has no metadata.json at its root`,
      "metadata.json",
    );
  let metadata: Record<string, unknown>;
  try {
    metadata = JSON.parse(metaBytes.toString("utf8")) as Record<string, unknown>;
  } catch (error) {
    throw new MlfError(
      "bad-metadata",
      `metadata.json is not valid JSON: ${(error as Error).message}`,
      "metadata.json",
    );
  }
  if (!metadata || typeof metadata !== "object" || Array.isArray(metadata))
    throw new MlfError("bad-metadata", "metadata.json is not a JSON object", "metadata.json");
  const version = metadata.version;
  if (typeof version !== "number" || !Number.isInteger(version))
    throw new MlfError("bad-metadata", 'metadata.json has no integer "version"', "metadata.json");
  if (!(SUPPORTED_VERSIONS as readonly number[]).includes(version))
    throw new MlfError(
      "unsupported-version",
      `metadata.json version ${version} is not supported; this reader reads versions ${SUPPORTED_VERSIONS[0]} to ${SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1]}`,
      "metadata.json",
    );
  const rawModules = normaliseMetadata(metadata, version as MlfVersion);
  const warnings: MlfWarning[] = [];
  const read = (file: string): Buffer => {
    const b = files.get(file);
    if (!b) throw new MlfError("missing-file", `the archive has no ${file}`, file);
    return b;
  };
  const modules = rawModules.map((raw) => buildModule(raw, version as MlfVersion, files, read));
  const expected = new Set(modules.map((m) => `codegen/host/include/${m.symbolPrefix}.h`));
  for (const f of files.keys()) {
    if (/^codegen\/host\/include\/[^/]+\.h$/.test(f) && !expected.has(f))
      warnings.push({
        code: "header-name",
        message: `${f} is not named after any module (expected ${[...expected].join(" or ")})`,
      });
  }
  return {
    path,
    container,
    formatVersion: version as MlfVersion,
    modules,
    warnings,
    files: [...files.keys()].sort(),
    metadata,
    read,
  };
}

/** Metadata of one module, with the version differences removed. */
interface RawModule {
  name: string;
  executors: unknown;
  targets: string[];
  exportDatetime?: string;
  memory: Record<string, unknown>;
  externalDependencies: unknown;
}

function badMeta(message: string): never {
  throw new MlfError("bad-metadata", `metadata.json: ${message}`, "metadata.json");
}

function normaliseTargets(target: unknown, where: string): string[] {
  if (Array.isArray(target) && target.length > 0 && target.every((t) => typeof t === "string")) return target;
  // versions 4 and 5: {"<device type>": "<target>"}
  if (target && typeof target === "object" && !Array.isArray(target)) {
    const values = Object.values(target);
    if (values.length > 0 && values.every((t) => typeof t === "string")) return values as string[];
  }
  return badMeta(
    `${where}"target" must be a non-empty list of strings (or, before version 6, a map of them)`,
  );
}

function normaliseMetadata(meta: Record<string, unknown>, version: MlfVersion): RawModule[] {
  if (version === 7 && meta.modules === undefined) {
    if (meta.style === "operator")
      throw new MlfError(
        "operator-style",
        "this is an operator-style archive (tvm.build output), not a full model; export a relay.build result instead",
        "metadata.json",
      );
    badMeta('version 7 requires a "modules" map');
  }
  if (version < 7 && meta.style === "operator")
    throw new MlfError(
      "operator-style",
      "this is an operator-style archive (tvm.build output), not a full model; export a relay.build result instead",
      "metadata.json",
    );
  const entries: [string, Record<string, unknown>][] =
    version === 7
      ? (() => {
          const mods = meta.modules;
          if (!mods || typeof mods !== "object" || Array.isArray(mods))
            badMeta('"modules" must be an object');
          const list = Object.entries(mods as Record<string, Record<string, unknown>>);
          if (list.length === 0) badMeta('"modules" is empty');
          return list;
        })()
      : [[String(meta.model_name ?? ""), meta]];
  return entries.map(([key, m]) => {
    const where = version === 7 ? `module ${key}: ` : "";
    if (!m || typeof m !== "object") badMeta(`${where}must be an object`);
    if (typeof m.model_name !== "string") badMeta(`${where}"model_name" must be a string`);
    if (version === 7 && m.model_name !== key)
      badMeta(`module key "${key}" differs from its model_name "${m.model_name}"`);
    if (m.style === "operator")
      throw new MlfError(
        "operator-style",
        "this is an operator-style archive (tvm.build output), not a full model",
        "metadata.json",
      );
    if (m.style !== "full-model")
      badMeta(`${where}"style" must be "full-model", found ${JSON.stringify(m.style)}`);
    const memory = m.memory;
    if (!memory || typeof memory !== "object") badMeta(`${where}"memory" must be an object`);
    return {
      name: m.model_name as string,
      executors: version === 4 ? m.runtimes : m.executors,
      targets: normaliseTargets(m.target, where),
      exportDatetime: typeof m.export_datetime === "string" ? m.export_datetime : undefined,
      memory: memory as Record<string, unknown>,
      externalDependencies:
        version === 7 ? m.external_dependencies : (meta.external_dependencies ?? m.external_dependencies),
    };
  });
}

interface MainEntry {
  device: number;
  workspace_size_bytes: number;
  constants_size_bytes?: number;
  io_size_bytes?: number;
  inputs?: Record<string, { dtype: string; size: number }>;
  outputs?: Record<string, { dtype: string; size: number }>;
}

function libIndex(file: string): number {
  const m = /_lib(\d+)\.[a-z]+$/.exec(file) ?? /lib(\d+)\.[a-z]+$/.exec(file);
  return m ? Number(m[1]) : 0;
}

function buildModule(
  raw: RawModule,
  version: MlfVersion,
  files: Files,
  read: (f: string) => Buffer,
): MlfModule {
  const warnings: MlfWarning[] = [];
  const warn = (code: string, message: string) => warnings.push({ code, message });
  const name = raw.name;
  const where = `module ${name}`;
  const ex = raw.executors;
  if (!Array.isArray(ex) || ex.length !== 1 || (ex[0] !== "aot" && ex[0] !== "graph"))
    badMeta(
      `${where}: "${version === 4 ? "runtimes" : "executors"}" must be exactly ["aot"] or ["graph"], found ${JSON.stringify(ex)}`,
    );
  const executor = ex[0] as MlfExecutor;

  const functions = raw.memory.functions as { main?: unknown; operator_functions?: unknown } | undefined;
  const mainList = functions?.main;
  if (!Array.isArray(mainList) || mainList.length === 0)
    badMeta(`${where}: memory.functions.main must be a non-empty list`);
  for (const entry of mainList as MainEntry[]) {
    if (!entry || typeof entry !== "object" || !Number.isInteger(entry.workspace_size_bytes))
      badMeta(`${where}: memory.functions.main entries need an integer workspace_size_bytes`);
  }
  const main =
    (mainList as MainEntry[]).find((e) => e.inputs || e.outputs) ??
    (mainList as MainEntry[]).find((e) => e.device === 1) ??
    (mainList as MainEntry[])[0]!;
  const opFns = functions?.operator_functions;
  if (opFns !== undefined && !Array.isArray(opFns))
    badMeta(`${where}: memory.functions.operator_functions must be a list`);
  const operatorFunctions = (
    (opFns as { function_name?: string; workspace?: { workspace_size_bytes?: number }[] }[]) ?? []
  ).map((f) => ({
    name: String(f.function_name ?? ""),
    workspaceBytes: Math.max(0, ...(f.workspace ?? []).map((w) => Number(w.workspace_size_bytes ?? 0))),
  }));

  // Codegen files.
  const symbolPrefix = `tvmgen_${name}`.toLowerCase();
  const srcRe = new RegExp(`^codegen/host/src/${escapeRe(name)}_lib\\d+\\.(c|cc|cpp)$`);
  const objRe = new RegExp(`^codegen/host/lib/${escapeRe(name)}_lib\\d+\\.o$`);
  const sources = [...files.keys()].filter((f) => srcRe.test(f)).sort((a, b) => libIndex(a) - libIndex(b));
  const objectFiles = [...files.keys()]
    .filter((f) => objRe.test(f))
    .sort((a, b) => libIndex(a) - libIndex(b));
  if (sources.length === 0 && objectFiles.length === 0)
    throw new MlfError(
      "missing-file",
      `${where}: no generated code (codegen/host/src/${name}_lib<N>.c or codegen/host/lib/${name}_lib<N>.o)`,
      `codegen/host/src/${name}_lib0.c`,
    );
  const objects: MlfObjectFile[] = objectFiles.map((file) => {
    const elf = readElfInfo(files.get(file)!);
    return elf
      ? { file, machine: elf.machine, eMachine: elf.eMachine, bits: elf.bits, endian: elf.endian }
      : { file, machine: "not-elf" };
  });
  if (objects.length > 0) {
    const machines = [...new Set(objects.map((o) => o.machine))].join(", ");
    warn(
      "object-codegen",
      `${where}: codegen is object files for ${machines}; they link only for that architecture`,
    );
  }
  const headerFile = `codegen/host/include/${symbolPrefix}.h`;
  const hasHeader = files.has(headerFile);
  const codegen: MlfCodegen = {
    kind: sources.length > 0 && objects.length > 0 ? "mixed" : sources.length > 0 ? "c" : "object",
    sources,
    objects,
    header: hasHeader ? headerFile : undefined,
    includeDir: hasHeader ? "codegen/host/include" : undefined,
  };
  const header: CInterfaceHeader | undefined = hasHeader
    ? parseCInterfaceHeader(read(headerFile).toString("utf8"), headerFile)
    : undefined;
  const cText = sources.map((s) => files.get(s)!.toString("latin1")).join("\n");

  // Parameters.
  const parametersFile = `parameters/${name}.params`;
  if (!files.has(parametersFile))
    throw new MlfError("missing-file", `${where}: the archive has no ${parametersFile}`, parametersFile);
  const parameters = parseParams(read(parametersFile), parametersFile);

  // Relay text.
  const relayFile = version === 7 ? `src/${name}.relay` : "src/relay.txt";
  const relayText = files.get(relayFile)?.toString("utf8");
  if (relayText === undefined)
    warn("missing-relay", `${where}: ${relayFile} is missing; tensor shapes may be unknown`);
  const relay = relayText ? parseRelayMain(relayText) : undefined;

  // Graph JSON.
  let graphFile: string | undefined;
  let graph: GraphJson | undefined;
  if (executor === "graph") {
    graphFile =
      version === 7
        ? `executor-config/graph/${name}.graph`
        : version === 4
          ? "runtime-config/graph/graph.json"
          : "executor-config/graph/graph.json";
    if (!files.has(graphFile))
      throw new MlfError("missing-file", `${where}: graph executor archive lacks ${graphFile}`, graphFile);
    graph = parseGraphJson(read(graphFile).toString("utf8"), graphFile);
  }

  // Entry style.
  let entryStyle: MlfEntryStyle;
  let entryFunction: string;
  if (executor === "graph") {
    entryStyle = "graph";
    entryFunction = "TVMSystemLibEntryPoint";
  } else {
    entryStyle =
      header && header.runParameters.some((p) => p.startsWith("struct ")) ? "c-interface" : "packed";
    entryFunction = `${symbolPrefix}_run`;
  }
  const systemLib = /\bTVMSystemLibEntryPoint\s*\(/.test(cText);
  const hasCMetadata = new RegExp(`\\b${symbolPrefix}_get_c_metadata\\b`).test(cText);
  const registry = sources
    .map((s) => findFunctionRegistry(s, files.get(s)!.toString("latin1")))
    .find((r) => r);
  if (registry && registry.count !== registry.names.length)
    warn(
      "registry-count",
      `${where}: the function registry in ${registry.file} declares ${registry.count} names but lists ${registry.names.length}`,
    );
  if (graph && sources.length > 0) {
    const missing = graphFunctionNames(graph).filter((f) => !cText.includes(f));
    if (missing.length > 0)
      warn("graph-functions", `${where}: graph operators not found in the C sources: ${missing.join(", ")}`);
  }

  // Tensors.
  const paramNames = new Set(parameters.map((p) => p.name));
  const { inputs, outputs } = resolveTensors({
    name: where,
    executor,
    main,
    header,
    graph,
    graphFile,
    relay,
    paramNames,
    cText,
    symbolPrefix,
    warn,
  });

  // Sizes cross-checks.
  const ioSum = [...inputs, ...outputs].reduce((a, t) => a + t.bytes, 0);
  if (main.io_size_bytes !== undefined && inputs.length + outputs.length > 0 && ioSum !== main.io_size_bytes)
    warn(
      "size-mismatch",
      `${where}: io_size_bytes is ${main.io_size_bytes} but the inputs and outputs add up to ${ioSum} bytes`,
    );
  const storage = graph ? graphStorage(graph) : undefined;
  const sids = raw.memory.sids;
  if (storage && Array.isArray(sids)) {
    for (const sid of sids as { storage_id?: number; size_bytes?: number }[]) {
      const s = storage.find((x) => x.storageId === sid.storage_id);
      if (s && sid.size_bytes !== s.bytes)
        warn(
          "size-mismatch",
          `${where}: memory.sids storage_id ${sid.storage_id} says ${sid.size_bytes} bytes, the graph needs ${s.bytes}`,
        );
    }
  }
  if (header) {
    if (header.workspaceSize !== undefined && header.workspaceSize !== main.workspace_size_bytes)
      warn(
        "size-mismatch",
        `${where}: the header's WORKSPACE_SIZE is ${header.workspaceSize}, metadata says ${main.workspace_size_bytes}`,
      );
    for (const t of [...inputs, ...outputs]) {
      const macro = header.macros.get(`${symbolPrefix.toUpperCase()}_${t.cName.toUpperCase()}_SIZE`);
      if (macro !== undefined && macro !== t.bytes)
        warn(
          "size-mismatch",
          `${where}: the header's size macro for ${t.name} is ${macro}, the tensor has ${t.bytes} bytes`,
        );
    }
  }

  // Pools (external, from the header).
  const pools: MlfPool[] = (header?.workspacePools ?? []).map((pool) => {
    const upper = `${symbolPrefix.toUpperCase()}_${pool.toUpperCase()}`;
    const constant = header!.macros.get(`${upper}_CONSTANT_POOL_SIZE`);
    const workspace = header!.macros.get(`${upper}_WORKSPACE_POOL_SIZE`);
    return constant !== undefined
      ? { name: pool, kind: "constant" as const, bytes: constant }
      : { name: pool, kind: "workspace" as const, bytes: workspace };
  });

  // External dependencies.
  const deps: MlfExternalDependency[] = [];
  if (Array.isArray(raw.externalDependencies)) {
    for (const d of raw.externalDependencies as Record<string, unknown>[]) {
      const url = String(d.url ?? "");
      const urlType = String(d.url_type ?? "");
      let present: boolean | undefined;
      if (urlType === "mlf_path") {
        const dir = url.replace(/^\.\//, "").replace(/\/$/, "");
        present = [...files.keys()].some((f) => f.startsWith(`${dir}/`));
        if (!present)
          warn(
            "missing-dependency",
            `${where}: external dependency ${String(d.short_name)} points at ${url}, which the archive lacks; supply the TVM standalone CRT separately`,
          );
      }
      deps.push({
        shortName: String(d.short_name ?? ""),
        url,
        urlType,
        versionSpec: d.version_spec === undefined ? undefined : String(d.version_spec),
        present,
      });
    }
  }

  return {
    name,
    symbolPrefix,
    executor,
    entryStyle,
    entryFunction,
    targets: raw.targets,
    exportDatetime: raw.exportDatetime,
    codegen,
    inputs,
    outputs,
    workspaceBytes: main.workspace_size_bytes,
    constantsBytes: main.constants_size_bytes,
    ioBytes: main.io_size_bytes,
    pools,
    systemLib,
    hasCMetadata,
    functionRegistry: registry,
    parametersFile,
    parameters,
    relayFile: relayText !== undefined ? relayFile : undefined,
    relayText,
    graphFile,
    graph,
    storage,
    header,
    operatorFunctions,
    externalDependencies: deps,
    warnings,
  };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

interface ResolveContext {
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
function resolveTensors(ctx: ResolveContext): { inputs: MlfTensor[]; outputs: MlfTensor[] } {
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
    const bytes = meta?.size ?? (shape ? tensorBytes(dtype, shape) : headerSize(ctx, n));
    if (bytes === undefined) throw new MlfError("bad-file", `${name}: cannot tell the size of input ${n}`);
    if (meta && shape && tensorBytes(dtype, shape) !== meta.size)
      warn(
        "size-mismatch",
        `${name}: input ${n} is ${meta.size} bytes in metadata but ${dtype}${JSON.stringify(shape)} needs ${tensorBytes(dtype, shape)}`,
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
      if (shape) bytes = tensorBytes(dtype, shape);
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
    if (elementCount(shape) * elementBytes(dtype) !== bytes && !meta)
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
