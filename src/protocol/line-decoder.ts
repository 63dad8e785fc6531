// Splits a byte stream into text lines the way the reference reads requests (Python universal
// newlines over strict UTF-8): `\n`, `\r\n` and a lone `\r` each end a line.

const LF = 0x0a;
const CR = 0x0d;

/** A line is not valid UTF-8. The stream cannot be trusted after this. */
export class InvalidUtf8Error extends Error {
  constructor(message = "line is not valid UTF-8") {
    super(message);
    this.name = "InvalidUtf8Error";
  }
}

/** A line grew beyond the decoder's limit without a terminator. */
export class LineTooLongError extends Error {
  constructor(readonly limit: number) {
    super(`line longer than ${limit} bytes without a line terminator`);
    this.name = "LineTooLongError";
  }
}

/** Default line limit: far above any real request (base85 transport data is ~1.25 bytes/byte). */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

export interface LineDecoderOptions {
  maxLineBytes?: number;
}

/**
 * Incremental decoder: push byte chunks, get complete lines (without terminators). A `\r` at the
 * end of a chunk is held until the next byte shows whether `\n` follows, as Python does.
 * Splitting on bytes is safe because 0x0A and 0x0D never occur inside a multi-byte character.
 */
export class LineDecoder {
  private readonly maxLineBytes: number;
  private readonly utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  private parts: Uint8Array[] = [];
  private partsLength = 0;
  private pendingCr = false;
  private failed: Error | undefined;

  constructor(opts: LineDecoderOptions = {}) {
    this.maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  /**
   * The error that ended decoding, if any. When a chunk completes good lines before a bad one,
   * push() returns the good lines and sets this; the next push()/end() throws it.
   */
  get error(): Error | undefined {
    return this.failed;
  }

  /** Feeds a chunk; returns the lines it completed. Throws InvalidUtf8Error / LineTooLongError. */
  push(chunk: Uint8Array): string[] {
    if (this.failed) throw this.failed;
    const lines: string[] = [];
    try {
      this.pushInto(chunk, lines);
    } catch (e) {
      if (lines.length === 0) throw e;
    }
    return lines;
  }

  private pushInto(chunk: Uint8Array, lines: string[]): void {
    let start = 0;
    if (this.pendingCr && chunk.length > 0) {
      this.pendingCr = false;
      if (chunk[0] === LF) start = 1;
    }
    for (let i = start; i < chunk.length; i++) {
      const b = chunk[i];
      if (b !== LF && b !== CR) continue;
      this.append(chunk.subarray(start, i));
      lines.push(this.takeLine());
      if (b === CR) {
        if (i + 1 < chunk.length) {
          if (chunk[i + 1] === LF) i++;
        } else {
          this.pendingCr = true;
        }
      }
      start = i + 1;
    }
    if (start < chunk.length) this.append(chunk.subarray(start));
  }

  /** Ends the stream: returns the final unterminated line, if any. */
  end(): string[] {
    if (this.failed) throw this.failed;
    this.pendingCr = false;
    if (this.partsLength === 0) return [];
    return [this.takeLine()];
  }

  private append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.partsLength += bytes.length;
    if (this.partsLength > this.maxLineBytes) {
      this.failed = new LineTooLongError(this.maxLineBytes);
      throw this.failed;
    }
    // Copy: the caller may reuse its buffer after push returns.
    this.parts.push(bytes.slice());
  }

  private takeLine(): string {
    const parts = this.parts;
    const length = this.partsLength;
    this.parts = [];
    this.partsLength = 0;
    let bytes: Uint8Array;
    if (parts.length === 1) bytes = parts[0]!;
    else if (parts.length === 0) return "";
    else {
      bytes = new Uint8Array(length);
      let o = 0;
      for (const p of parts) {
        bytes.set(p, o);
        o += p.length;
      }
    }
    try {
      return this.utf8.decode(bytes);
    } catch {
      this.failed = new InvalidUtf8Error();
      throw this.failed;
    }
  }
}
