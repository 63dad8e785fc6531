// The minRPC client, remote objects, executors and timing, driven against an in-process TEST DOUBLE of the
// device. The double implements only what these tests need; the real device is the C runtime, and the client
// is held to the wire specification by rpc-codec.test.ts, not to this double.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AotExecutor,
  GraphExecutor,
  RemoteModule,
  RemoteNDArray,
  RemoteRuntime,
  RpcChannelError,
  RpcClient,
  RpcDeviceError,
  RpcProtocolError,
  RpcUsageError,
  measureRoundTrip,
  packetChannelOverMessages,
  parseDType,
  storageBytes,
  timeEvaluator,
  type DLTensor,
  type PacketChannel,
  type RpcValue,
} from "../../src/rpc/index.js";
import {
  Arg,
  TypeCode,
  decodeRequest,
  encodeCopyAck,
  encodeException,
  encodeReturn,
  typeCodeOfValue,
  type RpcRequest,
} from "../../src/rpc/codec.js";

type DeviceFn = (args: RpcValue[]) => RpcValue[]; // returns the CallFunc reply values ([Int rc, ...])

class DeviceException extends Error {}

/** TEST DOUBLE of a microTVM device's minRPC server (not the real device; see the file comment). */
class FakeDevice implements PacketChannel {
  /** M: the largest request packet body (L) the device accepts, as GetCRTMaxPacketSize reports it. */
  maxPacket = 2048 - 11;
  hasPacketSizeQuery = true;
  readonly requests: RpcRequest[] = [];
  readonly allocations = new Map<bigint, Uint8Array>();
  readonly ndarrayRefs = new Map<bigint, number>();
  private nextAddress = 0x10000n;
  private inFlight = 0;
  maxInFlight = 0;
  private readonly functions = new Map<bigint, DeviceFn>();
  private readonly globals = new Map<string, bigint>();
  private readonly moduleFunctions = new Map<bigint, Map<string, bigint>>();
  private nextGlobal = 0n;
  private nextModuleFn = 0n;
  kernelCalls: string[] = [];
  /** Sizes of the bursts sent through requestMany. */
  readonly bursts: number[] = [];
  failRuns = false;
  aotCreated = false;
  aotRuns = 0;

  constructor() {
    this.global("runtime.SystemLib", () => [Arg.int(TypeCode.ModuleHandle), Arg.handle(0x8000n)]);
    this.global("tvm.rpc.server.ModuleGetFunction", (args) => {
      this.expectCodes(args, [9, 11, 0], "ModuleGetFunction");
      const [mod, name] = args as unknown as [{ value: bigint }, { value: string }];
      const h = this.moduleFunctions.get(mod.value)?.get(name.value);
      return h === undefined
        ? [Arg.int(TypeCode.Null), Arg.null()]
        : [Arg.int(TypeCode.PackedFuncHandle), Arg.handle(h)];
    });
    this.global("tvm.rpc.server.GetCRTMaxPacketSize", () => [Arg.int(0), Arg.int(this.maxPacket)]);
    this.global("runtime.RPCTimeEvaluator", (args) => this.createTimeEvaluator(args));
    this.global("tvm.aot_executor.create", (args) => this.createAot(args));
    this.moduleFunctions.set(0x8000n, new Map());
    this.moduleFunctions.set(0x8001n, new Map());
    this.kernel("add", (a, b, c) => c.set(a.map((x, i) => x + b[i]!)));
    this.kernel("fused_add", (a, b, c) => c.set(a.map((x, i) => x + b[i]!)));
    this.kernel("fused_double", (a, c) => c.set(a.map((x) => x * 2)));
  }

  global(name: string, fn: DeviceFn): void {
    const h = 0x80028000n | this.nextGlobal++;
    this.globals.set(name, h);
    this.functions.set(h, fn);
  }

  moduleFunction(module: bigint, name: string, fn: DeviceFn): void {
    const h = ((module | 0x8000n) << 16n) | (0x8000n | this.nextModuleFn++);
    this.moduleFunctions.get(module)!.set(name, h);
    this.functions.set(h, fn);
  }

  /** A system-lib kernel over int8 tensors (the graph test uses float32 views of the same bytes). */
  private kernel(name: string, body: (...tensors: Float32Array[]) => void): void {
    this.moduleFunction(0x8000n, name, (args) => {
      this.expectCodes(
        args,
        args.map(() => 7),
        name,
      );
      this.kernelCalls.push(name);
      const views = args.map((a) => this.view((a as { value: DLTensor }).value));
      const floats = views.map((v, i) => {
        const t = (args[i] as { value: DLTensor }).value;
        return t.dtype.code === 2
          ? new Float32Array(v.slice().buffer)
          : Float32Array.from(new Int8Array(v.buffer, v.byteOffset, v.length));
      });
      body(...floats);
      const out = (args[args.length - 1] as { value: DLTensor }).value;
      const target = views[views.length - 1]!;
      if (out.dtype.code === 2) target.set(new Uint8Array(floats[floats.length - 1]!.buffer));
      else target.set(new Uint8Array(Int8Array.from(floats[floats.length - 1]!).buffer));
      return [Arg.int(TypeCode.Null), Arg.null()];
    });
  }

  /** Makes the system lib answer `_lookup_linked_param(sid)` with a pointer to `data` for one storage id. */
  linkParam(storageId: number, data: Uint8Array): bigint {
    const address = this.alloc(data.length);
    this.allocations.get(address)!.set(data);
    this.moduleFunction(0x8000n, "_lookup_linked_param", (args) => {
      this.expectCodes(args, [0], "_lookup_linked_param");
      return (args[0] as { value: bigint }).value === BigInt(storageId)
        ? [Arg.int(TypeCode.OpaqueHandle), Arg.handle(address)]
        : [Arg.int(TypeCode.Null), Arg.null()];
    });
    return address;
  }

