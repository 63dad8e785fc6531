/** What the ELF header of an object file says about its machine. */
export interface ElfInfo {
  /** A readable architecture name, e.g. `aarch64`, `arm`, `x86_64`, `riscv`, or `unknown (<n>)`. */
  readonly machine: string;
  /** The raw `e_machine` value. */
  readonly eMachine: number;
  readonly bits: 32 | 64;
  readonly endian: "little" | "big";
}

const MACHINES: Record<number, string> = {
  3: "x86",
  8: "mips",
  20: "powerpc",
  21: "powerpc64",
  40: "arm",
  62: "x86_64",
  83: "avr",
  94: "xtensa",
  105: "msp430",
  183: "aarch64",
  243: "riscv",
};

/** Reads the ELF identification and `e_machine`; undefined when the bytes are not ELF. */
export function readElfInfo(bytes: Uint8Array): ElfInfo | undefined {
  if (bytes.length < 20 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    return undefined;
  }
  const bits = bytes[4] === 2 ? 64 : 32;
  const endian = bytes[5] === 2 ? "big" : "little";
  const eMachine = endian === "little" ? bytes[18]! | (bytes[19]! << 8) : (bytes[18]! << 8) | bytes[19]!;
  return { machine: MACHINES[eMachine] ?? `unknown (${eMachine})`, eMachine, bits, endian };
}
