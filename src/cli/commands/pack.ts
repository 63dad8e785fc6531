import type { Command } from "commander";
import { readFile } from "node:fs/promises";
import { existsSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { writeFile } from "node:fs/promises";
import { MlfError, parseParams, repackRegistryCount, writeMlf, type WriteTensor } from "../../mlf/index.js";
import { cancellable } from "../cancel.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { fileErrorToCliError } from "../file-errors.js";
import { printJson } from "../output.js";

interface TensorFile {
  inputs?: WriteTensor[];
  outputs?: WriteTensor[];
  workspace_bytes?: number;
}

function checkTensors(list: unknown, what: string, file: string): WriteTensor[] {
  if (!Array.isArray(list) || list.length === 0)
    throw new CliError(`${file}: "${what}" must be a non-empty list`, ExitCode.badInput);
  return list.map((t: Partial<WriteTensor>, i) => {
    if (typeof t?.name !== "string" || typeof t.dtype !== "string" || !Array.isArray(t.shape))
      throw new CliError(`${file}: ${what}[${i}] needs "name", "dtype" and "shape"`, ExitCode.badInput);
    return { name: t.name, dtype: t.dtype, shape: t.shape };
  });
}

async function readInput(path: string, what: string): Promise<Buffer> {
  if (existsSync(path) && statSync(path).isDirectory())
    throw new CliError(`the ${what} ${path} is a directory; give a file`, ExitCode.badInput);
  try {
    return await readFile(path);
  } catch (error) {
    const plain = fileErrorToCliError(error)?.message ?? `${path}: ${(error as Error).message}`;
    throw new CliError(`cannot read ${what}: ${plain}`, ExitCode.badInput, { cause: error });
  }
}

/** The archive is written last, so a path that cannot take it is reported before any work. */
function checkOutputPath(output: string): void {
  const path = resolve(output);
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new CliError(
      `--output ${output} is a directory; give the archive's file name, for example ${join(output, "model.tar")}`,
      ExitCode.badInput,
    );
  }
  const parent = dirname(path);
  if (!existsSync(parent) || !statSync(parent).isDirectory()) {
    throw new CliError(
      `--output ${output}: the directory ${parent} does not exist; create it first`,
      ExitCode.badInput,
    );
  }
}

/**
 * `pack --repack-registry <archive>`: the same archive with its system-lib function registry
 * count widened to the 2 bytes that TVM 0.9+'s standalone CRT reads.
 */
async function repackRegistry(archive: string, output: string, json: boolean | undefined): Promise<void> {
  const input = resolve(archive);
  if (!existsSync(input) || statSync(input).isDirectory())
    throw new CliError(`--repack-registry ${archive}: not an archive file`, ExitCode.badInput);
  if (resolve(output) === input)
    throw new CliError(`--output must differ from the archive being re-packed (${archive})`, ExitCode.usage);
  let result;
  try {
    result = await repackRegistryCount(input);
  } catch (error) {
    if (error instanceof MlfError)
      throw new CliError(`${error.message} [${error.code}]`, ExitCode.badInput, { cause: error });
    throw error;
  }
  try {
    await writeFile(output, result.tar);
  } catch (error) {
    const plain = fileErrorToCliError(error)?.message ?? (error as Error).message;
    throw new CliError(`cannot write ${output}: ${plain}`, ExitCode.badInput, { cause: error });
  }
  if (json) {
    printJson("microtvm.pack/1", {
      path: resolve(output),
      bytes: result.tar.length,
      repacked_from: input,
      rewritten: result.rewritten,
      function_count: result.rewritten.length > 0 ? result.count : null,
    });
  } else if (result.rewritten.length > 0) {
    process.stdout.write(
      `wrote ${output} (${result.tar.length} bytes): function registry count of ${result.count} widened to 2 bytes in ${result.rewritten.join(", ")}\n`,
    );
  } else {
    process.stdout.write(
      `wrote ${output} (${result.tar.length} bytes): its registry count was 2 bytes already\n`,
    );
  }
}

