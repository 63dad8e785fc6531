// Reliability campaigns: hostile requests, mutated archives, damaged transports, killed firmware
// and concurrent commands against the real servers and CLI. Each campaign is bounded in trials
// and time and seeded, so a finding can be replayed. `npm run fuzz` runs them all and prints the
// table docs/reliability.md shows; test/integration/fuzz-smoke.test.ts runs a few trials of each.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildModel, buildTar, extractMlf, MlfError, openMlf } from "../../src/mlf/index.js";
import { repoRoot } from "../helpers/paths.js";
import { processesMentioning, runCli, survivors } from "../helpers/processes.js";

export interface Tally {
  campaign: string;
  trials: number;
  crashes: number;
  hangs: number;
  orphans: number;
  filesOutside: number;
  silentlyWrong: number;
  foreignFirmware: number;
  findings: string[];
}

export function tally(campaign: string): Tally {
  return {
    campaign,
    trials: 0,
    crashes: 0,
    hangs: 0,
    orphans: 0,
    filesOutside: 0,
    silentlyWrong: 0,
    foreignFirmware: 0,
    findings: [],
  };
}

/** mulberry32: a small deterministic PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rand: () => number, list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;

const WEIRD: unknown[] = [
  null,
  true,
  -1,
  0,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 1,
  "",
  "x".repeat(1000),
  "\u0000",
  [],
  {},
  [[[]]],
  { a: { b: null } },
  "../../etc/passwd",
];

/** One request line: a valid method with mutated params, or a broken envelope. */
function requestLine(rand: () => number, id: number, dir: string): string {
  const methods = [
    "server_info_query",
    "generate_project",
    "build",
    "flash",
    "open_transport",
    "close_transport",
    "read_transport",
    "write_transport",
    "nope",
    "__proto__",
  ];
  const params: Record<string, unknown> = {
    tvm_version: "0.18",
    options: {},
    n: 1 + Math.floor(rand() * 8),
    timeout_sec: pick(rand, [0, 0.01, null]),
    data: "",
    model_library_format_path: join(dir, "missing.tar"),
    project_dir: join(dir, `p${id}`),
    standalone_crt_dir: "/nonexistent",
  };
  for (const key of Object.keys(params)) if (rand() < 0.2) params[key] = pick(rand, WEIRD);
  if (rand() < 0.1) delete params[pick(rand, Object.keys(params))];
  const envelope: Record<string, unknown> = { jsonrpc: "2.0", method: pick(rand, methods), params, id };
  if (rand() < 0.1) envelope[pick(rand, ["jsonrpc", "method", "params", "id"])] = pick(rand, WEIRD);
  let line = JSON.stringify(envelope);
  const r = rand();
  if (r < 0.05) line = line.slice(0, Math.floor(rand() * line.length));
  else if (r < 0.08) line = "[".repeat(1100) + "]".repeat(1100);
  return line;
}

/**
 * Launches a server (a template directory) with fds 3/4 and sends a burst of fuzzed lines. A crash
 * is an exit other than 0 or a stack on stderr; a hang, no reply or exit within the deadline; an
 * orphan, a process left mentioning the directory afterwards.
 */
export async function fuzzRequests(
  out: Tally,
  serverDir: string,
  work: string,
  seed: number,
  launches: number,
  linesPerLaunch: number,
): Promise<void> {
  for (let launch = 0; launch < launches; launch++) {
    const rand = prng(seed + launch);
    const child = spawn(
      join(serverDir, "launch_microtvm_api_server.sh"),
      [join(serverDir, "microtvm_api_server.py"), "--read-fd", "3", "--write-fd", "4"],
      { cwd: serverDir, stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] },
    );
    let stderr = "";
    let replies = 0;
    child.stderr!.on("data", (c: Buffer) => (stderr += c));
    const requests = child.stdio[3] as NodeJS.WritableStream;
    const repliesStream = child.stdio[4] as NodeJS.ReadableStream;
    (requests as unknown as { on(e: string, f: () => void): void }).on("error", () => {});
    repliesStream.on("data", (c: Buffer) => (replies += c.toString().split("\n").length - 1));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal })),
    );
    for (let i = 0; i < linesPerLaunch; i++) {
      out.trials++;
      requests.write(`${requestLine(rand, i + 1, work)}\n`);
    }
    requests.end();
    const deadline = new Promise<"hang">((resolve) => setTimeout(() => resolve("hang"), 20_000));
    const result = await Promise.race([exited, deadline]);
    if (result === "hang") {
      out.hangs++;
      out.findings.push(`requests seed ${seed + launch}: no exit 20 s after EOF (${replies} replies)`);
      child.kill("SIGKILL");
      await exited;
    } else if (result.code !== 0 || /TypeError|RangeError|Uncaught|FATAL/.test(stderr)) {
      out.crashes++;
      out.findings.push(
        `requests seed ${seed + launch}: exit ${result.code ?? result.signal}: ${stderr.slice(-300)}`,
      );
    }
    // What the server started (a generated project, firmware) lives under `work`, unique to this run.
    if (processesMentioning(work).length > 0) out.orphans++;
  }
}