  expectCodes(args: RpcValue[], codes: number[], what: string): void {
    const got = args.map(typeCodeOfValue);
    if (got.join(",") !== codes.join(",")) {
      throw new Error(
        `test double: ${what} got type codes [${got}], expected [${codes}]; a real device would hang`,
      );
    }
  }

  alloc(nbytes: number): bigint {
    const address = this.nextAddress;
    this.nextAddress += BigInt(Math.ceil((nbytes + 1) / 64) * 64);
    this.allocations.set(address, new Uint8Array(nbytes));
    return address;
  }

  /** The device bytes a DLTensor covers, from data + byte_offset. */
  view(t: DLTensor, nbytes = storageBytes(t.dtype, t.shape)): Uint8Array {
    const start = t.data + BigInt(t.byteOffset);
    for (const [base, buffer] of this.allocations) {
      if (start >= base && start + BigInt(nbytes) <= base + BigInt(buffer.length)) {
        return buffer.subarray(Number(start - base), Number(start - base) + nbytes);
      }
    }
    throw new DeviceException(`bad address 0x${start.toString(16)}`);
  }

  private ndarray(t: DLTensor): RpcValue[] {
    const h = 0x7000n + t.data;
    this.ndarrayRefs.set(h, (this.ndarrayRefs.get(h) ?? 0) + 1);
    return [Arg.int(TypeCode.NDArrayHandle), Arg.tensor(t), Arg.handle(h)];
  }

  private createAot(args: RpcValue[]): RpcValue[] {
    this.expectCodes(args, [9, 6, 11], "tvm.aot_executor.create");
    if (this.aotCreated) throw new DeviceException("");
    this.aotCreated = true;
    const int8 = parseDType("int8");
    const make = (): DLTensor => ({
      data: this.alloc(2),
      device: { deviceType: 1, deviceId: 0 },
      dtype: int8,
      shape: [1, 2],
      byteOffset: 0,
    });
    const inputs = [make(), make()];
    const output = make();
    const names = ["a", "b"];
    const m = 0x8001n;
    this.moduleFunction(m, "get_num_inputs", () => [Arg.int(0), Arg.int(2)]);
    this.moduleFunction(m, "get_num_outputs", () => [Arg.int(0), Arg.int(1)]);
    this.moduleFunction(m, "get_input_name", ([i]) => [
      Arg.int(TypeCode.Str),
      Arg.str(names[Number((i as { value: bigint }).value)]!),
    ]);
    this.moduleFunction(m, "get_input", ([key]) => {
      const i = key!.type === "str" ? names.indexOf(key.value) : Number((key as { value: bigint }).value);
      if (i < 0) throw new Error("test double: get_input of a missing name aborts a real device");
      return this.ndarray(inputs[i]!);
    });
    this.moduleFunction(m, "get_output", () => this.ndarray(output));
    this.moduleFunction(m, "run", (a) => {
      this.expectCodes(a, [], "run");
      if (this.failRuns) throw new DeviceException("run failed: test double told to fail");
      this.aotRuns += 1;
      const [x, y] = inputs.map((t) => new Int8Array(this.view(t).slice().buffer));
      this.view(output).set(new Uint8Array(Int8Array.from(x!, (v, k) => v + y![k]!).buffer));
      return [Arg.int(TypeCode.Null), Arg.null()];
    });
    return [Arg.int(TypeCode.ModuleHandle), Arg.handle(m)];
  }

  lastEvaluatorArgs: RpcValue[] = [];
  private createTimeEvaluator(args: RpcValue[]): RpcValue[] {
    this.lastEvaluatorArgs = args;
    const codes = args.map(typeCodeOfValue);
    if (codes.length !== 12 && codes.length !== 11) throw new DeviceException("bad argument count");
    const [mod, name, , , number, repeat] = args as unknown as [
      { value: bigint },
      { value: string },
      unknown,
      unknown,
      { value: bigint },
      { value: bigint },
    ];
    const target = this.moduleFunctions.get(mod.value)?.get(name.value);
    if (target === undefined) throw new DeviceException(`no function ${name.value}`);
    const h = 0xffff8001n;
    this.functions.set(h, (callArgs) => {
      const fn = this.functions.get(target)!;
      fn(callArgs);
      const out = new DataView(new ArrayBuffer(Number(repeat.value) * 8));
      for (let r = 0; r < Number(repeat.value); r++) {
        for (let k = 0; k < Number(number.value); k++) fn(callArgs);
        out.setFloat64(r * 8, 0.001 * (r + 1), true);
      }
      return [Arg.int(TypeCode.Bytes), Arg.bytes(new Uint8Array(out.buffer))];
    });
    return [Arg.int(TypeCode.PackedFuncHandle), Arg.handle(h)];
  }

