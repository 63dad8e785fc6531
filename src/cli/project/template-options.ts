// What each built-in template's server declares (platform and project options), recorded once by
// `npm run build` next to the bundled server, so that `--help` and `microtvm templates` list the
// options without starting a server. The record names a digest of the server files it came from;
// a record that does not match the files present is not used.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { projectOptionFromWire, projectOptionToWire, type ProjectOption } from "../../protocol/index.js";
import { queryServerInfoSync } from "./server-info.js";
import { SERVER_FILES, listBuiltInTemplates } from "./templates.js";

export const TEMPLATE_OPTIONS_FILE = "microtvm_project_options.json";
export const TEMPLATE_OPTIONS_SCHEMA = "microtvm.template-options/1";

export interface TemplateDeclaration {
  platformName: string;
  projectOptions: ProjectOption[];
}

/** sha256 over the names and contents of the server files present in `dir`. */
function serverDigest(dir: string): string {
  const hash = createHash("sha256");
  for (const name of SERVER_FILES) {
    const path = join(dir, name);
    if (!existsSync(path)) continue;
    hash.update(`${name}\0`);
    hash.update(readFileSync(path));
  }
  return hash.digest("hex");
}

/** Queries the server in `dir` once and records what it declares (run by `npm run build`). */
export function recordTemplateDeclaration(dir: string): void {
  const info = queryServerInfoSync(dir);
  const record = {
    schema: TEMPLATE_OPTIONS_SCHEMA,
    server_sha256: serverDigest(dir),
    platform_name: info.platformName,
    project_options: info.projectOptions.map(projectOptionToWire),
  };
  const path = join(dir, TEMPLATE_OPTIONS_FILE);
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(temporary, path);
}

/** Records the declaration of every built-in template; returns the names recorded. */
export function recordBuiltInTemplateDeclarations(): string[] {
  return listBuiltInTemplates().map((t) => {
    recordTemplateDeclaration(t.dir);
    return t.name;
  });
}

/** What the template in `dir` declares, from its record, or undefined when none matches its server. */
export function recordedDeclaration(dir: string): TemplateDeclaration | undefined {
  let record: {
    schema?: unknown;
    server_sha256?: unknown;
    platform_name?: unknown;
    project_options?: unknown;
  };
  try {
    record = JSON.parse(readFileSync(join(dir, TEMPLATE_OPTIONS_FILE), "utf8")) as typeof record;
  } catch {
    return undefined;
  }
  if (
    record.schema !== TEMPLATE_OPTIONS_SCHEMA ||
    typeof record.platform_name !== "string" ||
    !Array.isArray(record.project_options) ||
    record.server_sha256 !== serverDigest(dir)
  ) {
    return undefined;
  }
  return {
    platformName: record.platform_name,
    projectOptions: record.project_options.map((o: unknown) => projectOptionFromWire(o)),
  };
}
