// A channel moves JSON-RPC lines between a Project API client and server. Lines are text
// without terminators; the channel adds "\n" on write and splits on \n, \r\n or \r on read.

/** One end of a line channel. */
export interface Channel {
  /**
   * The next line, or undefined at end of stream (or after close). Rejects with
   * InvalidUtf8Error / LineTooLongError when the incoming bytes are unusable, or with the
   * underlying I/O error.
   */
  readLine(): Promise<string | undefined>;
  /**
   * Writes `line` followed by "\n"; resolves when the bytes were handed to the OS. A line may
   * also be given as its UTF-8 bytes (without the terminator), which spares building a string
   * for a large reply; the channel does not keep the array after the promise settles.
   */
  writeLine(line: string | Uint8Array): Promise<void>;
  /** Closes both directions; idempotent. Pending and later reads resolve undefined. */
  close(): Promise<void>;
  /** True when a whole line has arrived and waits to be read (the client sent ahead). */
  hasBufferedLine?(): boolean;
}

export interface ChannelOptions {
  /** Longest accepted line in bytes (default DEFAULT_MAX_LINE_BYTES). */
  maxLineBytes?: number;
}

/** A queue of decoded lines with waiting readers; shared by the channel implementations. */
export class LineQueue {
  private readonly lines: string[] = [];
  private readonly waiters: { resolve: (line: string | undefined) => void; reject: (e: unknown) => void }[] =
    [];
  private ended = false;
  private error: unknown;
  private hasError = false;

  get length(): number {
    return this.lines.length;
  }

  push(line: string): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(line);
    else this.lines.push(line);
  }

  /** No more lines will come; readers get the queued ones, then undefined. */
  end(): void {
    this.ended = true;
    for (const w of this.waiters.splice(0)) w.resolve(undefined);
  }

  /** Readers get the queued lines, then this error. */
  fail(error: unknown): void {
    if (this.ended || this.hasError) return;
    this.hasError = true;
    this.error = error;
    for (const w of this.waiters.splice(0)) w.reject(error);
  }

  /** Drops queued lines and ends the queue (used by close). */
  clear(): void {
    this.lines.length = 0;
    this.hasError = false;
    this.end();
  }

  next(): Promise<string | undefined> {
    if (this.lines.length > 0) return Promise.resolve(this.lines.shift());
    if (this.hasError) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
}
