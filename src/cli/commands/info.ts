import type { Command } from "commander";
import { ProjectApiClient } from "../../client/index.js";
import type { WireProjectOption } from "../../protocol/index.js";
import { addServerFlags, cliErrorFrom, launchOptionsFrom, type ServerFlags } from "../options.js";
import { cancellable } from "../cancel.js";
import { cell, formatTable, printJson } from "../output.js";
import { serverDirArgument } from "../project/templates.js";

/** `microtvm info <dir>`: what a project's server says about itself. */
export function infoCommand(program: Command): void {
  const command = program
    .command("info")
    .description(
      "launch the Project API server of a template or generated project and show its info and options",
    )
    .argument("<dir>", "the project or template directory, or a built-in template's name (host, ...)")
    .option(
      "--json",
      'print one JSON document: {"schema": "microtvm.info/1", ...the server_info_query reply}',
    );
  addServerFlags(command).action((dir: string, flags: ServerFlags & { json?: boolean }) =>
    // Ctrl-C aborts the signal, which stops the server.
    cancellable((signal) => info(dir, flags, signal)),
  );
}

async function info(
  dir: string,
  flags: ServerFlags & { json?: boolean },
  signal: AbortSignal,
): Promise<void> {
  let client: ProjectApiClient | undefined;
  try {
    client = await ProjectApiClient.launch(serverDirArgument(dir), { ...launchOptionsFrom(flags), signal });
    const info = await client.serverInfoQueryWire();
    if (flags.json) {
      printJson("microtvm.info/1", info as unknown as Record<string, unknown>);
      return;
    }
    process.stdout.write(
      `${describe(info as unknown as Record<string, unknown>, client.process?.command.file)}\n`,
    );
  } catch (error) {
    throw cliErrorFrom(error, "template-or-project");
  } finally {
    await client?.close();
  }
}

function describe(info: Record<string, unknown>, serverFile: string | undefined): string {
  const options = Array.isArray(info.project_options) ? (info.project_options as WireProjectOption[]) : [];
  const lines = [
    `platform:          ${cell(info.platform_name)}`,
    `kind:              ${info.is_template ? "template project" : "generated project"}`,
    `model archive:     ${info.model_library_format_path ? String(info.model_library_format_path) : "-"}`,
    `protocol version:  ${cell(info.protocol_version)}`,
  ];
  if (serverFile) lines.push(`server:            ${serverFile}`);
  lines.push("");
  if (options.length === 0) {
    lines.push("options: none");
    return lines.join("\n");
  }
  lines.push(`options (${options.length}):`);
  const rows = options.map((o) => [
    o.name,
    o.type,
    cell(o.default),
    cell(o.required),
    cell(o.optional),
    cell(o.choices),
    o.help ?? "",
  ]);
  lines.push(
    formatTable(["name", "type", "default", "required for", "optional for", "choices", "help"], rows),
  );
  return lines.join("\n");
}
