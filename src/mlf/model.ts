import type { MlfWarning } from "./errors.js";
import type { CInterfaceHeader } from "./header.js";
import type { GraphJson, GraphStorage } from "./graph.js";
import type { MlfParameter } from "./params.js";
import type { FunctionRegistry } from "./portability.js";

/** Metadata versions this reader understands. */
export const SUPPORTED_VERSIONS = [4, 5, 6, 7] as const;
export type MlfVersion = (typeof SUPPORTED_VERSIONS)[number];

export type MlfExecutor = "aot" | "graph";

/**
 * How the model is entered:
 * - `packed`: AOT `tvmgen_<mod>_run(args, type_codes, num_args, ret, ret_code, resource)` (host-driven use);
 * - `c-interface`: AOT `tvmgen_<mod>_run(struct ..._inputs*, struct ..._outputs*, ...)` from the header;
 * - `graph`: graph executor over a system library; the graph JSON travels separately.
 */
export type MlfEntryStyle = "packed" | "c-interface" | "graph";

/** An input or output tensor, in argument order. */
export interface MlfTensor {
  /** The model's name for it (as metadata, the graph or Relay spell it; e.g. `input:0`). */
  readonly name: string;
  /** The C identifier form used in the header (non-alphanumerics become `_`). */
  readonly cName: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly bytes: number;
  /** True when metadata.json does not list it: reconstructed from the graph, header or Relay text. */
  readonly derived: boolean;
}

/** An external memory pool the caller must provide (C interface with USMP). */
export interface MlfPool {
  readonly name: string;
  readonly kind: "workspace" | "constant";
  /** From the `_WORKSPACE_POOL_SIZE` / `_CONSTANT_POOL_SIZE` macro, when present. */
  readonly bytes?: number;
}

/** An object file in the codegen, with the machine its ELF header names. */
export interface MlfObjectFile {
  readonly file: string;
  /** `aarch64`, `arm`, `x86_64`, `riscv`, …; `not-elf` when the file is not ELF. */
  readonly machine: string;
  readonly eMachine?: number;
  readonly bits?: 32 | 64;
  readonly endian?: "little" | "big";
}

export interface MlfCodegen {
  /** `c`: only C sources; `object`: only object files; `mixed`: both. */
  readonly kind: "c" | "object" | "mixed";
  /** Archive-relative C/C++ sources (`codegen/host/src/<mod>_lib<N>.c`), sorted by N. */
  readonly sources: readonly string[];
  readonly objects: readonly MlfObjectFile[];
  /** The C-interface header (`codegen/host/include/tvmgen_<mod>.h`), when present. */
  readonly header?: string;
  /** `codegen/host/include` when the header exists: add it to the include path. */
  readonly includeDir?: string;
}

export interface MlfOperatorFunction {
  readonly name: string;
  readonly workspaceBytes: number;
}

export interface MlfExternalDependency {
  readonly shortName: string;
  readonly url: string;
  readonly urlType: string;
  readonly versionSpec?: string;
  /** For `mlf_path` dependencies: whether the directory is in the archive. */
  readonly present?: boolean;
}

/** One model (module) of an archive, normalised across metadata versions 4 to 7. */
export interface MlfModule {
  readonly name: string;
  /** `tvmgen_<name>` in lowercase: the prefix of every generated symbol. */
  readonly symbolPrefix: string;
  readonly executor: MlfExecutor;
  readonly entryStyle: MlfEntryStyle;
  /** The entry symbol: `tvmgen_<mod>_run` for AOT; for graph, the system-lib entry point. */
  readonly entryFunction: string;
  readonly targets: readonly string[];
  readonly exportDatetime?: string;
  readonly codegen: MlfCodegen;
  readonly inputs: readonly MlfTensor[];
  readonly outputs: readonly MlfTensor[];
  /** `memory.functions.main[cpu].workspace_size_bytes`. */
  readonly workspaceBytes: number;
  readonly constantsBytes?: number;
  readonly ioBytes?: number;
  readonly pools: readonly MlfPool[];
  /** Whether the C sources define `TVMSystemLibEntryPoint` (a system library). */
  readonly systemLib: boolean;
  /** Whether the C sources define `tvmgen_<mod>_get_c_metadata` (packed AOT with the CRT). */
  readonly hasCMetadata: boolean;
  readonly functionRegistry?: FunctionRegistry;
  readonly parametersFile: string;
  readonly parameters: readonly MlfParameter[];
  readonly relayFile?: string;
  readonly relayText?: string;
  readonly graphFile?: string;
  readonly graph?: GraphJson;
  /** Graph storage buffers sized from the graph JSON (largest entry per storage id). */
  readonly storage?: readonly GraphStorage[];
  readonly header?: CInterfaceHeader;
  readonly operatorFunctions: readonly MlfOperatorFunction[];
  readonly externalDependencies: readonly MlfExternalDependency[];
  readonly warnings: readonly MlfWarning[];
}

/** An opened archive: every module, and access to the files. */
export interface MlfModel {
  /** The path that was opened. */
  readonly path: string;
  readonly container: "tar" | "tar.gz" | "directory";
  readonly formatVersion: MlfVersion;
  readonly modules: readonly MlfModule[];
  /** Archive-level warnings; each module carries its own too. */
  readonly warnings: readonly MlfWarning[];
  /** Every file, archive-relative without `./`, sorted. */
  readonly files: readonly string[];
  /** The parsed metadata.json as stored. */
  readonly metadata: Record<string, unknown>;
  /** A file's bytes (throws MlfError `missing-file` when absent). */
  read(file: string): Buffer;
}
