// `microtvm templates`: the built-in templates and the options each one takes.
import type { Command } from "commander";
import { TemplateProject } from "../../client/index.js";
import type { ServerInfo } from "../../protocol/index.js";
import { ExitCode } from "../exit-codes.js";
import { addServerFlags, launchOptionsFrom, type ServerFlags } from "../options.js";
import { printJson } from "../output.js";
import { formatOption } from "../project/describe.js";
import { listBuiltInTemplates } from "../project/templates.js";

interface TemplateEntry {
  name: string;
  path: string;
  platformName: string | null;
  options: ServerInfo["projectOptions"];
  error: string | null;
}

export function templatesCommand(program: Command): void {
  const command = program
    .command("templates")
    .description("list the built-in templates and their project options")
    .option("--json", "print one JSON document (schema microtvm.templates/1)");
  addServerFlags(command).action(async (flags: ServerFlags & { json?: boolean }) => {
    const entries: TemplateEntry[] = [];
    for (const template of listBuiltInTemplates()) {
      let project: TemplateProject | undefined;
      try {
        project = await TemplateProject.open(template.dir, launchOptionsFrom(flags));
        const info = project.info();
        entries.push({
          name: template.name,
          path: template.dir,
          platformName: info.platformName,
          options: info.projectOptions,
          error: null,
        });
      } catch (error) {
        entries.push({
          name: template.name,
          path: template.dir,
          platformName: null,
          options: [],
          error: (error as Error).message,
        });
      } finally {
        await project?.close();
      }
    }
    if (flags.json) {
      printJson("microtvm.templates/1", { templates: entries });
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
  });
}
