// The footprint `build` reports: the firmware the project's template recorded
// (`firmware` in microtvm-project.json), split by component, against the target's limits.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  FirmwareFileError,
  projectFootprint,
  type FirmwareDescription,
  type Footprint,
  PROJECT_FILE_NAME,
  type MemoryRange,
} from "../../device/index.js";
import { openMlf } from "../../mlf/index.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { formatTable } from "../output.js";

/** The archive a generated project keeps its model in. */
const MODEL_ARCHIVE = "model.tar";

function range(value: unknown): MemoryRange | undefined {
  const r = value as { origin?: unknown; length?: unknown } | undefined;
  return r && typeof r.origin === "number" && typeof r.length === "number"
    ? { origin: r.origin, length: r.length }
    : undefined;
}

/** What the project's template recorded about its firmware; undefined when it recorded nothing. */
export function firmwareDescription(dir: string): FirmwareDescription | undefined {
  const path = join(dir, PROJECT_FILE_NAME);
  if (!existsSync(path)) return undefined;
  let file: Record<string, unknown>;
  try {
    file = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const f = file.firmware as Record<string, unknown> | undefined;
  if (!f || typeof f !== "object" || typeof f.elf !== "string") return undefined;
  const memory = f.memory as Record<string, unknown> | undefined;
  const flash = range(memory?.flash);
  const ram = range(memory?.ram);
  const externalRam = range(memory?.external_ram);
  return {
    elf: f.elf,
    ...(typeof f.map === "string" ? { map: f.map } : {}),
    ...(typeof f.size_tool === "string" ? { sizeTool: f.size_tool } : {}),
    ...(memory
      ? {
          memory: {
            ...(flash ? { flash } : {}),
            ...(ram ? { ram } : {}),
            ...(externalRam ? { externalRam } : {}),
          },
        }
      : {}),
    ...(Array.isArray(f.pool_symbols)
      ? { poolSymbols: f.pool_symbols.filter((s) => typeof s === "string") }
      : {}),
    ...(typeof f.target === "string" ? { target: f.target } : {}),
  };
}

/** The workspace the project's model needs by its metadata (all modules), or null when unknown. */
export async function workspaceNeeded(dir: string): Promise<number | null> {
  const archive = join(dir, MODEL_ARCHIVE);
  if (!existsSync(archive)) return null;
  try {
    const model = await openMlf(archive);
    return model.modules.reduce((sum, m) => sum + m.workspaceBytes, 0);
  } catch {
    return null;
  }
}

/**
 * The project's footprint, or undefined when its template records no firmware (a template that
 * is not ours). A recorded firmware that cannot be read is an error.
 */
export async function readProjectFootprint(dir: string): Promise<Footprint | undefined> {
  const description = firmwareDescription(dir);
  if (!description) return undefined;
  try {
    return projectFootprint(dir, description, await workspaceNeeded(dir));
  } catch (error) {
    if (error instanceof FirmwareFileError) {
      throw new CliError(`cannot read the firmware's footprint: ${error.message}`, ExitCode.failed, {
        cause: error,
      });
    }
    throw error;
  }
}

function percent(used: number, limit: number | null): string {
  return limit ? `${((100 * used) / limit).toFixed(1)} %` : "-";
}

/** The footprint as text: a table by component, then the totals against the limits. */
export function formatFootprint(f: Footprint): string {
  const external = f.externalRam > 0;
  const rows = f.components
    .filter((c) => c.flash + c.ram + c.externalRam > 0 || c.name === "workspace")
    .map((c) => [c.label, String(c.flash), String(c.ram), ...(external ? [String(c.externalRam)] : [])]);
  rows.push(["total", String(f.flash), String(f.ram), ...(external ? [String(f.externalRam)] : [])]);
  const limits = [
    `limit`,
    f.limits.flash === null ? "-" : String(f.limits.flash),
    f.limits.ram === null ? "-" : String(f.limits.ram),
    ...(external ? [f.limits.externalRam === null ? "-" : String(f.limits.externalRam)] : []),
  ];
  rows.push(limits);
  rows.push([
    "used",
    percent(f.flash, f.limits.flash),
    percent(f.ram, f.limits.ram),
    ...(external ? [percent(f.externalRam, f.limits.externalRam)] : []),
  ]);
  const w = f.workspace;
  const lines = [
    `footprint of ${f.elf}${f.target ? ` on ${f.target}` : ""} (bytes)`,
    formatTable(["component", "flash", "RAM", ...(external ? ["external RAM"] : [])], rows),
    `workspace: the model needs ${w.needed === null ? "an unknown amount" : `${w.needed} bytes`}, the platform's pool reserves ${w.poolReserved === null ? "no pool found" : `${w.poolReserved} bytes`}` +
      (w.modelBuffers > 0 ? `, the model's own static buffers take ${w.modelBuffers}` : ""),
    `size: text ${f.size.text}, data ${f.size.data}, bss ${f.size.bss} (flash = text + data, RAM = data + bss${external ? " outside external RAM" : ""})`,
  ];
  if (!f.bySource) lines.push("no linker map was found: the split by component is unavailable");
  return lines.join("\n");
}

/** The footprint in `--json` documents (snake_case keys). */
export function footprintJson(f: Footprint): Record<string, unknown> {
  return {
    elf: f.elf,
    target: f.target,
    size: f.size,
    flash_bytes: f.flash,
    ram_bytes: f.ram,
    external_ram_bytes: f.externalRam,
    limits: {
      flash_bytes: f.limits.flash,
      ram_bytes: f.limits.ram,
      external_ram_bytes: f.limits.externalRam,
    },
    components: f.components.map((c) => ({
      name: c.name,
      label: c.label,
      flash_bytes: c.flash,
      ram_bytes: c.ram,
      external_ram_bytes: c.externalRam,
    })),
    workspace: {
      needed_bytes: f.workspace.needed,
      pool_reserved_bytes: f.workspace.poolReserved,
      model_buffers_bytes: f.workspace.modelBuffers,
    },
    by_source: f.bySource,
  };
}
