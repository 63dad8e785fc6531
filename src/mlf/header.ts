import { MlfError } from "./errors.js";
import { sanitizeName } from "./c-names.js";

/** What a C-interface header (`codegen/host/include/tvmgen_<mod>.h`) declares. */
export interface CInterfaceHeader {
  /** `tvmgen_<mod>` in lowercase, from the struct and function names. */
  readonly prefix: string;
  /** Members of `struct <prefix>_inputs`, in argument order (sanitized names). */
  readonly inputs: readonly string[];
  /** Members of `struct <prefix>_outputs`, in argument order. */
  readonly outputs: readonly string[];
  /** Members of `struct <prefix>_devices`, if any. */
  readonly devices: readonly string[];
  /** Members of `struct <prefix>_workspace_pools` (external pools), if any. */
  readonly workspacePools: readonly string[];
  /** Every `#define <NAME> <integer>`, by macro name. */
  readonly macros: ReadonlyMap<string, number>;
  /** Every macro the header defines, whatever its value (e.g. `_CONSTANT_POOL_DATA` lists). */
  readonly defines: ReadonlySet<string>;
  /** `TVMGEN_<MOD>_WORKSPACE_SIZE`, when present. */
  readonly workspaceSize?: number;
  /** Parameter types of `<prefix>_run`, e.g. `struct tvmgen_default_inputs*`. */
  readonly runParameters: readonly string[];
  /** True when `<prefix>_map_inputs` exists: I/O is placed inside the workspace pools. */
  readonly ioInPools: boolean;
}

