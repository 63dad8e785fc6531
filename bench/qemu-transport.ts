// Measures the qemu-cortex-m transport: the emulated UART's raw echo (firmware echoing
// bytes without framing) next to session round trips of several message sizes through the echo
// firmware (framing, CRC, session over the same UART). Prints a table, then one JSON line.
// Usage: node --import tsx bench/qemu-transport.ts [--board mps2-an386] [--icount N]
// Needs arm-none-eabi-gcc, newlib-nano, make and qemu-system-arm.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ChildProcessTransport, Session } from "../src/session/index.js";
import { isQemuBoardName, qemuCommand, QEMU_BOARD_NAMES } from "../templates/qemu-cortex-m/qemu.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const templateDir = join(root, "templates", "qemu-cortex-m");
const RAW_BYTES = 64 * 1024;
const RAW_CHUNK = 1024;
const SIZES = [16, 256, 1024, 4093];
/** Bytes moved per size (each way), so that every row runs for a similar time. */
const BYTES_PER_SIZE = 48 * 1024;

function build(buildDir: string, board: string, vars: string[]): string {
  const r = spawnSync("make", ["-s", "-C", templateDir, `BOARD=${board}`, `BUILD_DIR=${buildDir}`, ...vars], {
    encoding: "utf8",
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`make failed for ${board}:\n${r.stdout}${r.stderr}`);
  return join(buildDir, "firmware.elf");
}

function start(board: string, elf: string, icount: number | undefined): ChildProcessTransport {
  const { command, args } = qemuCommand(board, elf, { icount });
  return new ChildProcessTransport(command, args, { killGraceSec: 0.5 });
}

/**
 * Bytes per second of a raw echo, counted one way. Streamed: all RAW_BYTES written at once while
 * the echo is read (both directions busy at once). Lockstep: RAW_CHUNK bytes at a time, each read
 * back before the next, as a request/reply protocol moves them.
 */
async function rawEcho(
  board: string,
  elf: string,
  icount: number | undefined,
): Promise<{ streamed: number; lockstep: number }> {
  const transport = start(board, elf, icount);
  const readBack = async (expected: Uint8Array) => {
    for (let got = 0; got < expected.length;) {
      const part = await transport.read(expected.length - got, 20);
      for (let i = 0; i < part.length; i++)
        if (part[i] !== expected[got + i]) throw new Error(`raw echo: byte ${got + i} differs`);
      got += part.length;
    }
  };
  try {
    const data = new Uint8Array(RAW_BYTES).map((_, i) => (i * 7) & 0xff);
    // Warm up (QEMU's start, the firmware's boot).
    await transport.write(data.subarray(0, 16), 10);
    await readBack(data.subarray(0, 16));
    let begin = performance.now();
    await Promise.all([transport.write(data, 60), readBack(data)]);
    const streamed = RAW_BYTES / ((performance.now() - begin) / 1000);
    begin = performance.now();
    for (let at = 0; at < RAW_BYTES; at += RAW_CHUNK) {
      await transport.write(data.subarray(at, at + RAW_CHUNK), 10);
      await readBack(data.subarray(at, at + RAW_CHUNK));
    }
    const lockstep = RAW_BYTES / ((performance.now() - begin) / 1000);
    return { streamed, lockstep };
  } finally {
    await transport.close();
  }
}

interface SessionRow {
  size: number;
  roundTrips: number;
  roundTripMs: number;
  payloadBytesPerSec: number;
  wireBytesPerSec: number;
}

/** Wire bytes of one framed message: escaping of 0xff aside, 2 start + 4 length + 3 header + 2 CRC. */
const wireBytes = (size: number) => size + 11;

async function sessionRoundTrips(
  board: string,
  elf: string,
  icount: number | undefined,
): Promise<SessionRow[]> {
  const transport = start(board, elf, icount);
  const session = new Session(transport, { timeouts: { retrySec: 1, startSec: 20, establishedSec: 20 } });
  const rows: SessionRow[] = [];
  try {
    await session.open();
    for (const size of SIZES) {
      // No 0xff in the payload: the bytes on the wire are then exactly wireBytes(size).
      const body = new Uint8Array(size).map((_, i) => i % 251);
      const roundTrips = Math.max(4, Math.ceil(BYTES_PER_SIZE / size));
      await session.send(body);
      await session.receive();
      const begin = performance.now();
      for (let i = 0; i < roundTrips; i++) {
        await session.send(body);
        const echoed = await session.receive();
        if (echoed.length !== size) throw new Error(`echo of ${size} bytes came back with ${echoed.length}`);
      }
      const seconds = (performance.now() - begin) / 1000;
      rows.push({
        size,
        roundTrips,
        roundTripMs: (seconds * 1000) / roundTrips,
        payloadBytesPerSec: (size * roundTrips) / seconds,
        wireBytesPerSec: (wireBytes(size) * roundTrips) / seconds,
      });
    }
    return rows;
  } finally {
    await session.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { board: { type: "string", default: "mps2-an386" }, icount: { type: "string" } },
  });
  const board = values.board!;
  if (!isQemuBoardName(board)) {
    console.error(`unknown board ${board}: choose one of ${QEMU_BOARD_NAMES.join(", ")}`);
    process.exit(2);
  }
  const icount = values.icount === undefined ? undefined : Number(values.icount);
  for (const tool of ["make", "arm-none-eabi-gcc", "qemu-system-arm"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) {
      console.error(
        `${tool} not found; install it (Debian: make gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)`,
      );
      process.exit(1);
    }
  }
  const work = mkdtempSync(join(tmpdir(), "microtvm-bench-qemu-"));
  try {
    const rawElf = build(join(work, "raw"), board, ["APP=uart-echo"]);
    const echoElf = build(join(work, "echo"), board, []);
    const raw = await rawEcho(board, rawElf, icount);
    const rows = await sessionRoundTrips(board, echoElf, icount);

    const kb = (bps: number) => (bps / 1000).toFixed(1);
    const ceiling = raw.streamed; // the reference for the last column
    const line = (label: string, rt: string, payload: number, wire: number) =>
      console.log(
        `${label.padEnd(30)}${rt.padStart(10)}   ${kb(payload).padStart(12)}   ${kb(wire).padStart(9)}   ${`${((100 * wire) / ceiling).toFixed(0)}%`.padStart(5)}`,
      );
    console.log(
      `qemu-cortex-m transport on ${board}${icount === undefined ? "" : ` (-icount shift=${icount})`}`,
    );
    console.log(
      `${"what".padEnd(30)}${"round trip".padStart(10)}   ${"payload KB/s".padStart(12)}   ${"wire KB/s".padStart(9)}   vs raw echo`,
    );
    line("raw UART echo, streamed", "-", raw.streamed, raw.streamed);
    line(`raw UART echo, ${RAW_CHUNK} B lockstep`, "-", raw.lockstep, raw.lockstep);
    for (const r of rows)
      line(
        `session echo ${r.size} B`,
        `${r.roundTripMs.toFixed(2)} ms`,
        r.payloadBytesPerSec,
        r.wireBytesPerSec,
      );
    console.log(
      JSON.stringify({
        bench: "qemu-transport",
        board,
        icount: icount ?? null,
        rawEchoStreamedBytesPerSec: Math.round(raw.streamed),
        rawEchoLockstepBytesPerSec: Math.round(raw.lockstep),
        session: rows.map((r) => ({
          size: r.size,
          roundTrips: r.roundTrips,
          roundTripMs: Number(r.roundTripMs.toFixed(3)),
          payloadBytesPerSec: Math.round(r.payloadBytesPerSec),
          wireBytesPerSec: Math.round(r.wireBytesPerSec),
        })),
      }),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
