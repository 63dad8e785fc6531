/** One reason a C source cannot be compiled for any CPU. */
export interface PortabilityFinding {
  /** Archive-relative file name. */
  readonly file: string;
  /** 1-based line number. */
  readonly line: number;
  readonly kind: "arm-header" | "arm-intrinsic" | "arm-builtin" | "arm-asm";
  /** The matched text. */
  readonly match: string;
}

const ARM_HEADER =
  /#\s*include\s*[<"]\s*(arm_acle\.h|arm_neon\.h|arm_mve\.h|arm_math\.h|arm_nnfunctions\.h|cmsis_compiler\.h|cmsis_gcc\.h)\s*[>"]/;
const ARM_INTRINSIC =
  /\b__(SMLAD|SMLADX|SMLALD|SMLSD|SMUAD|SMUADX|SMUSD|SMLABB|SMLATT|SMULBB|QADD|QADD8|QADD16|QSUB|QSUB8|QSUB16|QASX|QSAX|SHADD8|SHADD16|SADD8|SADD16|SSUB8|SSUB16|UADD8|UADD16|USUB8|SXTB16|SXTAB16|UXTB16|UXTAB16|SSAT|USAT|SSAT16|USAT16|SEL|PKHBT|PKHTB|ROR|REV|REV16|CLZ|SMMLA|SMMUL|LDREXW|STREXW|DSB|DMB|ISB)\s*\(/;
const ARM_BUILTIN = /\b__builtin_arm_[A-Za-z0-9_]+/;
const ASM = /\b(?:__asm__|__asm|asm)\b(?:\s+(?:volatile|__volatile__))?\s*\(([^;]*)/;
const ARM_MNEMONIC =
  /\b(smlad|smladx|smuad|smlabb|smulbb|qadd|qadd8|qadd16|qsub|qsub8|qsub16|sxtb16|sxtab16|uxtb16|ssat|usat|sel|pkhbt|pkhtb|ldrd|strd|ldm|stm|mrs|msr|cpsid|cpsie|wfi|wfe|vld1|vst1|vmla|vmul|vadd|vldr|vstr|vdup|bkpt|dmb|dsb|isb|ldrex|strex)\b/i;

/** Finds ARM-only constructs in C text: headers, ACLE/CMSIS intrinsics, builtins and ARM `asm`. */
export function scanCSource(file: string, text: string): PortabilityFinding[] {
  const findings: PortabilityFinding[] = [];
  const lines = text.split("\n");
  let inBlockComment = false;
  lines.forEach((raw, i) => {
    let line = raw;
    if (inBlockComment) {
      const end = line.indexOf("*/");
      if (end === -1) return;
      line = line.slice(end + 2);
      inBlockComment = false;
    }
    line = line.replace(/\/\*[\s\S]*?\*\//g, " ");
    const open = line.indexOf("/*");
    if (open !== -1) {
      line = line.slice(0, open);
      inBlockComment = true;
    }
    line = line.replace(/\/\/.*$/, "");
    const add = (kind: PortabilityFinding["kind"], match: string) =>
      findings.push({ file, line: i + 1, kind, match: match.trim() });
    let m: RegExpExecArray | null;
    if ((m = ARM_HEADER.exec(line))) add("arm-header", m[0]);
    if ((m = ARM_INTRINSIC.exec(line))) add("arm-intrinsic", m[0].replace(/\s*\($/, ""));
    if ((m = ARM_BUILTIN.exec(line))) add("arm-builtin", m[0]);
    if ((m = ASM.exec(line)) && ARM_MNEMONIC.test(m[1]!)) add("arm-asm", m[0]);
  });
  return findings;
}

/** The CRT function registry of a system-lib archive (`TVMFuncRegistry`). */
export interface FunctionRegistry {
  readonly file: string;
  /**
   * `u8-count`: the name blob starts with a one-byte count (2021 archives); `u16-count`: a u16
   * little-endian count (later archives). Told apart by the second byte: 0 only in the u16 form.
   */
  readonly countStyle: "u8-count" | "u16-count";
  /** The count the blob declares. */
  readonly count: number;
  /** The names that follow it. */
  readonly names: readonly string[];
}

/** Decodes a run of adjacent C string literals into bytes. */
export function decodeCStringLiterals(source: string): Uint8Array {
  const out: number[] = [];
  const re = /"((?:[^"\\]|\\[\s\S])*)"/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(source))) {
    const s = m[1]!;
    for (let i = 0; i < s.length; i++) {
      const c = s[i]!;
      if (c !== "\\") {
        for (const b of Buffer.from(c, "utf8")) out.push(b);
        continue;
      }
      const n = s[++i]!;
      if (/[0-7]/.test(n)) {
        let digits = n;
        while (digits.length < 3 && /[0-7]/.test(s[i + 1] ?? "")) digits += s[++i];
        out.push(parseInt(digits, 8) & 0xff);
      } else if (n === "x") {
        let digits = "";
        while (/[0-9a-fA-F]/.test(s[i + 1] ?? "")) digits += s[++i];
        out.push(parseInt(digits, 16) & 0xff);
      } else {
        const simple: Record<string, number> = {
          n: 10,
          t: 9,
          r: 13,
          a: 7,
          b: 8,
          f: 12,
          v: 11,
          "\\": 92,
          '"': 34,
          "'": 39,
          "?": 63,
        };
        out.push(simple[n] ?? n.charCodeAt(0));
      }
    }
  }
  return Uint8Array.from(out);
}

/** Finds and decodes the `TVMFuncRegistry` name blob in a C source; undefined when absent. */
export function findFunctionRegistry(file: string, text: string): FunctionRegistry | undefined {
  const m = /TVMFuncRegistry\s+[A-Za-z_][A-Za-z0-9_]*\s*=\s*\{\s*((?:"(?:[^"\\]|\\[\s\S])*"\s*)+)/.exec(text);
  if (!m) return undefined;
  const blob = decodeCStringLiterals(m[1]!);
  if (blob.length < 2) return undefined;
  const u16 = blob[1] === 0;
  const count = u16 ? blob[0]! | (blob[1]! << 8) : blob[0]!;
  const names = Buffer.from(blob.subarray(u16 ? 2 : 1))
    .toString("latin1")
    .split("\0")
    .filter((n) => n !== "");
  return { file, countStyle: u16 ? "u16-count" : "u8-count", count, names };
}
