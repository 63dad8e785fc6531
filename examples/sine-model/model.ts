/**
 * The project's example model: a float32 MLP 1→16→16→1 (ReLU) fitted to sin(x) on [0, 2π], emitted
 * as C in TVM's AOT C-interface shape and packed as a Model Library Format v7 archive.
 * Everything is deterministic: fixed seed, fixed data, float64 training, float32 weights.
 */
import { writeMlf } from "microtvm/mlf";

export const HIDDEN = 16;
const TWO_PI = 2 * Math.PI;

/** Weights in row-major `[out][in]` order, as float32 values. */
export interface SineWeights {
  w1: Float32Array; // [16][1]
  b1: Float32Array; // [16]
  w2: Float32Array; // [16][16]
  b2: Float32Array; // [16]
  w3: Float32Array; // [1][16]
  b3: Float32Array; // [1]
}

/** mulberry32: a tiny seeded PRNG, so every run draws the same initial weights. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fits the MLP with full-batch Adam on a uniform grid of [0, 2π]. */
export function trainSine(options: { seed?: number; epochs?: number; samples?: number } = {}): SineWeights {
  const rand = prng(options.seed ?? 1);
  const epochs = options.epochs ?? 6000;
  const n = options.samples ?? 64;
  const xs = Array.from({ length: n }, (_, i) => (TWO_PI * i) / (n - 1));
  const ys = xs.map(Math.sin);
  const init = (count: number, fanIn: number) =>
    Float64Array.from({ length: count }, () => (rand() * 2 - 1) * Math.sqrt(6 / fanIn));
  const H = HIDDEN;
  // First layer: each unit's kink -b1/w1 lies inside [0, 2π], so no unit starts dead on x ≥ 0.
  const w1 = init(H, 1);
  const b1 = Float64Array.from(w1, (w) => -w * rand() * TWO_PI);
  const p = {
    w1,
    b1,
    w2: init(H * H, H),
    b2: new Float64Array(H),
    w3: init(H, H),
    b3: new Float64Array(1),
  };
  const keys = Object.keys(p) as (keyof typeof p)[];
  const m = Object.fromEntries(keys.map((k) => [k, new Float64Array(p[k].length)])) as typeof p;
  const v = Object.fromEntries(keys.map((k) => [k, new Float64Array(p[k].length)])) as typeof p;
  const g = Object.fromEntries(keys.map((k) => [k, new Float64Array(p[k].length)])) as typeof p;
  const h1 = new Float64Array(H);
  const h2 = new Float64Array(H);
  const d2 = new Float64Array(H);
  const d1 = new Float64Array(H);
  const beta1 = 0.9;
  const beta2 = 0.999;
  let beta1Power = 1;
  let beta2Power = 1;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    // Step schedule; no Math.pow, so every platform computes the same bits.
    const lr = epoch <= epochs / 2 ? 0.01 : epoch <= (epochs * 3) / 4 ? 0.003 : 0.001;
    beta1Power *= beta1;
    beta2Power *= beta2;
    for (const k of keys) g[k].fill(0);
    for (let s = 0; s < n; s++) {
      const x = xs[s]!;
      for (let j = 0; j < H; j++) h1[j] = Math.max(0, p.w1[j]! * x + p.b1[j]!);
      for (let j = 0; j < H; j++) {
        let acc = p.b2[j]!;
        for (let i = 0; i < H; i++) acc += p.w2[j * H + i]! * h1[i]!;
        h2[j] = Math.max(0, acc);
      }
      let y = p.b3[0]!;
      for (let i = 0; i < H; i++) y += p.w3[i]! * h2[i]!;
      const dy = (2 * (y - ys[s]!)) / n; // d(mean squared error)/dy
      g.b3[0]! += dy;
      for (let i = 0; i < H; i++) {
        g.w3[i]! += dy * h2[i]!;
        d2[i] = h2[i]! > 0 ? dy * p.w3[i]! : 0;
      }
      d1.fill(0);
      for (let j = 0; j < H; j++) {
        g.b2[j]! += d2[j]!;
        for (let i = 0; i < H; i++) {
          g.w2[j * H + i]! += d2[j]! * h1[i]!;
          d1[i]! += d2[j]! * p.w2[j * H + i]!;
        }
      }
      for (let j = 0; j < H; j++) {
        const dj = h1[j]! > 0 ? d1[j]! : 0;
        g.b1[j]! += dj;
        g.w1[j]! += dj * x;
      }
    }
    const c1 = 1 - beta1Power;
    const c2 = 1 - beta2Power;
    for (const k of keys) {
      const pk = p[k];
      for (let i = 0; i < pk.length; i++) {
        const gi = g[k][i]!;
        m[k][i] = beta1 * m[k][i]! + (1 - beta1) * gi;
        v[k][i] = beta2 * v[k][i]! + (1 - beta2) * gi * gi;
        pk[i]! -= (lr * (m[k][i]! / c1)) / (Math.sqrt(v[k][i]! / c2) + 1e-8);
      }
    }
  }
  return {
    w1: Float32Array.from(p.w1),
    b1: Float32Array.from(p.b1),
    w2: Float32Array.from(p.w2),
    b2: Float32Array.from(p.b2),
    w3: Float32Array.from(p.w3),
    b3: Float32Array.from(p.b3),
  };
}

