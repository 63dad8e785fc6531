// What a template needs to know about a Model Library Format archive, and the checks every
// template makes: a real archive, code it can link, an AOT entry its firmware can call, C sources
// to compile. Each template adds its own checks of objects and code (machine, CPU features).
import { ServerError } from "microtvm/protocol";
import { MlfError, extractMlf, openMlf } from "microtvm/mlf";
import type { MlfModel, MlfModule } from "microtvm/mlf";

export interface InspectedModel {
  path: string;
  mlfVersion: number;
  /** The executor of every module (`aot` or `graph`), or `mixed`. */
  executor: string;
  /** Module names (`default`). */
  names: string[];
  modules: readonly MlfModule[];
  /** Archive-relative C sources to compile. */
  cSources: string[];
  /** Archive-relative object files to link (built for the template's machine). */
  objectFiles: { path: string; machine: string }[];
  /** Archive-relative include directories (the C-interface headers). */
  includeDirs: string[];
}

export interface TemplateModelChecks {
  /** How messages name the template: "the host template". */
  template: string;
  /** Throws a ServerError when the template cannot link this object file. */
  checkObject(moduleName: string, object: { file: string; machine: string }): void;
  /** The template's checks of the model's code (portability, CPU features). */
  checkCode(model: MlfModel): void;
  /** Sources that are neither compiled nor refused (headers next to the C). */
  ignoredSources?: RegExp;
}

function mlfFailure(path: string, error: unknown): never {
  if (error instanceof MlfError) {
    throw new ServerError(`cannot use the model archive ${path}: ${error.message}`, null, { cause: error });
  }
  throw error;
}

/** Opens and validates the archive and checks that the template can build and run its code. */
export async function inspectModelArchive(
  path: string,
  checks: TemplateModelChecks,
): Promise<InspectedModel> {
  let model: MlfModel;
  try {
    model = await openMlf(path);
  } catch (error) {
    mlfFailure(path, error);
  }
  if (model.container === "directory") {
    throw new ServerError(
      `${path} is a directory; generate_project needs a Model Library Format archive (.tar)`,
    );
  }
  const objectFiles: InspectedModel["objectFiles"] = [];
  for (const mod of model.modules) {
    for (const object of mod.codegen.objects) {
      checks.checkObject(mod.name, object);
      objectFiles.push({ path: object.file, machine: object.machine });
    }
  }
  checks.checkCode(model);
  checkAotEntries(model);
  const sources = model.modules.flatMap((m) => [...m.codegen.sources]);
  const cSources = sources.filter((f) => /\.c$/.test(f));
  const otherSources = sources.filter((f) => !/\.c$/.test(f) && !checks.ignoredSources?.test(f));
  if (otherSources.length > 0) {
    throw new ServerError(
      `the model has sources ${checks.template} does not compile (${otherSources.join(", ")}); it builds C sources only`,
    );
  }
  if (cSources.length === 0 && objectFiles.length === 0) {
    throw new ServerError(
      `the model archive ${path} has no generated code (no codegen/host/src/*.c or object files)`,
    );
  }
  const executors = [...new Set(model.modules.map((m) => m.executor))];
  return {
    path,
    mlfVersion: model.formatVersion,
    executor: executors.length === 1 ? executors[0]! : "mixed",
    names: model.modules.map((m) => m.name),
    modules: model.modules,
    cSources: [...new Set(cSources)],
    objectFiles,
    includeDirs: [
      ...new Set(model.modules.flatMap((m) => (m.codegen.includeDir ? [m.codegen.includeDir] : []))),
    ],
  };
}

/** Refuses AOT entries that cannot compile or that the runtime cannot call with every argument. */
function checkAotEntries(model: MlfModel): void {
  for (const mod of model.modules) {
    if (mod.executor !== "aot") continue;
    const text = mod.codegen.sources.map((f) => model.read(f).toString("latin1")).join("\n");
    // With system-lib, TVM's function registry declares <prefix>_run with the packed signature in
    // the same file that defines it with the C interface or the void* unpacked one: no C compiler
    // accepts that file (TVM's own build of it fails the same way).
    const run = `${mod.symbolPrefix}_run`;
    const unpackedEntry =
      mod.entryStyle === "c-interface" ||
      new RegExp(`int32_t\\s+${run}\\s*\\(\\s*void\\s*\\*\\s*args\\b`).test(text);
    if (unpackedEntry && mod.functionRegistry?.names.includes(run)) {
      throw new ServerError(
        `model ${mod.name}: its C cannot compile: ${mod.functionRegistry.file} declares ${run} as a packed ` +
          `function (system-lib function registry) and defines it with the ${mod.entryStyle === "c-interface" ? "C interface" : "unpacked API"} ` +
          '(conflicting types). Export it again either without system-lib (Runtime("crt")) or with the packed API ' +
          '(Executor("aot", {"interface-api": "packed", "unpacked-api": False}))',
      );
    }
    if (mod.entryStyle !== "packed") continue;
    const entry = packedEntrySlots(text, mod.symbolPrefix);
    const unset = entry ? entry.slots - entry.filled : 0;
    if (unset > 0) {
      throw new ServerError(
        `model ${mod.name}: its packed entry ${mod.symbolPrefix}_run leaves ${unset} workspace pool argument(s) ` +
          "unset: the model was built with user-defined (external) USMP pools, which the packed interface " +
          'cannot receive (TVM\'s own runtime cannot run it either). Export it with Executor("aot", ' +
          '{"interface-api": "c", "unpacked-api": True}) to pass the pools, or without user-defined pools',
      );
    }
    const io = mod.inputs.length + mod.outputs.length;
    if (entry && entry.slots > io && !mod.systemLib) {
      // The pool arguments' count comes from the TVMMetadata, which the runtime finds in the system library.
      throw new ServerError(
        `model ${mod.name}: its packed entry takes ${entry.slots} arguments (its ${entry.slots - io} workspace pool(s) ` +
          "after the inputs and outputs), which the runtime learns from the model's TVMMetadata in its system " +
          'library, but the model is not a system library; export it with Runtime("crt", {"system-lib": True})',
      );
    }
  }
}

/**
 * TVM's packed AOT entry copies its arguments into `TVMValue tensors[N]`, one `tensors[i] = ...`
 * per input, output and pool; the slots of user-defined (external) pools are never filled.
 * Returns N and how many slots are filled, or undefined when the entry is not of that form.
 */
export function packedEntrySlots(
  cText: string,
  prefix: string,
): { slots: number; filled: number } | undefined {
  const entry = new RegExp(
    `int32_t\\s+${prefix}_run\\s*\\(\\s*TVMValue\\s*\\*[^)]*\\)\\s*\\{\\s*TVMValue\\s+tensors\\[(\\d+)\\];([\\s\\S]*?)\\breturn\\b`,
  ).exec(cText);
  if (!entry) return undefined;
  const filled = new Set([...entry[2]!.matchAll(/tensors\[(\d+)\]\s*=/g)].map((m) => m[1])).size;
  return { slots: Number(entry[1]), filled };
}

/** How many argument slots the packed entry leaves unset (0 when it is not of TVM's form). */
export function packedEntryUnsetArguments(cText: string, prefix: string): number {
  const entry = packedEntrySlots(cText, prefix);
  return entry ? Math.max(0, entry.slots - entry.filled) : 0;
}

/** Extracts the archive safely (regular files and directories only) into `dir`, which must not exist. */
export async function extractModel(path: string, dir: string): Promise<void> {
  try {
    await extractMlf(path, dir);
  } catch (error) {
    mlfFailure(path, error);
  }
}
