// The DLDevice of a microTVM target, and the shape checks and spelling of tensors sent to it.
import { RpcUsageError } from "./errors.js";

/** A DLDevice. microTVM devices are always `{ deviceType: 1 (CPU), deviceId: 0 }`. */
export interface Device {
  readonly deviceType: number;
  readonly deviceId: number;
}

/** `kDLCPU`, device 0: the only device a microTVM target has. */
export const CPU_DEVICE: Device = Object.freeze({ deviceType: 1, deviceId: 0 });

/**
 * Parses a device as TVM spells it: `cpu`, `cpu:0`, `cpu(0)`, or a number pair `1:0`. microTVM devices are
 * always the CPU, device 0, and anything else is refused because the device runtime rejects it.
 */
export function parseDevice(text: string): Device {
  const match = /^\s*(cpu|llvm|c|\d+)\s*(?:[:(]\s*(\d+)\s*\)?)?\s*$/i.exec(text);
  const deviceType = match ? (/^\d+$/.test(match[1]!) ? Number(match[1]) : 1) : NaN;
  const deviceId = match?.[2] !== undefined ? Number(match[2]) : 0;
  if (deviceType !== 1 || deviceId !== 0) {
    throw new RpcUsageError(
      `device "${text}" is not supported; a microTVM device is always "cpu" (device type 1, id 0)`,
    );
  }
  return CPU_DEVICE;
}

/** Checks a shape is a list of non-negative safe integers; says which dimension is wrong otherwise. */
export function checkShape(shape: readonly number[], what: string): void {
  shape.forEach((dim, i) => {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new RpcUsageError(
        `${what}: shape dimension ${i} is ${String(dim)}; dimensions must be integers ≥ 0`,
      );
    }
  });
}

/** Formats a shape as TVM/NumPy do: `(1, 1960)`, `(4,)`, `()`. */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}
