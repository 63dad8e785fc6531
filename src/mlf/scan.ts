import type { MlfModel } from "./model.js";
import { scanCSource, type PortabilityFinding } from "./portability.js";

/**
 * Scans every module's C sources and header for ARM-only code (ACLE/CMSIS headers and intrinsics,
 * `__builtin_arm_*`, ARM `asm`). An empty result means the C should build for any CPU.
 */
export function scanPortability(model: MlfModel): PortabilityFinding[] {
  const findings: PortabilityFinding[] = [];
  for (const mod of model.modules) {
    const files = [...mod.codegen.sources, ...(mod.codegen.header ? [mod.codegen.header] : [])];
    for (const file of files) findings.push(...scanCSource(file, model.read(file).toString("latin1")));
  }
  return findings;
}
