// Measures the Project API path end to end with the loopback example: launch to first reply
// (next to a bare `node -e 0` in the same run), server_info_query round trip, transport
// throughput, and the server's peak RSS. With python3 on PATH, also the round trip when a
// Python client talking like TVM's drives our server. Prints a table, then one JSON line.
// Usage: npm run bench:api   (needs `npm run build` for the bundled loopback server)
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadBuilt } from "./built.js";

const { ProjectApiClient, generateProjectFromMlf } =
  await loadBuilt<typeof import("../src/client/index.js")>("client/index");
const { writeTinyMlf } = await loadBuilt<typeof import("../src/conformance/index.js")>("conformance/index");

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const example = join(root, "examples", "loopback-server");
const LAUNCHES = 20;
const ROUND_TRIPS = 2000;
const SIZES = [64, 4096, 65536, 1024 * 1024];
// TVM's Python client with TVM's Python server, server_info_query, measured on this machine class.
const REFERENCE_ROUND_TRIP_US = 116;

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

// A Project API client written the way TVM's Python client talks (json.dumps of the request,
// then "\n", through write-through UTF-8 text wrappers over two os.pipe()s; one readline per
// reply), so the round trip can be compared with the reference's own client and server.
const PYTHON_CLIENT = String.raw`
import io, json, os, subprocess, sys, time
project_dir, warmup, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
server_read, client_write = os.pipe()
client_read, server_write = os.pipe()
args = [os.path.join(project_dir, "launch_microtvm_api_server.sh"),
        os.path.join(project_dir, "microtvm_api_server.py"),
        "--read-fd", str(server_read), "--write-fd", str(server_write)]
proc = subprocess.Popen(args, bufsize=0, pass_fds=(server_read, server_write), cwd=project_dir)
os.close(server_read)
os.close(server_write)
reader = io.TextIOWrapper(os.fdopen(client_read, "rb", buffering=0), encoding="UTF-8", errors="strict")
writer = io.TextIOWrapper(os.fdopen(client_write, "wb", buffering=0), encoding="UTF-8", errors="strict",
                          write_through=True)
next_id = 1
def server_info_query():
    global next_id
    request = {"jsonrpc": "2.0", "method": "server_info_query", "params": {"tvm_version": "0.0.0"},
               "id": next_id}
    next_id += 1
    writer.write(json.dumps(request))
    writer.write("\n")
    line = reader.readline()
    if not line:
        raise SystemExit("server closed the channel")
    reply = json.loads(line)
    if reply.get("jsonrpc") != "2.0" or reply["id"] != request["id"] or "result" not in reply:
        raise SystemExit("unexpected reply: " + line)
    return reply["result"]
try:
    for _ in range(warmup):
        server_info_query()
    times = []
    for _ in range(count):
        t0 = time.perf_counter_ns()
        server_info_query()
        times.append((time.perf_counter_ns() - t0) / 1000)
    times.sort()
    print(json.dumps({"median_us": (times[(count - 1) // 2] + times[count // 2]) / 2}))
finally:
    reader.close()
    writer.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
`;

/** Median server_info_query round trip with the Python client, or undefined without python3. */
function pythonClientRoundTripUs(dir: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", ["-c", PYTHON_CLIENT, dir, "200", String(ROUND_TRIPS)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === "ENOENT") resolve(undefined);
      else reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve((JSON.parse(out) as { median_us: number }).median_us);
      else reject(new Error(`python client failed (${signal ?? `exit ${code}`}): ${out}`));
    });
  });
}

/** The floor under a round trip: 64 bytes written to `cat` and echoed back, median of 2000. */
async function pipeEchoUs(): Promise<number> {
  const cat = spawn("cat", [], { stdio: ["pipe", "pipe", "ignore"] });
  let waiting: { want: number; got: number; done: () => void } | undefined;
  cat.stdout.on("data", (chunk: Buffer) => {
    if (!waiting) return;
    waiting.got += chunk.length;
    if (waiting.got >= waiting.want) waiting.done();
  });
  const bytes = new Uint8Array(64);
  const times: number[] = [];
  try {
    for (let i = 0; i < 200 + ROUND_TRIPS; i++) {
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        waiting = { want: bytes.length, got: 0, done: resolve };
        cat.stdin.write(bytes);
      });
      if (i >= 200) times.push((performance.now() - t0) * 1000);
    }
  } finally {
    cat.stdin.end();
    cat.kill();
  }
  return median(times);
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

  const pipeRtt = await pipeEchoUs();
  const pythonRtt = await pythonClientRoundTripUs(example);
  if (pythonRtt === undefined)
    console.log("note: python3 not found; skipping the python client → our server round trip");

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
        pipe_echo_round_trip_us: pipeRtt,
        python_client_round_trip_us: pythonRtt ?? null,
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
        [
          "raw pipe echo round trip, 64 B through cat (floor)",
          `${pipeRtt.toFixed(1)} µs`,
          `round trip = ${(result.round_trip_us / pipeRtt).toFixed(2)}× floor`,
          true,
        ],
        ...(pythonRtt === undefined
          ? []
          : [
              [
                `python client → our server round trip (median of ${ROUND_TRIPS})`,
                `${pythonRtt.toFixed(1)} µs`,
                `< ${REFERENCE_ROUND_TRIP_US} µs (reference client+server)`,
                pythonRtt < REFERENCE_ROUND_TRIP_US,
              ] as [string, string, string, boolean],
            ]),
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
