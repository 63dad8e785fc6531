import type { Command } from "commander";
import { readFile } from "node:fs/promises";
import { existsSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { MlfError, parseParams, writeMlf, type WriteTensor } from "../../mlf/index.js";
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

/** `microtvm pack`: writes a Model Library Format version 7 archive from C sources and a tensor description. */
export function packCommand(program: Command): void {
  program
    .command("pack")
    .description(
      "write a Model Library Format v7 archive (AOT, C interface) from C sources and a tensor description",
    )
    .requiredOption("-o, --output <file>", "the archive to write (.tar)")
    .requiredOption(
      "--tensors <file>",
      'JSON: {"inputs": [{name, dtype, shape}], "outputs": [...], "workspace_bytes": n}',
    )
    .requiredOption("--source <file...>", "C sources in order (become <module>_lib0.c, _lib1.c, ...)")
    .option("--header <file>", "the C-interface header (generated from the tensors when omitted)")
    .option("--params <file>", "a TVM .params file to include (default: an empty one)")
    .option("--relay <file>", "the model's Relay text (src/<module>.relay)")
    .option("--module <name>", "module name", "default")
    .option("--target <target...>", "target strings", ["c -keys=cpu"])
    .option("--workspace <bytes>", "workspace bytes (overrides workspace_bytes in --tensors)")
    .option("--json", "print one JSON document (schema microtvm.pack/1)")
    .action(
      async (opts: {
        output: string;
        tensors: string;
        source: string[];
        header?: string;
        params?: string;
        relay?: string;
        module: string;
        target: string[];
        workspace?: string;
        json?: boolean;
      }) => {
        checkOutputPath(opts.output);
        let desc: TensorFile;
        try {
          desc = JSON.parse(
            (await readInput(opts.tensors, "tensor description")).toString("utf8"),
          ) as TensorFile;
        } catch (error) {
          if (error instanceof CliError) throw error;
          throw new CliError(
            `${opts.tensors}: not valid JSON (${(error as Error).message})`,
            ExitCode.badInput,
          );
        }
        const workspace =
          opts.workspace !== undefined
            ? /^\d+$/.test(opts.workspace)
              ? Number(opts.workspace)
              : Number.NaN
            : (desc.workspace_bytes ?? 0);
        if (!Number.isInteger(workspace) || workspace < 0)
          throw new CliError(
            `${opts.workspace !== undefined ? "--workspace" : `workspace_bytes in ${opts.tensors}`} must be a non-negative integer, got ${JSON.stringify(opts.workspace ?? desc.workspace_bytes)}`,
            ExitCode.usage,
          );
        const sources = await Promise.all(
          opts.source.map(async (s) => ({ name: basename(s), content: await readInput(s, "source") })),
        );
        try {
          const params = opts.params
            ? parseParams(await readInput(opts.params, "parameters"), opts.params)
            : [];
          const tar = await writeMlf({
            moduleName: opts.module,
            sources,
            header: opts.header ? (await readInput(opts.header, "header")).toString("utf8") : undefined,
            inputs: checkTensors(desc.inputs, "inputs", opts.tensors),
            outputs: checkTensors(desc.outputs, "outputs", opts.tensors),
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
            process.stdout.write(
              `wrote ${opts.output} (${tar.length} bytes, Model Library Format version 7)\n`,
            );
          }
        } catch (error) {
          if (error instanceof MlfError)
            throw new CliError(`${error.message} [${error.code}]`, ExitCode.badInput, { cause: error });
          throw error;
        }
      },
    );
}
