// `microtvm devices`: the serial ports there are, with their USB identity and the boards whose
// probe they belong to. Read from sysfs, so it works without udev.
import type { Command } from "commander";
import { listSerialPorts } from "../../serial/index.js";
import { cancellable } from "../cancel.js";
import { formatTable, printJson } from "../output.js";

export function devicesCommand(program: Command): void {
  program
    .command("devices")
    .description("list serial ports and the boards they reach")
    .option("--json", "print one JSON document (schema microtvm.devices/1)")
    .addHelpText(
      "after",
      "\nPorts are read from /sys/class/tty (Linux), without udev. A board project picks its port with" +
        "\n-o serial_number=SERIAL or -o port=PATH; with neither, the one connected probe compatible with" +
        "\nthe board is used. MICROTVM_SYSFS_ROOT reads another sysfs tree (a recorded one).",
    )
    .action((options: { json?: boolean }) =>
      cancellable(async () => listDevices(options), { immediate: true }),
    );
}

function listDevices(options: { json?: boolean }): void {
  const ports = listSerialPorts();
  if (options.json) {
    printJson("microtvm.devices/1", {
      ports: ports.map((p) => ({
        path: p.path,
        vendor_id: p.vendorId,
        product_id: p.productId,
        serial_number: p.serialNumber,
        manufacturer: p.manufacturer,
        product: p.product,
        interface: p.interface,
        probe: p.probe,
        boards: p.boards,
      })),
    });
    return;
  }
  if (ports.length === 0) {
    process.stdout.write(
      "no serial ports found (plug the board in with a data USB cable; on Linux see /sys/class/tty)\n",
    );
    return;
  }
  const rows = ports.map((p) => [
    p.path,
    p.vendorId ? `${p.vendorId}:${p.productId}` : "-",
    p.serialNumber ?? "-",
    p.manufacturer ?? p.product ?? "-",
    p.boards.length > 0 ? p.boards.join(", ") : p.probe ? `(${p.probe})` : "-",
  ]);
  process.stdout.write(
    `${formatTable(["port", "usb id", "serial number", "manufacturer", "boards"], rows)}\n`,
  );
}
