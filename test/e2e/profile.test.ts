// `microtvm profile` and the footprint of `microtvm build` on real TVM archives: the AOT yes/no
// model on the emulated Cortex-M4 (deterministic ticks under QEMU -icount) and on the host, the
// graph yes/no model under QEMU; figures checked against the archive's own operator lists, the
// time evaluator's whole run and `size`; the HTML report rendered in headless Chromium.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test, type TestContext } from "node:test";
import { countColour, dumpDom, requireChromium, screenshot } from "../helpers/chromium.js";
import { sharedFixture } from "../helpers/paths.js";
import { processesMentioning, runCli } from "../helpers/processes.js";
import { requireCommand } from "../helpers/tools.js";

const work = mkdtempSync(join(tmpdir(), "microtvm-profile-"));
after(() => {
  assert.deepEqual(processesMentioning(work), [], "nothing started by the tests is left running");
  rmSync(work, { recursive: true, force: true });
});

interface ProfileDoc {
  schema: string;
  unit: string;
  clock: { source: string; per_second: number; deterministic: boolean | null };
  operators: { name: string; calls: number; time: number; share: number; nodes?: string[] }[];
  total: {
    operators_time: number;
    whole_run_time?: number;
    operators_vs_whole_run?: number;
    entry_function_time?: number;
  };
  footprint: FootprintDoc | null;
  report?: string;
}

interface FootprintDoc {
  size: { text: number; data: number; bss: number };
  flash_bytes: number;
  ram_bytes: number;
  external_ram_bytes: number;
  limits: { flash_bytes: number | null; ram_bytes: number | null };
  components: { name: string; flash_bytes: number; ram_bytes: number; external_ram_bytes: number }[];
  workspace: { needed_bytes: number | null; pool_reserved_bytes: number | null };
}

function needsQemu(t: TestContext): boolean {
  return (
    requireCommand(t, "arm-none-eabi-gcc", "Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi") &&
    requireCommand(t, "make", "Debian: make") &&
    requireCommand(t, "qemu-system-arm", "Debian: qemu-system-arm")
  );
}

async function cli(args: string[], timeoutMs = 300_000) {
  const r = await runCli(args, { timeoutMs });
  assert.equal(r.code, 0, `microtvm ${args.join(" ")} failed:\n${r.stderr}`);
  return r;
}

/** The operators the AOT main function of a v5 archive calls, in its C source. */
function aotOperatorCalls(source: string): string[] {
  const body = /tvmgen_default_run_model\([^)]*\)\s*\{([\s\S]*?)\n\}/.exec(source)![1]!;
  return [...body.matchAll(/\b(tvmgen_default_fused_\w+)\s*\(/g)].map((m) => m[1]!);
}

