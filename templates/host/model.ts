// What the host template needs to know about a Model Library Format archive, and the checks
// that keep code it cannot build out: object files for another CPU and ARM-only C.
import { ServerError } from "microtvm/protocol";
import { MlfError, extractMlf, openMlf, scanPortability } from "microtvm/mlf";
import type { MlfModule } from "microtvm/mlf";

export interface HostModel {
  path: string;
  mlfVersion: number;
  /** The executor of every module (`aot` or `graph`), or `mixed`. */
  executor: string;
  /** Module names (`default`). */
  names: string[];
  modules: readonly MlfModule[];
  /** Archive-relative C sources to compile. */
  cSources: string[];
  /** Archive-relative object files to link (built for this machine). */
  objectFiles: { path: string; machine: string }[];
  /** Archive-relative include directories (the C-interface headers). */
  includeDirs: string[];
}

/** The ELF machine name (as src/mlf reports it) of the CPU this server runs on. */
export function hostMachine(): string {
  const names: Record<string, string> = {
    x64: "x86_64",
    ia32: "x86",
    arm64: "aarch64",
    arm: "arm",
    riscv64: "riscv",
    ppc64: "powerpc64",
    mips: "mips",
  };
  return names[process.arch] ?? process.arch;
}

const OTHER_TEMPLATE =
  "The qemu-cortex-m template is the one that fits ARM (Cortex-M) code; to run the model on this machine, " +
  "export it again with TVM's C target (tvmc compile --target c --output-format mlf) so it carries C sources.";

function mlfFailure(path: string, error: unknown): never {
  if (error instanceof MlfError) {
    throw new ServerError(`cannot use the model archive ${path}: ${error.message}`, null, { cause: error });
  }
  throw error;
}

/** Opens and validates the archive and checks that this machine can build and run its code. */
export async function inspectModel(path: string): Promise<HostModel> {
  let model;
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
  const host = hostMachine();
  const objectFiles: HostModel["objectFiles"] = [];
  for (const mod of model.modules) {
    for (const object of mod.codegen.objects) {
      if (object.machine !== host) {
        const what =
          object.machine === "not-elf"
            ? "an object file this template cannot read (not ELF)"
            : `${object.machine} machine code`;
        throw new ServerError(
          `the model ${mod.name} contains ${what} (${object.file}); the host template compiles and runs code for this ` +
            `${host} machine only. ${OTHER_TEMPLATE}`,
        );
      }
      objectFiles.push({ path: object.file, machine: object.machine });
    }
  }
  const findings = scanPortability(model);
  if (findings.length > 0) {
    const shown = findings
      .slice(0, 3)
      .map((f) => `${f.file}:${f.line} ${f.match} (${f.kind})`)
      .join("; ");
    const more = findings.length > 3 ? ` and ${findings.length - 3} more` : "";
    throw new ServerError(
      `the model's C code is ARM-only and cannot be compiled for this ${host} machine: ${shown}${more}. ${OTHER_TEMPLATE}`,
    );
  }
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
  const cSources = model.modules.flatMap((m) => [...m.codegen.sources]).filter((f) => /\.c$/.test(f));
  const otherSources = model.modules.flatMap((m) => [...m.codegen.sources]).filter((f) => !/\.c$/.test(f));
  if (otherSources.length > 0) {
    throw new ServerError(
      `the model has sources the host template does not compile (${otherSources.join(", ")}); it builds C sources only`,
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
