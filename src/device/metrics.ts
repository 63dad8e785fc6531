// Error metrics between device outputs and reference values, per sample and output, per output
// over all samples, and overall; and the tolerance check that decides pass or fail. Pure.
//
// Over a set of elements d (device) and r (reference):
//   max_abs_error   max |d - r|               mean_abs_error  mean |d - r|
//   rmse            sqrt(mean (d - r)^2)      l2_relative_error  ||d - r|| / ||r||
//   cosine_similarity  d·r / (||d|| ||r||)
// A per-output figure treats that output's elements of every sample as one vector; "overall"
// treats every output's elements of every sample as one. Top-1 agreement counts the samples whose
// argmax (the first largest element) is the same on both sides: per output, and overall the
// samples where every output agrees.

/** The metrics of one comparison. */
export interface ErrorMetrics {
  readonly elements: number;
  readonly maxAbsError: number;
  readonly meanAbsError: number;
  readonly rmse: number;
  /** ||d - r|| / ||r||: 0 when both are zero, Infinity when only the reference is. */
  readonly l2RelativeError: number;
  /** 1 when both vectors are zero, 0 when only one is. */
  readonly cosineSimilarity: number;
  readonly top1: { readonly agree: number; readonly samples: number };
}

export interface SampleOutputComparison {
  readonly maxAbsError: number;
  readonly meanAbsError: number;
  readonly deviceTop1: number;
  readonly referenceTop1: number;
}

export interface SampleComparison {
  readonly name: string;
  readonly outputs: readonly SampleOutputComparison[];
}

export interface ComparisonInput {
  readonly name: string;
  /** Device values per output, in output order. */
  readonly device: readonly ArrayLike<number>[];
  /** Reference values per output, the same lengths. */
  readonly reference: readonly ArrayLike<number>[];
}

export interface ValidationMetrics {
  readonly samples: readonly SampleComparison[];
  /** One per model output, over all samples. */
  readonly outputs: readonly ErrorMetrics[];
  readonly overall: ErrorMetrics;
}

class Accumulator {
  elements = 0;
  maxAbs = 0;
  sumAbs = 0;
  sumSq = 0;
  sumRefSq = 0;
  sumDevSq = 0;
  dot = 0;
  agree = 0;
  samples = 0;

  add(d: ArrayLike<number>, r: ArrayLike<number>): void {
    for (let i = 0; i < d.length; i++) {
      const dv = d[i]!;
      const rv = r[i]!;
      const diff = Math.abs(dv - rv);
      // NaN on either side is an error that must show: it makes the maximum NaN.
      this.maxAbs = Number.isNaN(diff) || Number.isNaN(this.maxAbs) ? NaN : Math.max(this.maxAbs, diff);
      this.sumAbs += diff;
      this.sumSq += diff * diff;
      this.sumRefSq += rv * rv;
      this.sumDevSq += dv * dv;
      this.dot += dv * rv;
    }
    this.elements += d.length;
  }

  result(): ErrorMetrics {
    const n = this.elements;
    const refNorm = Math.sqrt(this.sumRefSq);
    const devNorm = Math.sqrt(this.sumDevSq);
    const errNorm = Math.sqrt(this.sumSq);
    let l2 = refNorm === 0 ? (errNorm === 0 ? 0 : Infinity) : errNorm / refNorm;
    let cosine =
      refNorm === 0 && devNorm === 0
        ? 1
        : refNorm === 0 || devNorm === 0
          ? 0
          : this.dot / (refNorm * devNorm);
    if (Number.isNaN(errNorm)) l2 = NaN;
    if (Number.isNaN(this.dot)) cosine = NaN;
    // Rounding may put a perfect match a hair above 1.
    if (cosine > 1) cosine = 1;
    return {
      elements: n,
      maxAbsError: n === 0 ? 0 : this.maxAbs,
      meanAbsError: n === 0 ? 0 : this.sumAbs / n,
      rmse: n === 0 ? 0 : Math.sqrt(this.sumSq / n),
      l2RelativeError: l2,
      cosineSimilarity: cosine,
      top1: { agree: this.agree, samples: this.samples },
    };
  }
}

/** The index of the first largest element (NaN never wins); -1 when empty. */
export function argmax(values: ArrayLike<number>): number {
  let best = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) continue;
    if (best < 0 || v > values[best]!) best = i;
  }
  return best;
}

