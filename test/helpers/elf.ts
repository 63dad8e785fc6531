// A minimal 32-bit little-endian Arm ELF with the given sections (headers only, no contents),
// for tests that check a firmware image's layout without a cross compiler.

export interface TinySection {
  name: string;
  address: number;
  size: number;
  /** Occupies no file space (.bss, stack). */
  nobits?: boolean;
  writable?: boolean;
}

const SHT_PROGBITS = 1;
const SHT_STRTAB = 3;
const SHT_NOBITS = 8;
const SHF_WRITE = 0x1;
const SHF_ALLOC = 0x2;
const EM_ARM = 40;

export function tinyArmElf(sections: readonly TinySection[]): Buffer {
  const names = ["", ...sections.map((s) => s.name), ".shstrtab"];
  const nameOffsets: number[] = [];
  let strtab = "";
  for (const n of names) {
    nameOffsets.push(strtab.length);
    strtab += `${n}\0`;
  }
  const strBytes = Buffer.from(strtab, "latin1");
  const headerBytes = 52;
  const strOffset = headerBytes;
  const shoff = (strOffset + strBytes.length + 3) & ~3;
  const shnum = sections.length + 2;
  const out = Buffer.alloc(shoff + shnum * 40);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0); // ELF32, little-endian, version 1
  out.writeUInt16LE(2, 16); // ET_EXEC
  out.writeUInt16LE(EM_ARM, 18);
  out.writeUInt32LE(1, 20);
  out.writeUInt32LE(shoff, 0x20);
  out.writeUInt16LE(headerBytes, 0x28);
  out.writeUInt16LE(40, 0x2e);
  out.writeUInt16LE(shnum, 0x30);
  out.writeUInt16LE(shnum - 1, 0x32);
  strBytes.copy(out, strOffset);
  sections.forEach((s, i) => {
    const o = shoff + (i + 1) * 40;
    out.writeUInt32LE(nameOffsets[i + 1]!, o);
    out.writeUInt32LE(s.nobits ? SHT_NOBITS : SHT_PROGBITS, o + 4);
    out.writeUInt32LE(SHF_ALLOC | (s.writable || s.nobits ? SHF_WRITE : 0), o + 8);
    out.writeUInt32LE(s.address, o + 12);
    out.writeUInt32LE(strOffset, o + 16);
    out.writeUInt32LE(s.size, o + 20);
  });
  const o = shoff + (shnum - 1) * 40;
  out.writeUInt32LE(nameOffsets[names.length - 1]!, o);
  out.writeUInt32LE(SHT_STRTAB, o + 4);
  out.writeUInt32LE(strOffset, o + 16);
  out.writeUInt32LE(strBytes.length, o + 20);
  return out;
}