/** The forward pass in float32, operation for operation as the generated C computes it. */
export function predict(w: SineWeights, x: number): number {
  const f = Math.fround;
  const H = HIDDEN;
  const h1 = new Float32Array(H);
  const h2 = new Float32Array(H);
  for (let j = 0; j < H; j++) h1[j] = Math.max(0, f(f(w.w1[j]! * f(x)) + w.b1[j]!));
  for (let j = 0; j < H; j++) {
    let acc = f(0);
    for (let i = 0; i < H; i++) acc = f(acc + f(w.w2[j * H + i]! * h1[i]!));
    h2[j] = Math.max(0, f(acc + w.b2[j]!));
  }
  let y = f(0);
  for (let i = 0; i < H; i++) y = f(y + f(w.w3[i]! * h2[i]!));
  return f(y + w.b3[0]!);
}

/** Largest |model(x) − sin(x)| over `points` evenly spaced x in [0, 2π]. */
export function maxError(w: SineWeights, points = 1000): number {
  let worst = 0;
  for (let i = 0; i < points; i++) {
    const x = (TWO_PI * i) / (points - 1);
    worst = Math.max(worst, Math.abs(predict(w, x) - Math.sin(x)));
  }
  return worst;
}

/** A float32 as a C literal that reads back to the same float (9 significant digits). */
function cFloat(value: number): string {
  const v = Math.fround(value);
  if (Object.is(v, -0) || v === 0) return "0.0f";
  const text = v.toPrecision(9);
  return `${text.includes("e") || text.includes(".") ? text : `${text}.0`}f`;
}

function cArray(name: string, values: Float32Array, perLine = 8): string {
  const rows: string[] = [];
  for (let i = 0; i < values.length; i += perLine) {
    rows.push(`    ${Array.from(values.subarray(i, i + perLine), cFloat).join(", ")}`);
  }
  return `static const float ${name}[${values.length}] = {\n${rows.join(",\n")}\n};\n`;
}

/** `default_lib0.c`: the C-interface entry point, forwarding to the model's main function. */
export function generateLib0(): string {
  return `// Entry point of the sine model (AOT C interface).
#include <stdint.h>
#include <tvmgen_default.h>

int32_t tvmgen_default___tvm_main__(void* x, void* y);

int32_t tvmgen_default_run(struct tvmgen_default_inputs* inputs, struct tvmgen_default_outputs* outputs) {
  return tvmgen_default___tvm_main__(inputs->x, outputs->y);
}
`;
}

