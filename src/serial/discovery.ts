// Serial ports from Linux's sysfs (/sys/class/tty), without udev: every tty backed by a device,
// with its USB identity read from the USB device above it. serialport's own list() runs udevadm,
// which is missing in containers and minimal systems (and then crashed the process).
import { existsSync, readFileSync, readdirSync, realpathSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { probeFor } from "./probes.js";

export interface SerialPortInfo {
  /** The device path: /dev/ttyACM0. */
  path: string;
  /** USB vendor and product id (4 hex digits each), or null for a port that is not on USB. */
  vendorId: string | null;
  productId: string | null;
  serialNumber: string | null;
  manufacturer: string | null;
  product: string | null;
  /** The USB interface number of the port (probes with several ports have one per interface). */
  interface: number | null;
  /** The probe or bridge it belongs to (microtvm's probe table), or null. */
  probe: string | null;
  /** The boards whose probe this is. */
  boards: string[];
}

export interface DiscoveryOptions {
  /** The sysfs root (default /sys; MICROTVM_SYSFS_ROOT overrides it, for recorded trees and tests). */
  sysRoot?: string;
  /** Where device nodes are (default /dev). */
  devRoot?: string;
}

function readAttribute(dir: string, name: string): string | null {
  try {
    const text = readFileSync(join(dir, name), "utf8").trim();
    return text.length > 0 ? text : null;
  } catch {
    return null;
  }
}

/** The USB device directory (the one with idVendor) at or above `dir`, up to a few levels. */
function usbDeviceDir(dir: string): string | undefined {
  let d = dir;
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(d, "idVendor"))) return d;
    const parent = dirname(d);
    if (parent === d) return undefined;
    d = parent;
  }
  return undefined;
}

function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

/**
 * Lists the serial ports the system has. Ports without a device (virtual consoles, ptys) and the
 * legacy platform UARTs the 8250 driver registers whether or not they exist are left out.
 * Returns [] where there is no sysfs (not Linux).
 */
export function listSerialPorts(options: DiscoveryOptions = {}): SerialPortInfo[] {
  const sysRoot = options.sysRoot ?? process.env.MICROTVM_SYSFS_ROOT ?? "/sys";
  const devRoot = options.devRoot ?? "/dev";
  const classDir = join(sysRoot, "class", "tty");
  let names: string[];
  try {
    names = readdirSync(classDir);
  } catch {
    return [];
  }
  const ports: SerialPortInfo[] = [];
  for (const name of names.sort(naturalCompare)) {
    const deviceLink = join(classDir, name, "device");
    let device: string;
    try {
      device = realpathSync(deviceLink);
    } catch {
      continue; // no device: a virtual terminal or a pty
    }
    let subsystem: string | undefined;
    try {
      subsystem = basename(realpathSync(join(deviceLink, "subsystem")));
    } catch {
      subsystem = undefined;
    }
    if (subsystem === "platform") continue;
    const usb = usbDeviceDir(device);
    const vendorId = usb ? (readAttribute(usb, "idVendor")?.toLowerCase() ?? null) : null;
    const productId = usb ? (readAttribute(usb, "idProduct")?.toLowerCase() ?? null) : null;
    const interfaceText =
      readAttribute(device, "bInterfaceNumber") ?? readAttribute(dirname(device), "bInterfaceNumber");
    const probe = probeFor(vendorId, productId);
    ports.push({
      path: join(devRoot, name),
      vendorId,
      productId,
      serialNumber: usb ? readAttribute(usb, "serial") : null,
      manufacturer: usb ? readAttribute(usb, "manufacturer") : null,
      product: usb ? readAttribute(usb, "product") : null,
      interface: interfaceText === null ? null : Number.parseInt(interfaceText, 16),
      probe: probe?.id ?? null,
      boards: probe ? [...probe.boards] : [],
    });
  }
  return ports;
}

/** One line describing a port, for lists in messages. */
export function describePort(port: SerialPortInfo): string {
  const id = port.vendorId ? `${port.vendorId}:${port.productId}` : "not USB";
  const parts = [
    id,
    port.serialNumber ? `serial ${port.serialNumber}` : null,
    port.product ?? port.manufacturer,
  ];
  return `${port.path} (${parts.filter((p) => p !== null).join(", ")})`;
}

export class PortSelectionError extends Error {
  override name = "PortSelectionError";
}

/**
 * The port of `board`: the one whose USB serial number is `serialNumber` when given, else the one
 * port of a probe compatible with the board. None, or several, is an error that says what there
 * is and how to choose.
 */
export function selectBoardPort(
  ports: readonly SerialPortInfo[],
  board: string,
  serialNumber?: string,
): SerialPortInfo {
  if (serialNumber) {
    const matching = ports.filter((p) => p.serialNumber === serialNumber);
    if (matching.length === 0) {
      throw new PortSelectionError(
        `no serial port belongs to a USB device with serial number ${serialNumber}; ` +
          (ports.length > 0
            ? `the ports are: ${ports.map(describePort).join("; ")}`
            : "no serial ports were found"),
      );
    }
    // A probe with several ports (J-Link OB has two): the lowest interface is the board's UART.
    return [...matching].sort((a, b) => (a.interface ?? 0) - (b.interface ?? 0))[0]!;
  }
  const compatible = ports.filter((p) => p.boards.includes(board));
  const bySerial = new Map<string, SerialPortInfo>();
  for (const p of [...compatible].sort((a, b) => (a.interface ?? 0) - (b.interface ?? 0))) {
    const key = p.serialNumber ?? p.path;
    if (!bySerial.has(key)) bySerial.set(key, p);
  }
  const candidates = [...bySerial.values()];
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length === 0) {
    throw new PortSelectionError(
      `no board with a probe compatible with ${board} was found` +
        (ports.length > 0
          ? `; the serial ports are: ${ports.map(describePort).join("; ")}. Give one with -o port=PATH`
          : " (no serial ports at all): plug the board in, check the USB cable carries data, or give -o port=PATH"),
    );
  }
  throw new PortSelectionError(
    `${candidates.length} boards compatible with ${board} are connected: ${candidates.map(describePort).join("; ")}. ` +
      "Choose one with -o serial_number=SERIAL or -o port=PATH",
  );
}
