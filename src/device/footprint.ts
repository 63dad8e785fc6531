// Where a firmware's flash and RAM go, by component: the model's code and constants, the
// workspace (what the model needs next to the pool the platform reserves), the device runtime,
// the template's platform code, the C library, the stack and the heap. Totals come from the ELF's
// section table exactly as `size` counts them; the split comes from the linker map, which names
// the object behind every input section.
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import {
  FirmwareFileError,
  parseElf,
  sectionClass,
  sizeTotals,
  type ElfFile,
  type SizeTotals,
} from "./elf.js";
import { parseLinkerMap, type MapPiece } from "./linker-map.js";

export const FOOTPRINT_COMPONENTS = [
  "model_code",
  "model_constants",
  "workspace",
  "runtime",
  "platform",
  "libraries",
  "stack",
  "heap",
  "other",
] as const;
export type FootprintComponentName = (typeof FOOTPRINT_COMPONENTS)[number];

export const COMPONENT_LABELS: Record<FootprintComponentName, string> = {
  model_code: "model code",
  model_constants: "model constants and parameters",
  workspace: "workspace (pool and model buffers)",
  runtime: "device runtime",
  platform: "template and platform (incl. model glue)",
  libraries: "C library and compiler support",
  stack: "stack",
  heap: "heap (reserved)",
  other: "other (alignment, linker-made)",
};

export interface MemoryRange {
  readonly origin: number;
  readonly length: number;
}

/** What a template records about its firmware (`firmware` in microtvm-project.json). */
export interface FirmwareDescription {
  /** The linked firmware, relative to the project directory. */
  readonly elf: string;
  /** The linker map, relative to the project directory. */
  readonly map?: string;
  /** The `size` tool for this firmware (`arm-none-eabi-size`, `size`). */
  readonly sizeTool?: string;
  /** The target's memories, when it has fixed ones. */
  readonly memory?: {
    readonly flash?: MemoryRange;
    readonly ram?: MemoryRange;
    readonly externalRam?: MemoryRange;
  };
  /** Symbols of the platform's workspace pool (their bytes count as workspace). */
  readonly poolSymbols?: readonly string[];
  /** Where the numbers of this target come from, for the reader (`board mps2-an386`). */
  readonly target?: string;
}

export interface ComponentUse {
  readonly name: FootprintComponentName;
  readonly label: string;
  readonly flash: number;
  readonly ram: number;
  /** Bytes in external RAM (PSRAM), when the target has it. */
  readonly externalRam: number;
}

export interface Footprint {
  readonly elf: string;
  /** `size`'s Berkeley totals of the ELF. */
  readonly size: SizeTotals;
  /** text + data: what the image occupies in flash (code, constants, the initial values of data). */
  readonly flash: number;
  /** data + bss in RAM (including the stack and heap reservations), without external RAM. */
  readonly ram: number;
  readonly externalRam: number;
  readonly components: readonly ComponentUse[];
  readonly workspace: {
    /** What the model's metadata says it needs, when known. */
    readonly needed: number | null;
    /** The platform's pool, from the symbol table, when found. */
    readonly poolReserved: number | null;
    /** Static buffers the model's own code reserves (bss of the model's objects). */
    readonly modelBuffers: number;
  };
  readonly limits: {
    readonly flash: number | null;
    readonly ram: number | null;
    readonly externalRam: number | null;
  };
  readonly target: string | null;
  /** False when no linker map was available: everything is then in `other`. */
  readonly bySource: boolean;
}

type Owner = "model" | "runtime" | "platform" | "libraries" | "other";