/** Mutates metadata.json values and the tar bytes of a real archive; the reader must refuse cleanly. */
export async function fuzzArchives(
  out: Tally,
  archive: string,
  work: string,
  seed: number,
  trials: number,
  cliEvery = 0,
): Promise<void> {
  const model = await openMlf(archive);
  const files = new Map(model.files.map((f) => [f, model.read(f)]));
  const meta = JSON.parse(files.get("metadata.json")!.toString("utf8")) as unknown;
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, p: (string | number)[]) => {
    if (p.length > 0) paths.push(p);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...p, i]));
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
  };
  walk(meta, []);
  const fence = join(work, "fence");
  mkdirSync(fence, { recursive: true });
  const before = new Set(readdirSync(fence));
  for (let t = 0; t < trials; t++) {
    const rand = prng(seed + t);
    out.trials++;
    const mutated = structuredClone(meta) as Record<string | number, unknown>;
    const path = pick(rand, paths);
    let node = mutated as Record<string | number, unknown>;
    for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
    node[path[path.length - 1]!] = pick(rand, WEIRD);
    const copy = new Map(files);
    copy.set("metadata.json", Buffer.from(JSON.stringify(mutated)));
    try {
      buildModel("fuzz.tar", "tar", copy);
    } catch (error) {
      if (!(error instanceof MlfError)) {
        out.crashes++;
        out.findings.push(
          `archive seed ${seed + t}: ${path.join(".")}: ${(error as Error).stack?.split("\n")[0]}`,
        );
      }
    }
    // Byte damage in the tar itself, extracted next to a fence directory that must stay as it is.
    const tar = Buffer.from(
      buildTar([...copy].map(([name, data]) => ({ name, type: "file" as const, data }))),
    );
    for (let k = 0; k < 4; k++) tar[Math.floor(rand() * tar.length)] = Math.floor(rand() * 256);
    const tarPath = join(work, `fuzz-${t}.tar`);
    writeFileSync(tarPath, tar);
    const target = join(fence, `x${t}`);
    try {
      await extractMlf(tarPath, target);
      rmSync(target, { recursive: true, force: true });
    } catch (error) {
      if (!(error instanceof MlfError)) {
        out.crashes++;
        out.findings.push(`extract seed ${seed + t}: ${(error as Error).message}`);
      }
    }
    const after = readdirSync(fence).filter((f) => !before.has(f));
    if (after.length > 0) {
      out.filesOutside++;
      out.findings.push(`extract seed ${seed + t}: left ${after.join(", ")}`);
      for (const f of after) rmSync(join(fence, f), { recursive: true, force: true });
    }
    if (cliEvery > 0 && t % cliEvery === 0) {
      const bad = join(work, `bad-${t}.tar`);
      writeFileSync(bad, buildTar([...copy].map(([name, data]) => ({ name, type: "file" as const, data }))));
      const dir = join(work, `cp-${t}`);
      const r = await runCli(["create-project", dir, bad, "--template", "host"], { timeoutMs: 120_000 });
      if (![0, 3].includes(r.code ?? -1) || /TypeError|RangeError| {4}at /.test(r.stderr)) {
        out.crashes++;
        out.findings.push(`create-project seed ${seed + t}: exit ${r.code}: ${r.stderr.slice(-200)}`);
      }
      if (r.code !== 0 && existsSync(dir)) {
        out.filesOutside++;
        out.findings.push(`create-project seed ${seed + t}: left ${dir}`);
      }
      rmSync(dir, { recursive: true, force: true });
    }
    rmSync(tarPath, { force: true });
  }
}

