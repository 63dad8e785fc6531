// QEMU twins of the cortex-m boards: the board's firmware under qemu-system-arm with the board's
// UART on a pty, which the server then opens like any serial device.
import { killedWithParent } from "../common/parent-death.js";
import type { CortexMBoard } from "./boards.js";

/** Marks every QEMU this template starts (`-name`), so `pgrep -f microtvm-board-qemu` finds them. */
export const QEMU_NAME_PREFIX = "microtvm-board-qemu";

/**
 * QEMU's command line for `elf` on a twin board: no display, the serial backends of the board's
 * table (`-serial null -serial pty` puts USART2 on a pty), and the monitor on stdio: QEMU tells a
 * pty's path only by printf to stdout, which stays in its stdio buffer when stdout is a pipe,
 * while the monitor's output is written at once (and `info chardev` asks for it again).
 */
export function qemuTwinCommand(
  b: CortexMBoard,
  elf: string,
  name: string,
  qemu = "qemu-system-arm",
): { command: string; args: string[] } {
  if (!b.qemu) throw new Error(`${b.name} does not run under QEMU`);
  const args = ["-machine", b.qemu.machine, "-cpu", b.qemu.cpu, "-display", "none", "-monitor", "stdio"];
  args.push(...b.qemu.serial, "-kernel", elf, "-name", name);
  return killedWithParent(qemu, args);
}

/** The monitor command that lists the character devices, ptys included. */
export const INFO_CHARDEV = "info chardev\n";

/**
 * The pty of the board's UART from QEMU's output: "char device redirected to /dev/pts/N (label
 * serialK)" at start, or "serialK: filename=pty:/dev/pts/N" from `info chardev`.
 */
export function findPty(output: string, label: string): string | undefined {
  for (const m of output.matchAll(/char device redirected to (\S+) \(label ([^)\s]+)\)/g)) {
    if (m[2] === label) return m[1];
  }
  for (const m of output.matchAll(/^(\S+): filename=pty:(\S+)/gm)) {
    if (m[1] === label) return m[2];
  }
  return undefined;
}
