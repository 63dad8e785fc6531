// Turning output tensors into what `run` prints: a short value summary, the top-N entries, and
// the flat values of the JSON document.
import { tensorValues, type HostTensor } from "../../rpc/index.js";

/** Flat row-major values as JSON can carry them: 64-bit integers beyond 2^53 as strings, NaN/±Inf as null. */
export function jsonValues(tensor: HostTensor): (number | string | null)[] {
  return tensorValues(tensor).map((v) => {
    if (typeof v === "bigint")
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(v)
        : v.toString();
    return Number.isFinite(v) ? v : null;
  });
}

/** The `n` largest elements (ties: lower index first), as [index, value]. */
export function topN(tensor: HostTensor, n: number): { index: number; value: number | bigint }[] {
  const values = tensorValues(tensor);
  const order = values.map((value, index) => ({ index, value }));
  order.sort((a, b) => {
    if (a.value === b.value) return a.index - b.index;
    // NaN sorts last.
    if (typeof a.value === "number" && Number.isNaN(a.value)) return 1;
    if (typeof b.value === "number" && Number.isNaN(b.value)) return -1;
    return a.value > b.value ? -1 : 1;
  });
  return order.slice(0, Math.max(0, n));
}

/** A number as printed: integers as they are, floats with 6 significant digits. */
export function formatValue(value: number | bigint): string {
  if (typeof value === "bigint" || Number.isInteger(value)) return String(value);
  return Number(value.toPrecision(6)).toString();
}

const SHOW_ALL_UP_TO = 16;

/** All values when there are few; else the first and last few with min / max / mean. */
export function summariseValues(tensor: HostTensor): string {
  const values = tensorValues(tensor);
  if (values.length <= SHOW_ALL_UP_TO) return `[${values.map(formatValue).join(", ")}]`;
  const head = values.slice(0, 6).map(formatValue).join(", ");
  const tail = values.slice(-3).map(formatValue).join(", ");
  const numbers = values.map(Number);
  const min = Math.min(...numbers);
  const max = Math.max(...numbers);
  const mean = numbers.reduce((s, v) => s + v, 0) / numbers.length;
  return `[${head}, …, ${tail}] (${values.length} values; min ${formatValue(min)}, max ${formatValue(max)}, mean ${formatValue(mean)})`;
}

/** Microseconds with a sensible number of digits. */
export function formatMicros(us: number): string {
  if (!Number.isFinite(us)) return "-";
  if (us >= 1000) return `${(us / 1000).toFixed(2)} ms`;
  if (us >= 10) return `${us.toFixed(1)} µs`;
  return `${us.toFixed(3)} µs`;
}

export { median } from "../../device/index.js";
