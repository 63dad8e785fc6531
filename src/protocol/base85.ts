// Base85 exactly as Python's base64.b85encode / b85decode (RFC 1924 alphabet, no padding kept,
// no `z` shortcut), including its error messages. Used for the transport's `data` strings, so
// both directions work on character codes in typed arrays: a 1 MiB payload is one allocation
// each way, not a quarter million small strings.

import { allocBytes } from "./bytes.js";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";

const DIGIT_CODE = new Uint8Array(85);
for (let i = 0; i < 85; i++) DIGIT_CODE[i] = ALPHABET.charCodeAt(i);

// Two digits per lookup (85² = 7225 pairs) halves the divisions in the encoder.
const PAIR_HIGH = new Uint8Array(85 * 85);
const PAIR_LOW = new Uint8Array(85 * 85);
for (let i = 0; i < 85 * 85; i++) {
  PAIR_HIGH[i] = DIGIT_CODE[Math.floor(i / 85)]!;
  PAIR_LOW[i] = DIGIT_CODE[i % 85]!;
}

// Digit value per character code; -1 for anything else (non-ASCII codes are checked apart).
const DIGIT_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 85; i++) DIGIT_VALUE[ALPHABET.charCodeAt(i)] = i;

// The encoder's output is ASCII, where UTF-8 and Latin-1 agree.
const ASCII_TEXT = new TextDecoder("utf-8");

// The encoder's output buffer, kept between calls up to this size (a 1 MiB read is 1.25 MiB).
const MAX_SCRATCH_BYTES = 2 * 1024 * 1024;
let encodeScratch = new Uint8Array(0);

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
  if (n === 0) return "";
  const size = b85EncodedLength(n);
  // The bytes only live until decoded to a string, so one buffer serves every call.
  if (size > MAX_SCRATCH_BYTES) return encodeInto(bytes, new Uint8Array(size));
  if (encodeScratch.length < size)
    encodeScratch = new Uint8Array(Math.min(MAX_SCRATCH_BYTES, Math.max(size, 2 * encodeScratch.length)));
  return encodeInto(bytes, encodeScratch.subarray(0, size));
}

/** Length of the base85 text for `n` bytes. */
export function b85EncodedLength(n: number): number {
  return n + Math.ceil(n / 4);
}

/**
 * Writes the base85 text of `bytes` as ASCII codes into `out` at `offset` (which must have
 * b85EncodedLength(bytes.length) bytes free); returns the offset after it. For building a
 * reply line as bytes without an intermediate string.
 */
export function b85encodeInto(bytes: Uint8Array, out: Uint8Array, offset: number): number {
  if (out.length - offset < b85EncodedLength(bytes.length))
    throw new RangeError(
      `b85encodeInto: ${b85EncodedLength(bytes.length)} bytes needed after offset ${offset}`,
    );
  const n = bytes.length;
  const whole = n & ~3;
  const tail = n - whole;
  let o = offset;
  for (let i = 0; i < whole; i += 4) {
    o = encodeWord(
      ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0,
      out,
      o,
      5,
    );
  }
  if (tail > 0) {
    // Python pads with zero bytes, encodes, then drops as many characters as it added bytes.
    let word = 0;
    for (let k = 0; k < 4; k++) word = word * 256 + (k < tail ? bytes[whole + k]! : 0);
    o = encodeWord(word, out, o, tail + 1);
  }
  return o;
}

function encodeInto(bytes: Uint8Array, out: Uint8Array): string {
  b85encodeInto(bytes, out, 0);
  return ASCII_TEXT.decode(out);
}

/** Writes the first `keep` of the 5 digits of `word` (0..2^32−1) at `out[o]`; returns the end. */
function encodeWord(word: number, out: Uint8Array, o: number, keep: number): number {
  const rest = Math.floor(word / 7225); // < 594460, so integer arithmetic from here on
  const low = word - rest * 7225;
  const top = (rest / 7225) | 0;
  const mid = rest - top * 7225;
  if (keep === 5) {
    out[o] = DIGIT_CODE[top]!;
    out[o + 1] = PAIR_HIGH[mid]!;
    out[o + 2] = PAIR_LOW[mid]!;
    out[o + 3] = PAIR_HIGH[low]!;
    out[o + 4] = PAIR_LOW[low]!;
    return o + 5;
  }
  const digits = [DIGIT_CODE[top]!, PAIR_HIGH[mid]!, PAIR_LOW[mid]!, PAIR_HIGH[low]!];
  for (let k = 0; k < keep; k++) out[o + k] = digits[k]!;
  return o + keep;
}

/**
 * Decodes base85 text. Throws `Base85Error` for characters outside the alphabet, 5-digit groups
 * above 2^32−1 and non-ASCII text, with Python's messages.
 */
export function b85decode(text: string): Uint8Array {
  const length = text.length;
  const whole = length - (length % 5);
  const padding = (5 - (length % 5)) % 5;
  const out = allocBytes(((length + padding) / 5) * 4);
  let o = 0;
  for (let i = 0; i < whole; i += 5) {
    const c0 = text.charCodeAt(i);
    const c1 = text.charCodeAt(i + 1);
    const c2 = text.charCodeAt(i + 2);
    const c3 = text.charCodeAt(i + 3);
    const c4 = text.charCodeAt(i + 4);
    if ((c0 | c1 | c2 | c3 | c4) > 0x7f) throw decodeError(text, i);
    const d0 = DIGIT_VALUE[c0]!;
    const d1 = DIGIT_VALUE[c1]!;
    const d2 = DIGIT_VALUE[c2]!;
    const d3 = DIGIT_VALUE[c3]!;
    const d4 = DIGIT_VALUE[c4]!;
    if ((d0 | d1 | d2 | d3 | d4) < 0) throw decodeError(text, i);
    // The first four digits stay below 85^4 (an int); the fifth can carry it past 2^32.
    const word = (((d0 * 85 + d1) * 85 + d2) * 85 + d3) * 85 + d4;
    if (word > 0xffffffff) throw decodeError(text, i);
    out[o] = word >>> 24;
    out[o + 1] = (word >>> 16) & 0xff;
    out[o + 2] = (word >>> 8) & 0xff;
    out[o + 3] = word & 0xff;
    o += 4;
  }
  if (padding > 0) {
    // Python pads the text with "~" (digit 84) to a whole group and drops as many bytes.
    let word = 0;
    for (let i = whole; i < whole + 5; i++) {
      const c = i < length ? text.charCodeAt(i) : 0x7e;
      const d = c > 0x7f ? -1 : DIGIT_VALUE[c]!;
      if (d < 0) throw decodeError(text, whole);
      word = word * 85 + d;
    }
    if (word > 0xffffffff) throw decodeError(text, whole);
    out[o] = word >>> 24;
    out[o + 1] = (word >>> 16) & 0xff;
    out[o + 2] = (word >>> 8) & 0xff;
    out[o + 3] = word & 0xff;
    return out.subarray(0, out.length - padding);
  }
  return out;
}

/**
 * The error Python raises for text whose group at `group` failed: it checks the whole text is
 * ASCII before decoding anything, then reports the first bad character or overflowing group.
 */
function decodeError(text: string, group: number): Base85Error {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f)
      return new Base85Error("string argument should contain only ASCII characters");
  }
  for (let i = group; i < group + 5 && i < text.length; i++) {
    if (DIGIT_VALUE[text.charCodeAt(i)]! < 0) return new Base85Error(`bad base85 character at position ${i}`);
  }
  return new Base85Error(`base85 overflow in hunk starting at byte ${group}`);
}
