// What `run` needs to know about a project's model before it talks to the device: which
// executor, the inputs the user supplies and the outputs, and for graph models the graph JSON
// and the parameters that are not linked into the firmware.
import type { GeneratedProject } from "../client/index.js";
import { MlfError, openMlf, type MlfModule } from "../mlf/index.js";
import type { HostTensor } from "../rpc/index.js";
import { DeviceError } from "./errors.js";

/** An input or output as the user sees it. */
export interface ModelTensor {
  readonly name: string;
  readonly index: number;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly bytes: number;
}

export interface InferenceModel {
  /** The archive it came from. */
  readonly path: string;
  /** The MLF module name (`default`), passed to tvm.aot_executor.create. */
  readonly name: string;
  readonly executor: "aot" | "graph";
  readonly inputs: readonly ModelTensor[];
  readonly outputs: readonly ModelTensor[];
  /** Graph models: the graph JSON text. */
  readonly graphJson?: string;
  /**
   * Graph models: parameters to upload before running. Empty when the firmware links them
   * (`_lookup_linked_param`): those live in read-only device memory and must not be written.
   */
  readonly params: ReadonlyMap<string, HostTensor>;
  readonly linkedParams: boolean;
  /** How the archive's C function registry writes its count, when it has one. */
  readonly registryCountStyle?: "u8-count" | "u16-count";
}

function tensors(list: MlfModule["inputs"]): ModelTensor[] {
  return list.map((t, index) => ({
    name: t.name,
    index,
    dtype: t.dtype,
    shape: [...t.shape],
    bytes: t.bytes,
  }));
}

/**
 * Reads the model archive of a project. `moduleName` picks a module when the archive has more
 * than one; one module is taken without asking.
 */
export async function loadInferenceModel(path: string, moduleName?: string): Promise<InferenceModel> {
  let model;
  try {
    model = await openMlf(path);
  } catch (error) {
    if (error instanceof MlfError) {
      throw new DeviceError(`cannot read the project's model ${path}: ${error.message}`, "bad-file", {
        cause: error,
      });
    }
    throw error;
  }
  const names = model.modules.map((m) => m.name);
  let mod: MlfModule | undefined;
  if (moduleName !== undefined) {
    mod = model.modules.find((m) => m.name === moduleName);
    if (!mod)
      throw new DeviceError(
        `the model has no module "${moduleName}"; it has: ${names.join(", ")}`,
        "bad-argument",
      );
  } else if (model.modules.length === 1) {
    mod = model.modules[0];
  } else {
    throw new DeviceError(
      `the model archive holds ${names.length} modules (${names.join(", ")}); name the one to run (--model on the command line)`,
      "bad-argument",
    );
  }
  if (!mod) throw new DeviceError(`the model archive ${path} holds no module`, "bad-file");
  if (mod.executor === "graph") {
    if (!mod.graphFile)
      throw new DeviceError(`graph model ${mod.name} has no graph JSON in ${path}`, "bad-file");
    const linkedParams = mod.functionRegistry?.names.includes("_lookup_linked_param") ?? false;
    const params = new Map<string, HostTensor>();
    if (!linkedParams) {
      for (const p of mod.parameters)
        params.set(p.name, { dtype: p.dtype, shape: [...p.shape], data: p.raw });
    }
    // The user supplies the graph's arguments that are not parameters (as MLF metadata lists them).
    const paramNames = new Set(mod.parameters.map((p) => p.name));
    return {
      path,
      name: mod.name,
      executor: "graph",
      inputs: tensors(mod.inputs.filter((t) => !paramNames.has(t.name))),
      outputs: tensors(mod.outputs),
      graphJson: model.read(mod.graphFile).toString("utf8"),
      params,
      linkedParams,
      ...(mod.functionRegistry ? { registryCountStyle: mod.functionRegistry.countStyle } : {}),
    };
  }
  if (mod.entryStyle === "c-interface" || mod.entryStyle === "packed") {
    return {
      path,
      name: mod.name,
      executor: "aot",
      inputs: tensors(mod.inputs),
      outputs: tensors(mod.outputs),
      params: new Map(),
      linkedParams: false,
    };
  }
  throw new DeviceError(
    `model ${mod.name} has an entry style (${mod.entryStyle}) that cannot be run from the host`,
    "bad-file",
  );
}

/** The model of a generated project, from the archive its server reports. */
export async function loadProjectModel(
  project: GeneratedProject,
  moduleName?: string,
): Promise<InferenceModel> {
  const path = project.info().modelLibraryFormatPath;
  if (!path) {
    throw new DeviceError(
      `${project.projectDir} reports no model archive; is it a generated project?`,
      "bad-file",
    );
  }
  return loadInferenceModel(path, moduleName);
}
