// Option help for templates: each built-in template's options as `--help` lists them, from the
// declarations \`npm run build\` recorded (no server is started to print help).
import type { ProjectOption } from "../../protocol/index.js";
import { recordedDeclaration } from "./template-options.js";
import { listBuiltInTemplates } from "./templates.js";

/** Wraps `text` at `width` columns, every line starting with `indent`. */
function wrap(text: string, indent: string, width = 96): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(indent + line);
  return lines;
}

/** One option as help lines: `name=VALUE`, then its help (default …; for build, flash), wrapped. */
export function formatOption(option: ProjectOption, indent = "    "): string {
  const value = option.choices?.length
    ? option.choices.join("|")
    : option.type === "bool"
      ? "true|false"
      : option.type.toUpperCase();
  const methods = [...(option.required ?? []).map((m) => `${m} (required)`), ...(option.optional ?? [])];
  const facts = [
    option.default !== null && option.default !== undefined && option.default !== ""
      ? `default ${JSON.stringify(option.default)}`
      : undefined,
    methods.length ? `for ${methods.join(", ")}` : undefined,
  ].filter(Boolean);
  const help = `${option.help}${facts.length ? ` (${facts.join("; ")})` : ""}`;
  return [`${indent}${option.name}=${value}`, ...wrap(help, `${indent}    `)].join("\n");
}

/** True when `option` may be given to one of `methods` (an option that names no method applies to all). */
function appliesTo(option: ProjectOption, methods: readonly string[]): boolean {
  const named = [...(option.required ?? []), ...(option.optional ?? [])];
  return named.length === 0 || named.some((m) => methods.includes(m));
}

/**
 * Help text listing, for each built-in template, the options that apply to `methods` (the Project
 * API calls the command makes). A template whose declaration was not recorded is listed with what
 * to do instead.
 */
export function builtInOptionsHelp(methods: readonly string[]): string {
  const templates = listBuiltInTemplates();
  if (templates.length === 0) return "";
  const parts = [
    "",
    "Project options of the built-in templates for this command (give each with -o name=value):",
  ];
  for (const template of templates) {
    const declared = recordedDeclaration(template.dir);
    if (!declared) {
      parts.push(
        `  ${template.name}: (options not recorded; run npm run build, or see microtvm info ${template.name})`,
      );
      continue;
    }
    const options = declared.projectOptions.filter((o) => appliesTo(o, methods));
    parts.push(`  ${template.name}:${options.length === 0 ? " none" : ""}`);
    parts.push(...options.map((o) => formatOption(o)));
  }
  return parts.join("\n");
}