  private syscall(code: number, args: RpcValue[]): RpcValue {
    const h = (v: RpcValue | undefined) => (v as { value: bigint }).value;
    switch (code) {
      case 9: {
        this.expectCodes(args, [11], "GetGlobalFunc");
        const name = (args[0] as { value: string }).value;
        if (name === "tvm.rpc.server.GetCRTMaxPacketSize" && !this.hasPacketSizeQuery) return Arg.handle(0n);
        return Arg.handle(this.globals.get(name) ?? 0n);
      }
      case 10: {
        this.expectCodes(args, [3, 0], "FreeHandle");
        if (h(args[1]) === 13n) {
          const refs = this.ndarrayRefs.get(h(args[0])) ?? 0;
          if (refs <= 0) throw new Error("test double: FreeHandle of an NDArray that holds no reference");
          this.ndarrayRefs.set(h(args[0]), refs - 1);
        }
        return Arg.null();
      }
      case 13: {
        this.expectCodes(args, [6, 0, 0, 5], "DevAllocData");
        return Arg.handle(this.alloc(Number(h(args[1]))));
      }
      case 14: {
        this.expectCodes(args, [6, 3], "DevFreeData");
        if (!this.allocations.delete(h(args[1]))) throw new DeviceException("free of an unknown pointer");
        return Arg.null();
      }
      case 16: {
        this.expectCodes(args, [7, 7, 3], "CopyAmongRemote");
        const [from, to] = args.map((a) => (a as { value: DLTensor }).value);
        this.view(to!).set(this.view(from!));
        return Arg.null();
      }
      case 17: {
        const t = (args[0] as { value: DLTensor }).value;
        return Arg.handle(this.alloc(storageBytes(t.dtype, t.shape)));
      }
      default:
        throw new DeviceException("Syscall not recognized");
    }
  }

  async request(packet: Uint8Array): Promise<Uint8Array> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((resolve) => setImmediate(resolve));
      if (packet.length - 8 > this.maxPacket) {
        throw new Error(
          `test double: a ${packet.length - 8}-byte packet overflows the device buffer (${this.maxPacket})`,
        );
      }
      const req = decodeRequest(packet);
      this.requests.push(req);
      try {
        switch (req.kind) {
          case "callFunc": {
            const fn = this.functions.get(req.handle);
            if (!fn) throw new DeviceException(`unknown function handle 0x${req.handle.toString(16)}`);
            return encodeReturn(fn(req.args));
          }
          case "syscall":
            return encodeReturn([this.syscall(req.code, req.args)]);
          case "copyToRemote":
            this.view(req.tensor, req.data.length).set(req.data);
            return encodeReturn([Arg.null()]);
          case "copyFromRemote":
            return encodeCopyAck(this.view(req.tensor, req.nbytes).slice());
          case "shutdown":
            throw new Error("test double: kShutdown has no reply; it must go through send()");
        }
      } catch (error) {
        if (error instanceof DeviceException) return encodeException(error.message);
        throw error;
      }
    } finally {
      this.inFlight -= 1;
    }
  }

  /** As a session serves a burst: each message in turn, every reply in order. */
  async requestMany(packets: readonly Uint8Array[]): Promise<Uint8Array[]> {
    this.bursts.push(packets.length);
    const replies: Uint8Array[] = [];
    for (const packet of packets) replies.push(await this.request(packet));
    return replies;
  }

  shutdowns = 0;
  async send(packet: Uint8Array): Promise<void> {
    if (decodeRequest(packet).kind !== "shutdown")
      throw new Error("test double: only kShutdown is sent without reply");
    this.shutdowns += 1;
  }

  describe(req: RpcRequest): string {
    if (req.kind === "syscall" && req.code === 9)
      return `GetGlobalFunc ${(req.args[0] as { value: string }).value}`;
    if (req.kind === "syscall") return `syscall ${req.code} [${req.args.map(typeCodeOfValue)}]`;
    if (req.kind === "callFunc") {
      const name = [...this.globals].find(([, h]) => h === req.handle)?.[0];
      return `CallFunc ${name ?? "0x" + req.handle.toString(16)} [${req.args.map(typeCodeOfValue)}]`;
    }
    return req.kind;
  }
}

function setup(options: ConstructorParameters<typeof RpcClient>[1] = {}) {
  const device = new FakeDevice();
  const client = new RpcClient(device, options);
  return { device, client, runtime: new RemoteRuntime(client) };
}

test("the packet limit comes from microtvm.rpc.max_packet_size when the firmware has it", async () => {
  const { device, client } = setup();
  device.global("microtvm.rpc.max_packet_size", () => [Arg.int(0), Arg.int(131072 - 11)]);
  assert.equal(await client.maxTransferSize(), 131072 - 11);
  assert.ok(
    !device.requests.some((r) => device.describe(r).includes("GetCRTMaxPacketSize")),
    "TVM's (capped) figure is not asked for",
  );
});

test("GetGlobalFunc: a known name gives a handle, an unknown name gives undefined (handle 0 is not an error)", async () => {
  const { client } = setup();
  assert.equal(await client.getGlobalFunc("runtime.SystemLib"), 0x80028000n);
  assert.equal(await client.getGlobalFunc("no.such.function"), undefined);
});

test("a device exception becomes RpcDeviceError carrying the device's text", async () => {
  const { client } = setup();
  await assert.rejects(
    client.call(0xdeadn, [], "CallFunc missing"),
    (e: unknown) =>
      e instanceof RpcDeviceError &&
      e.deviceMessage === "unknown function handle 0xdead" &&
      e.operation === "CallFunc missing" &&
      /CallFunc missing: unknown function handle 0xdead/.test(e.message),
  );
  await assert.rejects(
    client.syscall(18, [Arg.device({ deviceType: 1, deviceId: 0 })], "handle", "DevCreateStream"),
    RpcDeviceError,
  );
});

