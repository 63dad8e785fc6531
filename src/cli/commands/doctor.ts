// `microtvm doctor`: are the tools each template needs installed and working, and if not, which
// Debian packages to install.
import type { Command } from "commander";
import { cancellable } from "../cancel.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { printJson } from "../output.js";
import { listBuiltInTemplates } from "../project/templates.js";
import { TEMPLATE_TOOLS, TOOLS, aptInstall, inspectTool, type ToolReport } from "../project/tools.js";

interface TemplateReadiness {
  name: string;
  needs: string[];
  ready: boolean;
  missing: string[];
  install: string | null;
}

interface DoctorOptions {
  json?: boolean;
  template?: string[];
}

export function doctorCommand(program: Command): void {
  program
    .command("doctor")
    .description("check the tools the templates need (C compiler, make, node, cross compiler, emulator)")
    .option("--template <name>", "check only what this template needs (repeatable)", collect)
    .option("--json", "print one JSON document (schema microtvm.doctor/2)")
    .addHelpText(
      "after",
      "\nExit status: 0 when every tool needed by the checked templates works, 1 otherwise." +
        "\nOptional tools (python3) are reported but never fail the check.",
    )
    .action(async (options: DoctorOptions) => {
      // The probes run synchronously; a Ctrl-C during one ends the command when it returns.
      process.exitCode = await cancellable(async () => doctor(options), { immediate: true });
    });
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function doctor(options: DoctorOptions): number {
  const installed = listBuiltInTemplates().map((t) => t.name);
  const known = installed.filter((name) => TEMPLATE_TOOLS[name] !== undefined);
  const wanted = options.template && options.template.length > 0 ? options.template : known;
  for (const name of wanted) {
    if (!TEMPLATE_TOOLS[name] || !installed.includes(name)) {
      throw new CliError(
        `unknown template ${JSON.stringify(name)} for doctor; built-in templates: ${known.join(", ") || "(none)"}`,
        ExitCode.usage,
      );
    }
  }

  const tools = TOOLS.map(inspectTool);
  const byName = new Map(tools.map((t) => [t.command, t]));
  const templates: TemplateReadiness[] = wanted.map((name) => {
    const needs = [...TEMPLATE_TOOLS[name]!];
    const missing = needs.filter((tool) => !byName.get(tool)?.ok);
    const packages = [...new Set(missing.flatMap((tool) => byName.get(tool)?.debianPackages ?? []))];
    return {
      name,
      needs,
      ready: missing.length === 0,
      missing,
      install: packages.length ? aptInstall(packages) : null,
    };
  });
  const neededTools = new Set(templates.flatMap((t) => t.needs));
  const ok = templates.every((t) => t.ready);

  if (options.json) {
    printJson("microtvm.doctor/2", {
      ok,
      tools: tools.map(({ debianPackages, ...t }) => ({
        ...t,
        debian_packages: debianPackages,
        needed_by: templates.filter((x) => x.needs.includes(t.command)).map((x) => x.name),
      })),
      templates,
    });
  } else {
    printHuman(tools, templates, neededTools);
  }
  return ok ? ExitCode.ok : ExitCode.failed;
}

function printHuman(tools: ToolReport[], templates: TemplateReadiness[], needed: Set<string>): void {
  const out: string[] = ["Tools:"];
  const width = Math.max(...tools.map((t) => t.command.length));
  for (const tool of tools) {
    const mark = tool.ok ? "ok " : tool.required && needed.has(tool.command) ? "MISSING" : "--";
    const name = tool.command.padEnd(width);
    if (tool.ok) {
      out.push(`  ${mark.padEnd(7)} ${name}  ${tool.version ?? ""}  (${tool.path})`);
    } else {
      out.push(`  ${mark.padEnd(7)} ${name}  ${tool.problem}; install: ${tool.install}`);
    }
    out.push(`  ${"".padEnd(7)} ${"".padEnd(width)}  ${tool.purpose}`);
  }
  out.push("", "Templates:");
  for (const t of templates) {
    out.push(
      t.ready
        ? `  ${t.name}: ready (needs ${t.needs.join(", ")})`
        : `  ${t.name}: not ready, missing ${t.missing.join(", ")}; run: ${t.install}`,
    );
  }
  process.stdout.write(`${out.join("\n")}\n`);
}
