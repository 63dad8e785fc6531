import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { createGunzip } from "node:zlib";
import type { Readable } from "node:stream";
import { MlfError } from "./errors.js";

/** Bounds applied while a tar streams in; they stop gzip bombs and runaway archives. */
export interface TarLimits {
  /** Largest single entry, in bytes. */
  readonly maxEntryBytes: number;
  /** Largest uncompressed tar stream (headers and contents), counted as it streams. */
  readonly maxTotalBytes: number;
  /** Most entries (files and directories). */
  readonly maxEntries: number;
  /**
   * Largest ratio of uncompressed to compressed bytes for a `.tar.gz`, checked as the data streams
   * once {@link TarLimits.ratioGraceBytes} have come out. Real archives compress 2–20×; a bomb
   * of zeros about 1000×.
   */
  readonly maxCompressionRatio: number;
  /** Uncompressed bytes read before the ratio applies (small archives of zeros are harmless). */
  readonly ratioGraceBytes: number;
}

/** The built-in limits; each can be changed by an environment variable (see {@link tarLimitsFromEnv}). */
export const builtInTarLimits: TarLimits = {
  maxEntryBytes: 256 * 1024 * 1024,
  maxTotalBytes: 1024 * 1024 * 1024,
  maxEntries: 100_000,
  maxCompressionRatio: 200,
  ratioGraceBytes: 16 * 1024 * 1024,
};

/** The environment variable that overrides each limit. */
export const TAR_LIMIT_ENV: Readonly<Record<keyof TarLimits, string>> = {
  maxEntryBytes: "MICROTVM_MLF_MAX_ENTRY_BYTES",
  maxTotalBytes: "MICROTVM_MLF_MAX_TOTAL_BYTES",
  maxEntries: "MICROTVM_MLF_MAX_ENTRIES",
  maxCompressionRatio: "MICROTVM_MLF_MAX_COMPRESSION_RATIO",
  ratioGraceBytes: "MICROTVM_MLF_RATIO_GRACE_BYTES",
};

/**
 * The limits with the `MICROTVM_MLF_*` environment variables applied (positive integers; an
 * invalid value is an error naming the variable). Read at each call, so the CLI and the template
 * servers it launches see the same limits.
 */
export function tarLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): TarLimits {
  const out: Record<string, number> = { ...builtInTarLimits };
  for (const [key, name] of Object.entries(TAR_LIMIT_ENV)) {
    const text = env[name];
    if (text === undefined || text === "") continue;
    if (!/^[1-9][0-9]*$/.test(text.trim()) || !Number.isSafeInteger(Number(text)))
      throw new MlfError(
        "bad-input",
        `${name}=${JSON.stringify(text)} is not a positive integer; unset it or give a number such as ${builtInTarLimits[key as keyof TarLimits]}`,
      );
    out[key] = Number(text);
  }
  return out as unknown as TarLimits;
}

/** The limits in force: the built-in ones with the environment applied (kept for existing callers). */
export const defaultTarLimits: TarLimits = builtInTarLimits;

/** One accepted tar member: a regular file or a directory, with a normalised relative name. */
export interface TarEntry {
  /** Relative path without a leading `./` or a trailing `/`; never absolute, never with `..`. */
  readonly name: string;
  /** The name as stored in the archive. */
  readonly rawName: string;
  readonly type: "file" | "directory";
  readonly mode: number;
  readonly size: number;
  /** File contents; empty for directories. */
  readonly data: Buffer;
}

const BLOCK = 512;

function cString(buf: Buffer, start: number, length: number): string {
  const field = buf.subarray(start, start + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? field.length : nul).toString("utf8");
}

function octal(buf: Buffer, start: number, length: number, what: string, entry: string): number {
  const field = buf.subarray(start, start + length);
  // GNU base-256: high bit of the first byte set; the rest is a big-endian number.
  if (field[0]! & 0x80) {
    let value = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    if (!Number.isSafeInteger(value))
      throw new MlfError("unsafe-entry", `entry ${entry}: ${what} is out of range`, entry);
    return value;
  }
  const text = cString(buf, start, length).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text))
    throw new MlfError("not-tar", `entry ${entry}: ${what} field "${text}" is not an octal number`, entry);
  return parseInt(text, 8);
}

function checksumOk(header: Buffer): boolean {
  const stored = cString(header, 148, 8).trim();
  if (!/^[0-7]+$/.test(stored)) return false;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  return sum === parseInt(stored, 8);
}

