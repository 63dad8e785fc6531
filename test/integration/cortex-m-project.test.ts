// The cortex-m template in process: options and their errors, what a project holds (the serialport
// package copied in, so it runs with Node alone), nucleo-f446re building and linking with its size
// report, and how open_transport chooses (or refuses to guess) a real board's port.
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeMlf } from "../../src/mlf/index.js";
import type { ProjectOptions } from "../../src/server/index.js";
import { repoRoot } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";
import { tinyArmElf } from "../helpers/elf.js";
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
  assert.equal(o.workspace_size_bytes, null, "unset: sized from the model archive at build");
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

test("nucleo-f446re builds and links with its size report; no probe, no guess", async (t: TestContext) => {
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

test("nucleo-f746zg and nrf52840dk build and link with their size reports, warnings as errors", async (t: TestContext) => {
  if (
    !requireCommand(t, "arm-none-eabi-gcc", "Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi") ||
    !requireCommand(t, "make", "Debian: make")
  )
    return;
  for (const [board, flash, ram, driver, timer] of [
    ["nucleo-f746zg", 1048576, 327680, "stm32f7", "timer_dwt"],
    ["nrf52840dk", 1048576, 262144, "nrf_uart", "nrf_uart"],
  ] as const) {
    const dir = await generated(`${board}-build`, { board, warning_as_error: true });
    const log = logger();
    const handler = new CortexMProjectHandler(dir, log);
    await handler.build({});
    await handler.shutdown();
    const report = log.lines.join("\n");
    assert.match(report, new RegExp(`${board} FLASH \\d+ of ${flash} bytes`));
    assert.match(report, new RegExp(`${board} RAM \\d+ of ${ram} bytes`));
    const objects = readdirSync(join(dir, "build", "obj"));
    assert.ok(
      objects.some((f) => f.includes(driver)) && objects.some((f) => f.includes(timer)),
      objects.join(" "),
    );
    for (const out of ["firmware.elf", "firmware.bin", "firmware.hex"])
      assert.ok(existsSync(join(dir, "build", out)));
  }
  const nrf = readFileSync(join(work, "nrf52840dk-build", "board.mk"), "utf8");
  assert.match(nrf, /-DMTVM_UART_TX_PIN=6u -DMTVM_UART_RX_PIN=8u/);
});

test("microbit (Cortex-M0): a model using DSP instructions is refused at generate_project", async () => {
  const path = join(work, "dsp.tar");
  await writeMlf({
    sources: [
      {
        name: "default_lib0.c",
        content:
          '#include <stdint.h>\n#include <arm_acle.h>\n#include "tvmgen_default.h"\n' +
          "int32_t tvmgen_default_run(struct tvmgen_default_inputs* inputs, struct tvmgen_default_outputs* outputs) {\n" +
          "  const uint32_t* a = (const uint32_t*)inputs->a;\n  int32_t* out = (int32_t*)outputs->out;\n" +
          "  out[0] = __smlad(a[0], a[0], 0);\n  return 0;\n}\n",
      },
    ],
    inputs: [{ name: "a", dtype: "int8", shape: [4] }],
    outputs: [{ name: "out", dtype: "int32", shape: [1] }],
    workspaceBytes: 0,
    exportDatetime: "2024-01-01 00:00:00Z",
    output: path,
  });
  const template = new CortexMProjectHandler(TEMPLATE, logger());
  const dir = join(work, "dsp-microbit");
  await assert.rejects(
    template.generateProject({
      modelLibraryFormatPath: path,
      standaloneCrtDir: "",
      projectDir: dir,
      options: { board: "microbit" },
    }),
    /uses ARM DSP instructions .*which the Cortex-M0 of microbit does not have/,
  );
  assert.ok(!existsSync(dir), "nothing is left behind");
});

/** Stub runners on PATH: each records its arguments (one line per call) and behaves as STUB_MODE says. */
function stubRunners(dir: string, names: readonly string[]): { record: string; bin: string } {
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  const record = join(dir, "calls.txt");
  for (const name of names) {
    writeFileSync(
      join(bin, name),
      `#!/bin/sh
printf '%s' "${name}" >> "${record}"
for a in "$@"; do printf ' [%s]' "$a" >> "${record}"; done
echo >> "${record}"
case "$STUB_MODE" in
  fail) echo "Error: target not found"; echo "probe: no device"; exit 3 ;;
  hang) exec sleep 30 ;;
  fail-once) if [ ! -f "${dir}/failed-once" ]; then : > "${dir}/failed-once"; echo busy; exit 1; fi ;;
esac
echo "${name}: done"
`,
    );
    chmodSync(join(bin, name), 0o755);
  }
  return { record, bin };
}

test("flash runs each board's runner with its exact command line (stubs on PATH)", async (t) => {
  const dir = await generated("flash-nucleo", { board: "nucleo-f446re" });
  const nrf = await generated("flash-nrf", { board: "nrf52840dk" });
  for (const [d, flashAt] of [
    [dir, 0x08000000],
    [nrf, 0],
  ] as const) {
    mkdirSync(join(d, "build"), { recursive: true });
    for (const f of ["firmware.hex", "firmware.bin"]) writeFileSync(join(d, "build", f), "image");
    writeFileSync(
      join(d, "build", "firmware.elf"),
      tinyArmElf([
        { name: ".text", address: flashAt, size: 4096 },
        { name: ".bss", address: 0x20000000, size: 4096, nobits: true },
      ]),
    );
  }
  const stubs = stubRunners(join(work, "stubs"), ["openocd", "pyocd", "probe-rs", "st-flash", "nrfjprog"]);
  const savedPath = process.env.PATH;
  process.env.PATH = `${stubs.bin}:${savedPath}`;
  t.after(() => {
    process.env.PATH = savedPath;
    delete process.env.STUB_MODE;
  });
  const calls = () => readFileSync(stubs.record, "utf8").trim().split("\n");
  const flash = async (project: string, options: ProjectOptions) => {
    writeFileSync(stubs.record, "");
    const handler = new CortexMProjectHandler(project, logger());
    try {
      await handler.flash(options);
    } finally {
      await handler.shutdown();
    }
    return calls();
  };
  const elf = join(dir, "build", "firmware.elf");
  assert.deepEqual(await flash(dir, {}), [
    `openocd [-f] [board/st_nucleo_f4.cfg] [-c] [program ${elf} verify reset exit]`,
  ]);
  assert.deepEqual(await flash(dir, { flash_runner: "openocd", serial_number: "066DFF" }), [
    `openocd [-f] [board/st_nucleo_f4.cfg] [-c] [adapter serial 066DFF] [-c] [program ${elf} verify reset exit]`,
  ]);
  assert.deepEqual(await flash(dir, { flash_runner: "st-flash", serial_number: "066DFF" }), [
    `st-flash [--serial] [066DFF] [--reset] [write] [${join(dir, "build", "firmware.bin")}] [0x08000000]`,
  ]);
  assert.deepEqual(await flash(dir, { flash_runner: "pyocd" }), [
    `pyocd [flash] [--target] [stm32f446retx] [${elf}]`,
  ]);
  assert.deepEqual(await flash(dir, { flash_runner: "probe-rs", serial_number: "0483:374b:066DFF" }), [
    `probe-rs [download] [--chip] [STM32F446RETx] [--probe] [0483:374b:066DFF] [--verify] [${elf}]`,
    "probe-rs [reset] [--chip] [STM32F446RETx] [--probe] [0483:374b:066DFF]",
  ]);
  const hex = join(nrf, "build", "firmware.hex");
  assert.deepEqual(await flash(nrf, { nrfjprog_recover: true, serial_number: "683123456" }), [
    "nrfjprog [-f] [NRF52] [--snr] [683123456] [--recover]",
    `nrfjprog [-f] [NRF52] [--snr] [683123456] [--program] [${hex}] [--sectorerase] [--verify]`,
    "nrfjprog [-f] [NRF52] [--snr] [683123456] [--reset]",
  ]);
  assert.deepEqual(
    await flash(nrf, {
      flash_command: `${join(stubs.bin, "pyocd")} {hex} {bin} {elf} {serial_number}`,
      serial_number: "X 1",
    }),
    [`pyocd [${hex}] [${join(nrf, "build", "firmware.bin")}] [${join(nrf, "build", "firmware.elf")}] [X 1]`],
  );
  await assert.rejects(
    flash(nrf, { flash_runner: "st-flash" }),
    /st-flash is not set up for nrf52840dk; use one of nrfjprog, pyocd, probe-rs, or flash_command/,
  );
  await assert.rejects(
    flash(nrf, { flash_runner: "jtag9000" }),
    /unknown runner "jtag9000"; choose one of openocd/,
  );
  await assert.rejects(flash(nrf, { flash_command: "x {image}" }), /unknown placeholder\(s\) \{image\}/);

  // Failure: runner, exit status and last lines; retried once by default.
  process.env.STUB_MODE = "fail";
  await assert.rejects(flash(dir, { flash_runner: "pyocd" }), (e: Error) =>
    /flash failed after 2 attempt\(s\): pyocd: `pyocd flash --target stm32f446retx .*` exited with status 3\. Its last lines:\nError: target not found\nprobe: no device/.test(
      e.message,
    ),
  );
  assert.equal(calls().length, 2, "one retry");
  // A first failure that goes away: the retry succeeds.
  process.env.STUB_MODE = "fail-once";
  assert.equal((await flash(dir, { flash_runner: "st-flash" })).length, 2);
  // A hung runner is stopped at the timeout.
  process.env.STUB_MODE = "hang";
  const started = Date.now();
  await assert.rejects(
    flash(dir, { flash_runner: "openocd", flash_timeout_sec: 1, flash_retries: 0 }),
    /openocd: `openocd .*` did not finish within 1 s and was stopped/,
  );
  assert.ok(Date.now() - started < 10_000, "stopped near the timeout");
  delete process.env.STUB_MODE;
  // Missing: says how to install it.
  process.env.PATH = "/nonexistent";
  await assert.rejects(
    flash(dir, { flash_runner: "st-flash" }),
    /flash: st-flash was not found on PATH; install it \(Debian\/Ubuntu: apt-get install stlink-tools\)/,
  );
});

/** A one-operator AOT archive (`source` as its C, input int8[4] `a`, output int32[1] `out`) generated for the micro:bit. */
async function microbitProject(name: string, source: string, workspaceBytes: number): Promise<string> {
  const path = join(work, `${name}.tar`);
  await writeMlf({
    sources: [{ name: "default_lib0.c", content: source }],
    inputs: [{ name: "a", dtype: "int8", shape: [4] }],
    outputs: [{ name: "out", dtype: "int32", shape: [1] }],
    workspaceBytes,
    exportDatetime: "2024-01-01 00:00:00Z",
    output: path,
  });
  const dir = join(work, `${name}-microbit`);
  const template = new CortexMProjectHandler(TEMPLATE, logger());
  await template.generateProject({
    modelLibraryFormatPath: path,
    standaloneCrtDir: "",
    projectDir: dir,
    options: { board: "microbit" },
  });
  return dir;
}

test("a model too big for the board fails at build, naming the region and the overshoot", async (t: TestContext) => {
  if (
    !requireCommand(t, "arm-none-eabi-gcc", "Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi") ||
    !requireCommand(t, "make", "Debian: make")
  )
    return;
  // 300 000 bytes of weights: more than the micro:bit's 256 KiB of flash.
  const dir = await microbitProject(
    "big",
    '#include <stdint.h>\n#include "tvmgen_default.h"\n' +
      "static const int8_t weights[300000] = {1, 2, 3};\n" +
      "int32_t tvmgen_default_run(struct tvmgen_default_inputs* inputs, struct tvmgen_default_outputs* outputs) {\n" +
      "  const int8_t* a = (const int8_t*)inputs->a;\n  int32_t* out = (int32_t*)outputs->out;\n" +
      "  out[0] = weights[(uint8_t)a[0] * 1000];\n  return 0;\n}\n",
    0,
  );
  const handler = new CortexMProjectHandler(dir, logger());
  t.after(() => handler.shutdown());
  await assert.rejects(
    handler.build({}),
    /build failed: error: the firmware does not fit microbit: region FLASH \(262144 bytes at 0x00000000\) overflowed by \d+ bytes/,
  );
  assert.ok(!existsSync(join(dir, "build", "firmware.elf")), "no image is left");
});

test("a model whose workspace is too big for the board's RAM fails at build: the pool is sized from the archive", async (t: TestContext) => {
  if (
    !requireCommand(t, "arm-none-eabi-gcc", "Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi") ||
    !requireCommand(t, "make", "Debian: make")
  )
    return;
  // 20 000 bytes of workspace in the main function: more than the micro:bit's 16 KiB of RAM.
  const dir = await microbitProject(
    "wide",
    '#include <stdint.h>\n#include <tvm/runtime/c_backend_api.h>\n#include "tvmgen_default.h"\n' +
      "int32_t tvmgen_default___tvm_main__(int8_t* a, int32_t* out) {\n" +
      "  int8_t* sid_1 = (int8_t*)TVMBackendAllocWorkspace(1, 0, (uint64_t)20000, 0, 8);\n" +
      "  if (sid_1 == NULL) return -1;\n  sid_1[0] = a[0];\n  out[0] = sid_1[0];\n" +
      "  return TVMBackendFreeWorkspace(1, 0, sid_1);\n}\n" +
      "int32_t tvmgen_default_run(struct tvmgen_default_inputs* inputs, struct tvmgen_default_outputs* outputs) {\n" +
      "  return tvmgen_default___tvm_main__((int8_t*)inputs->a, (int32_t*)outputs->out);\n}\n",
    20000,
  );
  const log = logger();
  const handler = new CortexMProjectHandler(dir, log);
  t.after(() => handler.shutdown());
  await assert.rejects(handler.build({}), (e: Error) => {
    assert.match(
      e.message,
      /the firmware does not fit microbit: region RAM \(16384 bytes at 0x20000000\) overflowed by \d+ bytes/,
    );
    assert.match(
      e.message,
      /the memory pool takes (\d+) bytes of microbit's RAM, sized from the model archive \((\d+) needed \+ \d+ margin\)/,
    );
    return true;
  });
  assert.match(log.lines.join("\n"), /memory pool: \d+ bytes, sized from the model archive: \d+ needed/);
  assert.match(log.lines.join("\n"), /main function workspace: 20224/, "20000 bytes + header in whole pages");
  assert.ok(!existsSync(join(dir, "build", "firmware.elf")), "no image is left");

  // The same model with a pool the user chose that fits: it builds, and the project records where the pool came from.
  await handler.build({ workspace_size_bytes: 6144 });
  const record = JSON.parse(readFileSync(join(dir, "microtvm-project.json"), "utf8")).firmware.pool;
  assert.equal(record.bytes, 6144);
  assert.equal(record.source, "option");
  assert.ok(record.need_bytes > 20000);
  assert.match(log.lines.join("\n"), /warning: the model archive needs about \d+ bytes/);
});

test("flash checks the ELF against the board's regions: another board's image or a replaced file is refused", async (t) => {
  const dir = await generated("fit-microbit", { board: "microbit" });
  mkdirSync(join(dir, "build"), { recursive: true });
  const elf = join(dir, "build", "firmware.elf");
  const handler = new CortexMProjectHandler(dir, logger());
  t.after(() => handler.shutdown());
  // Laid out for a board with more RAM: 20 000 bytes of .bss and 300 bytes of .data (which also
  // takes flash) against the micro:bit's 16 KiB.
  writeFileSync(
    elf,
    tinyArmElf([
      { name: ".text", address: 0, size: 8192 },
      { name: ".data", address: 0x20000000, size: 300, writable: true },
      { name: ".bss", address: 0x20000200, size: 20000, nobits: true },
    ]),
  );
  await assert.rejects(
    handler.flash({}),
    /flash: the firmware does not fit microbit: region RAM \(16384 bytes at 0x20000000\) overflowed by 3916 bytes; it was built for another board or replaced: rebuild the project for this board/,
  );
  await assert.rejects(
    handler.openTransport({}),
    /open_transport: the firmware does not fit microbit: region RAM/,
  );
  // Too much flash as well: both regions named.
  writeFileSync(
    elf,
    tinyArmElf([
      { name: ".text", address: 0, size: 262144 },
      { name: ".data", address: 0x20000000, size: 16, writable: true },
      { name: ".bss", address: 0x20000010, size: 20000, nobits: true },
    ]),
  );
  await assert.rejects(
    handler.flash({}),
    /region FLASH \(262144 bytes at 0x00000000\) overflowed by 16 bytes; region RAM \(16384 bytes at 0x20000000\) overflowed by 3632 bytes/,
  );
  // An STM32 image: its code is where the micro:bit has no memory.
  writeFileSync(elf, tinyArmElf([{ name: ".isr_vector", address: 0x08000000, size: 512 }]));
  await assert.rejects(
    handler.flash({}),
    /flash: .*firmware\.elf: section \.isr_vector \(512 bytes at 0x08000000\) lies outside the board's memory \(FLASH 0x00000000\.\.0x0003ffff, RAM 0x20000000\.\.0x20003fff\)/,
  );
  writeFileSync(elf, "not an image");
  await assert.rejects(
    handler.flash({}),
    /flash: cannot read .*firmware\.elf: .*is not an ELF file; rebuild the project/,
  );
});
