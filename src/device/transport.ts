// The Project API's *_transport methods as the session layer's ByteTransport, and a tap on a
// ByteTransport that reports every chunk (for watching the bytes of a session).
import type { ProjectTransport } from "../client/index.js";
import type { ByteTransport } from "../session/index.js";

/**
 * A ByteTransport over an opened ProjectTransport: read_transport / write_transport carry the
 * bytes (base85 on the wire), IoTimeoutError and TransportClosedError come back as the server
 * raised them, which is what the session expects. close() sends close_transport once; when the
 * server is already gone there is nothing to close and the error is kept for `closeError`.
 */
export class ProjectByteTransport implements ByteTransport {
  private closing: Promise<void> | undefined;
  /** Why close_transport failed, if it did (the server died, for example). */
  closeError: unknown;

  constructor(private readonly transport: ProjectTransport) {}

  read(n: number, timeoutSec: number | null): Promise<Uint8Array> {
    return this.transport.read(n, timeoutSec);
  }

  write(data: Uint8Array, timeoutSec: number | null): Promise<void> {
    return this.transport.write(data, timeoutSec);
  }

  /** write_transport and read_transport in one round trip through the server. */
  writeThenRead(
    data: Uint8Array,
    writeTimeoutSec: number | null,
    n: number,
    readTimeoutSec: number | null,
  ): Promise<Uint8Array | { readError: unknown }> {
    return this.transport.writeThenRead(data, writeTimeoutSec, n, readTimeoutSec);
  }

  close(): Promise<void> {
    this.closing ??= this.transport.close().catch((error: unknown) => {
      this.closeError = error;
    });
    return this.closing;
  }
}

/** Which way bytes went: `in` from the device, `out` to it. */
export type TapDirection = "in" | "out";

/** A ByteTransport that reports every chunk read and written (for `monitor --raw`). */
export class TappedTransport implements ByteTransport {
  constructor(
    private readonly inner: ByteTransport,
    private readonly tap: (direction: TapDirection, bytes: Uint8Array) => void,
  ) {}

  async read(n: number, timeoutSec: number | null): Promise<Uint8Array> {
    const bytes = await this.inner.read(n, timeoutSec);
    this.tap("in", bytes);
    return bytes;
  }

  async write(data: Uint8Array, timeoutSec: number | null): Promise<void> {
    await this.inner.write(data, timeoutSec);
    this.tap("out", data);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Bytes as spaced hex, 16 per line, each line prefixed. */
export function hexLines(bytes: Uint8Array, prefix: string): string[] {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = Array.from(bytes.subarray(at, at + 16), (b) => b.toString(16).padStart(2, "0")).join(" ");
    lines.push(`${prefix}${row}`);
  }
  return lines;
}
