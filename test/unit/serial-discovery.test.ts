// Serial port discovery from recorded sysfs trees (the layout Linux gives ST-LINK, J-Link and
// FTDI ports, with the values read from real boards), without udev; and choosing a board's port.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, dirname } from "node:path";
import { listSerialPorts, selectBoardPort, PROBES } from "../../src/serial/index.js";
import { BOARDS, BOARD_NAMES } from "../../templates/cortex-m/boards.js";

interface UsbPort {
  tty: string;
  vendor: string;
  product: string;
  serial?: string;
  manufacturer?: string;
  productName?: string;
  interface: number;
  /** ttyUSB ports sit one level below their interface. */
  usbSerial?: boolean;
  bus?: string;
}

/** Writes a sysfs tree like the kernel's: class/tty/<name> -> devices/.../<tty>, device -> the interface. */
function recordedSysfs(ports: UsbPort[], extra: (root: string) => void = () => {}): string {
  const root = mkdtempSync(join(tmpdir(), "microtvm-sysfs-"));
  mkdirSync(join(root, "class", "tty"), { recursive: true });
  mkdirSync(join(root, "bus", "usb"), { recursive: true });
  mkdirSync(join(root, "bus", "usb-serial"), { recursive: true });
  ports.forEach((p, i) => {
    const usbDevice = join(root, "devices", "pci0000:00", "0000:00:14.0", "usb1", p.bus ?? `1-${i + 1}`);
    mkdirSync(usbDevice, { recursive: true });
    writeFileSync(join(usbDevice, "idVendor"), `${p.vendor}\n`);
    writeFileSync(join(usbDevice, "idProduct"), `${p.product}\n`);
    if (p.serial) writeFileSync(join(usbDevice, "serial"), `${p.serial}\n`);
    if (p.manufacturer) writeFileSync(join(usbDevice, "manufacturer"), `${p.manufacturer}\n`);
    if (p.productName) writeFileSync(join(usbDevice, "product"), `${p.productName}\n`);
    const iface = join(usbDevice, `${p.bus ?? `1-${i + 1}`}:1.${p.interface}`);
    mkdirSync(iface, { recursive: true });
    writeFileSync(join(iface, "bInterfaceNumber"), `${p.interface.toString(16).padStart(2, "0")}\n`);
    let device = iface;
    let subsystem = join(root, "bus", "usb");
    if (p.usbSerial) {
      device = join(iface, p.tty);
      mkdirSync(device, { recursive: true });
      subsystem = join(root, "bus", "usb-serial");
    }
    symlinkSync(relative(device, subsystem), join(device, "subsystem"));
    const ttyDir = join(device, "tty", p.tty);
    mkdirSync(ttyDir, { recursive: true });
    symlinkSync(relative(ttyDir, device), join(ttyDir, "device"));
    symlinkSync(relative(join(root, "class", "tty"), ttyDir), join(root, "class", "tty", p.tty));
  });
  extra(root);
  return root;
}

/** A legacy 8250 UART (platform device, present whether or not there is hardware) and a pty-like tty. */
function addPlatformAndVirtual(root: string): void {
  const platform = join(root, "devices", "platform", "serial8250");
  mkdirSync(join(root, "bus", "platform"), { recursive: true });
  mkdirSync(join(platform, "tty", "ttyS3"), { recursive: true });
  symlinkSync(relative(platform, join(root, "bus", "platform")), join(platform, "subsystem"));
  symlinkSync(relative(join(platform, "tty", "ttyS3"), platform), join(platform, "tty", "ttyS3", "device"));
  symlinkSync(
    relative(join(root, "class", "tty"), join(platform, "tty", "ttyS3")),
    join(root, "class", "tty", "ttyS3"),
  );
  const virtual = join(root, "devices", "virtual", "tty", "tty0");
  mkdirSync(virtual, { recursive: true });
  symlinkSync(relative(join(root, "class", "tty"), virtual), join(root, "class", "tty", "tty0"));
  void dirname;
}

const NUCLEO: UsbPort = {
  tty: "ttyACM0",
  vendor: "0483",
  product: "374b",
  serial: "066DFF485550755187121723",
  manufacturer: "STMicroelectronics",
  productName: "STM32 STLink",
  interface: 2,
};
const NUCLEO_2: UsbPort = { ...NUCLEO, tty: "ttyACM1", serial: "0671FF495150897267203422", bus: "1-4" };
const JLINK: UsbPort[] = [
  {
    tty: "ttyACM2",
    vendor: "1366",
    product: "1015",
    serial: "000683123456",
    manufacturer: "SEGGER",
    productName: "J-Link",
    interface: 0,
    bus: "1-7",
  },
  {
    tty: "ttyACM3",
    vendor: "1366",
    product: "1015",
    serial: "000683123456",
    manufacturer: "SEGGER",
    productName: "J-Link",
    interface: 2,
    bus: "1-7",
  },
];
const FTDI: UsbPort = {
  tty: "ttyUSB0",
  vendor: "0403",
  product: "6001",
  serial: "A50285BI",
  manufacturer: "FTDI",
  interface: 0,
  usbSerial: true,
  bus: "1-9",
};

