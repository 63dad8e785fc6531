// The client against the project's real C device runtime: the runtime's minRPC packet handler is compiled
// with the system C compiler into a small program that reads request packets on stdin and writes reply
// packets on stdout (no framing or session: those have their own tests). A hand-written model stands in
// for generated code: a system lib with `add` (int8, any shape) and `fail_msg`, and a packed AOT model
// "default" computing out = a + b on int8[1, 300].
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcessByStdio } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import {
  AotExecutor,
  GraphExecutor,
  RemoteRuntime,
  RpcClient,
  RpcDeviceError,
  type PacketChannel,
} from "../../src/rpc/index.js";
import { repoRoot } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";
import { rpcRuntimeSources } from "../c/build.js";

const harnessSource = String.raw`
#include <microtvm/rpc_server.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/module.h>
#include <tvm/runtime/crt/platform.h>

static int op_add(TVMValue* args, int* codes, int num, TVMValue* ret, int* ret_code, void* res) {
  (void)ret, (void)ret_code, (void)res;
  if (num != 3 || codes[0] != kTVMDLTensorHandle || codes[1] != kTVMDLTensorHandle ||
      codes[2] != kTVMDLTensorHandle) {
    TVMAPISetLastError("add takes three tensors");
    return -1;
  }
  DLTensor* a = (DLTensor*)args[0].v_handle;
  DLTensor* b = (DLTensor*)args[1].v_handle;
  DLTensor* c = (DLTensor*)args[2].v_handle;
  int64_t n = 1;
  for (int d = 0; d < a->ndim; d++) n *= a->shape[d];
  int8_t* pa = (int8_t*)a->data + a->byte_offset;
  int8_t* pb = (int8_t*)b->data + b->byte_offset;
  int8_t* pc = (int8_t*)c->data + c->byte_offset;
  for (int64_t i = 0; i < n; i++) pc[i] = (int8_t)(pa[i] + pb[i]);
  return 0;
}

static int op_fail_msg(TVMValue* args, int* codes, int num, TVMValue* ret, int* ret_code, void* res) {
  (void)args, (void)codes, (void)num, (void)ret, (void)ret_code, (void)res;
  TVMAPISetLastError("boom: operator failed");
  return -1;
}

static const TVMBackendPackedCFunc g_funcs[] = {op_add, op_fail_msg};
static const TVMFuncRegistry g_registry = {"\002add\0fail_msg\0", g_funcs};
static const TVMModule g_lib = {&g_registry};
static const TVMModule* system_lib(void) { return &g_lib; }

static int run_packed(TVMValue* args, int* codes, int num, TVMValue* ret, int* ret_code, void* res) {
  (void)ret, (void)ret_code, (void)res, (void)codes;
  if (num != 3) return -1;
  int8_t* a = (int8_t*)((DLTensor*)args[0].v_handle)->data;
  int8_t* b = (int8_t*)((DLTensor*)args[1].v_handle)->data;
  int8_t* out = (int8_t*)((DLTensor*)args[2].v_handle)->data;
  for (int i = 0; i < 300; i++) out[i] = (int8_t)(a[i] + b[i]);
  return 0;
}

static const int64_t kShape[] = {1, 300};
static const mtvm_tensor_info_t g_inputs[] = {{"a", {kDLInt, 8, 1}, 2, kShape},
                                              {"b", {kDLInt, 8, 1}, 2, kShape}};
static const mtvm_tensor_info_t g_outputs[] = {{"out", {kDLInt, 8, 1}, 2, kShape}};
static const mtvm_model_t g_model = {"default", MTVM_ENTRY_PACKED, run_packed, NULL, 2, g_inputs,
                                     1, g_outputs, 0, system_lib};

static int reply(void* ctx, const uint8_t* bytes, size_t n) {
  (void)ctx;
  return fwrite(bytes, 1, n, stdout) == n && fflush(stdout) == 0 ? 0 : -1;
}

static uint8_t g_packet[1 << 20];

int main(int argc, char** argv) {
  size_t max_packet = argc > 1 ? (size_t)atoi(argv[1]) : 2048;
  if (TVMPlatformInitialize() != 0) return 2;
  mtvm_rpc_server_t* rpc = mtvm_rpc_server_init(max_packet);
  if (rpc == NULL || mtvm_model_register(&g_model) != 0) return 3;
  for (;;) {
    uint64_t length;
    if (fread(g_packet, 1, 8, stdin) != 8) return 0;
    memcpy(&length, g_packet, 8);
    if (length + 8 > sizeof(g_packet) || fread(g_packet + 8, 1, length, stdin) != length) return 4;
    if (mtvm_rpc_server_handle(rpc, g_packet, 8 + length, reply, NULL) != 0) return 0;
  }
}
`;

const runtimeSources = [
  ...rpcRuntimeSources,
  ...["crc16.c", "host/platform_host.c"].map((file) => join(repoRoot, "runtime", "src", file)),
];

/** Compiles the packet device; one build for the whole file. */
function buildDevice(dir: string): string {
  const source = join(dir, "packet_device.c");
  const program = join(dir, "packet_device");
  writeFileSync(source, harnessSource);
  const args = [
    "-std=c99",
    "-O1",
    "-g",
    "-I",
    join(repoRoot, "runtime", "include"),
    source,
    ...runtimeSources,
  ];
  const result = spawnSync("cc", [...args, "-o", program], { encoding: "utf8", timeout: 120_000 });
  assert.equal(result.status, 0, `cc failed:\n${result.stdout}${result.stderr}`);
  return program;
}

type DeviceProcess = ChildProcessByStdio<Writable, Readable, Readable>;

