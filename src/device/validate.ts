// Validation: device outputs of every sample against a reference, the metrics, and the verdict.
import type { HostTensor } from "../rpc/index.js";
import { DeviceError } from "./errors.js";
import {
  checkLimits,
  compareSamples,
  defaultLimits,
  type LimitCheck,
  type ToleranceLimit,
  type ValidationMetrics,
} from "./metrics.js";
import { tensorNumbers, type Reference } from "./reference.js";
import type { TensorSpec } from "./samples.js";

export interface ValidationVerdict {
  readonly metrics: ValidationMetrics;
  /** Every limit checked, per output. */
  readonly checks: readonly LimitCheck[];
  /** The limits came from `--tolerance` (else the default check). */
  readonly explicitLimits: boolean;
  readonly passed: boolean;
}

/** Throws when a sample has no reference (checked before the device runs). */
export function checkReferenceCovers(reference: Reference, names: readonly string[]): void {
  const missing = names.filter((n) => !reference.samples.has(n));
  if (missing.length > 0) {
    throw new DeviceError(
      `${reference.description}: no reference for sample${missing.length > 1 ? "s" : ""} ${missing.map((m) => JSON.stringify(m)).join(", ")}`,
      "bad-file",
    );
  }
}

/**
 * Compares the device's outputs (per sample name, in model output order) with the reference and
 * checks `limits` on every output; without limits the default check applies (exact for integer
 * outputs, 1e-5 relative for floating-point ones).
 */
export function judgeOutputs(
  outputs: readonly TensorSpec[],
  device: ReadonlyMap<string, readonly HostTensor[]>,
  reference: Reference,
  limits: readonly ToleranceLimit[] | undefined,
): ValidationVerdict {
  const names = [...device.keys()];
  checkReferenceCovers(reference, names);
  const inputs = names.map((name) => ({
    name,
    device: device.get(name)!.map(tensorNumbers),
    reference: reference.samples.get(name)!.map((r) => r.values),
  }));
  const metrics = compareSamples(inputs, outputs.length);
  const explicit = limits !== undefined && limits.length > 0;
  const checks = outputs.flatMap((output, o) =>
    checkLimits(
      metrics.outputs[o]!,
      explicit
        ? limits
        : defaultLimits(
            output.dtype,
            inputs.map((s) => s.reference[o]!),
          ),
      o,
    ),
  );
  return { metrics, checks, explicitLimits: explicit, passed: checks.every((c) => c.passed) };
}
