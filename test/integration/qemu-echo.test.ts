// The qemu-cortex-m template's firmware (startup code, CMSDK UART driver, Cortex-M platform hooks
// and the runtime's transport loop) built with arm-none-eabi-gcc for every board and run under
// qemu-system-arm, driven by the host Session over QEMU's stdin/stdout: handshake, boot log,
// random-size messages, garbage, a session reset, an abort, a QEMU killed from outside; plus the
// Makefile's memory report and its region-overflow failure.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import {
  ChildProcessTransport,
  Session,
  SessionTerminatedError,
  SessionTransportError,
} from "../../src/session/index.js";
import { repoRoot } from "../helpers/paths.js";
import { haveCommand, requireCommand } from "../helpers/tools.js";
import {
  QEMU_BOARDS,
  QEMU_BOARD_NAMES,
  qemuArgs,
  qemuCommand,
  type QemuBoardName,
} from "../../templates/qemu-cortex-m/qemu.js";

const templateDir = join(repoRoot, "templates", "qemu-cortex-m");
const text = (s: string) => new TextEncoder().encode(s);
/** In every QEMU command line of this file (-name), so that leftovers can be found. */
const marker = `microtvm-qemu-test-${process.pid}-${randomBytes(4).toString("hex")}`;
let workDir = "";
const spawned: ChildProcessTransport[] = [];

function haveToolchains(): boolean {
  return haveCommand("arm-none-eabi-gcc") && haveCommand("make");
}

function requireToolchains(t: TestContext, needQemu = true): boolean {
  return (
    requireCommand(t, "arm-none-eabi-gcc", "Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi") &&
    requireCommand(t, "make", "Debian: make") &&
    (!needQemu || requireCommand(t, "qemu-system-arm", "Debian: qemu-system-arm"))
  );
}

interface MakeResult {
  status: number | null;
  output: string;
}

