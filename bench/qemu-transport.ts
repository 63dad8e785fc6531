// Measures the qemu-cortex-m transport: the emulated UART's raw echo (firmware echoing
// bytes without framing) next to session round trips of several message sizes through the echo
// firmware (framing, CRC, session over the same UART). Then the yes/no keyword model on every
// board: a project per board made and run by the built `microtvm` CLI (create-project, then
// run --json with deterministic_timing=true), reporting the device's SysTick ticks per inference
// under -icount and whether the output matches TensorFlow's. Prints a table, then one JSON line.
// Usage: node --import tsx bench/qemu-transport.ts [--board mps2-an386] [--icount N]
// (--board chooses the transport rows' board; --icount also sets the model rows' icount_shift.)
// Needs arm-none-eabi-gcc, newlib-nano, make and qemu-system-arm; the model rows need dist/
// (npm run build) and the shared yes/no model and samples next to the repository.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ChildProcessTransport, isIoTimeoutError, Session } from "../src/session/index.js";
import {
  isQemuBoardName,
  qemuBoard,
  qemuCommand,
  QEMU_BOARD_NAMES,
} from "../templates/qemu-cortex-m/qemu.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const fixtures = join(root, "..", "shared", "fixtures");
const MODEL_ARCHIVE = join(fixtures, "yes-no-kws-aot-v5", "model.tar");
const MODEL_INPUT = join(fixtures, "kws-samples", "yes.bin");
const MODEL_EXPECTED = join(fixtures, "kws-samples", "expected.json");
const CLI = join(root, "bin", "microtvm.js");
/** Seconds one CLI step may take before it is interrupted (a build of the model included). */
const CLI_TIMEOUT_SEC = 600;
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
 * Waits until the echo firmware answers: QEMU's UART drops what arrives before the firmware
 * enables its receiver, so a probe byte is sent until one comes back, then the link is drained.
 */
async function waitForEcho(transport: ChildProcessTransport): Promise<void> {
  const probe = new Uint8Array([0x55]);
  for (let attempt = 0; ; attempt++) {
    await transport.write(probe, 10);
    try {
      await transport.read(1, 0.2);
      break;
    } catch (error) {
      if (!isIoTimeoutError(error) || attempt === 100) throw error;
    }
  }
  // Echoes of earlier probes may still be on the way; read until the link is quiet.
  for (;;) {
    try {
      await transport.read(4096, 0.3);
    } catch (error) {
      if (isIoTimeoutError(error)) return;
      throw error;
    }
  }
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
    await waitForEcho(transport);
    // Warm up.
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
  const session = new Session(transport, {
    timeouts: {
      sessionStartRetryTimeoutSec: 1,
      sessionStartTimeoutSec: 20,
      sessionEstablishedTimeoutSec: 20,
    },
  });
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

interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI. On timeout it gets SIGINT first, which makes it close the project's server
 * (a process group of its own, with QEMU under it); SIGKILL only if it does not end after that.
 */
function runCli(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      stderr += `\n(interrupted after ${CLI_TIMEOUT_SEC} s)`;
      child.kill("SIGINT");
      killTimer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    }, CLI_TIMEOUT_SEC * 1000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (status) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      resolve({ status, stdout, stderr });
    });
  });
}

interface ModelRow {
  board: string;
  cpu: string;
  ticksPerInference: number;
  timerHz: number;
  deterministic: boolean;
  virtualUs: number;
  output: number[];
  outputCorrect: boolean;
}

/** The part of `microtvm run --json` (schema microtvm.run/1) this bench reads. */
interface RunReport {
  outputs: { values?: number[] }[];
  timing: {
    device_ticks_median?: number;
    device_timer?: { hz: number; deterministic: boolean; source: string };
  };
}

/** Why the model rows cannot run, or undefined when they can. */
function modelRowsUnavailable(): string | undefined {
  for (const file of [MODEL_ARCHIVE, MODEL_INPUT, MODEL_EXPECTED])
    if (!existsSync(file)) return `${file} not found (the shared yes/no model fixtures)`;
  if (!existsSync(join(root, "dist", "cli", "main.js"))) return "dist/ not built; run npm run build";
  return undefined;
}

