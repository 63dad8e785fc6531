import type { Command } from "commander";
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { ProjectApiClient } from "../../client/index.js";
import { readProjectFile } from "../../device/index.js";
import { serverInfoFromWire, type WireProjectOption } from "../../protocol/index.js";
import { projectBuildState, type BuildState } from "../project/build-state.js";
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
      'print one JSON document: {"schema": "microtvm.info/2", ...the server_info_query reply, and for a generated project "saved_options" and "build"}',
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
    const project = generatedProjectState(dir, info);
    if (flags.json) {
      printJson("microtvm.info/2", {
        ...(info as unknown as Record<string, unknown>),
        ...(project ? { saved_options: project.saved, build: project.build } : {}),
      });
      return;
    }
    const text = describe(
      info as unknown as Record<string, unknown>,
      client.process?.command.file,
      project ? describeProject(project) : [],
    );
    process.stdout.write(`${text}\n`);
  } catch (error) {
    throw cliErrorFrom(error, "template-or-project");
  } finally {
    await client?.close();
  }
}

interface ProjectState {
  /** The options saved in microtvm-project.json (given with -o to earlier commands). */
  saved: Record<string, unknown>;
  build: BuildState;
}

/** For a generated project's directory: its saved options and whether it is built and current. */
function generatedProjectState(dirArg: string, wire: unknown): ProjectState | undefined {
  const dir = resolve(dirArg);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return undefined;
  const info = serverInfoFromWire(wire);
  if (info.isTemplate) return undefined;
  return { saved: readProjectFile(dir)?.options ?? {}, build: projectBuildState(dir, info) };
}

function describeProject(state: ProjectState): string[] {
  const saved = Object.entries(state.saved);
  const build = state.build;
  const status =
    build.status === "not_built"
      ? `not built (${build.reason})`
      : build.status === "current"
        ? `built and current (build stamp ${build.build_stamp!.slice(0, 12)})`
        : `built for something else (build stamp ${build.build_stamp!.slice(0, 12)}; ${build.reason}); the next run builds again`;
  return [
    `build:             ${status}`,
    saved.length === 0
      ? "saved options:     none (each command uses the defaults)"
      : `saved options:     ${saved.map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ")}`,
  ];
}

function describe(info: Record<string, unknown>, serverFile: string | undefined, extra: string[]): string {
  const options = Array.isArray(info.project_options) ? (info.project_options as WireProjectOption[]) : [];
  const lines = [
    `platform:          ${cell(info.platform_name)}`,
    `kind:              ${info.is_template ? "template project" : "generated project"}`,
    `model archive:     ${info.model_library_format_path ? String(info.model_library_format_path) : "-"}`,
    `protocol version:  ${cell(info.protocol_version)}`,
  ];
  if (serverFile) lines.push(`server:            ${serverFile}`);
  lines.push(...extra);
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