test("single-operator flow: allocate, copy in, call the system-lib kernel, copy out, free", async () => {
  const { runtime, device } = setup();
  const lib = await runtime.systemLib();
  assert.ok(lib instanceof RemoteModule && lib.handle === 0x8000n);
  const add = await lib.function("add");
  const a = await runtime.array({ dtype: "int8", shape: [2], data: Uint8Array.of(2, 3) });
  const b = await runtime.array({ dtype: "int8", shape: [2], data: Uint8Array.of(4, 4) });
  const c = await runtime.empty([2], "int8");
  assert.equal(await add.call(a, b, c), null);
  assert.deepEqual(await c.copyTo(), Uint8Array.of(6, 7));
  assert.equal(await lib.getFunction("no_such_kernel"), undefined);
  for (const t of [a, b, c]) await t.free();
  await c.free(); // a second free sends nothing
  assert.equal(device.allocations.size, 0);
  const sys = device.requests.filter((r) => r.kind === "syscall").map((r) => device.describe(r));
  assert.deepEqual(
    sys.filter((s) => s.startsWith("syscall 17")),
    ["syscall 17 [7,4]", "syscall 17 [7,4]", "syscall 17 [7,4]"],
  );
  assert.equal(sys.filter((s) => s === "syscall 14 [6,3]").length, 3);
});

test("copies are chunked by the device's packet size, queried once per client", async () => {
  const { runtime, device, client } = setup();
  device.maxPacket = 100; // block = 100 − (44 + 8·1) = 48 bytes
  const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) % 251);
  const t = await runtime.array({ dtype: "uint8", shape: [1000], data });
  assert.deepEqual(await t.copyTo(), data);
  const copies = device.requests.filter((r) => r.kind === "copyToRemote");
  assert.equal(copies.length, Math.ceil(1000 / 48));
  assert.deepEqual(
    copies.map((r) => (r.kind === "copyToRemote" ? [r.tensor.byteOffset, r.data.length] : [])),
    Array.from({ length: 21 }, (_, k) => [k * 48, k === 20 ? 1000 - 20 * 48 : 48]),
  );
  assert.equal(device.requests.filter((r) => r.kind === "copyFromRemote").length, 21);
  const queries = device.requests.filter(
    (r) => device.describe(r) === "GetGlobalFunc tvm.rpc.server.GetCRTMaxPacketSize",
  );
  assert.equal(queries.length, 1);
  assert.equal(await client.maxTransferSize(), 100);
  const small = setup({ maxTransferBytes: 40 });
  const u = await small.runtime.empty([4], "uint8");
  await assert.rejects(
    u.copyFrom(new Uint8Array(4)),
    /packet limit \(40 bytes\) does not exceed the 52-byte copy header/,
  );
});

test("without a packet-size query the copy goes in one packet", async () => {
  const { runtime, device } = setup();
  device.hasPacketSizeQuery = false;
  const t = await runtime.array({ dtype: "int32", shape: [100], data: new Uint8Array(400).fill(1) });
  assert.equal(device.requests.filter((r) => r.kind === "copyToRemote").length, 1);
  await assert.rejects(
    t.copyFrom(new Uint8Array(10)),
    (e: unknown) =>
      e instanceof RpcUsageError &&
      /10 bytes into a int32 tensor of shape \[100\], which holds 400/.test(e.message),
  );
});

test("only one request is in flight even when callers do not wait", async () => {
  const { client, device } = setup();
  const names = ["runtime.SystemLib", "tvm.aot_executor.create", "nope", "runtime.RPCTimeEvaluator"];
  const results = await Promise.all(names.map((n) => client.getGlobalFunc(n)));
  assert.deepEqual(results, [0x80028000n, 0x80028004n, undefined, 0x80028003n]);
  assert.equal(device.maxInFlight, 1);
  assert.deepEqual(
    device.requests.map((r) => device.describe(r)),
    names.map((n) => `GetGlobalFunc ${n}`),
  );
});

test("AOT executor: create as TVM does, set inputs by name and index, run, read outputs, release every NDArray", async () => {
  const { runtime, device } = setup();
  const aot = await AotExecutor.create(runtime, { moduleName: "default" });
  assert.deepEqual(
    device.requests.slice(0, 4).map((r) => device.describe(r)),
    [
      "GetGlobalFunc runtime.SystemLib",
      "CallFunc runtime.SystemLib []",
      "GetGlobalFunc tvm.aot_executor.create",
      "CallFunc tvm.aot_executor.create [9,6,11]",
    ],
  );
  const createArgs = (device.requests[3] as { args: RpcValue[] }).args;
  assert.deepEqual(createArgs, [
    Arg.module(0x8000n),
    Arg.device({ deviceType: 1, deviceId: 0 }),
    Arg.str("default"),
  ]);
  const getFunction = device.requests.filter((r) =>
    device.describe(r).startsWith("CallFunc tvm.rpc.server.ModuleGetFunction"),
  );
  assert.ok(
    getFunction.every((r) => device.describe(r) === "CallFunc tvm.rpc.server.ModuleGetFunction [9,11,0]"),
  );
  assert.equal(aot.numInputs, 2);
  assert.equal(aot.numOutputs, 1);
  assert.deepEqual(aot.inputNames, ["a", "b"]);
  assert.deepEqual(
    (await aot.inputs()).map((i) => [i.name, i.dtype, i.shape, i.nbytes]),
    [
      ["a", "int8", [1, 2], 2],
      ["b", "int8", [1, 2], 2],
    ],
  );
  assert.deepEqual(
    (await aot.outputs()).map((o) => [o.name, o.dtype, o.shape]),
    [["output_0", "int8", [1, 2]]],
  );
  await aot.setInput("a", { dtype: "int8", shape: [1, 2], data: Uint8Array.of(2, 3) });
  await aot.setInput(1, Uint8Array.of(4, 0xfc));
  await aot.run();
  const [out] = await aot.getOutputs();
  assert.deepEqual(out, { dtype: "int8", shape: [1, 2], data: Uint8Array.of(6, 0xff) });
  // The executor's arrays are fetched once and kept: a second inference is copies and run only.
  const before = device.requests.length;
  await aot.setInput(1, Uint8Array.of(4, 0xfc));
  await aot.run();
  await aot.getOutputs();
  assert.deepEqual(
    device.requests.slice(before).map((r) => r.kind),
    ["copyToRemote", "callFunc", "copyFromRemote"],
  );
  await aot.dispose();
  assert.ok(
    [...device.ndarrayRefs.values()].every((n) => n === 0),
    "every get_input/get_output NDArray released by dispose",
  );
  const getInputCalls = device.requests.filter(
    (r) => r.kind === "callFunc" && r.args.length === 1 && r.args[0]!.type === "str",
  );
  assert.equal(
    getInputCalls.length,
    0,
    "get_input is always called with an Int index (a Str name can abort the device)",
  );
});