/** `microtvm pack`: writes a Model Library Format version 7 archive from C sources and a tensor description. */
export function packCommand(program: Command): void {
  program
    .command("pack")
    .description(
      "write a Model Library Format v7 archive (AOT, C interface) from C sources and a tensor description, " +
        "or re-pack a system-lib archive for TVM's standalone CRT (--repack-registry)",
    )
    .requiredOption("--output <file>", "the archive to write (.tar)")
    .option(
      "--tensors <file>",
      'JSON: {"inputs": [{name, dtype, shape}], "outputs": [...], "workspace_bytes": n}',
    )
    .option("--source <file...>", "C sources in order (become <module>_lib0.c, _lib1.c, ...)")
    .option(
      "--repack-registry <archive>",
      "instead: copy <archive>, writing its function registry count in 2 bytes (TVM 0.9+'s CRT reads 2; " +
        "Model Library Format v4 archives wrote 1)",
    )
    .option("--header <file>", "the C-interface header (generated from the tensors when omitted)")
    .option("--params <file>", "a TVM .params file to include (default: an empty one)")
    .option("--relay <file>", "the model's Relay text (src/<module>.relay)")
    .option("--module <name>", "module name", "default")
    .option("--target <target...>", "target strings", ["c -keys=cpu"])
    .option("--workspace <bytes>", "workspace bytes (overrides workspace_bytes in --tensors)")
    .option("--json", "print one JSON document (schema microtvm.pack/1)")
    .action((opts: PackFlags) => cancellable(() => pack(opts), { immediate: true }));
}

interface PackFlags {
  output: string;
  tensors?: string;
  source?: string[];
  repackRegistry?: string;
  header?: string;
  params?: string;
  relay?: string;
  module: string;
  target: string[];
  workspace?: string;
  json?: boolean;
}

async function pack(opts: PackFlags): Promise<void> {
  checkOutputPath(opts.output);
  if (opts.repackRegistry !== undefined) {
    if (opts.tensors !== undefined || opts.source !== undefined)
      throw new CliError("--repack-registry takes no --tensors or --source", ExitCode.usage);
    await repackRegistry(opts.repackRegistry, opts.output, opts.json);
    return;
  }
  if (opts.tensors === undefined || opts.source === undefined)
    throw new CliError("pack needs --tensors and --source (or --repack-registry <archive>)", ExitCode.usage);
  const tensorsFile = opts.tensors;
  const sourceFiles = opts.source;
  let desc: TensorFile;
  try {
    desc = JSON.parse((await readInput(tensorsFile, "tensor description")).toString("utf8")) as TensorFile;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`${tensorsFile}: not valid JSON (${(error as Error).message})`, ExitCode.badInput);
  }
  const workspace =
    opts.workspace !== undefined
      ? /^\d+$/.test(opts.workspace)
        ? Number(opts.workspace)
        : Number.NaN
      : (desc.workspace_bytes ?? 0);
  if (!Number.isInteger(workspace) || workspace < 0)
    throw new CliError(
      `${opts.workspace !== undefined ? "--workspace" : `workspace_bytes in ${tensorsFile}`} must be a non-negative integer, got ${JSON.stringify(opts.workspace ?? desc.workspace_bytes)}`,
      ExitCode.usage,
    );
  const sources = await Promise.all(
    sourceFiles.map(async (s) => ({ name: basename(s), content: await readInput(s, "source") })),
  );
  try {
    const params = opts.params ? parseParams(await readInput(opts.params, "parameters"), opts.params) : [];
    const tar = await writeMlf({
      moduleName: opts.module,
      sources,
      header: opts.header ? (await readInput(opts.header, "header")).toString("utf8") : undefined,
      inputs: checkTensors(desc.inputs, "inputs", tensorsFile),
      outputs: checkTensors(desc.outputs, "outputs", tensorsFile),
      workspaceBytes: workspace,
      parameters: params.map((p) => ({ name: p.name, dtype: p.dtype, shape: p.shape, data: p.raw })),
      relay: opts.relay ? (await readInput(opts.relay, "Relay text")).toString("utf8") : undefined,
      targets: opts.target,
      output: opts.output,
    });
    if (opts.json) {
      printJson("microtvm.pack/1", {
        path: resolve(opts.output),
        bytes: tar.length,
        format_version: 7,
        module: opts.module,
      });
    } else {
      process.stdout.write(`wrote ${opts.output} (${tar.length} bytes, Model Library Format version 7)\n`);
    }
  } catch (error) {
    if (error instanceof MlfError)
      throw new CliError(`${error.message} [${error.code}]`, ExitCode.badInput, { cause: error });
    throw error;
  }
}
