// Base85 exactly as Python's base64.b85encode / b85decode (RFC 1924 alphabet, no padding kept,
// no `z` shortcut), including its error messages. Used for the transport's `data` strings.

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";

const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Invalid base85 text; the message is Python's (`bad base85 character at position 2`). */
export class Base85Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Base85Error";
  }
}

/** Encodes bytes; the output has `n + ceil(n / 4)` characters. */
export function b85encode(bytes: Uint8Array): string {
  const n = bytes.length;
  const padding = (4 - (n % 4)) % 4;
  const out: string[] = [];
  for (let i = 0; i < n; i += 4) {
    // Multiplication keeps the word unsigned (bit operators would make it negative).
    let word =
      (bytes[i]! * 0x1000000 +
        (bytes[i + 1] ?? 0) * 0x10000 +
        (bytes[i + 2] ?? 0) * 0x100 +
        (bytes[i + 3] ?? 0)) >>>
      0;
    const group = new Array<string>(5);
    for (let j = 4; j >= 0; j--) {
      group[j] = ALPHABET[word % 85]!;
      word = Math.floor(word / 85);
    }
    out.push(group.join(""));
  }
  const text = out.join("");
  return padding ? text.slice(0, text.length - padding) : text;
}

/**
 * Decodes base85 text. Throws `Base85Error` for characters outside the alphabet, 5-digit groups
 * above 2^32−1 and non-ASCII text, with Python's messages.
 */
export function b85decode(text: string): Uint8Array {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f)
      throw new Base85Error("string argument should contain only ASCII characters");
  }
  const padding = (5 - (text.length % 5)) % 5;
  const padded = text + "~".repeat(padding);
  const out = new Uint8Array((padded.length / 5) * 4);
  for (let i = 0; i < padded.length; i += 5) {
    let acc = 0;
    for (let j = 0; j < 5; j++) {
      const digit = DECODE[padded.charCodeAt(i + j)]!;
      if (digit < 0) throw new Base85Error(`bad base85 character at position ${i + j}`);
      acc = acc * 85 + digit;
    }
    if (acc > 0xffffffff) throw new Base85Error(`base85 overflow in hunk starting at byte ${i}`);
    const o = (i / 5) * 4;
    out[o] = Math.floor(acc / 0x1000000) & 0xff;
    out[o + 1] = (acc >>> 16) & 0xff;
    out[o + 2] = (acc >>> 8) & 0xff;
    out[o + 3] = acc & 0xff;
  }
  return padding ? out.subarray(0, out.length - padding) : out;
}