test("AOT executor refuses, without sending, what would hang or abort the device", async () => {
  const { runtime, device } = setup();
  const aot = await AotExecutor.create(runtime);
  const before = device.requests.length;
  await assert.rejects(aot.setInput("c", Uint8Array.of(1, 2)), /no input "c"; its inputs are: a, b/);
  await assert.rejects(
    aot.setInput(2, Uint8Array.of(1, 2)),
    /input index 2 is out of range; the model has 2 inputs/,
  );
  await assert.rejects(aot.getOutput(1), /output index 1 is out of range/);
  assert.equal(device.requests.length, before);
  await assert.rejects(
    aot.setInput("a", Uint8Array.of(1, 2, 3)),
    /int8 \(1, 2\) = 2 bytes, but 3 bytes were given/,
  );
  await assert.rejects(
    aot.setInput("a", { dtype: "float32", shape: [1, 2], data: new Uint8Array(8) }),
    /given tensor is float32/,
  );
  // The refused copies sent nothing but the one get_input that fetched the array (kept for reuse).
  assert.deepEqual(
    device.requests.slice(before).map((r) => r.kind),
    ["callFunc"],
  );
  await aot.dispose();
  assert.ok(
    [...device.ndarrayRefs.values()].every((n) => n === 0),
    "dispose releases the NDArray the refused copies fetched",
  );
  await assert.rejects(
    AotExecutor.create(runtime, { moduleName: "default", inputNames: ["x", "y"] }),
    (e: unknown) => e instanceof RpcDeviceError,
    "a second executor per boot fails on the device",
  );
});

test("time evaluator: 12 arguments in order, float64 seconds per repeat, host wall-clock", async () => {
  const { runtime, device } = setup();
  const aot = await AotExecutor.create(runtime);
  const runsBefore = device.aotRuns;
  const timing = await aot.timeRun({ number: 3, repeat: 4, minRepeatMs: 5 });
  assert.deepEqual(timing.results, [0.001, 0.002, 0.003, 0.004]);
  assert.equal(timing.mean, 0.0025);
  assert.equal(timing.median, 0.0025);
  assert.ok(timing.hostSeconds > 0);
  assert.equal(device.aotRuns - runsBefore, 1 + 3 * 4);
  assert.deepEqual(device.lastEvaluatorArgs, [
    Arg.module(0x8001n),
    Arg.str("run"),
    Arg.int(1),
    Arg.int(0),
    Arg.int(3),
    Arg.int(4),
    Arg.int(5),
    Arg.int(100),
    Arg.int(0),
    Arg.int(1),
    Arg.int(0),
    Arg.str(""),
  ]);
  const lib = await runtime.systemLib();
  const evaluator = await timeEvaluator(await lib.function("add"), { argumentLayout: "v0.10", repeat: 2 });
  assert.equal(device.lastEvaluatorArgs.length, 11);
  assert.deepEqual(device.lastEvaluatorArgs.slice(9), [Arg.int(1), Arg.str("")]);
  const a = await runtime.array({ dtype: "int8", shape: [1], data: Uint8Array.of(1) });
  assert.equal((await evaluator.run(a, a, a)).results.length, 2);
  const global = await runtime.globalFunction("runtime.SystemLib");
  await assert.rejects(timeEvaluator(global), /not a module function/);
  const rt = await measureRoundTrip(global, [], { repeat: 3 });
  assert.equal(rt.results.length, 3);
  assert.ok(rt.min > 0 && rt.min <= rt.max);
});