/** Parses pax extended header records (`<len> <key>=<value>\n`). */
function parsePax(data: Buffer, entry: string): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space === -1) break;
    const len = parseInt(data.subarray(pos, space).toString("ascii"), 10);
    if (!Number.isInteger(len) || len <= 0 || pos + len > data.length)
      throw new MlfError("not-tar", `entry ${entry}: malformed pax header record`, entry);
    const record = data.subarray(space + 1, pos + len - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
  return out;
}

/**
 * Checks a member name and returns it relative and normalised (no `./`, no trailing `/`). Refuses
 * absolute paths, drive letters, backslashes, NUL and any `..` segment.
 */
export function normaliseEntryName(raw: string): string {
  const refuse = (why: string): never => {
    throw new MlfError("unsafe-entry", `entry ${JSON.stringify(raw)}: ${why}`, raw);
  };
  if (raw.includes("\0")) refuse("the name contains a NUL byte");
  if (raw.startsWith("/")) refuse("absolute paths are not allowed");
  if (/^[A-Za-z]:/.test(raw)) refuse("drive-letter paths are not allowed");
  if (raw.includes("\\")) refuse("backslashes are not allowed in member names");
  const parts: string[] = [];
  for (const part of raw.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") refuse("'..' path segments are not allowed");
    parts.push(part);
  }
  return parts.join("/");
}

/** Pulls exact byte counts out of a chunk stream and counts every byte that arrives. */
class ByteReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private total = 0;
  private done = false;
  private readonly iterator: AsyncIterator<Buffer>;

  constructor(
    source: AsyncIterable<Buffer>,
    private readonly limits: TarLimits,
    /** Compressed bytes consumed so far, for a gzip stream. */
    private readonly compressedBytes?: () => number,
  ) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Returns exactly `n` bytes, or fewer only at the end of the stream. */
  async take(n: number, entry: string): Promise<Buffer> {
    while (this.buffered < n && !this.done) {
      const next = await this.iterator.next();
      if (next.done) {
        this.done = true;
        break;
      }
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      this.total += chunk.length;
      if (this.total > this.limits.maxTotalBytes) {
        throw new MlfError(
          "too-large",
          `archive is larger than the ${this.limits.maxTotalBytes}-byte limit once uncompressed (while reading ${entry}; limit: ${TAR_LIMIT_ENV.maxTotalBytes})`,
          entry,
        );
      }
      if (this.compressedBytes && this.total > this.limits.ratioGraceBytes) {
        const ratio = this.total / Math.max(1, this.compressedBytes());
        if (ratio > this.limits.maxCompressionRatio)
          throw new MlfError(
            "too-large",
            `archive expands more than ${this.limits.maxCompressionRatio}× when uncompressed (${Math.round(ratio)}× after ${this.total} bytes, while reading ${entry}); it looks like a compression bomb (limit: ${TAR_LIMIT_ENV.maxCompressionRatio})`,
            entry,
          );
      }
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, Math.min(n, all.length));
    const rest = all.subarray(out.length);
    this.chunks.length = 0;
    if (rest.length > 0) this.chunks.push(rest);
    this.buffered = rest.length;
    return out;
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}

/**
 * Reads a tar stream (already decompressed) entry by entry with an allow-list: regular files and
 * directories only. Refuses links, devices, FIFOs, unknown types, unsafe or duplicate names and
 * anything past the limits; every error names the entry. Calls `onEntry` for each accepted entry.
 */
