// Measures the Project API path end to end with the loopback example: launch to first reply
// (next to a bare `node -e 0` in the same run), server_info_query round trip, transport
// throughput, and the server's peak RSS. Prints a table, then one JSON line.
// Usage: npm run bench:api   (needs `npm run build` for the bundled loopback server)
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ProjectApiClient, generateProjectFromMlf } from "../src/client/index.js";
import { writeTinyMlf } from "../src/cli/commands/conformance.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const example = join(root, "examples", "loopback-server");
const LAUNCHES = 20;
const ROUND_TRIPS = 2000;
const SIZES = [64, 4096, 65536, 1024 * 1024];

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function bareNodeMs(): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" });
    child.on("error", reject);
    child.on("exit", () => resolve(performance.now() - start));
  });
}

async function launchToFirstReplyMs(dir: string): Promise<number> {
  const start = performance.now();
  const client = await ProjectApiClient.launch(dir);
  try {
    await client.serverInfoQuery();
    return performance.now() - start;
  } finally {
    await client.close();
  }
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function main(): Promise<void> {
  if (!existsSync(join(example, "microtvm_api_server.js"))) {
    console.error("examples/loopback-server/microtvm_api_server.js is missing: run `npm run build` first");
    process.exit(1);
  }
  // Interleave the two launch measurements so both see the same machine load.
  const bare: number[] = [];
  const launch: number[] = [];
  await bareNodeMs();
  await launchToFirstReplyMs(example);
  for (let i = 0; i < LAUNCHES; i++) {
    bare.push(await bareNodeMs());
    launch.push(await launchToFirstReplyMs(example));
  }

  const work = mkdtempSync(join(tmpdir(), "microtvm-bench-"));
  try {
    const mlf = await writeTinyMlf(join(work, "model.tar"));
    const project = await generateProjectFromMlf(example, join(work, "project"), mlf, {
      max_read_bytes: 1024 * 1024,
    });
    const client = project.apiClient;
    try {
      for (let i = 0; i < 200; i++) await client.serverInfoQuery();
      const rtt: number[] = [];
      for (let i = 0; i < ROUND_TRIPS; i++) {
        const t0 = performance.now();
        await client.serverInfoQuery();
        rtt.push((performance.now() - t0) * 1000);
      }

      const rssBeforeTransport = peakRssMiB(client.process!.pid);
      const transport = project.transport();
      await transport.open();
      const throughput: Record<string, number> = {};
      const rssAfter: Record<string, number> = {};
      for (const size of SIZES) {
        const data = new Uint8Array(size).map((_, i) => (i * 31) & 0xff);
        const budget = size >= 65536 ? 8 * 1024 * 1024 : 2 * 1024 * 1024;
        const rounds = Math.max(3, Math.min(2000, Math.floor(budget / size)));
        const start = performance.now();
        for (let r = 0; r < rounds; r++) {
          await transport.write(data, 5);
          let got = 0;
          while (got < size) got += (await transport.read(size - got, 5)).length;
        }
        const seconds = (performance.now() - start) / 1000;
        // Bytes moved to the device and back, per second (1 MB = 10^6 bytes).
        throughput[String(size)] = (2 * size * rounds) / seconds / 1e6;
        rssAfter[String(size)] = peakRssMiB(client.process!.pid);
      }
      await transport.close();
      const rss = peakRssMiB(client.process!.pid);

      const result = {
        launch_ms: median(launch),
        bare_node_ms: median(bare),
        launch_overhead_ms: median(launch) - median(bare),
        round_trip_us: median(rtt),
        throughput_mb_s: throughput,
        server_peak_rss_mib: rss,
        server_peak_rss_before_transport_mib: rssBeforeTransport,
        server_peak_rss_after_size_mib: rssAfter,
      };
      const rows: [string, string, string, boolean][] = [
        ["launch to first reply (median of 20)", `${result.launch_ms.toFixed(1)} ms`, "", true],
        ["bare node -e 0 (median of 20)", `${result.bare_node_ms.toFixed(1)} ms`, "", true],
        [
          "launch overhead over bare node",
          `${result.launch_overhead_ms.toFixed(1)} ms`,
          "≤ 15 ms",
          result.launch_overhead_ms <= 15,
        ],
        [
          `server_info_query round trip (median of ${ROUND_TRIPS})`,
          `${result.round_trip_us.toFixed(1)} µs`,
          "≤ 60 µs",
          result.round_trip_us <= 60,
        ],
        ...SIZES.map((s): [string, string, string, boolean] => [
          `transport loopback ${s >= 1048576 ? `${s / 1048576} MiB` : s >= 1024 ? `${s / 1024} KiB` : `${s} B`}`,
          `${throughput[String(s)]!.toFixed(1)} MB/s`,
          s === 65536 ? "≥ 25 MB/s" : "",
          s === 65536 ? throughput[String(s)]! >= 25 : true,
        ]),
        ["server peak RSS before transport (VmHWM)", `${rssBeforeTransport.toFixed(1)} MiB`, "", true],
        ...SIZES.slice(0, -1).map((s): [string, string, string, boolean] => [
          `server peak RSS after ${s} B transfers`,
          `${rssAfter[String(s)]!.toFixed(1)} MiB`,
          "",
          true,
        ]),
        ["server peak RSS after 1 MiB transfers (VmHWM)", `${rss.toFixed(1)} MiB`, "≤ 64 MiB", rss <= 64],
      ];
      const w0 = Math.max(...rows.map((r) => r[0].length));
      const w1 = Math.max(...rows.map((r) => r[1].length));
      console.log(`${"measure".padEnd(w0)}  ${"value".padStart(w1)}  target`);
      for (const [name, value, target, ok] of rows) {
        console.log(
          `${name.padEnd(w0)}  ${value.padStart(w1)}  ${target}${target ? (ok ? "  ok" : "  MISSED") : ""}`.trimEnd(),
        );
      }
      console.log(JSON.stringify({ bench: "api", ...result }));
    } finally {
      await project.close();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
