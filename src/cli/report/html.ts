// One self-contained HTML page for `profile`, `build` and `validate` (--report FILE.html): a
// per-operator time chart, the memory breakdown and, for validate, the metrics. Inline SVG and
// CSS only: no script, no font, no request of any kind, so the file opens anywhere, offline.
import type { Footprint } from "../../device/index.js";

export interface ReportOperatorRow {
  readonly name: string;
  readonly calls: number;
  /** Time in the report's unit. */
  readonly value: number;
  /** Share of the operators' total, 0..1. */
  readonly share: number;
}

export interface ReportProfile {
  /** What `value` counts, always named: "SysTick ticks", "µs". */
  readonly unit: string;
  readonly rows: readonly ReportOperatorRow[];
  /** Label and text lines under the chart (totals, agreement with the whole run). */
  readonly totals: readonly (readonly [string, string])[];
  readonly method: string;
  readonly notes?: readonly string[];
}

export interface ReportMetrics {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Overall verdict shown above the table. */
  readonly verdict?: { readonly ok: boolean; readonly text: string };
}

export interface ReportInput {
  readonly title: string;
  /** Key facts at the top (model, project, target, when). */
  readonly facts: readonly (readonly [string, string])[];
  readonly profile?: ReportProfile;
  readonly footprint?: Footprint;
  readonly metrics?: ReportMetrics;
}

const COLORS: Record<string, string> = {
  model_code: "#2b6cb0",
  model_constants: "#63b3ed",
  workspace: "#dd6b20",
  runtime: "#38a169",
  platform: "#805ad5",
  libraries: "#d69e2e",
  stack: "#e53e3e",
  heap: "#ed64a6",
  other: "#a0aec0",
};
const BAR_COLOR = "#2b6cb0";
const FREE_COLOR = "#edf2f7";

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function bytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(2)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

function number(value: number): string {
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  return value >= 100 ? value.toFixed(0) : value >= 1 ? value.toFixed(2) : value.toPrecision(3);
}

function shorten(name: string, max = 48): string {
  return name.length <= max ? name : `${name.slice(0, max - 1)}…`;
}

/** Horizontal bars, one per operator, largest first. */
function operatorChart(profile: ReportProfile): string {
  const rows = profile.rows;
  const labelWidth = 360;
  const barWidth = 420;
  const rowHeight = 22;
  const width = labelWidth + barWidth + 170;
  const height = rows.length * rowHeight + 30;
  const max = Math.max(...rows.map((r) => r.value), 0) || 1;
  const parts = rows.map((row, i) => {
    const y = 10 + i * rowHeight;
    const w = Math.max(1, (row.value / max) * barWidth);
    return [
      `<g class="operator" data-operator="${escapeHtml(row.name)}">`,
      `<title>${escapeHtml(row.name)}: ${escapeHtml(number(row.value))} ${escapeHtml(profile.unit)}, ${(row.share * 100).toFixed(1)} %, ${number(row.calls)} call(s)</title>`,
      `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escapeHtml(shorten(row.name))}</text>`,
      `<rect x="${labelWidth}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowHeight - 6}" fill="${BAR_COLOR}"/>`,
      `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 15}">${escapeHtml(number(row.value))} (${(row.share * 100).toFixed(1)} %)</text>`,
      "</g>",
    ].join("");
  });
  const axisY = 10 + rows.length * rowHeight + 14;
  return (
    `<svg id="operator-chart" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="device time per operator">` +
    parts.join("") +
    `<text x="${labelWidth}" y="${axisY}" class="axis">${escapeHtml(profile.unit)} per inference →</text>` +
    "</svg>"
  );
}

