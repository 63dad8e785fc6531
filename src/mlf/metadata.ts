// The schema of metadata.json for each archive version, checked before anything uses it: every
// field the reader touches has its type checked here, and an error names the field by its path
// (`modules.default.memory.functions.main[0].workspace_size_bytes`). What is tolerated instead is
// listed in docs/mlf.md ("metadata.json schema").
import { MlfError } from "./errors.js";
import { LAYOUTS } from "./layout.js";
import type { MlfExecutor, MlfVersion } from "./model.js";
import { SUPPORTED_VERSIONS } from "./model.js";

/** A tensor of `main`'s `inputs`/`outputs` (TVM v0.11 and later). */
export interface TensorMetadata {
  readonly dtype: string;
  readonly size: number;
}

/** One entry of `memory.functions.main` (one per device), with the JSON spelling. */
export interface MainEntry {
  readonly device?: number;
  readonly workspace_size_bytes: number;
  readonly constants_size_bytes?: number;
  readonly io_size_bytes?: number;
  readonly inputs?: Readonly<Record<string, TensorMetadata>>;
  readonly outputs?: Readonly<Record<string, TensorMetadata>>;
}

export interface StorageMetadata {
  readonly storage_id: number;
  readonly size_bytes: number;
  readonly input_binding?: string;
}

export interface DependencyMetadata {
  readonly short_name: string;
  readonly url: string;
  readonly url_type: string;
  readonly version_spec?: string;
}

/** One module's metadata, checked, with the version differences removed. */
export interface ModuleMetadata {
  readonly name: string;
  readonly executor: MlfExecutor;
  readonly targets: string[];
  readonly exportDatetime?: string;
  /** All `main` entries; {@link ModuleMetadata.main} is the one describing the model's I/O. */
  readonly mainEntries: readonly MainEntry[];
  readonly main: MainEntry;
  readonly operatorFunctions: { name: string; workspaceBytes: number }[];
  readonly sids?: readonly StorageMetadata[];
  readonly externalDependencies: readonly DependencyMetadata[];
}

/** The checked metadata.json. */
export interface CheckedMetadata {
  readonly version: MlfVersion;
  readonly modules: readonly ModuleMetadata[];
  /** The parsed document as it was. */
  readonly raw: Record<string, unknown>;
}

type Json = unknown;

function bad(path: string, want: string, got: Json): never {
  throw new MlfError(
    "bad-metadata",
    `metadata.json: ${path} must be ${want}, found ${describe(got)}`,
    "metadata.json",
  );
}

function describe(value: Json): string {
  if (value === undefined) return "nothing (the field is missing)";
  if (value === null) return "null";
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === "object") return "an object";
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}

function isObject(value: Json): value is Record<string, Json> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function object(value: Json, path: string): Record<string, Json> {
  return isObject(value) ? value : bad(path, "an object", value);
}

function list(value: Json, path: string): Json[] {
  return Array.isArray(value) ? value : bad(path, "a list", value);
}

function string(value: Json, path: string): string {
  return typeof value === "string" ? value : bad(path, "a string", value);
}

function count(value: Json, path: string): number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0
    ? value
    : bad(path, "a non-negative integer", value);
}

function optional<T>(value: Json, path: string, check: (v: Json, p: string) => T): T | undefined {
  return value === undefined ? undefined : check(value, path);
}

function operatorStyle(): never {
  throw new MlfError(
    "operator-style",
    "this is an operator-style archive (tvm.build output), not a full model; export a relay.build result instead",
    "metadata.json",
  );
}

