// Debug probes and USB serial bridges whose virtual serial port reaches a board, by USB id, and the
// boards of the cortex-m template each one serves (kept in step with templates/cortex-m/boards.ts;
// a unit test checks both agree).

export interface Probe {
  /** Stable id, used by the template's board table. */
  id: string;
  name: string;
  /** USB vendor id (4 lower-case hex digits). */
  vendorId: string;
  /** USB product ids, or undefined for every product of the vendor. */
  productIds?: readonly string[];
  /** Boards of the cortex-m template that come with this probe. */
  boards: readonly string[];
}

export const PROBES: readonly Probe[] = [
  {
    id: "st-link",
    name: "ST-LINK/V2-1 or V3",
    vendorId: "0483",
    productIds: ["374b", "374e", "374f", "3752", "3753"],
    boards: ["nucleo-f446re", "nucleo-f746zg"],
  },
  { id: "j-link", name: "SEGGER J-Link (OB)", vendorId: "1366", boards: ["nrf52840dk"] },
  { id: "cmsis-dap", name: "CMSIS-DAP / DAPLink", vendorId: "0d28", productIds: ["0204"], boards: [] },
  {
    id: "cp210x",
    name: "Silicon Labs CP210x USB-UART bridge",
    vendorId: "10c4",
    productIds: ["ea60"],
    boards: [],
  },
  { id: "ftdi", name: "FTDI USB-UART bridge", vendorId: "0403", boards: [] },
];

/** The probe a USB id belongs to, if any. */
export function probeFor(vendorId: string | null, productId: string | null): Probe | undefined {
  if (!vendorId) return undefined;
  const vid = vendorId.toLowerCase();
  const pid = productId?.toLowerCase();
  return PROBES.find(
    (p) =>
      p.vendorId === vid && (p.productIds === undefined || (pid !== undefined && p.productIds.includes(pid))),
  );
}
