// Hostile archives built on the fly (never stored): gzip bombs of zeros.
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { createGzip } from "node:zlib";
import { buildTar } from "../../src/mlf/index.js";

/** A ustar header for a regular file of `size` bytes (the body is not included). */
export function tarFileHeader(name: string, size: number): Buffer {
  const header = Buffer.from(buildTar([{ name, type: "file" }]).subarray(0, 512));
  header.write(size.toString(8).padStart(11, "0") + "\0", 124, 12, "ascii");
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
  return header;
}

/**
 * Writes a `.tar.gz` of `entries` files of zeros adding up to `totalBytes` (a gzip bomb: 750 MiB
 * gives about 800 KB), streaming, so building it costs little memory. Returns the file's size.
 */
export async function writeZerosBomb(path: string, totalBytes: number, entries = 3): Promise<number> {
  const out = createWriteStream(path);
  const gzip = createGzip({ level: 9 });
  gzip.pipe(out);
  const zeros = Buffer.alloc(1 << 20);
  const write = async (chunk: Buffer) => {
    if (!gzip.write(chunk)) await once(gzip, "drain");
  };
  const per = Math.floor(totalBytes / entries / 512) * 512;
  for (let i = 0; i < entries; i++) {
    await write(tarFileHeader(`zeros${i}.bin`, per));
    for (let left = per; left > 0; left -= zeros.length)
      await write(left >= zeros.length ? zeros : zeros.subarray(0, left));
  }
  await write(Buffer.alloc(1024));
  gzip.end();
  await once(out, "close");
  return out.bytesWritten;
}
