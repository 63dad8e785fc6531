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

// A line buffer up to this size is kept for the next line; a larger one is shrunk to nothing
// after its line, giving its pages back to the OS while the peer is quiet (growing again in
// place costs no copy).
const RETAINED_BUFFER_BYTES = 256 * 1024;
// Address space reserved for the line buffer is capped here: a longer line could not become a
// JavaScript string anyway, and V8 refuses larger reservations.
const MAX_RESERVED_BYTES = 1024 * 1024 * 1024;
// The line buffer grows in steps of this size.
const GROW_STEP_BYTES = 64 * 1024;

/** An ArrayBuffer made with `maxByteLength` (ES2024; Node 20 has it, our TS lib does not). */
interface ResizableArrayBuffer extends ArrayBuffer {
  resize(byteLength: number): void;
}

function resizableBuffer(maxByteLength: number): ResizableArrayBuffer {
  const Ctor = ArrayBuffer as unknown as new (
    byteLength: number,
    options: { maxByteLength: number },
  ) => ResizableArrayBuffer;
  return new Ctor(0, { maxByteLength });
}

/**
 * Incremental decoder: push byte chunks, get complete lines (without terminators). A `\r` at the
 * end of a chunk is held until the next byte shows whether `\n` follows, as Python does.
 * Splitting on bytes is safe because 0x0A and 0x0D never occur inside a multi-byte character.
 */
export class LineDecoder {
  private readonly maxLineBytes: number;
  private readonly utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  // The start of a line that spans chunks, copied once into a buffer that grows in place (a
  // resizable ArrayBuffer only reserves address space up front), so a megabyte line leaves no
  // trail of outgrown copies. Made when the first line spans chunks.
  private storage: ResizableArrayBuffer | undefined;
  private buffer = new Uint8Array(0); // tracks storage's length
  private buffered = 0;
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
    // Native scans for each terminator; a position is searched again only once passed.
    let nextLf = chunk.indexOf(LF, start);
    let nextCr = chunk.indexOf(CR, start);
    while (nextLf >= 0 || nextCr >= 0) {
      const isCr = nextCr >= 0 && (nextLf < 0 || nextCr < nextLf);
      const end = isCr ? nextCr : nextLf;
      lines.push(this.takeLine(chunk, start, end));
      start = end + 1;
      if (isCr) {
        if (start < chunk.length) {
          if (chunk[start] === LF) start++;
        } else {
          this.pendingCr = true;
        }
        nextCr = chunk.indexOf(CR, start);
      }
      if (nextLf >= 0 && nextLf < start) nextLf = chunk.indexOf(LF, start);
    }
    if (start < chunk.length) this.append(chunk, start, chunk.length);
  }

  /** Ends the stream: returns the final unterminated line, if any. */
  end(): string[] {
    if (this.failed) throw this.failed;
    this.pendingCr = false;
    if (this.buffered === 0) return [];
    return [this.takeLine(this.buffer, 0, 0)];
  }

  /** Adds `chunk[from, to)` to the unfinished line (copied: the caller may reuse its buffer). */
  private append(chunk: Uint8Array, from: number, to: number): void {
    const length = this.buffered + (to - from);
    if (length > this.maxLineBytes) {
      this.failed = new LineTooLongError(this.maxLineBytes);
      throw this.failed;
    }
    if (length > this.buffer.length) {
      if (!this.storage) {
        this.storage = resizableBuffer(Math.min(this.maxLineBytes, MAX_RESERVED_BYTES));
        this.buffer = new Uint8Array(this.storage);
      }
      this.storage.resize(Math.min(Math.ceil(length / GROW_STEP_BYTES) * GROW_STEP_BYTES, this.maxLineBytes));
    }
    this.buffer.set(chunk.subarray(from, to), this.buffered);
    this.buffered = length;
  }

  /** Decodes the buffered start of a line plus `chunk[from, to)` and resets the buffer. */
  private takeLine(chunk: Uint8Array, from: number, to: number): string {
    let bytes: Uint8Array;
    if (this.buffered === 0) {
      if (to - from > this.maxLineBytes) {
        this.failed = new LineTooLongError(this.maxLineBytes);
        throw this.failed;
      }
      bytes = chunk.subarray(from, to);
    } else {
      if (to > from) this.append(chunk, from, to);
      bytes = this.buffer.subarray(0, this.buffered);
    }
    this.buffered = 0;
    try {
      return bytes.length === 0 ? "" : this.utf8.decode(bytes);
    } catch {
      this.failed = new InvalidUtf8Error();
      throw this.failed;
    } finally {
      // Shrinking gives the pages back to the OS.
      if (this.buffer.length > RETAINED_BUFFER_BYTES) this.storage!.resize(0);
    }
  }
}
