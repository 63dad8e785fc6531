// A board's serial port over TCP: socket://HOST:PORT (raw bytes, as ser2net's raw accepter or
// socat serve them) and rfc2217://HOST:PORT (telnet with RFC 2217's COM-PORT-OPTION: the client
// sets the baud rate and line settings of the remote port).
import { connect, type Socket } from "node:net";
import { ServerError, TransportClosedError } from "microtvm/protocol";
import { ReceiveQueue, writeInPieces, type ByteLink } from "./link.js";
import { Rfc2217Codec } from "./rfc2217.js";

/** Bytes written before waiting for the socket's buffer to empty. */
export const TCP_MAX_IN_FLIGHT = 1024;
const CONNECT_TIMEOUT_MS = 10_000;
/** How long an RFC 2217 server gets to confirm the baud rate. */
const RFC2217_CONFIRM_MS = 5_000;

export interface TcpAddress {
  scheme: "socket" | "rfc2217";
  host: string;
  port: number;
}

/** Parses socket://HOST:PORT or rfc2217://HOST:PORT (IPv6 hosts in brackets); undefined for other ports. */
export function parseTcpAddress(spec: string): TcpAddress | undefined {
  const m = /^(socket|rfc2217):\/\/(.*)$/i.exec(spec);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase() as TcpAddress["scheme"];
  const hostPort = /^(?:\[([^\]]+)\]|([^:/]+)):(\d+)\/?$/.exec(m[2]!);
  const port = hostPort ? Number(hostPort[3]) : NaN;
  if (!hostPort || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ServerError(
      `option port: ${JSON.stringify(spec)} is not ${scheme}://HOST:PORT with a port from 1 to 65535 (for example ${scheme}://127.0.0.1:4000)`,
    );
  }
  return { scheme, host: hostPort[1] ?? hostPort[2]!, port };
}

export class TcpLink implements ByteLink {
  private readonly queue: ReceiveQueue;
  private closing = false;
  private readonly codec: Rfc2217Codec | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly description: string,
    rfc2217: boolean,
  ) {
    this.queue = new ReceiveQueue(
      () => socket.pause(),
      () => socket.resume(),
    );
    this.codec = rfc2217 ? new Rfc2217Codec((bytes) => socket.write(bytes)) : undefined;
    socket.on("data", (chunk: Buffer) => {
      if (this.closing) return;
      const data = this.codec ? this.codec.receive(chunk) : chunk;
      if (data.length > 0) this.queue.push(data);
    });
    socket.on("error", (error) =>
      this.queue.end(new TransportClosedError(`${description}: ${error.message}`)),
    );
    socket.on("close", () =>
      this.queue.end(new TransportClosedError(`${description} closed the connection`)),
    );
  }

  static async open(address: TcpAddress, baud: number): Promise<TcpLink> {
    const where = `${address.scheme}://${address.host}:${address.port}`;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: address.host, port: address.port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(
          new ServerError(`cannot connect to ${where}: no answer within ${CONNECT_TIMEOUT_MS / 1000} s`),
        );
      }, CONNECT_TIMEOUT_MS);
      s.once("connect", () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          new ServerError(
            error.code === "ECONNREFUSED"
              ? `cannot connect to ${where}: connection refused (is ser2net or the port server running there?)`
              : `cannot connect to ${where}: ${error.message}`,
          ),
        );
      });
    });
    socket.setNoDelay(true);
    const rfc2217 = address.scheme === "rfc2217";
    const link = new TcpLink(socket, rfc2217 ? `${where} at ${baud} baud` : where, rfc2217);
    if (link.codec) {
      try {
        await link.codec.configure(baud, RFC2217_CONFIRM_MS);
      } catch (error) {
        await link.close();
        throw new ServerError(`${where}: ${(error as Error).message}`);
      }
    }
    return link;
  }

  read(n: number, timeoutSec: number | null): Promise<Uint8Array> {
    return this.queue.read(n, timeoutSec);
  }

  get skippedBytes(): number {
    return this.queue.skipped;
  }

  async write(data: Uint8Array, timeoutSec: number | null): Promise<void> {
    if (this.closing || this.queue.ended || this.socket.destroyed) throw new TransportClosedError();
    this.queue.beforeWrite();
    await writeInPieces(
      data,
      timeoutSec,
      TCP_MAX_IN_FLIGHT,
      (piece) =>
        new Promise<void>((resolve, reject) => {
          const bytes = this.codec ? Rfc2217Codec.escape(piece) : piece;
          const onClose = () => reject(new TransportClosedError());
          this.socket.once("close", onClose);
          const done = () => {
            this.socket.off("close", onClose);
            resolve();
          };
          if (this.socket.write(bytes)) done();
          else this.socket.once("drain", done);
        }),
    );
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.queue.end(new TransportClosedError(), true);
    this.codec?.cancel();
    await new Promise<void>((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once("close", () => resolve());
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }
}