test("host graph executor: storage per storage id, params, kernels in order, __nop skipped, storage freed", async () => {
  const { runtime, device } = setup();
  const graph = {
    nodes: [
      { op: "null", name: "x", inputs: [] },
      { op: "null", name: "p0", inputs: [] },
      {
        op: "tvm_op",
        name: "add",
        attrs: { func_name: "fused_add", num_inputs: "2", num_outputs: "1", flatten_data: "0" },
        inputs: [
          [0, 0, 0],
          [1, 0, 0],
        ],
      },
      {
        op: "tvm_op",
        name: "reshape_nop",
        attrs: { func_name: "__nop", num_inputs: "1", num_outputs: "1" },
        inputs: [[2, 0, 0]],
      },
      {
        op: "tvm_op",
        name: "double",
        attrs: { func_name: "fused_double", num_inputs: "1", num_outputs: "1", flatten_data: "1" },
        inputs: [[3, 0, 0]],
      },
    ],
    arg_nodes: [0, 1],
    heads: [[4, 0, 0]],
    node_row_ptr: [0, 1, 2, 3, 4, 5],
    attrs: {
      dltype: ["list_str", ["float32", "float32", "float32", "float32", "float32"]],
      storage_id: ["list_int", [0, 1, 2, 2, 0]],
      shape: ["list_shape", [[1, 3], [1, 3], [1, 3], [3], [3]]],
    },
  };
  const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);
  const params = new Map([
    ["p0", { dtype: "float32", shape: [1, 3], data: f32(10, 20, 30) }],
    ["unused", { dtype: "int8", shape: [1], data: Uint8Array.of(1) }],
  ]);
  const ge = await GraphExecutor.create(runtime, JSON.stringify(graph), { params });
  const allocs = device.requests.filter((r) => r.kind === "syscall" && r.code === 13) as {
    args: RpcValue[];
  }[];
  assert.deepEqual(
    allocs.map((r) => r.args),
    [0, 1, 2].map(() => [
      Arg.device({ deviceType: 1, deviceId: 0 }),
      Arg.int(12),
      Arg.int(64),
      Arg.dtype(parseDType("float32")),
    ]),
  );
  assert.deepEqual(
    ge.modelInputs().map((i) => i.name),
    ["x"],
  );
  assert.deepEqual(
    ge.outputs().map((o) => [o.dtype, o.shape]),
    [["float32", [3]]],
  );
  await ge.setInput("x", { dtype: "float32", shape: [1, 3], data: f32(1, 2, 3) });
  await ge.run();
  assert.deepEqual(device.kernelCalls, ["fused_add", "fused_double"]);
  const out = await ge.getOutput(0);
  assert.deepEqual([...new Float32Array(out.data.slice().buffer)], [22, 44, 66]);
  const doubleCall = device.requests.filter((r) => r.kind === "callFunc" && r.args.length === 2).at(-1) as {
    args: { value: DLTensor }[];
  };
  assert.deepEqual(
    doubleCall.args.map((a) => a.value.shape),
    [[3], [3]],
    "flatten_data sends 1-d shapes",
  );
  assert.equal(doubleCall.args[0]!.value.byteOffset, 0);
  await assert.rejects(ge.setInput("y", f32(1, 2, 3)), /no input "y"; its inputs are: x, p0/);
  await assert.rejects(ge.setInput("x", f32(1, 2)), /needs 12 bytes, got 8/);
  await ge.dispose();
  assert.equal(device.allocations.size, 0, "every storage buffer freed with DevFreeData");
  await assert.rejects(ge.run(), /disposed/);
});

test("host graph executor names a kernel the device lacks, and frees what it allocated", async () => {
  const { runtime, device } = setup();
  const graph = {
    nodes: [
      { op: "null", name: "x", inputs: [] },
      {
        op: "tvm_op",
        name: "k",
        attrs: { func_name: "tvmgen_default_missing", num_outputs: "1" },
        inputs: [[0, 0, 0]],
      },
    ],
    arg_nodes: [0],
    heads: [[1, 0, 0]],
    attrs: {
      dltype: ["list_str", ["int8", "int8"]],
      storage_id: ["list_int", [0, 1]],
      shape: ["list_shape", [[4], [4]]],
    },
  };
  await assert.rejects(
    GraphExecutor.create(runtime, graph),
    /node 1 \(k\) needs kernel "tvmgen_default_missing"/,
  );
  assert.equal(device.allocations.size, 0);
});

test("a channel failure disables the client: later requests fail fast instead of reading a stale reply", async () => {
  let calls = 0;
  const channel: PacketChannel = {
    request: async () => {
      calls += 1;
      throw new Error("session reply timeout after 5000 ms");
    },
  };
  const client = new RpcClient(channel, { timeoutMs: 5000 });
  await assert.rejects(
    client.getGlobalFunc("a"),
    (e: unknown) =>
      e instanceof RpcChannelError &&
      /GetGlobalFunc\("a"\) got no reply \(session reply timeout after 5000 ms\); the device may be hung/.test(
        e.message,
      ),
  );
  await assert.rejects(client.getGlobalFunc("b"), /GetGlobalFunc\("b"\) not sent: .*got no reply/);
  assert.equal(calls, 1);
  assert.ok(client.broken instanceof RpcChannelError);
});

test("a malformed or mismatched reply is an RpcProtocolError", async () => {
  const replies = [encodeReturn([Arg.str("x")]), Uint8Array.of(1, 2, 3), encodeCopyAck(Uint8Array.of(1))];
  const channel: PacketChannel = { request: async () => replies.shift()! };
  const client = new RpcClient(channel, { maxTransferBytes: 1000 });
  await assert.rejects(
    client.getGlobalFunc("a"),
    (e: unknown) => e instanceof RpcProtocolError && /expected one handle value, got \[str\]/.test(e.message),
  );
  await assert.rejects(client.getGlobalFunc("a"), RpcProtocolError);
  const t: DLTensor = {
    data: 0x10n,
    device: { deviceType: 1, deviceId: 0 },
    dtype: parseDType("int8"),
    shape: [2],
    byteOffset: 0,
  };
  await assert.rejects(client.copyFromRemote(t), /asked for 2 bytes, kCopyAck carries 1/);
});