/** `default_lib1.c`: the weights as constants, the fused operators and the main function. */
export function generateLib1(w: SineWeights): string {
  const H = HIDDEN;
  return `// Sine model operators: dense(1->16)+relu, dense(16->16)+relu, dense(16->1).
// Weights are row-major [out][in]; generated by examples/sine-model/make-model.ts.
#include <stdint.h>

${cArray("constant_w1", w.w1)}
${cArray("constant_b1", w.b1)}
${cArray("constant_w2", w.w2)}
${cArray("constant_b2", w.b2)}
${cArray("constant_w3", w.w3)}
${cArray("constant_b3", w.b3)}
/* out[j] = max(0, sum_i weight[j][i] * in[i] + bias[j]) */
static int32_t tvmgen_default_fused_nn_dense_add_nn_relu(const float* in, const float* weight,
                                                        const float* bias, float* out, int32_t n_in,
                                                        int32_t n_out) {
  for (int32_t j = 0; j < n_out; ++j) {
    float acc = 0.0f;
    for (int32_t i = 0; i < n_in; ++i) {
      acc += weight[j * n_in + i] * in[i];
    }
    acc += bias[j];
    out[j] = acc > 0.0f ? acc : 0.0f;
  }
  return 0;
}

/* out[0] = sum_i weight[0][i] * in[i] + bias[0] */
static int32_t tvmgen_default_fused_nn_dense_add(const float* in, const float* weight,
                                                 const float* bias, float* out, int32_t n_in) {
  float acc = 0.0f;
  for (int32_t i = 0; i < n_in; ++i) {
    acc += weight[i] * in[i];
  }
  out[0] = acc + bias[0];
  return 0;
}

int32_t tvmgen_default___tvm_main__(void* x, void* y) {
  float hidden1[${H}];
  float hidden2[${H}];
  (void)tvmgen_default_fused_nn_dense_add_nn_relu((const float*)x, constant_w1, constant_b1, hidden1, 1, ${H});
  (void)tvmgen_default_fused_nn_dense_add_nn_relu(hidden1, constant_w2, constant_b2, hidden2, ${H}, ${H});
  (void)tvmgen_default_fused_nn_dense_add(hidden2, constant_w3, constant_b3, (float*)y, ${H});
  return 0;
}
`;
}

/** The Relay text of the model, as TVM would print it before binding the weights. */
export function generateRelay(): string {
  const H = HIDDEN;
  return `#[version = "0.0.5"]
def @main(%x: Tensor[(1, 1), float32], %v_param_1: Tensor[(${H}, 1), float32], %v_param_2: Tensor[(${H}), float32], %v_param_3: Tensor[(${H}, ${H}), float32], %v_param_4: Tensor[(${H}), float32], %v_param_5: Tensor[(1, ${H}), float32], %v_param_6: Tensor[(1), float32], output_tensor_names=["y"]) -> Tensor[(1, 1), float32] {
  %0 = nn.dense(%x, %v_param_1, units=${H}) /* ty=Tensor[(1, ${H}), float32] */;
  %1 = nn.bias_add(%0, %v_param_2) /* ty=Tensor[(1, ${H}), float32] */;
  %2 = nn.relu(%1) /* ty=Tensor[(1, ${H}), float32] */;
  %3 = nn.dense(%2, %v_param_3, units=${H}) /* ty=Tensor[(1, ${H}), float32] */;
  %4 = nn.bias_add(%3, %v_param_4) /* ty=Tensor[(1, ${H}), float32] */;
  %5 = nn.relu(%4) /* ty=Tensor[(1, ${H}), float32] */;
  %6 = nn.dense(%5, %v_param_5, units=1) /* ty=Tensor[(1, 1), float32] */;
  nn.bias_add(%6, %v_param_6) /* ty=Tensor[(1, 1), float32] */
}
`;
}

/** A fixed export time, so the archive is byte-for-byte reproducible. */
export const EXPORT_DATETIME = "2024-06-11 12:00:00Z";

/** Trains the model and packs it; returns the archive bytes (written to `output` when given). */
export async function buildSineArchive(output?: string): Promise<{ tar: Buffer; weights: SineWeights }> {
  const weights = trainSine();
  const constants = Object.values(weights).reduce((a: number, arr: Float32Array) => a + arr.byteLength, 0);
  const tar = await writeMlf({
    moduleName: "default",
    sources: [
      { name: "default_lib0.c", content: generateLib0() },
      { name: "default_lib1.c", content: generateLib1(weights) },
    ],
    inputs: [{ name: "x", dtype: "float32", shape: [1, 1] }],
    outputs: [{ name: "y", dtype: "float32", shape: [1, 1] }],
    workspaceBytes: 0,
    constantsBytes: constants,
    targets: ["c -keys=cpu"],
    relay: generateRelay(),
    operatorFunctions: [
      { name: "tvmgen_default_fused_nn_dense_add_nn_relu", workspaceBytes: 0 },
      { name: "tvmgen_default_fused_nn_dense_add", workspaceBytes: 0 },
    ],
    exportDatetime: EXPORT_DATETIME,
    output,
  });
  return { tar, weights };
}
