// The qemu-cortex-m template's RPC firmware (the runtime's minRPC server behind the session, over
// the emulated UART) built for every board with a small hand-written model, and driven by the
// host's minRPC client as TVM drives a microTVM device: system lib operators on device tensors,
// an AOT executor, device-side timing with SysTick under -icount, and shutdown.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, test } from "node:test";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { ChildProcessTransport, Session } from "../../src/session/index.js";
import {
  AotExecutor,
  RemoteRuntime,
  RpcClient,
  RpcDeviceError,
  packetChannelOverMessages,
} from "../../src/rpc/index.js";
import { repoRoot } from "../helpers/paths.js";
import { haveCommand, requireCommand } from "../helpers/tools.js";
import { QEMU_BOARD_NAMES, qemuCommand, type QemuBoardName } from "../../templates/qemu-cortex-m/qemu.js";

const templateDir = join(repoRoot, "templates", "qemu-cortex-m");
const marker = `microtvm-qemu-rpc-test-${process.pid}-${randomBytes(4).toString("hex")}`;
let workDir = "";
const spawned: ChildProcessTransport[] = [];

// What generated glue provides: a system lib with `add` (int8, any shape) and `fail_msg`, and a
// packed AOT model "default" computing out = a + b on int8[1, 300].
const modelsSource = String.raw`
#include <stdint.h>
#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/module.h>
#include "models.h"

static int add_int8(TVMValue* args, int* codes, int num, TVMValue* ret, int* ret_code, void* res) {
  const DLTensor* a;
  const DLTensor* b;
  const DLTensor* c;
  int64_t n = 1;
  int64_t i;
  int d;
  (void)ret, (void)ret_code, (void)res;
  if (num != 3 || codes[0] != kTVMDLTensorHandle || codes[1] != kTVMDLTensorHandle ||
      codes[2] != kTVMDLTensorHandle) {
    TVMAPISetLastError("add takes three tensors");
    return -1;
  }
  a = (const DLTensor*)args[0].v_handle;
  b = (const DLTensor*)args[1].v_handle;
  c = (const DLTensor*)args[2].v_handle;
  for (d = 0; d < a->ndim; d++) n *= a->shape[d];
  for (i = 0; i < n; i++) {
    ((int8_t*)c->data)[i] = (int8_t)(((const int8_t*)a->data)[i] + ((const int8_t*)b->data)[i]);
  }
  return 0;
}

static int fail_msg(TVMValue* args, int* codes, int num, TVMValue* ret, int* ret_code, void* res) {
  (void)args, (void)codes, (void)num, (void)ret, (void)ret_code, (void)res;
  TVMAPISetLastError("boom: operator failed on the device");
  return -1;
}

static const TVMBackendPackedCFunc kFuncs[] = {add_int8, fail_msg};
static const TVMFuncRegistry kRegistry = {"\002add\0fail_msg\0", kFuncs};
static const TVMModule kLib = {&kRegistry};
static const TVMModule* system_lib(void) { return &kLib; }

static const int64_t kShape[] = {1, 300};
static const mtvm_tensor_info_t kInputs[] = {{"a", {kDLInt, 8, 1}, 2, kShape},
                                             {"b", {kDLInt, 8, 1}, 2, kShape}};
static const mtvm_tensor_info_t kOutputs[] = {{"out", {kDLInt, 8, 1}, 2, kShape}};
static const mtvm_model_t kModel = {"default", MTVM_ENTRY_PACKED, add_int8, 0, 2, kInputs,
                                    1, kOutputs, 0, system_lib};

const mtvm_model_t* const microtvm_project_models[] = {&kModel};
const size_t microtvm_project_model_count = 1;
`;

const firmware = (board: QemuBoardName) => join(workDir, board, "firmware.elf");

before(() => {
  workDir = mkdtempSync(join(tmpdir(), "microtvm-qemu-rpc-"));
  if (!haveCommand("arm-none-eabi-gcc") || !haveCommand("make")) return;
  const models = join(workDir, "models.c");
  writeFileSync(models, modelsSource);
  for (const board of QEMU_BOARD_NAMES) {
    const r = spawnSync(
      "make",
      [
        "-C",
        templateDir,
        `BOARD=${board}`,
        `BUILD_DIR=${join(workDir, board)}`,
        "APP=rpc",
        `EXTRA_SOURCES=${models}`,
      ],
      { encoding: "utf8", timeout: 180_000 },
    );
    if (r.status !== 0)
      throw new Error(`building the RPC firmware for ${board} failed:\n${r.stdout}${r.stderr}`);
  }
});

