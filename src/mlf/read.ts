import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { DTypeError } from "../dtype/index.js";
import { MlfError, type MlfWarning } from "./errors.js";
import { readElfInfo } from "./elf.js";
import {
  graphFunctionNames,
  graphStorage,
  parseGraphJson,
  type GraphJson,
  type GraphStorage,
} from "./graph.js";
import { parseCInterfaceHeader, type CInterfaceHeader } from "./header.js";
import { LAYOUTS, type MlfLayout } from "./layout.js";
import { checkMetadata, type ModuleMetadata } from "./metadata.js";
import type {
  MlfCodegen,
  MlfEntryStyle,
  MlfExternalDependency,
  MlfModel,
  MlfModule,
  MlfObjectFile,
  MlfPool,
  MlfTensor,
} from "./model.js";
import { parseParams } from "./params.js";
import { findFunctionRegistry } from "./portability.js";
import { parseRelayMain } from "./relay.js";
import { readTarFile, tarLimitsFromEnv, type TarLimits } from "./tar.js";
import { resolveTensors } from "./tensors.js";
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
  try {
    return assembleModel(path, container, files);
  } catch (error) {
    // A dtype the archive spells wrongly is the archive's fault, like any other malformed file.
    if (error instanceof DTypeError) throw new MlfError("bad-file", `${path}: ${error.message}`);
    throw error;
  }
}

function assembleModel(path: string, container: MlfModel["container"], files: Files): MlfModel {
  const metaBytes = files.get("metadata.json");
  if (!metaBytes)
    throw new MlfError(
      "not-mlf",
      `${path} is not a Model Library Format archive: it has no metadata.json at its root`,
      "metadata.json",
    );
  const metadata = checkMetadata(metaBytes);
  const read = (file: string): Buffer => {
    const b = files.get(file);
    if (!b) throw new MlfError("missing-file", `the archive has no ${file}`, file);
    return b;
  };
  const modules = metadata.modules.map((m) => buildModule(m, LAYOUTS[metadata.version], files, read));
  const warnings: MlfWarning[] = [];
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
    formatVersion: metadata.version,
    modules,
    warnings,
    files: [...files.keys()].sort(),
    metadata: metadata.raw,
    read,
  };
}

type Warn = (code: string, message: string) => void;

function libIndex(file: string): number {
  const m = /_lib(\d+)\.[a-z]+$/.exec(file) ?? /lib(\d+)\.[a-z]+$/.exec(file);
  return m ? Number(m[1]) : 0;
}

/** The module's generated code: C sources and object files in library order, and its header. */
function findCodegen(name: string, files: Files, warn: Warn): MlfCodegen {
  const where = `module ${name}`;
  const symbolPrefix = `tvmgen_${name}`.toLowerCase();
  const srcRe = new RegExp(`^codegen/host/src/${escapeRe(name)}_lib\\d+\\.(c|cc|cpp)$`);
  const objRe = new RegExp(`^codegen/host/lib/${escapeRe(name)}_lib\\d+\\.o$`);
  const byLib = (re: RegExp) =>
    [...files.keys()].filter((f) => re.test(f)).sort((a, b) => libIndex(a) - libIndex(b));
  const sources = byLib(srcRe);
  const objectFiles = byLib(objRe);
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
  return {
    kind: sources.length > 0 && objects.length > 0 ? "mixed" : sources.length > 0 ? "c" : "object",
    sources,
    objects,
    header: hasHeader ? headerFile : undefined,
    includeDir: hasHeader ? "codegen/host/include" : undefined,
  };
}

