// CLI start-up: wall time of `microtvm --version`, `--help`, a command's `--help`, `templates` and
// `doctor --help`, each next to a bare `node -e 0` measured in the same run (runs interleaved, so
// load from other processes hits both alike), and `npx microtvm --version`, the quick start's
// way, against the bin run directly. Prints a table, then one JSON line.
// Usage: npm run bench:cli   (needs `npm run build`: the CLI runs from dist/)
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = join(root, "bin", "microtvm.js");
const RUNS = 15;
const NPX_RUNS = 3;
/** The start-up budget above bare node for --version and the top-level --help. */
const TARGET_OVER_NODE_MS = 30;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function timeMs(command: string, args: string[]): number {
  const start = performance.now();
  const r = spawnSync(command, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  const ms = performance.now() - start;
  if (r.error || (r.status !== 0 && !(args.includes("doctor") && r.status === 1))) {
    throw new Error(`${command} ${args.join(" ")} failed: ${r.error?.message ?? r.stderr}`);
  }
  return ms;
}

interface Case {
  key: string;
  label: string;
  args: string[];
  target?: number;
}

const cases: Case[] = [
  { key: "version", label: "microtvm --version", args: [bin, "--version"], target: TARGET_OVER_NODE_MS },
  { key: "help", label: "microtvm --help", args: [bin, "--help"], target: TARGET_OVER_NODE_MS },
  { key: "build_help", label: "microtvm build --help", args: [bin, "build", "--help"] },
  { key: "run_help", label: "microtvm run --help", args: [bin, "run", "--help"] },
  { key: "doctor_help", label: "microtvm doctor --help", args: [bin, "doctor", "--help"] },
  { key: "templates", label: "microtvm templates --json", args: [bin, "templates", "--json"] },
];

function main(): void {
  if (!existsSync(join(root, "dist", "cli", "main.js"))) {
    console.error("bench:cli needs the compiled CLI: run `npm run build` first");
    process.exit(1);
  }
  // One warm-up of each (file-system cache), then interleaved rounds.
  timeMs(process.execPath, ["-e", "0"]);
  for (const c of cases) timeMs(process.execPath, c.args);
  const node: number[] = [];
  const times = new Map<string, number[]>(cases.map((c) => [c.key, []]));
  for (let i = 0; i < RUNS; i++) {
    node.push(timeMs(process.execPath, ["-e", "0"]));
    for (const c of cases) times.get(c.key)!.push(timeMs(process.execPath, c.args));
  }
  const npx: number[] = [];
  for (let i = 0; i < NPX_RUNS; i++) npx.push(timeMs("npx", ["--no-install", "microtvm", "--version"]));

  const nodeMs = median(node);
  const rows: [string, number, string][] = [["node -e 0 (the floor)", nodeMs, ""]];
  const result: Record<string, number> = { node_ms: round(nodeMs) };
  let met = true;
  for (const c of cases) {
    const ms = median(times.get(c.key)!);
    const over = ms - nodeMs;
    result[`${c.key}_ms`] = round(ms);
    result[`${c.key}_over_node_ms`] = round(over);
    if (c.target !== undefined) met &&= over <= c.target;
    rows.push([
      c.label,
      ms,
      `+${over.toFixed(1)} ms over node${c.target !== undefined ? ` (target ≤ +${c.target})` : ""}`,
    ]);
  }
  const npxMs = median(npx);
  result.npx_version_ms = round(npxMs);
  rows.push(["npx microtvm --version", npxMs, `+${(npxMs - nodeMs).toFixed(1)} ms over node`]);
  result.target_met = met ? 1 : 0;

  const w0 = Math.max(...rows.map((r) => r[0].length));
  console.log(`CLI start-up, median of ${RUNS} runs (npx: ${NPX_RUNS}), wall time`);
  console.log(`${"command".padEnd(w0)}  ${"ms".padStart(8)}  compared`);
  for (const [label, ms, note] of rows)
    console.log(`${label.padEnd(w0)}  ${ms.toFixed(1).padStart(8)}  ${note}`);
  console.log(
    `target (--version and --help within ${TARGET_OVER_NODE_MS} ms of bare node): ${met ? "met" : "NOT met"}`,
  );
  console.log(JSON.stringify({ bench: "cli", runs: RUNS, ...result }));
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

main();