/** `size` (Berkeley) of a file. */
function sizeOf(tool: string, file: string): { text: number; data: number; bss: number } {
  const r = spawnSync(tool, [file], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const [text, data, bss] = r.stdout.trim().split("\n")[1]!.trim().split(/\s+/).map(Number);
  return { text: text!, data: data!, bss: bss! };
}

function checkFootprint(f: FootprintDoc, size: { text: number; data: number; bss: number }) {
  assert.deepEqual(f.size, size, "the totals are what size prints");
  assert.equal(f.flash_bytes, size.text + size.data);
  assert.equal(f.ram_bytes + f.external_ram_bytes, size.data + size.bss);
  const sum = (k: "flash_bytes" | "ram_bytes" | "external_ram_bytes") =>
    f.components.reduce((s, c) => s + c[k], 0);
  assert.equal(sum("flash_bytes"), f.flash_bytes, "the components add up to the flash total");
  assert.equal(sum("ram_bytes"), f.ram_bytes, "the components add up to the RAM total");
  const byName = Object.fromEntries(f.components.map((c) => [c.name, c]));
  for (const name of ["model_code", "model_constants", "runtime", "platform"])
    assert.ok(byName[name]!.flash_bytes > 0, `${name} has flash`);
}

test("AOT v5 on qemu-cortex-m: one row per operator, agreeing with the whole run; footprint; report", async (t) => {
  if (!needsQemu(t)) return;
  const archive = sharedFixture(t, "yes-no-kws-aot-v5", "model.tar");
  if (!archive) return;
  const dir = join(work, "aot-m4");
  await cli(["create-project", dir, archive, "--template", "qemu-cortex-m", "-o", "board=mps2-an386"]);
  const built = JSON.parse((await cli(["build", dir, "--json"])).stdout) as { footprint: FootprintDoc };
  checkFootprint(built.footprint, sizeOf("arm-none-eabi-size", join(dir, "build", "firmware.elf")));
  const metadata = JSON.parse(readFileSync(join(dir, "model", "metadata.json"), "utf8"));
  const main = metadata.memory.functions.main[0];
  const constants = built.footprint.components.find((c) => c.name === "model_constants")!;
  assert.equal(
    constants.flash_bytes,
    main.constants_size_bytes,
    "the parameters are the archive's constants",
  );
  assert.equal(built.footprint.workspace.needed_bytes, main.workspace_size_bytes);
  assert.ok(
    built.footprint.workspace.pool_reserved_bytes! >= main.workspace_size_bytes,
    "the pool holds the workspace",
  );
  assert.equal(built.footprint.limits.flash_bytes, 4 * 1024 * 1024);
  const text = await cli(["build", dir]);
  assert.match(text.stdout, /model constants and parameters\s+33524\s+0/);
  assert.match(text.stdout, /limit\s+4194304\s+4194304/);

  const report = join(work, "aot-report.html");
  const args = ["profile", dir, "-o", "deterministic_timing=true", "--runs", "3", "--json"];
  const first = JSON.parse((await cli([...args, "--report", report])).stdout) as ProfileDoc;
  assert.equal(first.schema, "microtvm.profile/1");
  assert.equal(first.unit, "SysTick ticks");
  assert.equal(first.clock.deterministic, true);
  const calls = aotOperatorCalls(
    readFileSync(join(dir, "model", "codegen", "host", "src", "default_lib1.c"), "utf8"),
  );
  assert.deepEqual(
    first.operators.map((o) => o.name).sort(),
    [...new Set(calls)].sort(),
    "one row per operator the AOT main function calls",
  );
  for (const o of first.operators) assert.equal(o.calls, calls.filter((c) => c === o.name).length);
  const times = first.operators.map((o) => o.time);
  assert.deepEqual(
    times,
    [...times].sort((a, b) => b - a),
    "sorted, largest first",
  );
  assert.ok(Math.abs(first.operators.reduce((s, o) => s + o.share, 0) - 1) < 1e-3, "the shares add up to 1");
  const { operators_time, whole_run_time } = first.total;
  assert.ok(whole_run_time! > 0, "the whole run was timed");
  assert.ok(
    Math.abs(operators_time - whole_run_time!) / whole_run_time! < 0.1,
    `operators ${operators_time} vs whole run ${whole_run_time}: within 10 %`,
  );
  assert.ok(operators_time <= first.total.entry_function_time!, "the operators run inside the main function");
  const second = JSON.parse((await cli(args)).stdout) as ProfileDoc;
  // -icount makes the instruction count exact; a 25 MHz tick is 40 instructions, so an interval
  // reads one tick more or less depending on where in a tick it starts.
  assert.deepEqual(
    second.operators.map((o) => o.name),
    first.operators.map((o) => o.name),
  );
  second.operators.forEach((o, i) =>
    assert.ok(
      Math.abs(o.time - first.operators[i]!.time) <= 1,
      `${o.name}: ${o.time} vs ${first.operators[i]!.time} ticks`,
    ),
  );

  const browser = requireChromium(t);
  if (!browser) return;
  const dom = dumpDom(browser, report);
  assert.equal((dom.match(/<g class="operator"/g) ?? []).length, first.operators.length);
  assert.match(dom, /<svg id="memory-chart"/);
  assert.doesNotMatch(dom, /<script/);
  const image = screenshot(browser, report);
  assert.ok(countColour(image, "#2b6cb0") > 500, "the operator bars are drawn");
  assert.ok(countColour(image, "#dd6b20") > 200, "the workspace segment of the RAM bar is drawn");
});

test("graph v4 on qemu-cortex-m: the profile lists every operator of the graph", async (t) => {
  if (!needsQemu(t)) return;
  const archive = sharedFixture(t, "yes-no-kws-graph-v4", "model.tar");
  if (!archive) return;
  const dir = join(work, "graph-m4");
  await cli(["create-project", dir, archive, "--template", "qemu-cortex-m", "-o", "board=mps2-an386"]);
  const doc = JSON.parse(
    (await cli(["profile", dir, "-o", "deterministic_timing=true", "--runs", "2", "--repeat", "1", "--json"]))
      .stdout,
  ) as ProfileDoc;
  const graph = JSON.parse(
    readFileSync(join(dir, "model", "runtime-config", "graph", "graph.json"), "utf8"),
  ) as {
    nodes: { op: string; name: string; attrs?: { func_name?: string } }[];
  };
  const kernels = graph.nodes.filter((n) => n.op === "tvm_op" && n.attrs?.func_name !== "__nop");
  assert.deepEqual(
    doc.operators.map((o) => o.name).sort(),
    [...new Set(kernels.map((n) => n.attrs!.func_name!))].sort(),
  );
  assert.deepEqual(
    doc.operators.flatMap((o) => o.nodes!).sort(),
    kernels.map((n) => n.name).sort(),
    "every kernel node is timed",
  );
  assert.equal(doc.unit, "SysTick ticks");
  assert.ok(doc.operators.every((o) => o.time > 0));
  assert.ok(doc.footprint !== null);
});

test("AOT v5 on the host: seconds, one row per operator, footprint as size counts it", async (t) => {
  if (!requireCommand(t, "cc", "Debian: gcc libc6-dev") || !requireCommand(t, "size", "Debian: binutils"))
    return;
  const archive = sharedFixture(t, "yes-no-kws-aot-v5", "model.tar");
  if (!archive) return;
  const dir = join(work, "aot-host");
  await cli(["create-project", dir, archive, "--template", "host"]);
  const built = JSON.parse((await cli(["build", dir, "--json"])).stdout) as { footprint: FootprintDoc };
  checkFootprint(built.footprint, sizeOf("size", join(dir, "build", "firmware")));
  assert.equal(built.footprint.limits.flash_bytes, null, "a host process has no fixed limits");
  const doc = JSON.parse((await cli(["profile", dir, "--runs", "5", "--json"])).stdout) as ProfileDoc;
  assert.equal(doc.unit, "s");
  assert.equal(doc.operators.length, 6);
  assert.ok(doc.operators.every((o) => o.calls === 1 && o.time > 0));
});

test("profile and build refuse bad arguments before touching anything", async (t) => {
  const archive = sharedFixture(t, "yes-no-kws-aot-v5", "model.tar");
  if (!archive) return;
  let r = await runCli(["profile", archive, "--runs", "0"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--runs must be a whole number from 1/);
  const missing = join(work, "no-such-dir", "r.html");
  r = await runCli(["profile", archive, "--report", missing]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /does not exist; create it first/);
  assert.ok(!existsSync(missing));
  const asDir = join(work, "a-directory");
  mkdirSync(asDir);
  r = await runCli(["build", join(work, "nowhere"), "--report", asDir]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /is a directory; give a file name/);
});