test("shutdown goes through send() with no reply; FreeHandle refuses type codes that hang the device", async () => {
  const { client, device } = setup();
  await assert.rejects(client.freeHandle(1n, 7), /type code 7 is not one the device accepts/);
  await client.shutdown();
  assert.equal(device.shutdowns, 1);
  await assert.rejects(client.getGlobalFunc("x"), /shut down/);
  const noSend = new RpcClient({ request: async () => new Uint8Array() });
  await assert.rejects(noSend.shutdown(), RpcUsageError);
  const nd = new RemoteNDArray(
    new RemoteRuntime(noSend),
    {
      data: 1n,
      device: { deviceType: 1, deviceId: 0 },
      dtype: parseDType("int8"),
      shape: [1],
      byteOffset: 0,
    },
    { kind: "borrowed" },
  );
  await nd.free(); // borrowed memory: nothing is sent
});

test("packetChannelOverMessages: one message out per request, the next message in is its reply", async () => {
  const device = new FakeDevice();
  const inbox: Uint8Array[] = [];
  const timeouts: (number | null | undefined)[] = [];
  const endpoint = {
    send: async (body: Uint8Array) => {
      if (decodeRequest(body).kind === "shutdown") return;
      inbox.push(await device.request(body));
    },
    receive: async (timeoutSec?: number | null) => {
      timeouts.push(timeoutSec);
      return inbox.shift()!;
    },
  };
  const client = new RpcClient(packetChannelOverMessages(endpoint), { timeoutMs: 2500 });
  assert.equal(await client.getGlobalFunc("runtime.SystemLib"), 0x80028000n);
  assert.deepEqual(timeouts, [2.5]);
  await client.shutdown();
});

test("host graph executor uses a parameter linked into the firmware instead of allocating it", async () => {
  const { runtime, device } = setup();
  const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);
  const linked = device.linkParam(1, f32(1, 1));
  const graph = {
    nodes: [
      { op: "null", name: "x", inputs: [] },
      { op: "null", name: "p0", inputs: [] },
      {
        op: "tvm_op",
        name: "add",
        attrs: { func_name: "fused_add", num_outputs: "1" },
        inputs: [
          [0, 0, 0],
          [1, 0, 0],
        ],
      },
    ],
    arg_nodes: [0, 1],
    heads: [[2, 0, 0]],
    attrs: {
      dltype: ["list_str", ["float32", "float32", "float32"]],
      storage_id: ["list_int", [0, 1, 2]],
      shape: ["list_shape", [[2], [2], [2]]],
    },
  };
  const ge = await GraphExecutor.create(runtime, graph);
  assert.equal(
    device.requests.filter((r) => r.kind === "syscall" && r.code === 13).length,
    2,
    "sid 1 is not allocated",
  );
  assert.equal(ge.entryTensor(1).data, linked);
  await ge.setInput("x", f32(2, 3));
  await ge.run();
  assert.deepEqual([...new Float32Array((await ge.getOutput(0)).data.slice().buffer)], [3, 4]);
  await ge.dispose();
  assert.deepEqual([...device.allocations.keys()], [linked], "only the host's own buffers are freed");
});

test("a request longer than the device's packet limit is refused before it can hang the device", async () => {
  const { client, device } = setup();
  device.maxPacket = 200;
  assert.equal(
    await client.getGlobalFunc("runtime.SystemLib"),
    0x80028000n,
    "short requests need no size query",
  );
  assert.equal(device.requests.length, 1);
  await assert.rejects(
    client.getGlobalFunc("x".repeat(300)),
    (e: unknown) =>
      e instanceof RpcUsageError &&
      /GetGlobalFunc\("x{77}\.\.\."\): the request is 320 bytes but the device accepts at most 200 per packet/.test(
        e.message,
      ),
  );
  assert.deepEqual(
    device.requests.map((r) => device.describe(r)),
    [
      "GetGlobalFunc runtime.SystemLib",
      "GetGlobalFunc microtvm.rpc.max_packet_size",
      "GetGlobalFunc tvm.rpc.server.GetCRTMaxPacketSize",
      "CallFunc tvm.rpc.server.GetCRTMaxPacketSize []",
    ],
  );
  assert.equal(
    await client.getGlobalFunc("y".repeat(150)),
    undefined,
    "a long request within the limit goes out",
  );
});

/** The test double behind a channel that breaks (no reply, as a closed session) at a chosen request. */
class BreakingChannel implements PacketChannel {
  breakWhen: ((req: RpcRequest) => boolean) | undefined;
  sentAfterBreak: string[] = [];
  private broken = false;
  constructor(readonly device: FakeDevice) {}
  async request(packet: Uint8Array): Promise<Uint8Array> {
    const req = decodeRequest(packet);
    if (this.broken) {
      this.sentAfterBreak.push(this.device.describe(req));
      throw new Error("session closed");
    }
    if (this.breakWhen?.(req)) {
      this.broken = true;
      throw new Error("the device transport closed (firmware exited with status 1)");
    }
    return this.device.request(packet);
  }
}

