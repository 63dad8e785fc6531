// The cortex-m template in process: options and their errors, what a project holds (the serialport
// package copied in, so it runs with Node alone), nucleo-f446re building and linking with its size
// report, and how open_transport chooses (or refuses to guess) a real board's port.
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeMlf } from "../../src/mlf/index.js";
import type { ProjectOptions } from "../../src/server/index.js";
import { repoRoot } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";
import { CortexMProjectHandler } from "../../templates/cortex-m/handler.js";
import { resolveCortexMOptions } from "../../templates/cortex-m/options.js";

const TEMPLATE = join(repoRoot, "templates", "cortex-m");
let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), "microtvm-cortex-m-"));
});
after(() => rmSync(work, { recursive: true, force: true }));

function logger(): { lines: string[]; info: (l: string) => void; error: (l: string) => void } {
  const lines: string[] = [];
  return { lines, info: (l) => lines.push(l), error: (l) => lines.push(l) };
}

/** A small v7 C-interface archive: out[0] = a[0] + a[1] (int8 in, int32 out). */
async function tinyArchive(): Promise<string> {
  const path = join(work, "tiny.tar");
  if (existsSync(path)) return path;
  await writeMlf({
    sources: [
      {
        name: "default_lib0.c",
        content:
          '#include <stdint.h>\n#include "tvmgen_default.h"\n' +
          "int32_t tvmgen_default_run(struct tvmgen_default_inputs* inputs, struct tvmgen_default_outputs* outputs) {\n" +
          "  const int8_t* a = (const int8_t*)inputs->a;\n  int32_t* out = (int32_t*)outputs->out;\n" +
          "  out[0] = a[0] + a[1];\n  return 0;\n}\n",
      },
    ],
    inputs: [{ name: "a", dtype: "int8", shape: [4] }],
    outputs: [{ name: "out", dtype: "int32", shape: [1] }],
    workspaceBytes: 0,
    exportDatetime: "2024-01-01 00:00:00Z",
    output: path,
  });
  return path;
}

async function generated(name: string, options: ProjectOptions): Promise<string> {
  const dir = join(work, name);
  const template = new CortexMProjectHandler(TEMPLATE, logger());
  await template.generateProject({
    modelLibraryFormatPath: await tinyArchive(),
    standaloneCrtDir: "",
    projectDir: dir,
    options,
  });
  return dir;
}

/** Runs `body` with MICROTVM_SYSFS_ROOT set (a recorded sysfs tree), restoring it after. */
async function withSysfs<T>(root: string, body: () => Promise<T>): Promise<T> {
  const saved = process.env.MICROTVM_SYSFS_ROOT;
  process.env.MICROTVM_SYSFS_ROOT = root;
  try {
    return await body();
  } finally {
    if (saved === undefined) delete process.env.MICROTVM_SYSFS_ROOT;
    else process.env.MICROTVM_SYSFS_ROOT = saved;
  }
}

test("options: the board is required and checked, baud rate and pool are bounded, defaults come from the board", () => {
  assert.throws(
    () => resolveCortexMOptions({}),
    /option board is required: choose one of nucleo-f446re, netduinoplus2/,
  );
  assert.throws(() => resolveCortexMOptions({ board: "uno" }), /unknown board "uno"; choose one of/);
  assert.throws(
    () => resolveCortexMOptions({ board: "nucleo-f446re", baud_rate: 12 }),
    /baud_rate: 12 is out of range; use 1200 to 4000000/,
  );
  assert.throws(
    () => resolveCortexMOptions({ board: "nucleo-f446re", workspace_size_bytes: 1 << 20 }),
    /workspace_size_bytes: 1048576 is out of range for nucleo-f446re; use 4096 to less than its 131072 bytes of RAM/,
  );
  const o = resolveCortexMOptions({ board: "nucleo-f446re", baud_rate: "921600" });
  assert.equal(o.baud_rate, 921600);
  assert.equal(o.workspace_size_bytes, 72 * 1024);
  assert.equal(resolveCortexMOptions({}, { board: "netduinoplus2" }).board, "netduinoplus2", "saved board");
});

