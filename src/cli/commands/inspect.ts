import type { Command } from "commander";
import { inspectDocument, MlfError, openMlf, type InspectDocument } from "../../mlf/index.js";
import { cancellable } from "../cancel.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { printJson } from "../output.js";

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

function summary(doc: InspectDocument): string {
  const lines: string[] = [];
  lines.push(`${doc.path} (${doc.container}, Model Library Format version ${doc.format_version})`);
  for (const m of doc.models) {
    lines.push("");
    lines.push(`model ${m.name}`);
    lines.push(`  executor     ${m.executor}, entry ${m.entry_style} (${m.entry_function})`);
    for (const t of m.targets) lines.push(`  target       ${t}`);
    const tensorLine = (kind: string, t: InspectDocument["models"][number]["inputs"][number]) =>
      `  ${kind.padEnd(12)} ${t.name}: ${t.dtype} ${shapeText(t.shape)}, ${t.bytes} bytes${t.derived ? " (derived)" : ""}`;
    for (const t of m.inputs) lines.push(tensorLine("input", t));
    for (const t of m.outputs) lines.push(tensorLine("output", t));
    lines.push(`  workspace    ${m.workspace_bytes} bytes`);
    for (const p of m.pools) lines.push(`  pool         ${p.name} (${p.kind}) ${p.bytes ?? "?"} bytes`);
    lines.push(`  parameters   ${m.parameters.count} (${m.parameters.bytes} bytes) in ${m.parameters.file}`);
    for (const s of m.codegen.sources) lines.push(`  source       ${s}`);
    for (const o of m.codegen.objects) lines.push(`  object       ${o.file} (${o.machine})`);
    if (m.codegen.header) lines.push(`  header       ${m.codegen.header}`);
    if (m.function_registry)
      lines.push(
        `  registry     ${m.function_registry.count} functions, ${m.function_registry.count_style} (${m.function_registry.file})`,
      );
    for (const f of m.portability) lines.push(`  arm-only     ${f.file}:${f.line} ${f.match}`);
    for (const w of m.warnings) lines.push(`  warning      ${w.message}`);
  }
  for (const w of doc.warnings) lines.push(`warning: ${w.message}`);
  return `${lines.join("\n")}\n`;
}

/** `microtvm inspect <archive> [--json]`: validates a Model Library Format archive and describes it. */
export function inspectCommand(program: Command): void {
  program
    .command("inspect")
    .description(
      "validate a Model Library Format archive (.tar, .tar.gz or directory) and describe its models",
    )
    .argument("<archive>", "the MLF archive or an extracted directory")
    .option("--json", `print a JSON document (schema microtvm.inspect/1, see docs/inspect-schema.md)`)
    .action((archive: string, opts: { json?: boolean }) =>
      cancellable(() => inspect(archive, opts), { immediate: true }),
    );
}

async function inspect(archive: string, opts: { json?: boolean }): Promise<void> {
  let doc: InspectDocument;
  try {
    doc = inspectDocument(await openMlf(archive));
  } catch (error) {
    if (error instanceof MlfError)
      // The reader's message usually names the path already.
      throw new CliError(
        `${error.message.includes(archive) ? "" : `${archive}: `}${error.message} [${error.code}]`,
        ExitCode.badInput,
        {
          cause: error,
        },
      );
    throw error;
  }
  if (opts.json) {
    const { schema, ...body } = doc;
    printJson(schema, body);
  } else process.stdout.write(summary(doc));
}