/** A PacketChannel over the device program's stdin/stdout; replies are delimited by their u64 length. */
function pipeChannel(child: DeviceProcess): PacketChannel {
  let pending = Buffer.alloc(0);
  let waiting: { resolve: (packet: Uint8Array) => void; reject: (e: Error) => void } | undefined;
  const deliver = () => {
    if (!waiting || pending.length < 8) return;
    const total = 8 + Number(pending.readBigUInt64LE(0));
    if (pending.length < total) return;
    const packet = new Uint8Array(pending.subarray(0, total));
    pending = pending.subarray(total);
    const w = waiting;
    waiting = undefined;
    w.resolve(packet);
  };
  child.stdout.on("data", (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    deliver();
  });
  child.on("exit", (code) => waiting?.reject(new Error(`device exited with ${code}`)));
  return {
    request: (packet, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no reply within ${timeoutMs} ms`)), timeoutMs);
        waiting = {
          resolve: (p) => (clearTimeout(timer), resolve(p)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        };
        child.stdin.write(packet);
        deliver();
      }),
    send: (packet) =>
      new Promise((resolve, reject) => child.stdin.write(packet, (e) => (e ? reject(e) : resolve()))),
  };
}

test("the client drives the C device runtime over raw minRPC packets", async (t) => {
  if (!requireCommand(t, "cc", "a C compiler (gcc or clang)")) return;
  const dir = mkdtempSync(join(tmpdir(), "microtvm-rpc-c-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const program = buildDevice(dir);

  for (const maxPacket of [2048, 256]) {
    await t.test(`device packet buffer ${maxPacket} bytes`, async (st) => {
      const child = spawn(program, [String(maxPacket)], { stdio: ["pipe", "pipe", "pipe"] });
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      st.after(() => {
        if (child.exitCode === null) child.kill("SIGKILL");
      });
      const client = new RpcClient(pipeChannel(child), { timeoutMs: 5000 });
      const runtime = new RemoteRuntime(client);
      assert.equal(await client.maxTransferSize(), maxPacket - 11);

      // Single operator on device tensors.
      const lib = await runtime.systemLib();
      const add = await lib.function("add");
      const a = await runtime.array({ dtype: "int8", shape: [2], data: Uint8Array.of(2, 3) });
      const b = await runtime.array({ dtype: "int8", shape: [2], data: Uint8Array.of(4, 4) });
      const c = await runtime.empty([2], "int8");
      assert.equal(await add.call(a, b, c), null);
      assert.deepEqual(await c.copyTo(), Uint8Array.of(6, 7));
      for (const x of [a, b, c]) await x.free();
      await assert.rejects(
        (await lib.function("fail_msg")).call(),
        (e: unknown) => e instanceof RpcDeviceError && e.deviceMessage.includes("boom: operator failed"),
      );
      assert.equal(await lib.getFunction("no_such_kernel"), undefined);
      assert.equal(await client.getGlobalFunc("no.such.global"), undefined);

      // Host-side graph executor: 500-byte tensors are chunked when the buffer is 256 bytes.
      const graph = {
        nodes: [
          { op: "null", name: "x", inputs: [] },
          { op: "null", name: "p0", inputs: [] },
          {
            op: "tvm_op",
            name: "add1",
            attrs: { func_name: "add", num_outputs: "1" },
            inputs: [
              [0, 0, 0],
              [1, 0, 0],
            ],
          },
          {
            op: "tvm_op",
            name: "add2",
            attrs: { func_name: "add", num_outputs: "1", flatten_data: "1" },
            inputs: [
              [2, 0, 0],
              [2, 0, 0],
            ],
          },
        ],
        arg_nodes: [0, 1],
        heads: [[3, 0, 0]],
        attrs: {
          dltype: ["list_str", ["int8", "int8", "int8", "int8"]],
          storage_id: ["list_int", [0, 1, 2, 0]],
          shape: ["list_shape", [[1, 500], [1, 500], [1, 500], [500]]],
        },
      };
      const params = new Map([["p0", { dtype: "int8", shape: [1, 500], data: new Uint8Array(500).fill(1) }]]);
      const ge = await GraphExecutor.create(runtime, graph, { params });
      await ge.setInput("x", {
        dtype: "int8",
        shape: [1, 500],
        data: Uint8Array.from({ length: 500 }, (_, i) => i % 50),
      });
      await ge.run();
      const out = await ge.getOutput(0);
      assert.deepEqual(out.shape, [500]);
      assert.ok(out.data.every((v, i) => v === 2 * ((i % 50) + 1)));
      await ge.dispose();

      // AOT executor, then device-side timing of run.
      const aot = await AotExecutor.create(runtime, { moduleName: "default" });
      assert.deepEqual(aot.inputNames, ["a", "b"]);
      assert.deepEqual(
        (await aot.outputs()).map((o) => [o.dtype, o.shape]),
        [["int8", [1, 300]]],
      );
      await aot.setInput("a", new Uint8Array(300).fill(5));
      await aot.setInput(1, { dtype: "int8", shape: [1, 300], data: new Uint8Array(300).fill(0xf9) });
      await aot.run();
      const sum = await aot.getOutput(0);
      assert.ok(
        sum.data.every((v) => v === 0xfe),
        "5 + (-7) = -2 everywhere",
      );
      const timing = await aot.timeRun({ number: 5, repeat: 3 });
      assert.equal(timing.results.length, 3);
      assert.ok(timing.results.every((s) => s >= 0 && s < 1));
      await assert.rejects(AotExecutor.create(runtime), RpcDeviceError, "one executor per device boot");
      await aot.dispose();

      await client.shutdown();
      assert.equal(await exited, 0, "the device stops serving after kShutdown");
    });
  }
});