test("a generated project holds the firmware, board.mk, and serialport with its prebuilt binding", async () => {
  const dir = await generated("nucleo-files", { board: "nucleo-f446re", baud_rate: 230400 });
  for (const file of [
    "Makefile",
    "board.mk",
    "project.mk",
    "ld/sections.ld",
    "firmware/stm32f4.c",
    "firmware/startup.c",
    "firmware/rpc_main.c",
    "firmware/timer_dwt.c",
    "firmware/models.c",
    "runtime/src/rpc_server.c",
    "node_modules/serialport/package.json",
    "node_modules/@serialport/bindings-cpp/package.json",
    "node_modules/@serialport/stream/package.json",
    "node_modules/node-gyp-build/package.json",
  ])
    assert.ok(existsSync(join(dir, file)), `${file} is in the project`);
  assert.ok(
    readdirSync(join(dir, "node_modules", "@serialport", "bindings-cpp", "prebuilds")).includes(
      `${process.platform}-${process.arch}`,
    ),
    "the native binding for this machine is there",
  );
  const boardMk = readFileSync(join(dir, "board.mk"), "utf8");
  assert.match(boardMk, /^FLASH := 0x08000000 0x00080000$/m);
  assert.match(boardMk, /^RAM := 0x20000000 0x00020000$/m);
  assert.match(boardMk, /^BOARD_TIMER := dwt$/m);
  assert.match(boardMk, /-DMTVM_UART_BASE=0x40004400u -DMTVM_UART_RX_IRQ=38u -DMTVM_UART_BAUD=230400u/);
});

test("nucleo-f446re builds and links with its size report; flash says how to program it; no probe, no guess", async (t: TestContext) => {
  if (
    !requireCommand(t, "arm-none-eabi-gcc", "Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi") ||
    !requireCommand(t, "make", "Debian: make")
  )
    return;
  const dir = await generated("nucleo-build", { board: "nucleo-f446re" });
  const log = logger();
  const handler = new CortexMProjectHandler(dir, log);
  await handler.build({});
  const report = log.lines.filter((l) => /FLASH|RAM/.test(l)).join("\n");
  assert.match(report, /nucleo-f446re FLASH \d+ of 524288 bytes/);
  assert.match(report, /nucleo-f446re RAM \d+ of 131072 bytes/);
  for (const out of ["firmware.elf", "firmware.bin", "firmware.hex"])
    assert.ok(existsSync(join(dir, "build", out)), out);
  assert.ok(
    readdirSync(join(dir, "build", "obj")).some((f) => f.includes("timer_dwt")),
    "silicon keeps device time with the DWT cycle counter",
  );
  log.lines.length = 0;
  await handler.flash({});
  assert.match(
    log.lines.join("\n"),
    /program .*firmware\.elf with the board's tool .*st-flash --reset write .*firmware\.bin 0x08000000/,
  );

  const empty = join(work, "sysfs-empty");
  mkdirSync(join(empty, "class", "tty"), { recursive: true });
  await withSysfs(empty, () =>
    assert.rejects(
      handler.openTransport({}),
      /no board with a probe compatible with nucleo-f446re was found \(no serial ports at all\)/,
    ),
  );
  await assert.rejects(
    handler.openTransport({ port: "bogus://x" }),
    /port: "bogus:\/\/x" has an unknown scheme/,
  );
  await assert.rejects(
    handler.openTransport({ port: join(work, "no-such-tty") }),
    /no-such-tty does not exist: is the board plugged in\? `microtvm devices` lists the serial ports/,
  );
  await assert.rejects(
    handler.openTransport({ board: "netduinoplus2" }),
    /the project was built for nucleo-f446re, not netduinoplus2/,
  );
  await handler.shutdown();
});
