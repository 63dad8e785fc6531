// Option help for templates. Commander prints help synchronously, so the built-in templates'
// servers are queried with one synchronous round trip each: the request goes in on the server's
// stdin (--read-fd 0), the reply comes back on its stdout (--write-fd 1), then stdin closes and
// the server exits. Only done when help is actually shown.
import { spawnSync } from "node:child_process";
import { findServer } from "../../client/index.js";
import { serverInfoFromWire, type ProjectOption, type ServerInfo } from "../../protocol/index.js";
import { listBuiltInTemplates } from "./templates.js";

const QUERY_TIMEOUT_MS = 15_000;

/** server_info_query of the server in `dir`, synchronously; throws with the reason on failure. */
export function queryServerInfoSync(dir: string): ServerInfo {
  const command = findServer(dir);
  const args = command.args.map((arg, i, all) =>
    all[i - 1] === "--read-fd" ? "0" : all[i - 1] === "--write-fd" ? "1" : arg,
  );
  const request = `${JSON.stringify({ jsonrpc: "2.0", method: "server_info_query", params: { tvm_version: "0.19.dev0" }, id: 1 })}\n`;
  const r = spawnSync(command.command, args, {
    cwd: dir,
    input: request,
    encoding: "utf8",
    timeout: QUERY_TIMEOUT_MS,
  });
  if (r.error) throw new Error(`cannot run ${command.file}: ${r.error.message}`);
  for (const line of r.stdout.split("\n")) {
    let reply: unknown;
    try {
      reply = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof reply !== "object" || reply === null || (reply as { id?: unknown }).id !== 1) continue;
    const { result, error } = reply as { result?: unknown; error?: { message?: string } };
    if (error) throw new Error(`server_info_query failed: ${error.message ?? JSON.stringify(error)}`);
    return serverInfoFromWire(result);
  }
  const why = r.stderr.trim().split("\n").slice(-3).join(" / ");
  throw new Error(`no reply from ${command.file}${why ? `: ${why}` : ""}`);
}

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

/**
 * Help text listing each built-in template's options (for `create-project --help` and
 * `build --help`). A template whose server cannot answer is listed with the reason.
 */
export function builtInOptionsHelp(): string {
  const templates = listBuiltInTemplates();
  if (templates.length === 0) return "";
  const parts = ["", "Project options of the built-in templates (give each with -o name=value):"];
  for (const template of templates) {
    try {
      const info = queryServerInfoSync(template.dir);
      parts.push(`  ${template.name}:`);
      parts.push(...info.projectOptions.map((o) => formatOption(o)));
    } catch (error) {
      parts.push(`  ${template.name}: (options unavailable: ${(error as Error).message})`);
    }
  }
  return parts.join("\n");
}
