// A board's serial port by device path (/dev/ttyACM0, COM3, a pty), through the serialport package.
import { ServerError, TransportClosedError } from "microtvm/protocol";
import { loadSerialPort, type SerialPortLike } from "../serial-package.js";
import { ReceiveQueue, writeInPieces, type ByteLink } from "./link.js";

/** Bytes written before waiting for the port to take them (tcdrain). */
export const SERIAL_MAX_IN_FLIGHT = 256;

function explainOpenError(path: string, error: Error): string {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  const text = error.message;
  if (/ENOENT|No such file/i.test(code + text))
    return `${path} does not exist: is the board plugged in? \`microtvm devices\` lists the serial ports there are`;
  if (/EACCES|Permission denied/i.test(code + text))
    return `no permission to open ${path}: add yourself to its group (Debian/Ubuntu: sudo usermod -aG dialout $USER, then log in again)`;
  if (/EBUSY|Resource busy|Cannot lock/i.test(code + text))
    return `${path} is busy: another program (a serial monitor, another microtvm run) has it open; close it and retry`;
  return `cannot open ${path}: ${text}`;
}

export class SerialDeviceLink implements ByteLink {
  private readonly queue: ReceiveQueue;
  private closing = false;

  private constructor(
    private readonly port: SerialPortLike,
    readonly description: string,
  ) {
    this.queue = new ReceiveQueue(
      () => {},
      () => {},
    );
    port.on("data", (chunk) => {
      if (!this.closing) this.queue.push(chunk);
    });
    port.on("error", (error) =>
      this.queue.end(new TransportClosedError(`serial port error: ${error.message}`)),
    );
    port.on("close", () =>
      this.queue.end(new TransportClosedError(`${description} was closed (unplugged?)`)),
    );
  }

  /** Opens `path` at `baud` (8N1, no flow control), dropping whatever the port had buffered. */
  static async open(serverDir: string, path: string, baud: number): Promise<SerialDeviceLink> {
    const SerialPort = loadSerialPort(serverDir);
    const port = new SerialPort({
      path,
      baudRate: baud,
      autoOpen: false,
      dataBits: 8,
      parity: "none",
      stopBits: 1,
      rtscts: false,
    });
    await new Promise<void>((resolve, reject) =>
      port.open((error) => (error ? reject(new ServerError(explainOpenError(path, error))) : resolve())),
    );
    await new Promise<void>((resolve) => port.flush(() => resolve()));
    return new SerialDeviceLink(port, `${path} at ${baud} baud`);
  }

  read(n: number, timeoutSec: number | null): Promise<Uint8Array> {
    return this.queue.read(n, timeoutSec);
  }

  get skippedBytes(): number {
    return this.queue.skipped;
  }

  async write(data: Uint8Array, timeoutSec: number | null): Promise<void> {
    if (this.closing || this.queue.ended || !this.port.isOpen) throw new TransportClosedError();
    this.queue.beforeWrite();
    await writeInPieces(
      data,
      timeoutSec,
      SERIAL_MAX_IN_FLIGHT,
      (piece) =>
        new Promise<void>((resolve, reject) => {
          this.port.write(piece, (error) => {
            if (error)
              reject(new TransportClosedError(`writing to ${this.description} failed: ${error.message}`));
          });
          this.port.drain((error) =>
            error
              ? reject(new TransportClosedError(`writing to ${this.description} failed: ${error.message}`))
              : resolve(),
          );
        }),
    );
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.queue.end(new TransportClosedError(), true);
    if (!this.port.isOpen) return;
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }
}