export async function readTarStream(
  source: AsyncIterable<Buffer>,
  onEntry: (entry: TarEntry) => Promise<void> | void,
  limits: TarLimits = tarLimitsFromEnv(),
  compressedBytes?: () => number,
): Promise<void> {
  const reader = new ByteReader(source, limits, compressedBytes);
  const seen = new Map<string, "file" | "directory">();
  let count = 0;
  let longName: string | undefined;
  let pax: Map<string, string> | undefined;
  let previous = "(start of archive)";
  try {
    for (;;) {
      const header = await reader.take(BLOCK, `header after ${previous}`);
      if (header.length === 0 && count === 0)
        throw new MlfError("not-tar", "the file is empty, not a tar archive");
      if (header.length < BLOCK) {
        throw new MlfError("not-tar", `archive is truncated after entry ${previous}`, previous);
      }
      if (header.every((b) => b === 0)) return; // end-of-archive marker
      if (!checksumOk(header)) {
        if (count === 0)
          throw new MlfError("not-tar", "not a tar archive (the first header has a bad checksum)");
        throw new MlfError("not-tar", `corrupt tar header after entry ${previous}`, previous);
      }
      const magic = header.subarray(257, 263).toString("latin1");
      let rawName = cString(header, 0, 100);
      if (magic === "ustar\0") {
        const prefix = cString(header, 345, 155);
        if (prefix) rawName = `${prefix}/${rawName}`;
      }
      if (longName !== undefined) rawName = longName;
      const paxPath = pax?.get("path");
      if (paxPath !== undefined) rawName = paxPath;
      const typeflag = String.fromCharCode(header[156]!);
      let size = octal(header, 124, 12, "size", rawName);
      const paxSize = pax?.get("size");
      if (paxSize !== undefined) size = Number(paxSize);
      if (!Number.isSafeInteger(size) || size < 0)
        throw new MlfError("not-tar", `entry ${rawName}: invalid size`, rawName);
      const mode = octal(header, 100, 8, "mode", rawName);
      const entryPax = pax;
      longName = undefined;
      pax = undefined;
      if (size > limits.maxEntryBytes) {
        throw new MlfError(
          "too-large",
          `entry ${rawName} is ${size} bytes, over the ${limits.maxEntryBytes}-byte limit per entry (${TAR_LIMIT_ENV.maxEntryBytes})`,
          rawName,
        );
      }
      if (++count > limits.maxEntries)
        throw new MlfError(
          "too-large",
          `archive has more than ${limits.maxEntries} entries (at ${rawName}; limit: ${TAR_LIMIT_ENV.maxEntries})`,
          rawName,
        );

      const readBody = async (): Promise<Buffer> => {
        const body = await reader.take(size, rawName);
        if (body.length < size)
          throw new MlfError("not-tar", `archive is truncated inside entry ${rawName}`, rawName);
        const pad = (BLOCK - (size % BLOCK)) % BLOCK;
        if (pad > 0) await reader.take(pad, rawName);
        return body;
      };
      const refuse = (what: string): never => {
        throw new MlfError(
          "unsafe-entry",
          `entry ${rawName} is ${what}; only regular files and directories are allowed`,
          rawName,
        );
      };

      switch (typeflag) {
        case "x":
          pax = parsePax(await readBody(), rawName);
          continue;
        case "g":
          await readBody(); // global pax defaults carry nothing this reader uses
          continue;
        case "L":
          longName = cString(await readBody(), 0, size);
          continue;
        case "K":
          refuse("a GNU long link name (part of a link)");
          break;
        case "1":
          refuse(`a hard link (to ${JSON.stringify(cString(header, 157, 100))})`);
          break;
        case "2":
          refuse(
            `a symbolic link (to ${JSON.stringify(entryPax?.get("linkpath") ?? cString(header, 157, 100))})`,
          );
          break;
        case "3":
          refuse("a character device");
          break;
        case "4":
          refuse("a block device");
          break;
        case "6":
          refuse("a FIFO");
          break;
        case "0":
        case "\0":
        case "7":
        case "5":
          break;
        default:
          refuse(`of unsupported type '${typeflag}'`);
      }
      const type = typeflag === "5" ? "directory" : "file";
      const name = normaliseEntryName(rawName);
      if (name === "" && type === "file") refuse("a file with an empty name");
      if (seen.has(name) && name !== "") {
        throw new MlfError("unsafe-entry", `entry ${rawName} appears more than once in the archive`, rawName);
      }
      // A file may not sit where a directory is implied, nor under a file.
      const parts = name.split("/");
      for (let i = 1; i < parts.length; i++) {
        const parent = parts.slice(0, i).join("/");
        if (seen.get(parent) === "file")
          throw new MlfError(
            "unsafe-entry",
            `entry ${rawName} lies under ${parent}, which is a file`,
            rawName,
          );
      }
      if (name !== "") {
        for (let i = 1; i < parts.length; i++) {
          const parent = parts.slice(0, i).join("/");
          if (!seen.has(parent)) seen.set(parent, "directory");
        }
        seen.set(name, type);
      }
      let data: Buffer = Buffer.alloc(0);
      if (size > 0) {
        const body = await readBody(); // a directory with a size: skip its bytes
        if (type === "file") data = body;
      }
      previous = rawName;
      if (name === "") continue; // the archive root `./`
      await onEntry({ name, rawName, type, mode: mode & 0o7777, size: type === "file" ? size : 0, data });
    }
  } finally {
    await reader.close();
  }
}