/** Which part of the project an object file (as the linker map names it) belongs to. */
export function ownerOf(file: string): Owner {
  if (file === "") return "other";
  if (/\.a\(|\.a$/.test(file) || /(^|\/)crt[^/]*\.o$/.test(file) || /\/lib(gcc|c|m|nosys)/.test(file))
    return "libraries";
  const rel = file.includes("obj/") ? file.slice(file.lastIndexOf("obj/") + 4) : file;
  if (/^model[/_]/.test(rel) || /\/model\//.test(file)) return "model";
  if (/^runtime[/_]/.test(rel) || /\/runtime\/src\//.test(file)) return "runtime";
  if (/^(\/usr|\/lib)/.test(file)) return "libraries";
  return "platform";
}

function inRange(address: number, range: MemoryRange | undefined): boolean {
  return range !== undefined && address >= range.origin && address < range.origin + range.length;
}

interface Tally {
  flash: number;
  ram: number;
  externalRam: number;
}

/**
 * The footprint of `elfBytes` split by `mapText` (a GNU ld map; without it everything is
 * `other`). `workspaceNeeded` comes from the model's metadata.
 */
export function computeFootprint(
  elfBytes: Uint8Array,
  mapText: string | undefined,
  description: FirmwareDescription,
  workspaceNeeded: number | null,
): Footprint {
  const elf: ElfFile = parseElf(elfBytes, description.elf);
  const memory = description.memory ?? {};
  const tallies = new Map<FootprintComponentName, Tally>(
    FOOTPRINT_COMPONENTS.map((name) => [name, { flash: 0, ram: 0, externalRam: 0 }]),
  );
  const pieces = mapText ? parseLinkerMap(mapText) : [];
  const bySection = new Map<string, MapPiece[]>();
  for (const piece of pieces) {
    const list = bySection.get(piece.outputSection) ?? [];
    list.push(piece);
    bySection.set(piece.outputSection, list);
  }
  const poolSymbols = new Set(description.poolSymbols ?? ["g_pool"]);
  const pools = elf.symbols.filter((s) => poolSymbols.has(s.name) && s.size > 0);
  let poolReserved: number | null = pools.length > 0 ? 0 : null;
  let modelBuffers = 0;
  let flashTotal = 0;
  let ramTotal = 0;
  let externalTotal = 0;

  for (const section of elf.sections) {
    const kind = sectionClass(section);
    if (!kind || section.size === 0) continue;
    // Where the section's bytes are: flash for text; RAM (and its load image in flash) for data.
    const external = inRange(section.address, memory.externalRam);
    const add = (component: FootprintComponentName, bytes: number) => {
      const t = tallies.get(component)!;
      if (kind === "text") t.flash += bytes;
      else if (external) t.externalRam += bytes;
      else {
        t.ram += bytes;
        if (kind === "data") t.flash += bytes;
      }
    };
    if (kind === "text") flashTotal += section.size;
    else if (external) externalTotal += section.size;
    else {
      ramTotal += section.size;
      if (kind === "data") flashTotal += section.size;
    }
    if (section.name === ".stack") {
      add("stack", section.size);
      continue;
    }
    if (section.name === ".heap") {
      add("heap", section.size);
      continue;
    }
    const parts = scaleToSection(bySection.get(section.name) ?? [], section.size);
    let attributed = 0;
    for (const { piece, bytes } of parts) {
      attributed += bytes;
      const owner = ownerOf(piece.file);
      let component: FootprintComponentName;
      if (owner === "model") {
        if (kind === "bss") {
          component = "workspace";
          modelBuffers += bytes;
        } else if (kind === "text" && /^\.(rodata|srodata)/.test(piece.inputSection))
          component = "model_constants";
        else if (kind === "text") component = "model_code";
        else component = "model_constants";
      } else if (owner === "other") component = "other";
      else component = owner;
      // The platform's pool is workspace, whatever object holds it.
      const pool = pools.find((p) => p.value >= piece.address && p.value < piece.address + piece.size);
      if (pool && component !== "workspace" && kind !== "text") {
        const poolBytes = Math.min(pool.size, bytes);
        add("workspace", poolBytes);
        poolReserved = (poolReserved ?? 0) + poolBytes;
        add(component, bytes - poolBytes);
        continue;
      }
      add(component, bytes);
    }
    add("other", section.size - attributed);
  }

  const limit = (r: MemoryRange | undefined) => (r ? r.length : null);
  return {
    elf: description.elf,
    size: sizeTotals(elf),
    flash: flashTotal,
    ram: ramTotal,
    externalRam: externalTotal,
    components: FOOTPRINT_COMPONENTS.map((name) => ({
      name,
      label: COMPONENT_LABELS[name],
      ...tallies.get(name)!,
    })),
    workspace: { needed: workspaceNeeded, poolReserved, modelBuffers },
    limits: { flash: limit(memory.flash), ram: limit(memory.ram), externalRam: limit(memory.externalRam) },
    target: description.target ?? null,
    bySource: pieces.length > 0,
  };
}

/**
 * The map lists mergeable strings before they are merged, so a section's pieces can add up to
 * more than the section; they are then scaled down (strings first) to what the ELF holds.
 */
function scaleToSection(pieces: readonly MapPiece[], size: number): { piece: MapPiece; bytes: number }[] {
  const total = pieces.reduce((s, p) => s + p.size, 0);
  if (total <= size) return pieces.map((piece) => ({ piece, bytes: piece.size }));
  let excess = total - size;
  const merged = pieces.filter((p) => /\.str/.test(p.inputSection));
  const mergedTotal = merged.reduce((s, p) => s + p.size, 0);
  const out = pieces.map((piece) => ({ piece, bytes: piece.size }));
  const shrink = (subset: { piece: MapPiece; bytes: number }[], pool: number) => {
    if (pool === 0 || excess === 0) return;
    const take = Math.min(excess, pool);
    let taken = 0;
    subset.forEach((entry, i) => {
      const cut = i === subset.length - 1 ? take - taken : Math.floor((take * entry.bytes) / pool);
      entry.bytes -= Math.min(cut, entry.bytes);
      taken += cut;
    });
    excess -= take;
  };
  shrink(
    out.filter((e) => merged.includes(e.piece)),
    mergedTotal,
  );
  shrink(
    out.filter((e) => e.bytes > 0),
    out.reduce((s, e) => s + e.bytes, 0),
  );
  return out;
}

/** Reads the firmware a project describes and computes its footprint. */
export function projectFootprint(
  projectDir: string,
  description: FirmwareDescription,
  workspaceNeeded: number | null,
): Footprint {
  const at = (p: string) => (isAbsolute(p) ? p : join(projectDir, p));
  const elfPath = at(description.elf);
  if (!existsSync(elfPath)) {
    throw new FirmwareFileError(`${elfPath} does not exist; build the project first`);
  }
  const mapPath = description.map ? at(description.map) : undefined;
  const mapText = mapPath && existsSync(mapPath) ? readFileSync(mapPath, "utf8") : undefined;
  return computeFootprint(readFileSync(elfPath), mapText, description, workspaceNeeded);
}