/**
 * Concurrent `run`s on one project, one with a workspace too small to run (must never exit 0,
 * which would mean it ran the other's firmware), the other with the defaults.
 */
export async function fuzzConcurrentRuns(
  out: Tally,
  work: string,
  pairs: number,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const model = join(repoRoot, "examples", "sine-model", "sine.tar");
  for (let i = 0; i < pairs; i++) {
    const dir = join(work, `race-${i}`);
    const created = await runCli(["create-project", dir, model, "--template", "host"], { env });
    if (created.code !== 0) throw new Error(created.stderr);
    const wait = { ...env, MICROTVM_LOCK_WAIT_SEC: i % 2 === 0 ? "0" : "300" };
    const [small, normal] = await Promise.all([
      runCli(["run", dir, "-o", "workspace_size_bytes=4096"], { env: wait, timeoutMs: 300_000 }).catch(
        () => undefined,
      ),
      runCli(["run", dir], { env: wait, timeoutMs: 300_000 }).catch(() => undefined),
    ]);
    out.trials++;
    if (small === undefined || normal === undefined) {
      out.hangs++;
      continue;
    }
    if (small.code === 0) {
      out.foreignFirmware++;
      out.findings.push(`pair ${i}: the 4096-byte run exited 0`);
    }
    for (const r of [small, normal])
      if (
        ![0, 1, 4].includes(r.code ?? -1) ||
        /ETXTBSY|EACCES|undefined reference|TypeError/.test(r.stderr)
      ) {
        out.crashes++;
        out.findings.push(`pair ${i}: exit ${r.code}: ${r.stderr.slice(-200)}`);
      }
    if (processesMentioning(dir).length > 0) out.orphans++;
  }
}