/** Parses metadata.json and checks it against the schema of its version. */
export function checkMetadata(bytes: Buffer): CheckedMetadata {
  let parsed: Json;
  try {
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new MlfError(
      "bad-metadata",
      `metadata.json is not valid JSON: ${(error as Error).message}`,
      "metadata.json",
    );
  }
  if (!isObject(parsed))
    throw new MlfError("bad-metadata", "metadata.json is not a JSON object", "metadata.json");
  const version = parsed.version;
  if (typeof version !== "number" || !Number.isInteger(version))
    throw new MlfError("bad-metadata", 'metadata.json has no integer "version"', "metadata.json");
  if (!(SUPPORTED_VERSIONS as readonly number[]).includes(version))
    throw new MlfError(
      "unsupported-version",
      `metadata.json version ${version} is not supported; this reader reads versions ${SUPPORTED_VERSIONS[0]} to ${SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1]}`,
      "metadata.json",
    );
  const layout = LAYOUTS[version as MlfVersion];
  if (parsed.style === "operator") operatorStyle();
  let entries: [string, string, Json][]; // [key, path prefix, module]
  if (layout.modulesMap) {
    if (parsed.modules === undefined) bad("modules", "an object of modules", undefined);
    const mods = object(parsed.modules, "modules");
    entries = Object.entries(mods).map(([key, m]) => [key, `modules.${key}.`, m]);
    if (entries.length === 0)
      throw new MlfError("bad-metadata", 'metadata.json: "modules" is empty', "metadata.json");
  } else entries = [["", "", parsed]];
  const rootDependencies = layout.dependenciesAtRoot ? parsed.external_dependencies : undefined;
  const modules = entries.map(([key, prefix, m]) =>
    checkModule(
      object(m, prefix ? prefix.slice(0, -1) : "(root)"),
      prefix,
      key,
      version as MlfVersion,
      rootDependencies,
    ),
  );
  return { version: version as MlfVersion, modules, raw: parsed };
}

function checkModule(
  m: Record<string, Json>,
  at: string,
  key: string,
  version: MlfVersion,
  rootDependencies: Json,
): ModuleMetadata {
  const layout = LAYOUTS[version];
  const name = string(m.model_name, `${at}model_name`);
  if (layout.modulesMap && name !== key)
    throw new MlfError(
      "bad-metadata",
      `metadata.json: module key "${key}" differs from its model_name "${name}"`,
      "metadata.json",
    );
  if (m.style === "operator") operatorStyle();
  if (m.style !== "full-model") bad(`${at}style`, '"full-model"', m.style);

  const ex = m[layout.executorsKey];
  if (!Array.isArray(ex) || ex.length !== 1 || (ex[0] !== "aot" && ex[0] !== "graph"))
    throw new MlfError(
      "bad-metadata",
      `metadata.json: module ${name}: "${layout.executorsKey}" must be exactly ["aot"] or ["graph"], found ${JSON.stringify(ex) ?? "nothing"}`,
      "metadata.json",
    );

  const memory = object(m.memory, `${at}memory`);
  const functions = object(memory.functions, `${at}memory.functions`);
  const mainPath = `${at}memory.functions.main`;
  const mainList = list(functions.main, mainPath);
  if (mainList.length === 0) bad(mainPath, "a non-empty list", mainList);
  const mainEntries = mainList.map((e, i) => checkMainEntry(e, `${mainPath}[${i}]`));
  const main =
    mainEntries.find((e) => e.inputs || e.outputs) ??
    mainEntries.find((e) => e.device === 1) ??
    mainEntries[0]!;

  const opPath = `${at}memory.functions.operator_functions`;
  const operatorFunctions = (optional(functions.operator_functions, opPath, list) ?? []).map((f, i) => {
    const fn = object(f, `${opPath}[${i}]`);
    const wsPath = `${opPath}[${i}].workspace`;
    // A loop, not Math.max(...list): a list of 300,000 entries must not overflow the stack.
    let workspaceBytes = 0;
    (optional(fn.workspace, wsPath, list) ?? []).forEach((w, j) => {
      const entry = object(w, `${wsPath}[${j}]`);
      optional(entry.device, `${wsPath}[${j}].device`, count);
      const bytes = count(entry.workspace_size_bytes, `${wsPath}[${j}].workspace_size_bytes`);
      if (bytes > workspaceBytes) workspaceBytes = bytes;
    });
    return { name: string(fn.function_name, `${opPath}[${i}].function_name`), workspaceBytes };
  });

  const sidsPath = `${at}memory.sids`;
  const sids = optional(memory.sids, sidsPath, list)?.map((s, i) => {
    const sid = object(s, `${sidsPath}[${i}]`);
    return {
      storage_id: count(sid.storage_id, `${sidsPath}[${i}].storage_id`),
      size_bytes: count(sid.size_bytes, `${sidsPath}[${i}].size_bytes`),
      input_binding: optional(sid.input_binding, `${sidsPath}[${i}].input_binding`, string),
    };
  });

  // Versions before 7 may keep external_dependencies at the root instead of beside the module.
  const fromRoot = m.external_dependencies === undefined && rootDependencies !== undefined;
  const depsValue = fromRoot ? rootDependencies : m.external_dependencies;
  const depsPath = `${fromRoot ? "" : at}external_dependencies`;
  const externalDependencies = (optional(depsValue, depsPath, list) ?? []).map((d, i) => {
    const dep = object(d, `${depsPath}[${i}]`);
    const p = `${depsPath}[${i}]`;
    return {
      short_name: string(dep.short_name, `${p}.short_name`),
      url: string(dep.url, `${p}.url`),
      url_type: string(dep.url_type, `${p}.url_type`),
      version_spec: optional(dep.version_spec, `${p}.version_spec`, string),
    };
  });

  return {
    name,
    executor: ex[0] as MlfExecutor,
    targets: checkTargets(m.target, `${at}target`),
    exportDatetime: optional(m.export_datetime, `${at}export_datetime`, string),
    mainEntries,
    main,
    operatorFunctions,
    sids,
    externalDependencies,
  };
}

