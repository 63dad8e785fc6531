// The section table and symbol table of a firmware ELF file (32- or 64-bit, little-endian): what
// the footprint and the operator timing need to know about a build, without external tools.

/** An error reading a firmware file; the message names the file and what is wrong. */
export class FirmwareFileError extends Error {
  override name = "FirmwareFileError";
}

export interface ElfSection {
  readonly name: string;
  /** sh_type: 1 PROGBITS, 8 NOBITS, ... */
  readonly type: number;
  readonly flags: number;
  readonly address: number;
  readonly size: number;
}

export interface ElfSymbol {
  readonly name: string;
  /** The symbol's value (for Thumb functions, with bit 0 set as the linker writes it). */
  readonly value: number;
  readonly size: number;
  /** STT_*: 1 object, 2 function. */
  readonly kind: number;
  /** STB_*: 0 local, 1 global, 2 weak. */
  readonly binding: number;
  /** Index of the section it is defined in (0: undefined). */
  readonly section: number;
}

export interface ElfFile {
  readonly bits: 32 | 64;
  /** e_machine: 40 ARM, 62 x86-64, 183 AArch64, 243 RISC-V. */
  readonly machine: number;
  readonly sections: readonly ElfSection[];
  readonly symbols: readonly ElfSymbol[];
}

export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;
export const SHT_NOBITS = 8;
const SHT_SYMTAB = 2;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;

function cString(bytes: Uint8Array, offset: number): string {
  let end = offset;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return Buffer.from(bytes.subarray(offset, end)).toString("latin1");
}

/** Parses the section headers and the symbol table of `bytes` (the file `what`, for messages). */
export function parseElf(bytes: Uint8Array, what = "the firmware"): ElfFile {
  if (bytes.length < 52 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new FirmwareFileError(`${what} is not an ELF file`);
  }
  if (bytes[5] !== 1)
    throw new FirmwareFileError(`${what} is a big-endian ELF file; only little-endian is read`);
  const bits = bytes[4] === 2 ? 64 : 32;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number) => view.getUint16(o, true);
  const u32 = (o: number) => view.getUint32(o, true);
  const word = (o: number) => (bits === 64 ? Number(view.getBigUint64(o, true)) : u32(o));
  const machine = u16(18);
  const shoff = bits === 64 ? word(0x28) : u32(0x20);
  const shentsize = u16(bits === 64 ? 0x3a : 0x2e);
  const shnum = u16(bits === 64 ? 0x3c : 0x30);
  const shstrndx = u16(bits === 64 ? 0x3e : 0x32);
  if (shoff === 0 || shnum === 0 || shoff + shnum * shentsize > bytes.length || shstrndx >= shnum) {
    throw new FirmwareFileError(`${what} has no readable section table`);
  }
  interface Raw {
    nameOffset: number;
    type: number;
    flags: number;
    address: number;
    offset: number;
    size: number;
    link: number;
    entsize: number;
  }
  const raws: Raw[] = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    raws.push(
      bits === 64
        ? {
            nameOffset: u32(o),
            type: u32(o + 4),
            flags: word(o + 8),
            address: word(o + 16),
            offset: word(o + 24),
            size: word(o + 32),
            link: u32(o + 40),
            entsize: word(o + 56),
          }
        : {
            nameOffset: u32(o),
            type: u32(o + 4),
            flags: u32(o + 8),
            address: u32(o + 12),
            offset: u32(o + 16),
            size: u32(o + 20),
            link: u32(o + 24),
            entsize: u32(o + 36),
          },
    );
  }
  const names = raws[shstrndx]!;
  const sections = raws.map((r) => ({
    name: cString(bytes, names.offset + r.nameOffset),
    type: r.type,
    flags: r.flags,
    address: r.address,
    size: r.size,
  }));
  const symbols: ElfSymbol[] = [];
  const symtab = raws.find((r) => r.type === SHT_SYMTAB);
  if (symtab && symtab.offset + symtab.size <= bytes.length && symtab.link < raws.length) {
    const strings = raws[symtab.link]!;
    const size = symtab.entsize || (bits === 64 ? 24 : 16);
    for (let o = symtab.offset; o + size <= symtab.offset + symtab.size; o += size) {
      const info = bits === 64 ? bytes[o + 4]! : bytes[o + 12]!;
      const name = cString(bytes, strings.offset + u32(o));
      if (!name) continue;
      symbols.push({
        name,
        value: bits === 64 ? word(o + 8) : u32(o + 4),
        size: bits === 64 ? word(o + 16) : u32(o + 8),
        kind: info & 0xf,
        binding: info >> 4,
        section: u16(o + (bits === 64 ? 6 : 14)),
      });
    }
  }
  return { bits, machine, sections, symbols };
}

/** Berkeley totals, as `size` (binutils, default format) prints them. */
export interface SizeTotals {
  readonly text: number;
  readonly data: number;
  readonly bss: number;
}

/** How `size` counts a section: text (code or read-only), data (writable with contents) or bss. */
export function sectionClass(section: ElfSection): "text" | "data" | "bss" | undefined {
  if ((section.flags & SHF_ALLOC) === 0) return undefined;
  if ((section.flags & SHF_EXECINSTR) !== 0 || (section.flags & SHF_WRITE) === 0) return "text";
  return section.type === SHT_NOBITS ? "bss" : "data";
}

export function sizeTotals(elf: ElfFile): SizeTotals {
  const totals = { text: 0, data: 0, bss: 0 };
  for (const section of elf.sections) {
    const kind = sectionClass(section);
    if (kind) totals[kind] += section.size;
  }
  return totals;
}