async function modelRow(work: string, board: string, icountShift: number): Promise<ModelRow> {
  const projectDir = join(work, `kws-${board}`);
  const fail = (step: string, r: CliResult) =>
    new Error(`microtvm ${step} for ${board} exited with ${r.status}:\n${r.stderr.trim()}`);
  const created = await runCli([
    "create-project",
    projectDir,
    MODEL_ARCHIVE,
    "--template",
    "qemu-cortex-m",
    "-o",
    `board=${board}`,
  ]);
  if (created.status !== 0) throw fail("create-project", created);
  const ran = await runCli([
    "run",
    projectDir,
    "--json",
    "--input",
    `0=${MODEL_INPUT}`,
    "--repeat",
    "5",
    "--number",
    "10",
    "-o",
    "deterministic_timing=true",
    "-o",
    `icount_shift=${icountShift}`,
  ]);
  if (ran.status !== 0) throw fail("run", ran);
  const report = JSON.parse(ran.stdout) as RunReport;
  const ticks = report.timing.device_ticks_median;
  const timer = report.timing.device_timer;
  if (ticks === undefined || timer === undefined)
    throw new Error(`microtvm run for ${board} reported no device ticks (timing.device_ticks_median)`);
  const expected = JSON.parse(readFileSync(MODEL_EXPECTED, "utf8")) as {
    max_abs_difference_exclusive: number;
    samples: { yes: number[] };
  };
  const output = report.outputs[0]?.values ?? [];
  const outputCorrect =
    output.length === expected.samples.yes.length &&
    output.every((v, i) => Math.abs(v - expected.samples.yes[i]!) < expected.max_abs_difference_exclusive);
  const info = qemuBoard(board);
  return {
    board,
    // "Cortex-M4, single-precision FPU" from the board's description.
    cpu: info.description.slice(info.description.indexOf(":") + 1).trim(),
    ticksPerInference: ticks,
    timerHz: timer.hz,
    deterministic: timer.deterministic,
    virtualUs: (ticks / timer.hz) * 1e6,
    output,
    outputCorrect,
  };
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
    const modelShift = icount ?? 0;
    const modelSkipped = modelRowsUnavailable();
    const modelRows: ModelRow[] = [];
    if (modelSkipped === undefined)
      for (const b of QEMU_BOARD_NAMES) modelRows.push(await modelRow(work, b, modelShift));

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
    console.log("");
    if (modelSkipped !== undefined) {
      console.log(`yes/no keyword model rows skipped: ${modelSkipped}`);
    } else {
      console.log(
        `yes/no keyword model (yes-no-kws-aot-v5, input yes.bin), deterministic_timing=true (-icount shift=${modelShift})`,
      );
      console.log(
        `${"board".padEnd(12)}${"CPU".padEnd(34)}${"ticks/inference".padStart(15)}   ${"virtual µs".padStart(10)}   output correct`,
      );
      for (const m of modelRows)
        console.log(
          `${m.board.padEnd(12)}${m.cpu.padEnd(34)}${String(m.ticksPerInference).padStart(15)}   ${m.virtualUs.toFixed(1).padStart(10)}   ${m.outputCorrect ? "yes" : `NO [${m.output.join(", ")}]`}`,
        );
      const hz = new Set(modelRows.map((m) => m.timerHz));
      console.log(
        `(ticks of SysTick at ${[...hz].map((h) => `${h / 1e6} MHz`).join("/")}; ` +
          `${modelRows.every((m) => m.deterministic) ? "deterministic: instructions counted" : "NOT deterministic"}, not real cycles)`,
      );
    }
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
        model:
          modelSkipped !== undefined
            ? { skipped: modelSkipped }
            : {
                archive: "yes-no-kws-aot-v5",
                input: "yes.bin",
                icountShift: modelShift,
                boards: modelRows.map((m) => ({
                  board: m.board,
                  cpu: m.cpu,
                  ticksPerInference: m.ticksPerInference,
                  timerHz: m.timerHz,
                  deterministic: m.deterministic,
                  virtualUs: Number(m.virtualUs.toFixed(3)),
                  output: m.output,
                  outputCorrect: m.outputCorrect,
                })),
              },
      }),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