afterEach(async () => {
  await Promise.all(spawned.splice(0).map((t) => t.close()));
  const left = spawnSync("pgrep", ["-a", "-f", marker], { encoding: "utf8" }).stdout.trim();
  assert.equal(left, "", "no QEMU of this test is left running");
});

after(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

function requireTools(t: TestContext): boolean {
  return (
    requireCommand(t, "arm-none-eabi-gcc", "Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi") &&
    requireCommand(t, "make", "Debian: make") &&
    requireCommand(t, "qemu-system-arm", "Debian: qemu-system-arm")
  );
}

for (const board of QEMU_BOARD_NAMES) {
  test(`minRPC over the emulated UART on ${board}: operators, AOT, device timing, shutdown`, async (t) => {
    if (!requireTools(t)) return;
    // -icount shift=0: one instruction per nanosecond of virtual time, so device timing counts
    // instructions and repeats agree.
    const { command, args } = qemuCommand(board, firmware(board), { name: marker, icount: 0 });
    const transport = new ChildProcessTransport(command, args, { killGraceSec: 0.5 });
    spawned.push(transport);
    const session = new Session(transport, {
      timeouts: {
        sessionStartRetryTimeoutSec: 1,
        sessionStartTimeoutSec: 15,
        sessionEstablishedTimeoutSec: 15,
      },
    });
    const logs: string[] = [];
    session.on("log", (line) => logs.push(line));
    await session.open();
    const client = new RpcClient(packetChannelOverMessages(session), { timeoutMs: 15_000 });
    const runtime = new RemoteRuntime(client);
    // The board's packet size (boards.mk) minus the session overhead; TVM's host is told at most 2048.
    assert.equal(await client.maxTransferSize(), 16384 - 11, "the session buffer minus the session overhead");
    const tvmFigure = await client.call(
      (await client.getGlobalFunc("tvm.rpc.server.GetCRTMaxPacketSize"))!,
      [],
    );
    assert.deepEqual(tvmFigure, { type: "int", value: 2048n - 11n });

    // Operators on device tensors, 1000 bytes each.
    const lib = await runtime.systemLib();
    const add = await lib.function("add");
    const x = Uint8Array.from({ length: 1000 }, (_, i) => i & 0x7f);
    const a = await runtime.array({ dtype: "int8", shape: [1000], data: x });
    const b = await runtime.array({ dtype: "int8", shape: [1000], data: new Uint8Array(1000).fill(3) });
    const c = await runtime.empty([1000], "int8");
    assert.equal(await add.call(a, b, c), null);
    const sum = await c.copyTo();
    assert.ok(
      sum.every((v, i) => v === (((i & 0x7f) + 3) & 0xff)),
      "a + b computed on the device",
    );
    for (const tensor of [a, b, c]) await tensor.free();
    await assert.rejects(
      (await lib.function("fail_msg")).call(),
      (e: unknown) =>
        e instanceof RpcDeviceError && e.deviceMessage.includes("boom: operator failed on the device"),
    );

    // The AOT executor over the model registered by the glue.
    const aot = await AotExecutor.create(runtime, { moduleName: "default" });
    assert.deepEqual(aot.inputNames, ["a", "b"]);
    await aot.setInput("a", new Uint8Array(300).fill(5));
    await aot.setInput("b", new Uint8Array(300).fill(0xf9));
    await aot.run();
    const out = await aot.getOutput(0);
    assert.deepEqual(out.shape, [1, 300]);
    assert.ok(
      out.data.every((v) => v === 0xfe),
      "5 + (-7) = -2 everywhere",
    );

    // Device-side timing: runtime.RPCTimeEvaluator on the device, SysTick as the timer.
    const timing = await aot.timeRun({ number: 4, repeat: 3 });
    t.diagnostic(
      `${board}: one run ${timing.results.map((s) => (s * 1e6).toFixed(2)).join(", ")} us (virtual)`,
    );
    assert.equal(timing.results.length, 3);
    for (const seconds of timing.results)
      assert.ok(seconds > 0 && seconds < 0.01, `one run of 300 additions took ${seconds} s of virtual time`);
    // Same instructions each repeat: the same time to within one 40 ns tick per call.
    assert.ok(timing.max - timing.min <= 1 / 25e6 + 1e-12, `repeats agree: ${timing.results.join(", ")}`);
    await aot.dispose();

    await client.shutdown();
    for (let waited = 0; logs.length === 0 && waited < 5000; waited += 20) {
      await session.receive(0.02).catch(() => undefined);
    }
    assert.deepEqual(logs, ["microTVM firmware: RPC shutdown received"]);
    await session.close();
  });
}