test("one Nucleo: its port, USB id, serial number, manufacturer and board; legacy and virtual ttys left out", (t) => {
  const root = recordedSysfs([NUCLEO, FTDI], addPlatformAndVirtual);
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const ports = listSerialPorts({ sysRoot: root });
  assert.deepEqual(
    ports.map((p) => [
      p.path,
      p.vendorId,
      p.productId,
      p.serialNumber,
      p.manufacturer,
      p.interface,
      p.probe,
      p.boards,
    ]),
    [
      [
        "/dev/ttyACM0",
        "0483",
        "374b",
        NUCLEO.serial,
        "STMicroelectronics",
        2,
        "st-link",
        ["nucleo-f446re", "nucleo-f746zg"],
      ],
      ["/dev/ttyUSB0", "0403", "6001", "A50285BI", "FTDI", 0, "ftdi", []],
    ],
  );
  assert.equal(selectBoardPort(ports, "nucleo-f446re").path, "/dev/ttyACM0");
});

test("no board: an empty sysfs and a missing one give no ports, and choosing one says so", (t) => {
  const root = recordedSysfs([], addPlatformAndVirtual);
  t.after(() => rmSync(root, { recursive: true, force: true }));
  assert.deepEqual(listSerialPorts({ sysRoot: root }), []);
  assert.deepEqual(listSerialPorts({ sysRoot: join(root, "nothing-here") }), []);
  assert.throws(
    () => selectBoardPort([], "nucleo-f446re"),
    /no board with a probe compatible with nucleo-f446re was found \(no serial ports at all\)/,
  );
  const ftdiOnly = recordedSysfs([FTDI]);
  t.after(() => rmSync(ftdiOnly, { recursive: true, force: true }));
  assert.throws(
    () => selectBoardPort(listSerialPorts({ sysRoot: ftdiOnly }), "nucleo-f446re"),
    /no board with a probe compatible with nucleo-f446re was found; the serial ports are: \/dev\/ttyUSB0 \(0403:6001, serial A50285BI, FTDI\)\. Give one with -o port=PATH/,
  );
});

test("several Nucleos: an error listing them; a serial number picks one", (t) => {
  const root = recordedSysfs([NUCLEO, NUCLEO_2, ...JLINK]);
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const ports = listSerialPorts({ sysRoot: root });
  assert.equal(ports.length, 4);
  assert.throws(
    () => selectBoardPort(ports, "nucleo-f446re"),
    (e: Error) =>
      /2 boards compatible with nucleo-f446re are connected/.test(e.message) &&
      e.message.includes(`/dev/ttyACM0 (0483:374b, serial ${NUCLEO.serial}, STM32 STLink)`) &&
      e.message.includes(`/dev/ttyACM1 (0483:374b, serial ${NUCLEO_2.serial}, STM32 STLink)`) &&
      /-o serial_number=SERIAL or -o port=PATH/.test(e.message),
  );
  assert.equal(selectBoardPort(ports, "nucleo-f446re", NUCLEO_2.serial).path, "/dev/ttyACM1");
  // A probe with two ports (J-Link OB on the nRF52840 DK): the lowest interface is the board's UART.
  assert.equal(selectBoardPort(ports, "nucleo-f446re", "000683123456").path, "/dev/ttyACM2");
  assert.equal(selectBoardPort(ports, "nrf52840dk").path, "/dev/ttyACM2");
  assert.throws(
    () => selectBoardPort(ports, "nucleo-f446re", "NOPE"),
    /no serial port belongs to a USB device with serial number NOPE; the ports are: \/dev\/ttyACM0/,
  );
});

test("MICROTVM_SYSFS_ROOT reads a recorded tree; no udevadm is run", (t) => {
  const root = recordedSysfs([NUCLEO]);
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const saved = { root: process.env.MICROTVM_SYSFS_ROOT, path: process.env.PATH };
  // An empty PATH: spawning udevadm (or anything) would fail, as on a machine without udev.
  process.env.MICROTVM_SYSFS_ROOT = root;
  process.env.PATH = "";
  t.after(() => {
    if (saved.root === undefined) delete process.env.MICROTVM_SYSFS_ROOT;
    else process.env.MICROTVM_SYSFS_ROOT = saved.root;
    process.env.PATH = saved.path;
  });
  assert.deepEqual(
    listSerialPorts().map((p) => p.path),
    ["/dev/ttyACM0"],
  );
});

test("the probe table and the cortex-m board table agree on which probe serves which board", () => {
  for (const name of BOARD_NAMES) {
    for (const probe of BOARDS[name].probes) {
      const entry = PROBES.find((p) => p.id === probe);
      assert.ok(entry, `${name}: probe ${probe} is in the probe table`);
      assert.ok(entry.boards.includes(name), `${name} is listed under probe ${probe}`);
    }
  }
  for (const probe of PROBES) {
    for (const name of probe.boards) {
      assert.ok(
        (BOARDS as Record<string, { probes: readonly string[] }>)[name]?.probes.includes(probe.id),
        `${probe.id} -> ${name}`,
      );
    }
  }
});
