// Does a built firmware fit its board? Checked from the ELF itself before it is flashed (or handed
// to QEMU), so a firmware built for another board, or an ELF replaced after the build, is refused
// naming the region and by how many bytes it overflows, as the linker does at build.
import { readFileSync } from "node:fs";
import { FirmwareFileError, SHF_ALLOC, SHT_NOBITS, parseElf, type ElfFile } from "microtvm/device";
import { ServerError } from "microtvm/protocol";

export interface FitRegion {
  /** FLASH, RAM, PSRAM: as the build's memory report names them. */
  name: string;
  origin: number;
  length: number;
  /** Initial values of writable sections here are stored in the flash region too (.data). */
  loadsFromFlash?: boolean;
}

export interface RegionUse {
  name: string;
  origin: number;
  length: number;
  used: number;
}

const EM_ARM = 40;
const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;

/** Bytes each region holds, counted as the Makefile's size report counts them. */
export function regionUse(elf: ElfFile, regions: readonly FitRegion[], what: string): RegionUse[] {
  const use = regions.map((r) => ({ name: r.name, origin: r.origin, length: r.length, used: 0 }));
  const flash = use.find((r) => r.name === "FLASH");
  for (const s of elf.sections) {
    if ((s.flags & SHF_ALLOC) === 0 || s.size === 0) continue;
    const i = regions.findIndex((r) => s.address >= r.origin && s.address < r.origin + r.length);
    if (i < 0) {
      throw new ServerError(
        `${what}: section ${s.name} (${s.size} bytes at ${hex(s.address)}) lies outside the board's memory ` +
          `(${regions.map((r) => `${r.name} ${hex(r.origin)}..${hex(r.origin + r.length - 1)}`).join(", ")}): ` +
          "the firmware was built for another board or replaced; rebuild the project",
      );
    }
    use[i]!.used += s.size;
    if (regions[i]!.loadsFromFlash && s.type !== SHT_NOBITS && flash && use[i] !== flash)
      flash.used += s.size;
  }
  return use;
}

/**
 * Reads `elfPath` and refuses it unless it is an Arm ELF whose sections lie in the board's regions
 * and fit them. Returns the use of each region.
 */
export function requireFirmwareFits(
  elfPath: string,
  board: string,
  regions: readonly FitRegion[],
  method: string,
): RegionUse[] {
  let elf: ElfFile;
  try {
    elf = parseElf(readFileSync(elfPath), elfPath);
  } catch (error) {
    if (error instanceof FirmwareFileError || (error as NodeJS.ErrnoException).code !== undefined) {
      throw new ServerError(
        `${method}: cannot read ${elfPath}: ${(error as Error).message}; rebuild the project`,
      );
    }
    throw error;
  }
  if (elf.machine !== EM_ARM || elf.bits !== 32) {
    throw new ServerError(
      `${method}: ${elfPath} is not a 32-bit Arm firmware (ELF machine ${elf.machine}); rebuild the project for ${board}`,
    );
  }
  const use = regionUse(elf, regions, `${method}: ${elfPath}`);
  const over = use.filter((r) => r.used > r.length);
  if (over.length > 0) {
    throw new ServerError(
      `${method}: the firmware does not fit ${board}: ` +
        over
          .map(
            (r) =>
              `region ${r.name} (${r.length} bytes at ${hex(r.origin)}) overflowed by ${r.used - r.length} bytes`,
          )
          .join("; ") +
        "; it was built for another board or replaced: rebuild the project for this board",
    );
  }
  return use;
}