/** The example sine model's project at `dir` with `template`, created and built once. */
async function builtProject(
  dir: string,
  template: string,
  options: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<void> {
  if (existsSync(dir)) return;
  const model = join(repoRoot, "examples", "sine-model", "sine.tar");
  const created = await runCli(["create-project", dir, model, "--template", template, ...options], {
    env,
    timeoutMs: 300_000,
  });
  if (created.code !== 0) throw new Error(created.stderr);
  const built = await runCli(["build", dir], { env, timeoutMs: 300_000 });
  if (built.code !== 0) throw new Error(built.stderr);
}

/** Damaged transports (a relay flips a bit at a seeded place) and firmware killed at seeded times. */
export async function fuzzRunFaults(
  out: Tally,
  work: string,
  seed: number,
  trials: number,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const dir = join(work, "faults");
  await builtProject(dir, "host", [], env);
  const args = ["run", dir, "--no-build", "--fill-mode", "ones", "--json", "--timeout", "20"];
  const reference = await runCli(args, { env });
  if (reference.code !== 0) throw new Error(reference.stderr);
  const expected = JSON.stringify(JSON.parse(reference.stdout).outputs);
  const firmware = join(dir, "build", "firmware");
  const real = readFileSync(firmware);
  for (let t = 0; t < trials; t++) {
    const rand = prng(seed + t);
    out.trials++;
    const corrupt = t % 2 === 0;
    if (corrupt) {
      writeFileSync(join(dir, "build", "firmware.real"), real, { mode: 0o755 });
      writeFileSync(
        join(dir, "build", "relay.mjs"),
        readFileSync(join(repoRoot, "test", "helpers", "corrupting-firmware.mjs")),
      );
      writeFileSync(
        firmware,
        `#!/bin/sh\nMICROTVM_CORRUPT_AFTER=${Math.floor(rand() * 3000)} exec ${JSON.stringify(process.execPath)} "$(dirname "$0")/relay.mjs" "$(dirname "$0")/firmware.real"\n`,
        { mode: 0o755 },
      );
    } else writeFileSync(firmware, real, { mode: 0o755 });
    const killAfterMs = corrupt ? undefined : Math.floor(rand() * 1500);
    let timer: NodeJS.Timeout | undefined;
    const r = await runCli(args, {
      env,
      timeoutMs: 120_000,
      onStderr: (text) => {
        if (killAfterMs === undefined || timer || !/starting the device session/.test(text)) return;
        timer = setTimeout(() => {
          for (const line of processesMentioning(firmware))
            process.kill(Number(line.split(":")[0]), "SIGKILL");
        }, killAfterMs);
      },
    }).catch(() => undefined);
    clearTimeout(timer);
    if (r === undefined) {
      out.hangs++;
      out.findings.push(`run fault seed ${seed + t}: no exit`);
      continue;
    }
    if (r.code === 0 && JSON.stringify(JSON.parse(r.stdout).outputs) !== expected) {
      out.silentlyWrong++;
      out.findings.push(`run fault seed ${seed + t}: exit 0 with different outputs`);
    }
    if (r.code !== 0 && (r.code !== 1 || /TypeError|RangeError/.test(r.stderr))) {
      out.crashes++;
      out.findings.push(`run fault seed ${seed + t}: exit ${r.code}: ${r.stderr.slice(-200)}`);
    }
    if (processesMentioning(dir).length > 0) out.orphans++;
  }
  writeFileSync(firmware, real, { mode: 0o755 });
}

export function formatTable(rows: readonly Tally[]): string {
  const head = [
    "campaign",
    "trials",
    "crashes",
    "hangs",
    "orphans",
    "files outside",
    "silently wrong",
    "foreign firmware",
  ];
  const lines = [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`];
  for (const r of rows)
    lines.push(
      `| ${[r.campaign, r.trials, r.crashes, r.hangs, r.orphans, r.filesOutside, r.silentlyWrong, r.foreignFirmware].join(" | ")} |`,
    );
  return lines.join("\n");
}

/** What a kill trial stops: the firmware (a host process, or QEMU), the Project API server, or the CLI itself by Ctrl-C. */
export type KillVictim = "firmware" | "server" | "ctrl-c";

export interface KillTarget {
  /** The row's label, e.g. "host" or "qemu-cortex-m (mps2-an386)". */
  name: string;
  template: string;
  options: string[];
}

/**
 * `run` on a built project with the firmware (or QEMU), the server or the CLI (Ctrl-C) killed at a
 * seeded moment. The run must end (no hang), with exit 1 for a killed device or server and 130 for
 * Ctrl-C (or exit 0 with the undisturbed outputs, when the kill came too late), must name a killed
 * device's fault, and must leave nothing of the project running.
 */
export async function fuzzKills(
  out: Tally,
  target: KillTarget,
  work: string,
  seed: number,
  trials: number,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const dir = join(work, `kills-${target.template}`);
  await builtProject(dir, target.template, target.options, env);
  const args = ["run", dir, "--no-build", "--fill-mode", "ones", "--json", "--timeout", "30"];
  // Many timing repetitions keep the session busy long enough for a kill to land inside it.
  args.push("--repeat", "1000");
  // The undisturbed run gives the outputs to compare with and the two windows the kills land in:
  // from the CLI's start (Ctrl-C) and from the session's start (kills), each to the CLI's exit.
  const startedAt = Date.now();
  let sessionAt = 0;
  let doneAt = 0;
  const reference = await runCli(args, {
    env,
    timeoutMs: 300_000,
    onStderr: (text) => {
      if (sessionAt === 0 && /starting the device session/.test(text)) sessionAt = Date.now();
      if (doneAt === 0 && /timing \d+ repetitions: done/.test(text)) doneAt = Date.now();
    },
  });
  if (reference.code !== 0) throw new Error(reference.stderr);
  const wholeMs = (doneAt || Date.now()) - startedAt;
  const sessionMs = (doneAt || Date.now()) - (sessionAt || startedAt);
  const expected = JSON.stringify(JSON.parse(reference.stdout).outputs);
  const victims: readonly KillVictim[] = ["firmware", "server", "ctrl-c"];
  for (let t = 0; t < trials; t++) {
    const rand = prng(seed + t);
    const victim = victims[t % victims.length]!;
    // Ctrl-C lands anywhere from the CLI's start; the kills, after the session starts (before it,
    // the run has not reached the device yet and the server kill is a start-up failure, also fine).
    const delayMs = Math.floor(rand() * (victim === "ctrl-c" ? wholeMs : sessionMs));
    out.trials++;
    let timer: NodeJS.Timeout | undefined;
    const killMatching = (also: RegExp): void => {
      for (const line of processesMentioning(dir))
        if (also.test(line)) {
          try {
            process.kill(Number(line.split(":")[0]), "SIGKILL");
          } catch {
            // it ended on its own meanwhile
          }
        }
    };
    const r = await runCli(args, {
      env,
      timeoutMs: 180_000,
      onStderr: (text, pid) => {
        if (timer) return;
        if (victim === "ctrl-c") {
          timer = setTimeout(() => process.kill(pid, "SIGINT"), delayMs);
          return;
        }
        if (!/starting the device session/.test(text)) return;
        timer = setTimeout(
          () =>
            killMatching(
              victim === "server"
                ? /microtvm_api_server/
                : target.template === "host"
                  ? /build\/firmware(\s|$)/
                  : /^\d+: qemu-system-arm/,
            ),
          delayMs,
        );
      },
    }).catch(() => undefined);
    clearTimeout(timer);
    const label = `${target.name} kill seed ${seed + t} (${victim} after ${delayMs} ms)`;
    if (process.env.MICROTVM_FUZZ_VERBOSE)
      console.error(`${label}: exit ${r?.code}: ${r?.stderr.trim().split("\n").at(-1)}`);
    if (r === undefined) {
      out.hangs++;
      out.findings.push(`${label}: no exit`);
    } else if (r.code === 0) {
      if (JSON.stringify(JSON.parse(r.stdout).outputs) !== expected) {
        out.silentlyWrong++;
        out.findings.push(`${label}: exit 0 with different outputs`);
      }
    } else {
      const wanted = victim === "ctrl-c" ? 130 : 1;
      const stack = /TypeError|RangeError|ReferenceError|\n\s+at /.test(r.stderr);
      // A killed device is reported as killed or ended, not as a hung device or a closed pipe.
      const misnamed = victim === "firmware" && !/signal|SIGKILL|killed|exited|ended|stopped/i.test(r.stderr);
      if (r.code !== wanted || stack || misnamed) {
        out.crashes++;
        out.findings.push(`${label}: exit ${r.code}: ${r.stderr.trim().split("\n").slice(-3).join(" / ")}`);
      }
    }
    const left = await survivors(processesMentioning(dir).map((line) => Number(line.split(":")[0])));
    if (left.length > 0) {
      out.orphans++;
      out.findings.push(`${label}: left running: ${processesMentioning(dir).join("; ").slice(0, 300)}`);
      for (const pid of left) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
    }
  }
}

/**
 * A firmware built for other options must never run: `run --no-build` with options other than the
 * build's, or with another build's firmware copied into the project, must refuse (exit non-zero)
 * and say it is the firmware. Exit 0 is a foreign-firmware run.
 */
export async function fuzzStaleFirmware(
  out: Tally,
  work: string,
  seed: number,
  trials: number,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const dir = join(work, "stale");
  const other = join(work, "stale-other");
  await builtProject(dir, "host", [], env);
  await builtProject(other, "host", ["-o", "workspace_size_bytes=65536"], env);
  const projectFile = join(dir, "microtvm-project.json");
  const savedProject = readFileSync(projectFile);
  const firmware = join(dir, "build", "firmware");
  const ownFirmware = readFileSync(firmware);
  for (let t = 0; t < trials; t++) {
    const rand = prng(seed + t);
    out.trials++;
    const swap = t % 2 === 1;
    let args: string[];
    if (swap) {
      writeFileSync(firmware, readFileSync(join(other, "build", "firmware")), { mode: 0o755 });
      args = ["run", dir, "--no-build"];
    } else {
      const size = 8192 * (2 + Math.floor(rand() * 120));
      args = ["run", dir, "--no-build", "-o", `workspace_size_bytes=${size}`];
    }
    const r = await runCli(args, { env, timeoutMs: 120_000 }).catch(() => undefined);
    const label = `stale firmware seed ${seed + t} (${swap ? "another build's firmware" : args.at(-1)})`;
    if (r === undefined) {
      out.hangs++;
      out.findings.push(`${label}: no exit`);
    } else if (r.code === 0) {
      out.foreignFirmware++;
      out.findings.push(`${label}: ran (exit 0)`);
    } else if (!/firmware/i.test(r.stderr) || /TypeError|RangeError|\n\s+at /.test(r.stderr)) {
      out.crashes++;
      out.findings.push(`${label}: exit ${r.code} without naming the firmware: ${r.stderr.slice(-200)}`);
    }
    writeFileSync(firmware, ownFirmware, { mode: 0o755 });
    writeFileSync(projectFile, savedProject);
    if (processesMentioning(dir).length > 0) out.orphans++;
  }
}
