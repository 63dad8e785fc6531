// `npm run bench:inference`: the yes/no keyword model on the host template, measured three ways:
// on the device (the device's own timer through runtime.RPCTimeEvaluator), from the host over the
// session (one `run` request, and a whole inference with input upload and output download), and
// natively (the same generated C and runtime compiled into a small harness that times N
// inferences in-process: the floor). Also the session's tensor upload and download throughput,
// and validation throughput: the four kws samples run again and again in one session and
// compared with TensorFlow's outputs, on the host and on qemu-cortex-m (mps2-an386) when its
// toolchain is installed. Each host figure stands next to its floor (the native call plus the pipe
// round trips it needs, measured in the same run with a raw pipe echo through `cat`) and, when TVM
// is beside the repository (../shared/peers/tvm), next to TVM's own C++ host runtime driving the
// same firmware in the same run. Each figure is taken twice in the one session: at its start (the
// first calls, while V8 still interprets the JavaScript of this process and of the Project API
// server) and steady (over thousands more). Prints tables, then one JSON line.
// Usage: npm run bench:inference [-- <model.tar> [<input.bin>]]
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { GeneratedProject, ProjectOptions } from "../src/client/index.js";
import type { Device, DeviceModel, InferenceModel, Sample } from "../src/device/index.js";
import type { HostTensor } from "../src/rpc/index.js";
import { loadBuilt } from "./built.js";

const { TemplateProject } = await loadBuilt<typeof import("../src/client/index.js")>("client/index");
const { formatTable } = await loadBuilt<typeof import("../src/cli/output.js")>("cli/output");
const {
  Device: DeviceClass,
  judgeOutputs,
  loadProjectModel,
  loadReferenceFile,
  loadSamples,
  median,
  outputsByName,
  runSamples,
  templateDirectory,
} = await loadBuilt<typeof import("../src/device/index.js")>("device/index");
const { fillTensor, readTensorFile, tensorValues } =
  await loadBuilt<typeof import("../src/rpc/index.js")>("rpc/index");

/** A model on an opened device (already built and flashed by the caller). */
interface InferenceSession {
  infer(inputs: readonly HostTensor[]): ReturnType<DeviceModel["infer"]>;
  measure(repeat: number, number: number): ReturnType<DeviceModel["measure"]>;
  readonly device: Device;
  close(): Promise<void>;
}