/** Compares every sample's outputs with the reference. */
export function compareSamples(samples: readonly ComparisonInput[], outputCount: number): ValidationMetrics {
  const perOutput = Array.from({ length: outputCount }, () => new Accumulator());
  const overall = new Accumulator();
  const rows: SampleComparison[] = [];
  for (const sample of samples) {
    if (sample.device.length !== outputCount || sample.reference.length !== outputCount) {
      throw new Error(`sample ${sample.name}: expected ${outputCount} outputs on both sides`);
    }
    let allAgree = true;
    const outputs: SampleOutputComparison[] = [];
    for (let o = 0; o < outputCount; o++) {
      const d = sample.device[o]!;
      const r = sample.reference[o]!;
      if (d.length !== r.length) {
        throw new Error(
          `sample ${sample.name} output ${o}: ${d.length} device values, ${r.length} reference values`,
        );
      }
      const one = new Accumulator();
      one.add(d, r);
      perOutput[o]!.add(d, r);
      overall.add(d, r);
      const deviceTop1 = argmax(d);
      const referenceTop1 = argmax(r);
      const agree = deviceTop1 === referenceTop1;
      perOutput[o]!.samples++;
      if (agree) perOutput[o]!.agree++;
      else allAgree = false;
      const m = one.result();
      outputs.push({ maxAbsError: m.maxAbsError, meanAbsError: m.meanAbsError, deviceTop1, referenceTop1 });
    }
    overall.samples++;
    if (allAgree) overall.agree++;
    rows.push({ name: sample.name, outputs });
  }
  return { samples: rows, outputs: perOutput.map((a) => a.result()), overall: overall.result() };
}

// ---- tolerances ------------------------------------------------------------------------------------

export type MetricName = "max_abs" | "mean_abs" | "rmse" | "l2_relative" | "cosine" | "top1";

/** What each metric is checked against: errors must not exceed, agreements must reach. */
export const METRICS: Readonly<Record<MetricName, { atLeast: boolean; describe: string }>> = {
  max_abs: { atLeast: false, describe: "max absolute error" },
  mean_abs: { atLeast: false, describe: "mean absolute error" },
  rmse: { atLeast: false, describe: "RMSE" },
  l2_relative: { atLeast: false, describe: "L2 relative error" },
  cosine: { atLeast: true, describe: "cosine similarity" },
  top1: { atLeast: true, describe: "top-1 agreement (fraction of samples)" },
};

export interface ToleranceLimit {
  readonly metric: MetricName;
  readonly value: number;
}

/**
 * Parses `--tolerance` values: a bare number limits the max absolute error; `metric=value` limits
 * one metric (`max_abs`, `mean_abs`, `rmse`, `l2_relative` at most the value; `cosine`, `top1` at
 * least). A malformed one gives a string saying what is wrong.
 */
export function parseToleranceLimit(text: string): ToleranceLimit | string {
  const eq = text.indexOf("=");
  const metric = (eq < 0 ? "max_abs" : text.slice(0, eq).trim()) as MetricName;
  const valueText = eq < 0 ? text : text.slice(eq + 1);
  if (!Object.hasOwn(METRICS, metric)) {
    return `unknown metric ${JSON.stringify(metric)}; use one of ${Object.keys(METRICS).join(", ")} (or a bare number for max_abs)`;
  }
  const value = Number(valueText);
  if (valueText.trim() === "" || !Number.isFinite(value) || value < 0) {
    return `${metric} needs a number >= 0, got ${JSON.stringify(valueText)}`;
  }
  if ((metric === "cosine" || metric === "top1") && value > 1) {
    return `${metric} is at most 1, got ${value}`;
  }
  return { metric, value };
}

export function metricValue(metrics: ErrorMetrics, metric: MetricName): number {
  switch (metric) {
    case "max_abs":
      return metrics.maxAbsError;
    case "mean_abs":
      return metrics.meanAbsError;
    case "rmse":
      return metrics.rmse;
    case "l2_relative":
      return metrics.l2RelativeError;
    case "cosine":
      return metrics.cosineSimilarity;
    case "top1":
      return metrics.top1.samples === 0 ? 1 : metrics.top1.agree / metrics.top1.samples;
  }
}

/** Relative slack of the default check for floating-point outputs (compilers round differently). */
export const DEFAULT_FLOAT_RELATIVE_TOLERANCE = 1e-5;

/**
 * The check when no `--tolerance` is given: integer outputs must match exactly; a floating-point
 * output may differ by 1e-5 of the reference's largest magnitude (at least 1e-5).
 */
export function defaultLimits(dtype: string, reference: readonly ArrayLike<number>[]): ToleranceLimit[] {
  if (!dtype.startsWith("float")) return [{ metric: "max_abs", value: 0 }];
  let largest = 1;
  for (const values of reference)
    for (let i = 0; i < values.length; i++) largest = Math.max(largest, Math.abs(values[i]!));
  return [{ metric: "max_abs", value: DEFAULT_FLOAT_RELATIVE_TOLERANCE * largest }];
}

export interface LimitCheck {
  /** The output's index, or undefined for the overall figures. */
  readonly output: number | undefined;
  readonly metric: MetricName;
  readonly limit: number;
  readonly actual: number;
  readonly passed: boolean;
}

/** Checks limits against figures; NaN never passes. */
export function checkLimits(
  metrics: ErrorMetrics,
  limits: readonly ToleranceLimit[],
  output: number | undefined,
): LimitCheck[] {
  return limits.map(({ metric, value }) => {
    const actual = metricValue(metrics, metric);
    const passed = METRICS[metric].atLeast ? actual >= value : actual <= value;
    return { output, metric, limit: value, actual, passed: passed && !Number.isNaN(actual) };
  });
}
