// The input sections of a GNU ld map file (-Wl,-Map): which object put how many bytes into which
// output section. The footprint attributes every byte of a firmware to a component with it.

export interface MapPiece {
  /** The output section (`.text`, `.bss`, ...). */
  readonly outputSection: string;
  /** The input section (`.text.TVMPlatformMemoryAllocate`, `*fill*`, `COMMON`). */
  readonly inputSection: string;
  readonly address: number;
  readonly size: number;
  /** The object file or `archive.a(member.o)`; empty for fill and linker-made bytes. */
  readonly file: string;
}

const OUTPUT_LINE = /^(\S+)(?:\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+))?\s*(?:load address.*)?$/;
const INPUT_LINE = /^ (\S+)(?:\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)(?:\s+(.+))?)?$/;
const CONTINUATION = /^\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)(?:\s+(.+))?$/;

/** Every input section with a size, from the "Linker script and memory map" part of `text`. */
export function parseLinkerMap(text: string): MapPiece[] {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => l.startsWith("Linker script and memory map"));
  if (start < 0) return [];
  const pieces: MapPiece[] = [];
  let output: string | undefined;
  let pendingInput: string | undefined;
  let pendingOutput = false;
  const add = (input: string, address: string, size: string, file: string | undefined) => {
    const bytes = parseInt(size, 16);
    if (output === undefined || bytes === 0) return;
    pieces.push({
      outputSection: output,
      inputSection: input,
      address: parseInt(address, 16),
      size: bytes,
      file: (file ?? "").trim(),
    });
  };
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!.trimEnd();
    if (line.startsWith("OUTPUT(")) break;
    if (line.length === 0) continue;
    if (pendingOutput) {
      pendingOutput = false;
      if (CONTINUATION.test(line)) continue; // the output section's address and size
    }
    if (pendingInput !== undefined) {
      const m = CONTINUATION.exec(line);
      const name = pendingInput;
      pendingInput = undefined;
      if (m) {
        add(name, m[1]!, m[2]!, m[3]);
        continue;
      }
    }
    if (!/^\s/.test(line)) {
      const m = OUTPUT_LINE.exec(line);
      if (!m || line.startsWith("LOAD ") || /^(START|END) GROUP/.test(line)) continue;
      output = m[1]!;
      if (m[2] === undefined) pendingOutput = true;
      continue;
    }
    const m = INPUT_LINE.exec(line);
    if (!m || m[1]!.startsWith("*(") || m[1] === "*") continue;
    if (m[2] === undefined) {
      // A long section name: address, size and file follow on the next line.
      if (/^[.*A-Za-z_]/.test(m[1]!)) pendingInput = m[1]!;
      continue;
    }
    add(m[1]!, m[2]!, m[3]!, m[4]);
  }
  return pieces;
}