async function openSession(
  project: GeneratedProject,
  model: InferenceModel,
  options: ProjectOptions = {},
): Promise<InferenceSession> {
  const device = await DeviceClass.open(project, { options, build: "never", flash: false });
  const loaded = await device.loadModel(model).catch(async (error: unknown) => {
    await device.close();
    throw error;
  });
  return {
    infer: (inputs) => loaded.infer(inputs),
    measure: (repeat, number) => loaded.measure(repeat, number),
    device,
    close: () => device.close(),
  };
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const fixtures = join(root, "..", "shared", "fixtures");
const archive = process.argv[2] ?? join(fixtures, "yes-no-kws-aot-v5", "model.tar");
const sample = process.argv[3] ?? join(fixtures, "kws-samples", "yes.bin");
const REPEAT = 20;
const NUMBER = 100;
const NATIVE_RUNS = 500;
const NATIVE_BATCHES = 5;
const TRANSFER_BYTES = 64 * 1024;
const TRANSFER_ROUNDS = 5;
/**
 * Steady-state figures: the same call WARM_CALLS more times in the same session, and the median
 * of the last WARM_TAKEN (once V8 has optimised the JavaScript of both Node processes, this one
 * and the Project API server). A second's worth of calls, so that a passing burst of load on a
 * shared machine moves the median little. The session-start figures are the first REPEAT calls.
 */
const WARM_CALLS = 3000;
const WARM_TAKEN = 2000;
/** Tensor copies each way before the steady transfer rate is taken (over the last WARM_COPIES_TAKEN). */
const WARM_COPIES = 100;
const WARM_COPIES_TAKEN = 50;
const samplesDir = join(fixtures, "kws-samples");
/**
 * The host project's pool: the template sizes it from the archive, to the model's needs; the
 * transfer figures need a TRANSFER_BYTES device buffer beside the model, so the bench asks for
 * the size the template used before it sized pools (the packet size stays 128 KiB either way).
 */
const HOST_OPTIONS: ProjectOptions = { workspace_size_bytes: 2 * 1024 * 1024 };
/** Passes over the four samples in one validation session. */
const VALIDATION_ROUNDS = 10;

// The floor: the project's own runtime, glue and model C, called in-process without any RPC.
const HARNESS_C = `
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <microtvm/model.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/platform.h>
#include "models.h"

#define MAX_TENSORS 16

static double now_sec(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
  const mtvm_model_t* m = microtvm_project_models[0];
  long runs = argc > 1 ? atol(argv[1]) : 1000;
  int n = m->num_inputs + m->num_outputs, i;
  DLTensor tensors[MAX_TENSORS];
  void* data[MAX_TENSORS];
  TVMValue args[MAX_TENSORS];
  int codes[MAX_TENSORS];
  if (n > MAX_TENSORS || TVMPlatformInitialize() != kTvmErrorNoError) return 2;
  for (i = 0; i < n; i++) {
    const mtvm_tensor_info_t* info = i < m->num_inputs ? &m->inputs[i] : &m->outputs[i - m->num_inputs];
    size_t size = mtvm_tensor_info_nbytes(info);
    data[i] = calloc(size ? size : 1, 1);
    if (i == 0 && argc > 2) {
      FILE* f = fopen(argv[2], "rb");
      if (f == NULL || fread(data[i], 1, size, f) != size) return 3;
      fclose(f);
    }
    memset(&tensors[i], 0, sizeof(tensors[i]));
    tensors[i].data = data[i];
    tensors[i].device.device_type = kDLCPU;
    tensors[i].ndim = info->ndim;
    tensors[i].dtype = info->dtype;
    tensors[i].shape = (int64_t*)info->shape;
    args[i].v_handle = &tensors[i];
    codes[i] = kTVMDLTensorHandle;
  }
  {
    /* One untimed run first (as the device time evaluator does), then the timed ones. */
    TVMValue ret;
    int ret_code = 0;
    double start = 0;
    for (long r = -1; r < runs; r++) {
      int err;
      if (r == 0) start = now_sec();
      if (m->entry_kind == MTVM_ENTRY_PACKED) err = m->run_packed(args, codes, n, &ret, &ret_code, NULL);
      else err = m->run_c(data, data + m->num_inputs);
      if (err != 0) return 4;
    }
    printf("{\\"seconds_per_inference\\": %.12g, \\"runs\\": %ld, \\"output0\\": [", (now_sec() - start) / (double)runs, runs);
  }
  {
    const mtvm_tensor_info_t* out = &m->outputs[0];
    size_t size = mtvm_tensor_info_nbytes(out), k;
    for (k = 0; k < size && out->dtype.code == kDLInt && out->dtype.bits == 8; k++)
      printf("%s%d", k ? ", " : "", ((int8_t*)data[m->num_inputs])[k]);
  }
  printf("]}\\n");
  return 0;
}
`;

const tvmPeer = join(root, "..", "shared", "peers", "tvm");

// TVM's own host runtime (its Python package over its C++ runtime) driving the built project:
// the same figures as ours, through TVM's Project API client, session and AOT executor.
const TVM_DRIVER = String.raw`
import json, sys, time
import numpy as np
import tvm, tvm.micro
project_dir, input_path, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
def median(v):
    v = sorted(v); n = len(v)
    return (v[(n - 1) // 2] + v[n // 2]) / 2
project = tvm.micro.GeneratedProject.from_directory(project_dir, options={})
with tvm.micro.Session(project.transport()) as sess:
    aot = tvm.micro.create_local_aot_executor(sess)
    shape = aot.get_input(0).shape
    data = np.fromfile(input_path, dtype="int8").reshape(shape) if input_path else np.zeros(shape, "int8")
    aot.set_input(0, data); aot.run(); first = aot.get_output(0).numpy()
    whole, run = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        aot.set_input(0, data); aot.run(); aot.get_output(0).numpy()
        whole.append(time.perf_counter() - t0)
    for _ in range(repeat):
        t0 = time.perf_counter(); aot.run(); run.append(time.perf_counter() - t0)
    buf = tvm.nd.empty((65536,), "uint8", device=sess.device)
    payload = (np.arange(65536) * 31 % 256).astype("uint8")
    t0 = time.perf_counter()
    for _ in range(5): buf.copyfrom(payload)
    up = time.perf_counter() - t0
print(json.dumps({"inference_s": median(whole), "run_s": median(run), "upload_mb_s": 5 * 65536 / up / 1e6,
                  "output0": first.flatten().tolist()}))
`;

interface TvmFigures {
  inference_s: number;
  run_s: number;
  upload_mb_s: number;
  output0: number[];
}

/** TVM's runtime on the same firmware, or why it was not measured. */
function measureTvm(projectDir: string, input: string | undefined): TvmFigures | string {
  if (!existsSync(join(tvmPeer, "env.sh"))) return `TVM not found at ${tvmPeer}`;
  // env.sh finds its folder through BASH_SOURCE, so it is sourced by bash.
  const run = spawnSync(
    "bash",
    [
      "-c",
      '. "$1/env.sh" && exec python3 -c "$2" "$3" "$4" "$5"',
      "bash",
      tvmPeer,
      TVM_DRIVER,
      projectDir,
      input ?? "",
      String(REPEAT),
    ],
    { encoding: "utf8", timeout: 600_000 },
  );
  const line = run.stdout.trim().split("\n").pop() ?? "";
  if (run.status !== 0 || !line.startsWith("{"))
    return `TVM's runtime failed (status ${run.status}): ${run.stderr.trim().split("\n").slice(-3).join(" | ")}`;
  return JSON.parse(line) as TvmFigures;
}

/**
 * The floor for one pipe hop and back: a 64-byte write to `cat` and its echo, median of many; and
 * the echo throughput for 64 KiB writes. A host request crosses two such pipes each way (client ↔
 * Project API server ↔ firmware).
 */
async function pipeEcho(): Promise<{ roundTripSec: number; mbPerSec: number }> {
  const cat = spawn("cat", [], { stdio: ["pipe", "pipe", "ignore"] });
  let pending: { want: number; got: number; done: () => void } | undefined;
  cat.stdout.on("data", (chunk: Buffer) => {
    if (!pending) return;
    pending.got += chunk.length;
    if (pending.got >= pending.want) pending.done();
  });
  const echo = (bytes: Uint8Array) =>
    new Promise<void>((resolve) => {
      pending = { want: bytes.length, got: 0, done: resolve };
      cat.stdin.write(bytes);
    });
  try {
    const small = new Uint8Array(64);
    const times: number[] = [];
    for (let i = 0; i < 1100; i++) {
      const started = performance.now();
      await echo(small);
      if (i >= 100) times.push((performance.now() - started) / 1000);
    }
    const big = new Uint8Array(TRANSFER_BYTES);
    const started = performance.now();
    for (let i = 0; i < 50; i++) await echo(big);
    const mbPerSec = (50 * TRANSFER_BYTES) / ((performance.now() - started) / 1000) / 1e6;
    return { roundTripSec: median(times), mbPerSec };
  } finally {
    cat.stdin.end();
    cat.kill();
  }
}

function micros(seconds: number): string {
  return (seconds * 1e6).toFixed(2);
}

function compileNative(projectDir: string): string {
  const config = readFileSync(join(projectDir, "Makefile"), "utf8");
  const workspace = /^WORKSPACE_SIZE_BYTES \?= (\d+)/m.exec(config)?.[1] ?? "2097152";
  writeFileSync(join(projectDir, "build", "native_bench.c"), HARNESS_C);
  const sources = spawnSync(
    "sh",
    ["-c", "ls firmware/models.c runtime/src/*.c runtime/src/host/*.c model/codegen/host/src/*.c"],
    { cwd: projectDir, encoding: "utf8" },
  )
    .stdout.split("\n")
    .filter(Boolean);
  const output = join(projectDir, "build", "native_bench");
  const args = [
    "-O2",
    `-DTVM_WORKSPACE_SIZE_BYTES=${workspace}`,
    "-Ifirmware",
    "-Iruntime/include",
    "-Wno-incompatible-pointer-types",
    "-Wno-int-conversion",
    "-Wno-implicit-function-declaration",
    "-o",
    output,
    "build/native_bench.c",
    ...sources,
    "-lm",
  ];
  const cc = spawnSync("cc", args, { cwd: projectDir, encoding: "utf8" });
  if (cc.status !== 0) throw new Error(`compiling the native harness failed:\n${cc.stderr}`);
  return output;
}

function haveCommand(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

interface ValidationThroughput {
  target: string;
  samples: number;
  seconds: number;
  samples_per_second: number;
  max_abs_error: number;
  top1_agree: number;
}

/**
 * Runs the kws samples VALIDATION_ROUNDS times in `session` and compares each pass with
 * expected.json; samples per second over all passes (upload, run, download, per sample).
 */
async function validationThroughput(
  target: string,
  session: InferenceSession,
  model: InferenceModel,
  samples: readonly Sample[],
): Promise<ValidationThroughput> {
  const reference = await loadReferenceFile(
    join(samplesDir, "expected.json"),
    model.outputs,
    samples.map((s) => s.name),
  );
  const runner = { infer: (inputs: readonly HostTensor[]) => session.infer(inputs) };
  let seconds = 0;
  let maxAbs = 0;
  let agree = 0;
  for (let round = 0; round < VALIDATION_ROUNDS; round++) {
    const run = await runSamples(runner, samples);
    seconds += run.seconds;
    const verdict = judgeOutputs(model.outputs, outputsByName(run.results), reference, undefined);
    maxAbs = Math.max(maxAbs, verdict.metrics.overall.maxAbsError);
    agree += verdict.metrics.overall.top1.agree;
  }
  const count = samples.length * VALIDATION_ROUNDS;
  return {
    target,
    samples: count,
    seconds,
    samples_per_second: count / seconds,
    max_abs_error: maxAbs,
    top1_agree: agree,
  };
}

/** The same validation on qemu-cortex-m (mps2-an386), or why it cannot run here. */
async function qemuValidation(
  work: string,
  samples: readonly Sample[],
): Promise<ValidationThroughput | string> {
  for (const tool of ["arm-none-eabi-gcc", "qemu-system-arm"])
    if (!haveCommand(tool)) return `${tool} not installed`;
  const template = await TemplateProject.open(templateDirectory("qemu-cortex-m"));
  let project: GeneratedProject | undefined;
  let session: InferenceSession | undefined;
  try {
    try {
      project = await template.generateProject(archive, join(work, "qemu"), { board: "mps2-an386" });
    } finally {
      await template.close();
    }
    await project.build({ board: "mps2-an386" });
    await project.flash({ board: "mps2-an386" });
    const model = await loadProjectModel(project);
    session = await openSession(project, model, { board: "mps2-an386" });
    return await validationThroughput("qemu-cortex-m (mps2-an386)", session, model, samples);
  } finally {
    await session?.close();
    await project?.close();
  }
}

async function main(): Promise<void> {
  if (!existsSync(archive)) {
    console.error(
      `bench: ${archive} not found; pass a model archive (npm run bench:inference -- <model.tar> [<input.bin>])`,
    );
    process.exit(2);
  }
  const work = mkdtempSync(join(tmpdir(), "microtvm-bench-"));
  const projectDir = join(work, "project");
  const template = await TemplateProject.open(templateDirectory("host"));
  let project: GeneratedProject | undefined;
  let session: InferenceSession | undefined;
  try {
    try {
      project = await template.generateProject(archive, projectDir, HOST_OPTIONS);
    } finally {
      await template.close();
    }
    await project.build(HOST_OPTIONS);
    const model = await loadProjectModel(project);
    const info = model.inputs[0]!;
    const input = existsSync(sample)
      ? await readTensorFile(sample, info)
      : fillTensor("random", info.dtype, info.shape);
    session = await openSession(project, model, HOST_OPTIONS);

    const first = await session.infer([input]);
    const deviceOutput = tensorValues(first[0]!).map(Number);
    const timing = await session.measure(REPEAT, NUMBER);
    // Inference: the first REPEAT after the session's first, then WARM_CALLS more.
    const whole: number[] = [];
    for (let i = 0; i < REPEAT + WARM_CALLS; i++) {
      const started = performance.now();
      await session.infer([input]);
      whole.push((performance.now() - started) / 1000);
    }

    // Tensor transfer through the session: one device buffer, copied in and out in full.
    const runtime = session.device.runtime;
    const packetLimit = await runtime.client.maxTransferSize();
    const buffer = await runtime.empty([TRANSFER_BYTES], "uint8");
    const payload = new Uint8Array(TRANSFER_BYTES).map((_, i) => (i * 31) & 0xff);
    // Seconds per copy: the first TRANSFER_ROUNDS, then WARM_COPIES more.
    const copyTimes = async (copy: () => Promise<unknown>): Promise<number[]> => {
      const times: number[] = [];
      for (let i = 0; i < TRANSFER_ROUNDS + WARM_COPIES; i++) {
        const started = performance.now();
        await copy();
        times.push((performance.now() - started) / 1000);
      }
      return times;
    };
    const uploads = await copyTimes(() => buffer.copyFrom(payload));
    const downloads = await copyTimes(() => buffer.copyTo());
    await buffer.free();
    const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
    const rate = (times: readonly number[]) => (TRANSFER_BYTES * times.length) / sum(times) / 1e6;

    // The run round trip again, WARM_CALLS more times.
    const warm = await session.measure(WARM_CALLS, 1);

    // Validation throughput, when the kws samples are there (the default model's).
    let validation: (ValidationThroughput | string)[] = [];
    const kwsSamples = existsSync(join(samplesDir, "expected.json"))
      ? await loadSamples([`${info.name}=${samplesDir}`], model.inputs, "zeros").catch(() => undefined)
      : undefined;
    if (kwsSamples) {
      validation.push(await validationThroughput("host", session, model, kwsSamples));
      await session.close();
      validation.push(await qemuValidation(work, kwsSamples));
    } else {
      await session.close();
      validation = ["the kws samples do not fit this model"];
    }

    const native = compileNative(projectDir);
    // Several processes, each timing NATIVE_RUNS inferences; the median, like the device's.
    const nativeRuns: { seconds_per_inference: number; output0: number[] }[] = [];
    for (let i = 0; i < NATIVE_BATCHES; i++) {
      const run = spawnSync(native, [String(NATIVE_RUNS), ...(existsSync(sample) ? [sample] : [])], {
        encoding: "utf8",
      });
      if (run.status !== 0)
        throw new Error(`the native harness failed (status ${run.status}): ${run.stderr}`);
      nativeRuns.push(JSON.parse(run.stdout) as { seconds_per_inference: number; output0: number[] });
    }
    const nativeResult = {
      seconds_per_inference: median(nativeRuns.map((r) => r.seconds_per_inference)),
      output0: nativeRuns[0]!.output0,
    };

    const deviceSec = median(timing.deviceSec);
    // Session start (the first calls) and steady state (the last WARM_TAKEN of many).
    const start = {
      inference: median(whole.slice(0, REPEAT)),
      run: median(timing.roundTripSec),
      upload: rate(uploads.slice(0, TRANSFER_ROUNDS)),
      download: rate(downloads.slice(0, TRANSFER_ROUNDS)),
    };
    const steady = {
      inference: median(whole.slice(-WARM_TAKEN)),
      run: median(warm.roundTripSec.slice(-WARM_TAKEN)),
      upload: rate(uploads.slice(-WARM_COPIES_TAKEN)),
      download: rate(downloads.slice(-WARM_COPIES_TAKEN)),
    };
    const pipe = await pipeEcho();
    const tvm = measureTvm(projectDir, existsSync(sample) ? sample : undefined);
    const tvmOk = typeof tvm === "object";
    // Floors: the model's own time plus one exchange through the two pipes (client ↔ Project
    // API server ↔ firmware) — all a `run` needs, and all a pipelined inference needs.
    const nativeSec = nativeResult.seconds_per_inference;
    const runFloorSec = nativeSec + 2 * pipe.roundTripSec;
    const inferenceFloorSec = runFloorSec;
    const uploadFloorMBps = pipe.mbPerSec / 2;
    const ratio = (ours: number, other: number) => `${(ours / other).toFixed(2)}×`;
    const us = (sec: number) => `${micros(sec)} µs`;
    const mbps = (value: number) => `${value.toFixed(1)} MB/s`;
    const met = (ok: boolean) => (ok ? "ok" : "MISSED");
    const targets = {
      inference: (sec: number) => sec <= 0.002,
      run: (sec: number) => sec <= 0.0005,
      upload: (rate: number) => rate >= 20,
    };
    const figureRows = [
      [
        "set_input + run + get_output",
        us(start.inference),
        us(steady.inference),
        us(inferenceFloorSec),
        ratio(steady.inference, inferenceFloorSec),
        tvmOk ? us(tvm.inference_s) : "—",
        tvmOk ? ratio(steady.inference, tvm.inference_s) : "—",
        "≤ 2000 µs",
        met(targets.inference(steady.inference)),
        met(targets.inference(start.inference)),
      ],
      [
        "run, host round trip",
        us(start.run),
        us(steady.run),
        us(runFloorSec),
        ratio(steady.run, runFloorSec),
        tvmOk ? us(tvm.run_s) : "—",
        tvmOk ? ratio(steady.run, tvm.run_s) : "—",
        "≤ 500 µs",
        met(targets.run(steady.run)),
        met(targets.run(start.run)),
      ],
      [
        "upload (CopyToRemote)",
        mbps(start.upload),
        mbps(steady.upload),
        mbps(uploadFloorMBps),
        ratio(uploadFloorMBps, steady.upload),
        tvmOk ? `${tvm.upload_mb_s.toFixed(2)} MB/s` : "—",
        tvmOk ? ratio(tvm.upload_mb_s, steady.upload) : "—",
        "≥ 20 MB/s",
        met(targets.upload(steady.upload)),
        met(targets.upload(start.upload)),
      ],
      ["download (CopyFromRemote)", mbps(start.download), mbps(steady.download), "", "", "", "", "", "", ""],
    ];
    const rows = [
      [
        "native in-process (floor)",
        micros(nativeSec),
        `median of ${NATIVE_BATCHES} × ${NATIVE_RUNS} runs; same C and runtime, no RPC`,
      ],
      ["device, runtime.RPCTimeEvaluator", micros(deviceSec), `median of ${REPEAT} × ${NUMBER} runs`],
      ["raw pipe echo round trip (floor)", micros(pipe.roundTripSec), "64 bytes through cat, median of 1000"],
    ];
    console.log(`model ${archive} (${model.executor}), input ${existsSync(sample) ? sample : "random"}`);
    console.log(formatTable(["measure", "µs", "notes"], rows));
    console.log("");
    console.log(
      formatTable(
        [
          "figure (median)",
          "session start",
          "steady",
          "floor",
          "× floor",
          "TVM runtime",
          "× TVM",
          "target",
          "steady",
          "start",
        ],
        figureRows,
      ),
    );
    console.log(
      `session start: the first ${REPEAT} calls of the session (inference: after its first; upload and download: ${TRANSFER_ROUNDS} copies of ${TRANSFER_BYTES / 1024} KiB); steady: the last ${WARM_TAKEN} of ${WARM_CALLS} more (copies: the last ${WARM_COPIES_TAKEN} of ${WARM_COPIES}), once V8 has optimised the JavaScript of both Node processes. Targets are judged on the steady figures; the last column says whether the session-start figure meets them too.`,
    );
    console.log("");
    const measured = validation.filter((v): v is ValidationThroughput => typeof v !== "string");
    console.log(
      formatTable(
        ["validation (one session)", "samples/s", "notes"],
        measured.map((v) => [
          v.target,
          v.samples_per_second.toFixed(1),
          `${VALIDATION_ROUNDS} passes over 4 samples; max abs error ${v.max_abs_error}, top-1 ${v.top1_agree}/${v.samples}`,
        ]),
      ),
    );
    for (const why of validation.filter((v): v is string => typeof v === "string"))
      console.log(`validation skipped: ${why}`);
    console.log(
      `floors: native + one exchange through the two pipes (2 echoes; an inference's three requests go to our firmware as one pipelined exchange); upload: half the raw pipe echo (${pipe.mbPerSec.toFixed(1)} MB/s through cat), as data crosses two pipes. Packets of ≤ ${packetLimit} bytes.`,
    );
    console.log(
      tvmOk
        ? `TVM: its Python package and C++ runtime (${tvmPeer}) on the same firmware; × TVM < 1 means microtvm is faster (upload: > 1).`
        : `TVM: not measured: ${tvm}`,
    );
    console.log(
      `outputs: device [${deviceOutput.join(", ")}], native [${nativeResult.output0.join(", ")}]${tvmOk ? `, TVM [${tvm.output0.join(", ")}]` : ""}`,
    );
    console.log(
      JSON.stringify({
        bench: "inference",
        model: archive,
        executor: model.executor,
        native_us: nativeSec * 1e6,
        device_us_median: deviceSec * 1e6,
        round_trip_us_median: steady.run * 1e6,
        inference_us_median: steady.inference * 1e6,
        upload_mb_per_s: steady.upload,
        download_mb_per_s: steady.download,
        session_start: {
          round_trip_us_median: start.run * 1e6,
          inference_us_median: start.inference * 1e6,
          upload_mb_per_s: start.upload,
          download_mb_per_s: start.download,
        },
        targets_met_steady: {
          inference: targets.inference(steady.inference),
          run: targets.run(steady.run),
          upload: targets.upload(steady.upload),
        },
        targets_met_session_start: {
          inference: targets.inference(start.inference),
          run: targets.run(start.run),
          upload: targets.upload(start.upload),
        },
        pipe_echo_round_trip_us: pipe.roundTripSec * 1e6,
        pipe_echo_mb_per_s: pipe.mbPerSec,
        run_floor_us: runFloorSec * 1e6,
        inference_floor_us: inferenceFloorSec * 1e6,
        tvm: tvmOk
          ? {
              inference_us_median: tvm.inference_s * 1e6,
              round_trip_us_median: tvm.run_s * 1e6,
              upload_mb_per_s: tvm.upload_mb_s,
            }
          : null,
        packet_limit_bytes: packetLimit,
        device_output: deviceOutput,
        native_output: nativeResult.output0,
        validation: measured,
      }),
    );
  } finally {
    await session?.close();
    await project?.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