function table(
  columns: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: readonly number[] = [],
): string {
  const head = columns
    .map((c, i) => `<th${numeric.includes(i) ? ' class="num"' : ""}>${escapeHtml(c)}</th>`)
    .join("");
  const body = rows
    .map(
      (row) =>
        `<tr>${row.map((c, i) => `<td${numeric.includes(i) ? ' class="num"' : ""}>${escapeHtml(c)}</td>`).join("")}</tr>`,
    )
    .join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** One stacked bar per memory (flash, RAM), scaled to the target's limit when it has one. */
function memoryChart(footprint: Footprint): string {
  const memories: {
    key: "flash" | "ram" | "externalRam";
    label: string;
    used: number;
    limit: number | null;
  }[] = [
    { key: "flash", label: "flash", used: footprint.flash, limit: footprint.limits.flash },
    { key: "ram", label: "RAM", used: footprint.ram, limit: footprint.limits.ram },
  ];
  if (footprint.externalRam > 0)
    memories.push({
      key: "externalRam",
      label: "external RAM",
      used: footprint.externalRam,
      limit: footprint.limits.externalRam,
    });
  const barWidth = 640;
  const width = barWidth + 260;
  const rowHeight = 46;
  const height = memories.length * rowHeight + 16;
  const rows = memories.map((memory, i) => {
    const y = 8 + i * rowHeight;
    const scale = Math.max(memory.limit ?? 0, memory.used) || 1;
    let x = 90;
    const segments = footprint.components
      .filter((c) => c[memory.key] > 0)
      .map((c) => {
        const w = (c[memory.key] / scale) * barWidth;
        const seg = `<rect class="segment" data-component="${c.name}" x="${x.toFixed(1)}" y="${y}" width="${Math.max(w, 0.5).toFixed(1)}" height="24" fill="${COLORS[c.name] ?? "#718096"}"><title>${escapeHtml(c.label)}: ${escapeHtml(bytes(c[memory.key]))}</title></rect>`;
        x += w;
        return seg;
      });
    const free =
      memory.limit !== null
        ? `<rect x="${x.toFixed(1)}" y="${y}" width="${Math.max(0, 90 + barWidth - x).toFixed(1)}" height="24" fill="${FREE_COLOR}"><title>free: ${escapeHtml(bytes(Math.max(0, memory.limit - memory.used)))}</title></rect>`
        : "";
    const caption =
      memory.limit !== null
        ? `${bytes(memory.used)} of ${bytes(memory.limit)} (${((100 * memory.used) / memory.limit).toFixed(1)} %)`
        : `${bytes(memory.used)} (no fixed limit)`;
    return (
      `<text x="0" y="${y + 17}">${escapeHtml(memory.label)}</text>` +
      free +
      segments.join("") +
      `<text x="${90 + barWidth + 8}" y="${y + 17}">${escapeHtml(caption)}</text>`
    );
  });
  return (
    `<svg id="memory-chart" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="memory by component">` +
    rows.join("") +
    "</svg>"
  );
}

function footprintSection(footprint: Footprint): string {
  const legend = footprint.components
    .filter((c) => c.flash + c.ram + c.externalRam > 0)
    .map(
      (c) =>
        `<span class="key"><span class="swatch" style="background:${COLORS[c.name] ?? "#718096"}"></span>${escapeHtml(c.label)}</span>`,
    )
    .join(" ");
  const rows = footprint.components.map((c) => [
    c.label,
    c.flash ? bytes(c.flash) : "-",
    c.ram ? bytes(c.ram) : "-",
    ...(footprint.externalRam > 0 ? [c.externalRam ? bytes(c.externalRam) : "-"] : []),
  ]);
  rows.push([
    "total",
    bytes(footprint.flash),
    bytes(footprint.ram),
    ...(footprint.externalRam > 0 ? [bytes(footprint.externalRam)] : []),
  ]);
  const w = footprint.workspace;
  const workspace = [
    `needed by the model: ${w.needed === null ? "unknown" : bytes(w.needed)}`,
    `pool reserved by the platform: ${w.poolReserved === null ? "none found" : bytes(w.poolReserved)}`,
    ...(w.modelBuffers > 0 ? [`static buffers in the model's code: ${bytes(w.modelBuffers)}`] : []),
  ];
  return [
    `<section id="memory"><h2>Memory</h2>`,
    footprint.target ? `<p>${escapeHtml(footprint.target)} — ${escapeHtml(footprint.elf)}</p>` : "",
    memoryChart(footprint),
    `<p class="legend">${legend}</p>`,
    table(
      ["component", "flash", "RAM", ...(footprint.externalRam > 0 ? ["external RAM"] : [])],
      rows,
      [1, 2, 3],
    ),
    `<p>Workspace: ${escapeHtml(workspace.join("; "))}.</p>`,
    `<p class="note">size: text ${footprint.size.text}, data ${footprint.size.data}, bss ${footprint.size.bss} bytes. Flash = text + data; RAM = data + bss, with the stack and heap reservations.${footprint.bySource ? "" : " No linker map: the split by component is unavailable."}</p>`,
    "</section>",
  ].join("\n");
}

function profileSection(profile: ReportProfile): string {
  const rows = profile.rows.map((r) => [
    r.name,
    number(r.calls),
    number(r.value),
    `${(r.share * 100).toFixed(1)} %`,
  ]);
  return [
    `<section id="profile"><h2>Device time per operator</h2>`,
    `<p>${escapeHtml(profile.method)}</p>`,
    profile.rows.length > 0 ? operatorChart(profile) : "<p>No operators were timed.</p>",
    table(["operator", "calls", profile.unit, "share"], rows, [1, 2, 3]),
    `<dl>${profile.totals.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("")}</dl>`,
    ...(profile.notes ?? []).map((n) => `<p class="note">${escapeHtml(n)}</p>`),
    "</section>",
  ].join("\n");
}

function metricsSection(metrics: ReportMetrics): string {
  return [
    `<section id="metrics"><h2>${escapeHtml(metrics.title)}</h2>`,
    metrics.verdict
      ? `<p class="verdict ${metrics.verdict.ok ? "pass" : "fail"}">${escapeHtml(metrics.verdict.text)}</p>`
      : "",
    table(metrics.columns, metrics.rows),
    "</section>",
  ].join("\n");
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1000px;color:#1a202c;padding:0 16px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0;max-width:100%}td:first-child{word-break:break-all}
svg{max-width:100%;height:auto}th,td{padding:3px 10px;border-bottom:1px solid #edf2f7;text-align:left}
th{background:#f7fafc}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{color:#4a5568}dd{margin:0}
svg text{font:12px system-ui,sans-serif;fill:#1a202c}svg text.axis{fill:#4a5568}
.legend .key{margin-right:12px;white-space:nowrap}.swatch{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
.note{color:#4a5568;font-size:12px}.verdict{font-weight:600;padding:6px 10px;display:inline-block}
.verdict.pass{background:#c6f6d5}.verdict.fail{background:#fed7d7}
`;

/** The page. Everything it shows is in this one string. */
export function renderReport(input: ReportInput): string {
  const facts = input.facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("");
  return [
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    // No script may run and nothing may be fetched, whoever opens the file.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="microtvm">',
    `<title>${escapeHtml(input.title)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(input.title)}</h1>`,
    `<dl id="facts">${facts}</dl>`,
    input.metrics ? metricsSection(input.metrics) : "",
    input.profile ? profileSection(input.profile) : "",
    input.footprint ? footprintSection(input.footprint) : "",
    "</body></html>",
    "",
  ].join("\n");
}
