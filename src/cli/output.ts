// Output helpers: the only place the CLI formats tables and JSON documents for stdout.

/** Writes one JSON document (with its `schema` first) to stdout, as `--json` promises. */
export function printJson(schema: string, body: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ schema, ...body }, null, 2)}\n`);
}

/** Formats rows as left-aligned columns under a header, two spaces apart. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** A JSON value as short text for a table cell (`-` for null/absent). */
export function cell(value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.length === 0 ? "-" : value.map(String).join(", ");
  return JSON.stringify(value);
}

/** `value` rounded to a multiple of `step` (0.1, 0.01, 0.001), without binary-fraction noise. */
export function roundTo(value: number, step: number): number {
  const digits = Math.max(0, Math.round(-Math.log10(step)));
  return Number((Math.round(value / step) * step).toFixed(digits));
}

/** Microseconds to 0.1 µs: finer than any host or device timer the figures come from. */
export const roundMicros = (us: number): number => roundTo(us, 0.1);
/** Throughput in MB/s to 0.01. */
export const roundMBps = (mbps: number): number => roundTo(mbps, 0.01);
/** Seconds to 1 ms. */
export const roundSeconds = (s: number): number => roundTo(s, 0.001);
