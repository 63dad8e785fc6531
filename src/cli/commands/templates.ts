// `microtvm templates`: the built-in templates and the options each one takes, from what `npm run
// build` recorded of each server's declaration; a template without a current record is asked
// through its server.
import type { Command } from "commander";
import { cancellable } from "../cancel.js";
import { ExitCode } from "../exit-codes.js";
import { addServerFlags, launchOptionsFrom, type ServerFlags } from "../options.js";
import { printJson } from "../output.js";
import { formatOption } from "../project/describe.js";
import { recordedDeclaration, type TemplateDeclaration } from "../project/template-options.js";
import { listBuiltInTemplates } from "../project/templates.js";
import { projectOptionToWire, type ProjectOption } from "../../protocol/index.js";

interface TemplateEntry {
  name: string;
  path: string;
  platformName: string | null;
  options: ProjectOption[];
  error: string | null;
}

/** Asks the template's server itself (a template whose declaration was not recorded). */
async function askServer(dir: string, flags: ServerFlags, signal: AbortSignal): Promise<TemplateDeclaration> {
  const { TemplateProject } = await import("../../client/index.js");
  const project = await TemplateProject.open(dir, { ...launchOptionsFrom(flags), signal });
  try {
    const info = project.info();
    return { platformName: info.platformName, projectOptions: info.projectOptions };
  } finally {
    await project.close();
  }
}

export function templatesCommand(program: Command): void {
  const command = program
    .command("templates")
    .description("list the built-in templates and their project options")
    .option("--json", "print one JSON document (schema microtvm.templates/2)");
  addServerFlags(command).action((flags: ServerFlags & { json?: boolean }) =>
    cancellable((signal) => listTemplates(flags, signal)),
  );
}

async function listTemplates(flags: ServerFlags & { json?: boolean }, signal: AbortSignal): Promise<void> {
  const entries: TemplateEntry[] = [];
  for (const template of listBuiltInTemplates()) {
    const entry: TemplateEntry = {
      name: template.name,
      path: template.dir,
      platformName: null,
      options: [],
      error: null,
    };
    try {
      const declared = recordedDeclaration(template.dir) ?? (await askServer(template.dir, flags, signal));
      entry.platformName = declared.platformName;
      entry.options = declared.projectOptions;
    } catch (error) {
      signal.throwIfAborted();
      entry.error = (error as Error).message;
    }
    entries.push(entry);
  }
  if (flags.json) {
    printJson("microtvm.templates/2", {
      templates: entries.map((e) => ({
        name: e.name,
        path: e.path,
        platform_name: e.platformName,
        options: e.options.map(projectOptionToWire),
        error: e.error,
      })),
    });
  } else {
    const lines: string[] = [];
    for (const entry of entries) {
      lines.push(`${entry.name}  (${entry.path})`);
      if (entry.error) {
        lines.push(`  cannot query its server: ${entry.error}`);
      } else {
        lines.push(`  platform: ${entry.platformName}`, "  options (-o name=value):");
        lines.push(...entry.options.map((o) => formatOption(o)));
      }
      lines.push("");
    }
    if (entries.length === 0) lines.push("no built-in templates found");
    process.stdout.write(`${lines.join("\n").trimEnd()}\n`);
  }
  process.exitCode = entries.some((e) => e.error) ? ExitCode.failed : ExitCode.ok;
}