function make(buildDir: string, vars: Record<string, string> = {}, target: string[] = []): MakeResult {
  const args = [
    "-C",
    templateDir,
    `BUILD_DIR=${buildDir}`,
    ...Object.entries(vars).map(([k, v]) => `${k}=${v}`),
  ];
  const r = spawnSync("make", [...args, ...target], { encoding: "utf8", timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const firmware = (board: QemuBoardName) => join(workDir, board, "firmware.elf");
const buildOutput = new Map<QemuBoardName, string>();

before(() => {
  workDir = mkdtempSync(join(tmpdir(), "microtvm-qemu-echo-"));
  if (!haveToolchains()) return;
  for (const board of QEMU_BOARD_NAMES) {
    const r = make(join(workDir, board), { BOARD: board });
    if (r.status !== 0) throw new Error(`building the echo firmware for ${board} failed:\n${r.output}`);
    buildOutput.set(board, r.output);
  }
});

function qemuProcesses(): string {
  const r = spawnSync("pgrep", ["-a", "-f", marker], { encoding: "utf8" });
  return r.stdout.trim();
}

afterEach(async () => {
  await Promise.all(spawned.splice(0).map((t) => t.close()));
  assert.equal(qemuProcesses(), "", "no QEMU of this test is left running");
});

after(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A small deterministic PRNG, so that a failure can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function startQemu(board: QemuBoardName, icount?: number) {
  const { command, args } = qemuCommand(board, firmware(board), { name: marker, icount });
  const transport = new ChildProcessTransport(command, args, { killGraceSec: 0.5 });
  spawned.push(transport);
  // sessionStartRetryTimeoutSec 0: the host's first StartSessionInit goes out while QEMU is still booting, so the
  // handshake only succeeds if the firmware picks up bytes sent before its receiver was enabled.
  const session = new Session(transport, {
    timeouts: {
      sessionStartRetryTimeoutSec: 0,
      sessionStartTimeoutSec: 15,
      sessionEstablishedTimeoutSec: 15,
    },
  });
  const logs: string[] = [];
  session.on("log", (line) => logs.push(line));
  return { transport, session, logs };
}

async function waitFor(condition: () => boolean, ms: number): Promise<void> {
  for (let waited = 0; !condition() && waited < ms; waited += 20)
    await new Promise((resolve) => setTimeout(resolve, 20));
}

test("the board table in qemu.ts matches boards.mk, which the Makefile links against", () => {
  const mk = readFileSync(join(templateDir, "boards.mk"), "utf8");
  const value = (name: string) => {
    const m = new RegExp(`^${name} := (.*)$`, "m").exec(mk);
    assert.ok(m, `boards.mk defines ${name}`);
    return m[1]!.trim();
  };
  const region = (r: { origin: number; length: number }) =>
    `0x${r.origin.toString(16).padStart(8, "0")} 0x${r.length.toString(16).padStart(8, "0")}`;
  assert.deepEqual(value("BOARDS").split(/\s+/), QEMU_BOARD_NAMES);
  for (const [name, board] of Object.entries(QEMU_BOARDS)) {
    assert.equal(value(`${name}_CPU`), board.cpu);
    assert.equal(value(`${name}_CFLAGS`), board.cflags.join(" "));
    assert.equal(value(`${name}_FLASH`), region(board.flash));
    assert.equal(value(`${name}_RAM`), region(board.ram));
    assert.equal(value(`${name}_PSRAM`), region(board.psram));
  }
});

test("qemuArgs: UART on stdio, no display, no monitor; icount and unknown boards checked", () => {
  const args = qemuArgs("mps2-an500", "fw.elf", { icount: 3 });
  assert.deepEqual(args.slice(0, 4), ["-machine", "mps2-an500", "-cpu", "cortex-m7"]);
  for (const pair of [
    ["-display", "none"],
    ["-monitor", "none"],
    ["-serial", "stdio"],
    ["-kernel", "fw.elf"],
    ["-icount", "shift=3"],
  ])
    assert.ok(args.join(" ").includes(pair.join(" ")), `${pair.join(" ")} in ${args.join(" ")}`);
  assert.ok(!args.includes("-nographic"), "-nographic would take byte 0x01 as its escape");
  assert.ok(!qemuArgs("mps2-an385", "fw.elf").includes("-icount"));
  assert.throws(
    () => qemuArgs("mps2-an999", "fw.elf"),
    /unknown board "mps2-an999": choose one of mps2-an385, mps2-an386, mps2-an500/,
  );
  assert.throws(
    () => qemuArgs("mps2-an385", "fw.elf", { icount: 11 }),
    /icount must be "auto" or a shift from 0 to 10/,
  );
});

describe("Makefile", () => {
  test("prints flash and RAM use against the board's memory after linking", (t) => {
    if (!requireToolchains(t, false)) return;
    for (const board of QEMU_BOARD_NAMES) {
      const out = buildOutput.get(board)!;
      const { flash, ram, psram } = QEMU_BOARDS[board];
      const row = (name: string, origin: number, length: number) =>
        new RegExp(`${name} +0x${origin.toString(16).padStart(8, "0")} +(\\d+) of +${length} bytes`);
      assert.match(out, new RegExp(`${board} memory use \\(.*firmware\\.elf\\)`));
      const flashUsed = Number(row("FLASH", flash.origin, flash.length).exec(out)?.[1]);
      const ramUsed = Number(row("RAM", ram.origin, ram.length).exec(out)?.[1]);
      assert.match(out, row("PSRAM", psram.origin, psram.length));
      // The echo firmware's code is a few KiB; RAM holds at least the 16 KiB stack and the
      // 4 KiB receive buffer.
      assert.ok(flashUsed > 2000 && flashUsed < 64 * 1024, `flash use ${flashUsed}`);
      assert.ok(ramUsed > 20 * 1024 && ramUsed < 128 * 1024, `RAM use ${ramUsed}`);
    }
    // Nothing changed: nothing is rebuilt.
    const again = make(join(workDir, "mps2-an385"), { BOARD: "mps2-an385" });
    assert.equal(again.status, 0);
    assert.doesNotMatch(again.output, /CC |LD /);
  });

  test("a firmware that does not fit fails, naming the region and by how much", (t) => {
    if (!requireToolchains(t, false)) return;
    const app = join(workDir, "oversized.c");
    writeFileSync(
      app,
      [
        "#include <stdint.h>",
        "volatile uint8_t big_ram[5u * 1024u * 1024u];",
        "const uint8_t big_flash[5u * 1024u * 1024u] = {1};",
        "int main(void) { return big_ram[7] + big_flash[big_ram[3]]; }",
        "",
      ].join("\n"),
    );
    const r = make(join(workDir, "oversized"), { BOARD: "mps2-an500", APP_SOURCES: app });
    assert.notEqual(r.status, 0);
    // 5 MiB of array + code + .data image in 4 MiB of flash; 5 MiB + stack + heap in 4 MiB of RAM.
    const flash =
      /error: the firmware does not fit mps2-an500: region FLASH \(4194304 bytes at 0x00000000\) overflowed by (\d+) bytes/.exec(
        r.output,
      );
    const ram =
      /error: the firmware does not fit mps2-an500: region RAM \(4194304 bytes at 0x20000000\) overflowed by (\d+) bytes/.exec(
        r.output,
      );
    assert.ok(flash && ram, r.output);
    assert.ok(Number(flash[1]) >= 1024 * 1024 && Number(flash[1]) < 1024 * 1024 + 64 * 1024, flash[0]);
    assert.ok(Number(ram[1]) >= 1024 * 1024 + 20 * 1024 && Number(ram[1]) < 1024 * 1024 + 64 * 1024, ram[0]);
    assert.ok(!existsSync(join(workDir, "oversized", "firmware.elf")), "no half-made firmware is left");
  });

  test("an unknown board or firmware is refused with the list of choices", (t) => {
    if (!requireToolchains(t, false)) return;
    const r = make(join(workDir, "unknown"), { BOARD: "mps2-an521" });
    assert.notEqual(r.status, 0);
    assert.match(r.output, /unknown BOARD "mps2-an521": choose one of mps2-an385 mps2-an386 mps2-an500/);
    const app = make(join(workDir, "unknown"), { BOARD: "mps2-an385", APP: "blinky" });
    assert.notEqual(app.status, 0);
    assert.match(app.output, /unknown APP "blinky": choose one of echo .*, rpc .*, uart-echo/);
  });
});

for (const board of QEMU_BOARD_NAMES) {
  describe(`echo firmware on ${board} under QEMU`, () => {
    test("handshake, boot log, random messages, garbage, reset, abort", async (t) => {
      if (!requireToolchains(t)) return;
      const { transport, session, logs } = startQemu(board);
      await session.open();
      assert.ok(session.established);
      assert.deepEqual(
        logs,
        [`echo firmware ready on ${board}`],
        "the greeting logged at boot arrives first",
      );

      // The emulated UART moves some 20-40 KB/s, so the sizes are kept moderate; the first two
      // messages are the extremes (4096-byte receive buffer, 3 bytes of session header).
      const random = prng(0x5eed + QEMU_BOARD_NAMES.indexOf(board));
      for (let i = 0; i < 25; i++) {
        const size = i === 0 ? 0 : i === 1 ? 4093 : Math.floor(random() * 3000);
        const body = new Uint8Array(size);
        for (let j = 0; j < size; j++) body[j] = random() < 0.1 ? 0xff : Math.floor(random() * 256);
        await session.send(body);
        assert.deepEqual(
          Buffer.from(await session.receive()),
          Buffer.from(body),
          `message ${i} of ${size} bytes`,
        );
      }

      // A Log in the middle of a request arrives before the reply.
      await session.send(text("log:halfway there"));
      assert.equal(Buffer.from(await session.receive()).toString(), "log:halfway there");
      assert.equal(logs.at(-1), "halfway there");

      // Unframed bytes from the firmware (as a boot banner would be) are skipped by the host.
      const drops: string[] = [];
      session.on("drop", (d) => drops.push(d.reason));
      await session.send(text("noise"));
      assert.equal(Buffer.from(await session.receive()).toString(), "noise");

      // Garbage towards the firmware: noise, an invalid escape, a frame cut off after its
      // length. The firmware drops it and answers the next frame.
      const garbage = new Uint8Array(200);
      for (let j = 0; j < garbage.length; j++) garbage[j] = Math.floor(random() * 256);
      garbage.set([0xff, 0x41, 0xff, 0xfd, 0x40, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03], garbage.length - 11);
      await transport.write(garbage, 5);
      await session.send(text("after garbage"));
      assert.equal(Buffer.from(await session.receive()).toString(), "after garbage");

      // The firmware restarts its session as a freshly booted device would.
      await session.send(text("reset"));
      await assert.rejects(session.receive(), SessionTerminatedError);
      await session.open();
      await session.send(text("back again"));
      assert.equal(Buffer.from(await session.receive()).toString(), "back again");
      assert.ok(logs.includes("echo firmware restarted"));

      // TVMPlatformAbort reports itself as a Log, then the core halts: no reply comes.
      await session.send(text("abort"));
      const noReply = session.receive().then(
        () => "a reply",
        (e: Error) => e,
      );
      await waitFor(() => logs.includes("microTVM runtime: abort with error 0x00000500"), 5000);
      assert.equal(logs.at(-1), "microTVM runtime: abort with error 0x00000500");

      const pid = transport.pid!;
      await session.close();
      assert.ok((await noReply) instanceof Error, "the halted firmware sent no reply");
      assert.ok(transport.hasExited);
      assert.ok(!isAlive(pid), "QEMU is gone after close()");
    });
  });
}

test("platform timer: SysTick ticks under -icount are deterministic, linear and survive wraps", async (t) => {
  if (!requireToolchains(t)) return;
  // -icount shift=4: every instruction is 16 ns of virtual time, so SysTick (25 MHz) advances
  // 0.4 ticks per instruction whatever the host's speed.
  const timeLoop = async (session: Session, iterations: number) => {
    await session.send(text(`time:${iterations}`));
    const reply = Buffer.from(await session.receive());
    assert.equal(reply.length, 16);
    return { ticks: Number(reply.readBigUInt64LE(0)), seconds: reply.readDoubleLE(8) };
  };
  const runs: { ticks: number; seconds: number }[][] = [];
  for (let run = 0; run < 2; run++) {
    const { session } = startQemu("mps2-an385", 4);
    await session.open();
    // 3M iterations stay within one SysTick period (2^24 ticks); 12M cross at least one wrap.
    runs.push([await timeLoop(session, 3_000_000), await timeLoop(session, 12_000_000)]);
    await session.close();
  }
  const [small, large] = runs[0]!;
  // The same instructions every time; only the phase of the 40 ns tick against the 16 ns
  // instruction at the loop's start can differ (the firmware idles in wfi before it, and idle
  // time follows the host clock), which is worth at most one tick.
  for (let i = 0; i < 2; i++) {
    const [a, b] = [runs[0]![i]!, runs[1]![i]!];
    assert.ok(Math.abs(a.ticks - b.ticks) <= 1, `two boots measure the same ticks: ${a.ticks}, ${b.ticks}`);
  }
  assert.ok(large!.ticks > 2 ** 24, `the long loop spans a SysTick period (${large!.ticks} ticks)`);
  const ratio = large!.ticks / small!.ticks;
  assert.ok(Math.abs(ratio - 4) < 0.01, `4 times the iterations take 4 times the ticks (ratio ${ratio})`);
  // TimerStop's seconds cover the loop only; the ticks also the Start/Stop calls themselves
  // (soft-float division on the Cortex-M3): a few hundred ticks apart.
  for (const m of [small!, large!])
    assert.ok(
      Math.abs(m.seconds * 25e6 - m.ticks) < 1000,
      `TimerStop's ${m.seconds} s against ${m.ticks} ticks`,
    );
});

test("a CPU fault is reported as a Log line before the firmware halts", async (t) => {
  if (!requireToolchains(t)) return;
  const { session, logs } = startQemu("mps2-an500");
  await session.open();
  // An undefined instruction: UsageFault, escalated to HardFault (exception 3) as UsageFault is
  // not enabled separately.
  await session.send(text("fault"));
  const noReply = session.receive().then(
    () => "a reply",
    (e: Error) => e,
  );
  await waitFor(() => logs.length > 1, 5000);
  assert.deepEqual(logs, ["echo firmware ready on mps2-an500", "firmware: unexpected exception 003"]);
  await session.close();
  assert.ok((await noReply) instanceof Error);
});

test("QEMUs run side by side (no display, no VNC port to collide on)", async (t) => {
  if (!requireToolchains(t)) return;
  const devices = (["mps2-an385", "mps2-an500"] as const).map((board) => ({ board, ...startQemu(board) }));
  await Promise.all(devices.map((d) => d.session.open()));
  await Promise.all(
    devices.map(async ({ board, session }) => {
      await session.send(text(`hello ${board}`));
      assert.equal(Buffer.from(await session.receive()).toString(), `hello ${board}`);
    }),
  );
  await Promise.all(devices.map((d) => d.session.close()));
  for (const d of devices) assert.ok(!isAlive(d.transport.pid!));
});

test("QEMU killed from outside gives a clear error and leaves no process", async (t) => {
  if (!requireToolchains(t)) return;
  const { transport, session } = startQemu("mps2-an386");
  await session.open();
  await session.send(text("ping"));
  assert.equal(Buffer.from(await session.receive()).toString(), "ping");
  const pid = transport.pid!;
  assert.match(qemuProcesses(), new RegExp(`^${pid} .*qemu-system-arm .*-machine mps2-an386`));
  const pending = session.receive();
  process.kill(pid, "SIGKILL");
  await assert.rejects(pending, (e: Error) => {
    assert.ok(e instanceof SessionTransportError);
    assert.match(e.message, /the device transport closed while reading from the device/);
    assert.match(e.message, /was killed by SIGKILL/);
    return true;
  });
  await assert.rejects(session.send(text("anyone?")), SessionTransportError);
  await session.close();
  assert.ok(!isAlive(pid));
});

test("QEMU dies with the process that started it", async (t) => {
  if (!requireToolchains(t)) return;
  const { command, args } = qemuCommand("mps2-an385", firmware("mps2-an385"), { name: marker });
  if (command !== "setpriv") {
    t.skip("setpriv (util-linux) not available: QEMU outlives a parent killed with SIGKILL");
    return;
  }
  // A parent shell that starts QEMU in the background, then is killed without a chance to clean up.
  const quoted = [command, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const parent = new ChildProcessTransport("sh", ["-c", `${quoted} </dev/null >/dev/null 2>&1 & wait`]);
  spawned.push(parent);
  await waitFor(() => qemuProcesses() !== "", 5000);
  assert.notEqual(qemuProcesses(), "", "QEMU started");
  process.kill(parent.pid!, "SIGKILL");
  await waitFor(() => qemuProcesses() === "", 5000);
  assert.equal(qemuProcesses(), "", "QEMU was killed with its parent");
});