function buildModule(
  meta: ModuleMetadata,
  layout: MlfLayout,
  files: Files,
  read: (f: string) => Buffer,
): MlfModule {
  const warnings: MlfWarning[] = [];
  const warn: Warn = (code, message) => warnings.push({ code, message });
  const { name, executor, main } = meta;
  const where = `module ${name}`;
  const symbolPrefix = `tvmgen_${name}`.toLowerCase();

  const codegen = findCodegen(name, files, warn);
  const { sources } = codegen;
  const header: CInterfaceHeader | undefined = codegen.header
    ? parseCInterfaceHeader(read(codegen.header).toString("utf8"), codegen.header)
    : undefined;
  const cText = sources.map((s) => files.get(s)!.toString("latin1")).join("\n");

  const parametersFile = `parameters/${name}.params`;
  if (!files.has(parametersFile))
    throw new MlfError("missing-file", `${where}: the archive has no ${parametersFile}`, parametersFile);
  const parameters = parseParams(read(parametersFile), parametersFile);

  const relayFile = layout.relayFile(name);
  const relayText = files.get(relayFile)?.toString("utf8");
  if (relayText === undefined)
    warn("missing-relay", `${where}: ${relayFile} is missing; tensor shapes may be unknown`);
  const relay = relayText ? parseRelayMain(relayText) : undefined;

  let graphFile: string | undefined;
  let graph: GraphJson | undefined;
  if (executor === "graph") {
    graphFile = layout.graphFile(name);
    if (!files.has(graphFile))
      throw new MlfError("missing-file", `${where}: graph executor archive lacks ${graphFile}`, graphFile);
    graph = parseGraphJson(read(graphFile).toString("utf8"), graphFile);
  }

  const entryStyle: MlfEntryStyle =
    executor === "graph"
      ? "graph"
      : header && header.runParameters.some((p) => p.startsWith("struct "))
        ? "c-interface"
        : "packed";
  const entryFunction = executor === "graph" ? "TVMSystemLibEntryPoint" : `${symbolPrefix}_run`;
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

  const { inputs, outputs } = resolveTensors({
    name: where,
    executor,
    main,
    header,
    graph,
    graphFile,
    relay,
    paramNames: new Set(parameters.map((p) => p.name)),
    cText,
    symbolPrefix,
    warn,
  });
  const storage = graph ? graphStorage(graph) : undefined;
  checkSizes(meta, { inputs, outputs, header, storage, symbolPrefix, warn });

  return {
    name,
    symbolPrefix,
    executor,
    entryStyle,
    entryFunction,
    targets: meta.targets,
    exportDatetime: meta.exportDatetime,
    codegen,
    inputs,
    outputs,
    workspaceBytes: main.workspace_size_bytes,
    constantsBytes: main.constants_size_bytes,
    ioBytes: main.io_size_bytes,
    pools: externalPools(header, symbolPrefix),
    systemLib: /\bTVMSystemLibEntryPoint\s*\(/.test(cText),
    hasCMetadata: new RegExp(`\\b${symbolPrefix}_get_c_metadata\\b`).test(cText),
    functionRegistry: registry,
    parametersFile,
    parameters,
    relayFile: relayText !== undefined ? relayFile : undefined,
    relayText,
    graphFile,
    graph,
    storage,
    header,
    operatorFunctions: meta.operatorFunctions,
    externalDependencies: externalDependencies(meta, files, warn),
    warnings,
  };
}

/** Warns where metadata, graph and header disagree about sizes. */
function checkSizes(
  meta: ModuleMetadata,
  ctx: {
    inputs: readonly MlfTensor[];
    outputs: readonly MlfTensor[];
    header?: CInterfaceHeader;
    storage?: readonly GraphStorage[];
    symbolPrefix: string;
    warn: Warn;
  },
): void {
  const { main } = meta;
  const { inputs, outputs, header, storage, symbolPrefix, warn } = ctx;
  const where = `module ${meta.name}`;
  const ioSum = [...inputs, ...outputs].reduce((a, t) => a + t.bytes, 0);
  if (main.io_size_bytes !== undefined && inputs.length + outputs.length > 0 && ioSum !== main.io_size_bytes)
    warn(
      "size-mismatch",
      `${where}: io_size_bytes is ${main.io_size_bytes} but the inputs and outputs add up to ${ioSum} bytes`,
    );
  if (storage && meta.sids) {
    for (const sid of meta.sids) {
      const s = storage.find((x) => x.storageId === sid.storage_id);
      if (s && sid.size_bytes !== s.bytes)
        warn(
          "size-mismatch",
          `${where}: memory.sids storage_id ${sid.storage_id} says ${sid.size_bytes} bytes, the graph needs ${s.bytes}`,
        );
    }
  }
  if (!header) return;
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

/** Pools the caller provides (C interface with USMP), from the header. */
function externalPools(header: CInterfaceHeader | undefined, symbolPrefix: string): MlfPool[] {
  return (header?.workspacePools ?? []).map((pool) => {
    const upper = `${symbolPrefix.toUpperCase()}_${pool.toUpperCase()}`;
    const constant = header!.macros.get(`${upper}_CONSTANT_POOL_SIZE`);
    const workspace = header!.macros.get(`${upper}_WORKSPACE_POOL_SIZE`);
    return constant !== undefined
      ? { name: pool, kind: "constant" as const, bytes: constant }
      : { name: pool, kind: "workspace" as const, bytes: workspace };
  });
}

function externalDependencies(meta: ModuleMetadata, files: Files, warn: Warn): MlfExternalDependency[] {
  return meta.externalDependencies.map((d) => {
    let present: boolean | undefined;
    if (d.url_type === "mlf_path") {
      const dir = d.url.replace(/^\.\//, "").replace(/\/$/, "");
      present = [...files.keys()].some((f) => f.startsWith(`${dir}/`));
      if (!present)
        warn(
          "missing-dependency",
          `module ${meta.name}: external dependency ${d.short_name} points at ${d.url}, which the archive lacks; supply the TVM standalone CRT separately`,
        );
    }
    return { shortName: d.short_name, url: d.url, urlType: d.url_type, versionSpec: d.version_spec, present };
  });
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