/** Streams the bytes of a tar file, gunzipping on the fly when it starts with the gzip magic. */
export async function openTarBytes(
  path: string,
): Promise<{ stream: Readable; gzip: boolean; compressedBytes: () => number }> {
  let head: Buffer;
  try {
    const handle = await open(path, "r");
    try {
      const buf = Buffer.alloc(2);
      const { bytesRead } = await handle.read(buf, 0, 2, 0);
      head = buf.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw new MlfError("not-found", `cannot read ${path}: ${(error as Error).message}`, undefined, {
      cause: error,
    });
  }
  const file = createReadStream(path);
  const gzip = head.length === 2 && head[0] === 0x1f && head[1] === 0x8b;
  const compressedBytes = () => file.bytesRead;
  if (!gzip) return { stream: file, gzip, compressedBytes };
  const gunzip = createGunzip();
  file.on("error", (e) => gunzip.destroy(e));
  gunzip.on("close", () => file.destroy());
  // What the inflater has consumed, not what the file stream has read ahead.
  return { stream: file.pipe(gunzip), gzip, compressedBytes: () => gunzip.bytesWritten };
}

/** Reads every entry of a tar or tar.gz file at `path` through {@link readTarStream}. */
export async function readTarFile(
  path: string,
  onEntry: (entry: TarEntry) => Promise<void> | void,
  limits: TarLimits = tarLimitsFromEnv(),
): Promise<{ gzip: boolean }> {
  const { stream, gzip, compressedBytes } = await openTarBytes(path);
  try {
    await readTarStream(stream as AsyncIterable<Buffer>, onEntry, limits, gzip ? compressedBytes : undefined);
    return { gzip };
  } catch (error) {
    if (error instanceof MlfError) throw error;
    const message = (error as Error).message;
    if (gzip)
      throw new MlfError("not-tar", `${path}: gzip data is corrupt (${message})`, undefined, {
        cause: error,
      });
    throw new MlfError("not-tar", `${path}: cannot read the archive (${message})`, undefined, {
      cause: error,
    });
  } finally {
    stream.destroy();
  }
}

/** A member for {@link buildTar}. */
export interface TarInput {
  /** Relative name; directories end without `/` (it is added). */
  readonly name: string;
  readonly type: "file" | "directory";
  readonly data?: Uint8Array;
  readonly mode?: number;
}

function writeOctal(header: Buffer, value: number, start: number, length: number): void {
  const text = value.toString(8).padStart(length - 1, "0");
  if (text.length > length - 1)
    throw new MlfError("bad-input", `value ${value} does not fit a tar header field`);
  header.write(text, start, length - 1, "ascii");
  header[start + length - 1] = 0;
}

/**
 * Writes a deterministic POSIX ustar archive: names rooted at `./` as TVM writes them, uid/gid 0,
 * owner `root`, the given mtime, padded to a 10240-byte record like Python's tarfile.
 */
export function buildTar(entries: readonly TarInput[], mtime = 0): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const name = entry.name === "" ? "./" : `./${entry.name}${entry.type === "directory" ? "/" : ""}`;
    const header = Buffer.alloc(BLOCK);
    let short = name;
    let prefix = "";
    if (Buffer.byteLength(name) > 100) {
      const cut = name.lastIndexOf("/", name.length - 2);
      prefix = name.slice(0, cut);
      short = name.slice(cut + 1);
      if (cut <= 0 || Buffer.byteLength(short) > 100 || Buffer.byteLength(prefix) > 155)
        throw new MlfError("bad-input", `member name ${name} is too long for a ustar header`, name);
    }
    const data = entry.type === "file" ? Buffer.from(entry.data ?? new Uint8Array()) : Buffer.alloc(0);
    header.write(short, 0, 100, "utf8");
    writeOctal(header, entry.mode ?? (entry.type === "directory" ? 0o755 : 0o644), 100, 8);
    writeOctal(header, 0, 108, 8);
    writeOctal(header, 0, 116, 8);
    writeOctal(header, data.length, 124, 12);
    writeOctal(header, mtime, 136, 12);
    header[156] = (entry.type === "directory" ? "5" : "0").charCodeAt(0);
    header.write("ustar\0", 257, 6, "latin1");
    header.write("00", 263, 2, "latin1");
    header.write("root", 265, 32, "ascii");
    header.write("root", 297, 32, "ascii");
    if (prefix) header.write(prefix, 345, 155, "utf8");
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
    blocks.push(header, data);
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad) blocks.push(Buffer.alloc(pad));
  }
  blocks.push(Buffer.alloc(2 * BLOCK));
  let out = Buffer.concat(blocks);
  const record = 20 * BLOCK;
  if (out.length % record) out = Buffer.concat([out, Buffer.alloc(record - (out.length % record))]);
  return out;
}