test("clean-up after a broken channel neither sends frees nor hides the error that broke it", async () => {
  const device = new FakeDevice();
  const channel = new BreakingChannel(device);
  const client = new RpcClient(channel);
  const runtime = new RemoteRuntime(client);
  const aot = await AotExecutor.create(runtime);
  // timeRun: the call of the evaluator's function breaks; its `finally` frees that function.
  const createHandle = (await runtime.globalFunction("runtime.RPCTimeEvaluator")).handle;
  let evaluatorMade = false;
  channel.breakWhen = (req) => {
    if (req.kind !== "callFunc") return false;
    if (req.handle === createHandle) {
      evaluatorMade = true;
      return false;
    }
    return evaluatorMade;
  };
  await assert.rejects(aot.timeRun({ repeat: 1 }), (e: unknown) => {
    assert.ok(e instanceof RpcChannelError, String(e));
    assert.match(e.message, /got no reply \(the device transport closed \(firmware exited with status 1\)\)/);
    assert.doesNotMatch(e.message, /not sent|FreeHandle/);
    return true;
  });
  assert.deepEqual(channel.sentAfterBreak, [], "nothing is sent once the channel broke");

  // Every later clean-up is silent; a real request still says why it cannot be sent.
  await aot.dispose();
  await assert.rejects(aot.run(), /run.* not sent: .*got no reply \(the device transport closed/);
  assert.deepEqual(channel.sentAfterBreak, []);
});

test("a copy that breaks the channel is the error reported, not the FreeHandle after it", async () => {
  for (const kind of ["copyToRemote", "copyFromRemote"] as const) {
    const device = new FakeDevice();
    const channel = new BreakingChannel(device);
    const runtime = new RemoteRuntime(new RpcClient(channel));
    const aot = await AotExecutor.create(runtime);
    channel.breakWhen = (req) => req.kind === kind;
    const attempt =
      kind === "copyToRemote" ? aot.setInput(0, new Uint8Array(2)) : aot.getOutput(0).then(() => undefined);
    await assert.rejects(attempt, (e: unknown) => {
      assert.ok(e instanceof RpcChannelError, String(e));
      assert.match(e.message, new RegExp(`^Copy(To|From)Remote.* got no reply`, "i"));
      return true;
    });
    assert.deepEqual(channel.sentAfterBreak, [], kind);
  }
});

test("when a request and its clean-up both fail on the device, the request's error wins", async () => {
  const device = new FakeDevice();
  const runtime = new RemoteRuntime(new RpcClient(device));
  const aot = await AotExecutor.create(runtime);
  const original = device.request.bind(device);
  device.request = async (packet: Uint8Array) => {
    const req = decodeRequest(packet);
    if (req.kind === "copyFromRemote") return encodeException("copy refused: bad address");
    if (req.kind === "syscall" && req.code === 10) return encodeException("FreeHandle: not a live array");
    return original(packet);
  };
  await assert.rejects(aot.getOutput(0), (e: unknown) => {
    assert.ok(e instanceof RpcDeviceError, String(e));
    assert.match(e.message, /copy refused: bad address/);
    return true;
  });
});

test("AOT infer: to our runtime, the inputs, run and outputs go out in bursts and give the three-step outputs", async () => {
  const { runtime, device } = setup();
  device.global("microtvm.rpc.max_packet_size", () => [Arg.int(0), Arg.int(2048 - 11)]);
  const aot = await AotExecutor.create(runtime, { moduleName: "default" });
  const a = { dtype: "int8", shape: [1, 2], data: Uint8Array.of(2, 3) };
  const b = { dtype: "int8", shape: [1, 2], data: Uint8Array.of(4, 0xfc) };
  await aot.setInput(0, a);
  await aot.setInput(1, b);
  await aot.run();
  const stepwise = await aot.getOutputs();
  const before = device.requests.length;
  device.bursts.length = 0;
  const outputs = await aot.infer([a, { ...b, data: Uint8Array.of(5, 0xfc) }]);
  assert.deepEqual(stepwise[0]!.data, Uint8Array.of(6, 0xff));
  assert.deepEqual(outputs, [{ dtype: "int8", shape: [1, 2], data: Uint8Array.of(7, 0xff) }]);
  assert.deepEqual(
    device.requests.slice(before).map((r) => r.kind),
    ["copyToRemote", "copyToRemote", "callFunc", "copyFromRemote"],
  );
  // 62 + 24 bytes follow the first copy; the 68-byte output copy would pass 100, so it goes
  // alone after the burst (a single request, not a burst).
  assert.deepEqual(device.bursts, [3]);
});

test("AOT infer to a device without microtvm.rpc.max_packet_size (TVM's CRT): one request at a time", async () => {
  const { runtime, device } = setup();
  const aot = await AotExecutor.create(runtime, { moduleName: "default" });
  const outputs = await aot.infer([Uint8Array.of(2, 3), Uint8Array.of(4, 0xfc)]);
  assert.deepEqual(outputs[0]!.data, Uint8Array.of(6, 0xff));
  assert.deepEqual(device.bursts, [], "requestMany is never used");
  assert.equal(device.maxInFlight, 1);
});

test("AOT infer: a request failing inside a burst stops the pipeline after that burst, and the client stays in step", async () => {
  const { runtime, device } = setup();
  device.global("microtvm.rpc.max_packet_size", () => [Arg.int(0), Arg.int(2048 - 11)]);
  const aot = await AotExecutor.create(runtime, { moduleName: "default" });
  await aot.infer([Uint8Array.of(1, 1), Uint8Array.of(1, 1)]);
  device.failRuns = true;
  const before = device.requests.length;
  await assert.rejects(aot.infer([Uint8Array.of(2, 3), Uint8Array.of(4, 0xfc)]), (error: unknown) => {
    assert.ok(error instanceof RpcDeviceError, String(error));
    assert.match((error as Error).message, /CallFunc run.*run failed: test double told to fail/s);
    return true;
  });
  assert.deepEqual(
    device.requests.slice(before).map((r) => r.kind),
    ["copyToRemote", "copyToRemote", "callFunc"],
    "the output copy after the failed burst is not sent",
  );
  device.failRuns = false;
  const [out] = await aot.infer([Uint8Array.of(2, 3), Uint8Array.of(4, 0xfc)]);
  assert.deepEqual(out!.data, Uint8Array.of(6, 0xff), "the next inference reads its own replies");
  await assert.rejects(aot.infer([Uint8Array.of(1)]), /the model has 2 inputs, 1 were given/);
});