function checkTargets(target: Json, path: string): string[] {
  if (Array.isArray(target) && target.length > 0 && target.every((t) => typeof t === "string")) return target;
  // Versions 4 and 5 write {"<device type>": "<target>"}; later ones a list. Both are read in any version.
  if (isObject(target)) {
    const values = Object.values(target);
    if (values.length > 0 && values.every((t) => typeof t === "string")) return values as string[];
  }
  throw new MlfError(
    "bad-metadata",
    `metadata.json: ${path}: "target" must be a non-empty list of strings (or, before version 6, a map of them), found ${describe(target)}`,
    "metadata.json",
  );
}

function checkTensors(value: Json, path: string): Record<string, TensorMetadata> | undefined {
  if (value === undefined) return undefined;
  const out: Record<string, TensorMetadata> = {};
  for (const [name, t] of Object.entries(object(value, path))) {
    const tensor = object(t, `${path}.${name}`);
    out[name] = {
      dtype: checkDType(tensor.dtype, `${path}.${name}.dtype`),
      size: count(tensor.size, `${path}.${name}.size`),
    };
  }
  return out;
}

function checkDType(value: Json, path: string): string {
  const text = string(value, path);
  if (text !== "bool" && !/^(int|uint|float|bfloat)[1-9]\d*(x[1-9]\d*)?$/.test(text))
    bad(path, "a dtype such as int8 or float32", value);
  return text;
}

function checkMainEntry(value: Json, path: string): MainEntry {
  const e = object(value, path);
  return {
    device: optional(e.device, `${path}.device`, count),
    workspace_size_bytes: count(e.workspace_size_bytes, `${path}.workspace_size_bytes`),
    constants_size_bytes: optional(e.constants_size_bytes, `${path}.constants_size_bytes`, count),
    io_size_bytes: optional(e.io_size_bytes, `${path}.io_size_bytes`, count),
    inputs: checkTensors(e.inputs, `${path}.inputs`),
    outputs: checkTensors(e.outputs, `${path}.outputs`),
  };
}
