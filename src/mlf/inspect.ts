import type { MlfWarning } from "./errors.js";
import type { MlfModel, MlfTensor } from "./model.js";
import { scanPortability } from "./scan.js";

/** The `schema` value of the inspect document; bumped only on incompatible changes. */
export const INSPECT_SCHEMA = "microtvm.inspect/1";

interface InspectTensor {
  name: string;
  c_name: string;
  dtype: string;
  shape: number[];
  bytes: number;
  derived: boolean;
}

/** The JSON document `microtvm inspect --json` prints (see docs/inspect-schema.md). */
export interface InspectDocument {
  schema: typeof INSPECT_SCHEMA;
  path: string;
  container: "tar" | "tar.gz" | "directory";
  format_version: number;
  models: {
    name: string;
    executor: "aot" | "graph";
    entry_style: "packed" | "c-interface" | "graph";
    entry_function: string;
    targets: string[];
    export_datetime: string | null;
    inputs: InspectTensor[];
    outputs: InspectTensor[];
    workspace_bytes: number;
    constants_bytes: number | null;
    io_bytes: number | null;
    pools: { name: string; kind: "workspace" | "constant"; bytes: number | null }[];
    parameters: { count: number; bytes: number; file: string };
    codegen: {
      kind: "c" | "object" | "mixed";
      sources: string[];
      objects: { file: string; machine: string }[];
      header: string | null;
      include_dir: string | null;
    };
    system_lib: boolean;
    function_registry: { file: string; count_style: "u8-count" | "u16-count"; count: number } | null;
    portability: { file: string; line: number; kind: string; match: string }[];
    warnings: MlfWarning[];
  }[];
  warnings: MlfWarning[];
}

const tensor = (t: MlfTensor): InspectTensor => ({
  name: t.name,
  c_name: t.cName,
  dtype: t.dtype,
  shape: [...t.shape],
  bytes: t.bytes,
  derived: t.derived,
});

/** Builds the versioned inspect document for a model. */
export function inspectDocument(model: MlfModel): InspectDocument {
  const findings = scanPortability(model);
  return {
    schema: INSPECT_SCHEMA,
    path: model.path,
    container: model.container,
    format_version: model.formatVersion,
    models: model.modules.map((m) => {
      const files = new Set([...m.codegen.sources, ...(m.codegen.header ? [m.codegen.header] : [])]);
      return {
        name: m.name,
        executor: m.executor,
        entry_style: m.entryStyle,
        entry_function: m.entryFunction,
        targets: [...m.targets],
        export_datetime: m.exportDatetime ?? null,
        inputs: m.inputs.map(tensor),
        outputs: m.outputs.map(tensor),
        workspace_bytes: m.workspaceBytes,
        constants_bytes: m.constantsBytes ?? null,
        io_bytes: m.ioBytes ?? null,
        pools: m.pools.map((p) => ({ name: p.name, kind: p.kind, bytes: p.bytes ?? null })),
        parameters: {
          count: m.parameters.length,
          bytes: m.parameters.reduce((a, p) => a + p.bytes, 0),
          file: m.parametersFile,
        },
        codegen: {
          kind: m.codegen.kind,
          sources: [...m.codegen.sources],
          objects: m.codegen.objects.map((o) => ({ file: o.file, machine: o.machine })),
          header: m.codegen.header ?? null,
          include_dir: m.codegen.includeDir ?? null,
        },
        system_lib: m.systemLib,
        function_registry: m.functionRegistry
          ? {
              file: m.functionRegistry.file,
              count_style: m.functionRegistry.countStyle,
              count: m.functionRegistry.count,
            }
          : null,
        portability: findings.filter((f) => files.has(f.file)).map((f) => ({ ...f })),
        warnings: [...m.warnings],
      };
    }),
    warnings: [...model.warnings],
  };
}