function structMembers(text: string, structName: string, file: string): string[] | undefined {
  const re = new RegExp(`struct\\s+${structName}\\s*\\{([^}]*)\\}`);
  const m = re.exec(text);
  if (!m) return undefined;
  const members: string[] = [];
  for (const decl of m[1]!.split(";")) {
    const d = decl.replace(/\/\*[\s\S]*?\*\//g, "").trim();
    if (!d) continue;
    const mm = /^void\s*\*\s*([A-Za-z_][A-Za-z0-9_]*)$/.exec(d);
    if (!mm)
      throw new MlfError("bad-file", `${file}: struct ${structName} has an unexpected member "${d}"`, file);
    members.push(mm[1]!);
  }
  return members;
}

/** Parses a C-interface header as TVM writes it (see docs/mlf.md). */
export function parseCInterfaceHeader(text: string, file = "header"): CInterfaceHeader {
  const run = /int32_t\s+(tvmgen[A-Za-z0-9_]*?)_run\s*\(([^)]*)\)/.exec(text);
  if (!run) throw new MlfError("bad-file", `${file}: no int32_t tvmgen_<name>_run(...) declaration`, file);
  const prefix = run[1]!;
  const macros = new Map<string, number>();
  for (const m of text.matchAll(/^#define\s+([A-Za-z_][A-Za-z0-9_]*)\s+(-?\d+)\s*$/gm)) {
    macros.set(m[1]!, Number(m[2]));
  }
  const defines = new Set<string>();
  for (const m of text.matchAll(/^#define\s+([A-Za-z_][A-Za-z0-9_]*)/gm)) defines.add(m[1]!);
  const upper = prefix.toUpperCase();
  return {
    prefix,
    inputs: structMembers(text, `${prefix}_inputs`, file) ?? [],
    outputs: structMembers(text, `${prefix}_outputs`, file) ?? [],
    devices: structMembers(text, `${prefix}_devices`, file) ?? [],
    workspacePools: structMembers(text, `${prefix}_workspace_pools`, file) ?? [],
    macros,
    defines,
    workspaceSize: macros.get(`${upper}_WORKSPACE_SIZE`),
    runParameters: run[2]!
      .split(",")
      .map((p) => p.trim().replace(/\s+/g, " "))
      .filter((p) => p !== "" && p !== "void"),
    ioInPools: new RegExp(`${prefix}_map_inputs\\s*\\(`).test(text),
  };
}

/** Input for {@link generateCInterfaceHeader}. */
export interface HeaderSpec {
  /** Module name (`default`); symbols become `tvmgen_<name>` in lowercase. */
  readonly moduleName: string;
  readonly inputs: readonly { name: string; bytes?: number }[];
  readonly outputs: readonly { name: string; bytes?: number }[];
  readonly workspaceBytes: number;
  /** External workspace pools: struct members and `_WORKSPACE_POOL_SIZE` macros. */
  readonly workspacePools?: readonly { name: string; bytes: number }[];
  /** Emit the per-tensor `_SIZE` macros (TVM v0.11 and later). Default true. */
  readonly sizeMacros?: boolean;
}

/** Writes a C-interface header in TVM's layout (guard, size macros, structs, run, workspace size). */
export function generateCInterfaceHeader(spec: HeaderSpec): string {
  const prefix = `tvmgen_${spec.moduleName}`.toLowerCase();
  const upper = prefix.toUpperCase();
  const brief = (what: string) => `/*!\n * \\brief ${what} for TVM module "${spec.moduleName}"\n */\n`;
  const seen = new Set<string>();
  const member = (name: string) => {
    const id = sanitizeName(name);
    if (seen.has(id))
      throw new MlfError("bad-input", `two tensor names sanitize to the same C identifier ${id}`);
    seen.add(id);
    return id;
  };
  const struct = (suffix: string, names: readonly string[]) =>
    `struct ${prefix}_${suffix} {\n${names.map((n) => `  void* ${member(n)};\n`).join("")}};\n\n`;
  let out = `#ifndef ${upper}_H_\n#define ${upper}_H_\n#include <stdint.h>\n\n#ifdef __cplusplus\nextern "C" {\n#endif\n\n`;
  if (spec.sizeMacros !== false) {
    for (const [kind, list] of [
      ["Input", spec.inputs],
      ["Output", spec.outputs],
    ] as const) {
      for (const t of list) {
        if (t.bytes === undefined) continue;
        const id = sanitizeName(t.name);
        out += brief(`${kind} tensor ${id} size (in bytes)`);
        out += `#define ${upper}_${id.toUpperCase()}_SIZE ${t.bytes}\n`;
      }
    }
  }
  out +=
    brief("Input tensor pointers") +
    struct(
      "inputs",
      spec.inputs.map((t) => t.name),
    );
  seen.clear();
  out +=
    brief("Output tensor pointers") +
    struct(
      "outputs",
      spec.outputs.map((t) => t.name),
    );
  const pools = spec.workspacePools ?? [];
  if (pools.length > 0) {
    seen.clear();
    out +=
      brief("Workspace pool pointers") +
      struct(
        "workspace_pools",
        pools.map((p) => p.name),
      );
  }
  const params = [`  struct ${prefix}_inputs* inputs`, `  struct ${prefix}_outputs* outputs`];
  let doc = ` * \\param inputs Input tensors for the module\n * \\param outputs Output tensors for the module\n`;
  if (pools.length > 0) {
    params.push(`  struct ${prefix}_workspace_pools* workspace_pools`);
    doc += ` * \\param workspace_pools Workspace memory pool pointers for the module\n`;
  }
  out += `/*!\n * \\brief entrypoint function for TVM module "${spec.moduleName}"\n${doc} */\n`;
  out += `int32_t ${prefix}_run(\n${params.join(",\n")}\n);\n`;
  out += brief("Workspace size") + `#define ${upper}_WORKSPACE_SIZE ${spec.workspaceBytes}\n`;
  for (const p of pools) {
    const id = sanitizeName(p.name);
    out += brief(`${id} size`) + `#define ${upper}_${id.toUpperCase()}_WORKSPACE_POOL_SIZE ${p.bytes}\n`;
  }
  out += `\n#ifdef __cplusplus\n}\n#endif\n\n#endif // ${upper}_H_\n`;
  return out;
}
