// `microtvm profile <project-dir | model.tar>`: where an inference's device time goes, operator by
// operator, sorted, with each one's share and number of calls; as a table, as `--json`
// (microtvm.profile/1) and as an HTML page (`--report`). Graph models: each kernel timed by the
// device's time evaluator; AOT models: the firmware's operator-timing hooks, next to the time
// evaluator's measurement of the whole run.
import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { GeneratedProject } from "../../client/index.js";
import {
  Device,
  deviceTimer,
  loadProjectModel,
  parseElf,
  profileAot,
  profileGraph,
  type DeviceTimer,
  type InferenceModel,
  type OperatorProfile,
} from "../../device/index.js";
import { AotExecutor, GraphExecutor, type FillMode } from "../../rpc/index.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { addProjectOptionFlag, addServerFlags, collectRepeated, type ServerFlags } from "../options.js";
import { formatTable, printJson, roundTo } from "../output.js";
import { cancellable } from "../cancel.js";
import { parseFillMode, resolveInputs } from "../inference/inputs.js";
import { buildMode, deviceOpenOptions, deviceRunError, ServerLog } from "../inference/samples-session.js";
import {
  addDeviceTargetFlags,
  openRunProject,
  resolveTarget,
  saveGivenOptions,
  type ProjectTarget,
} from "../inference/project.js";
import { firmwareDescription, footprintJson, readProjectFootprint } from "../project/footprint.js";
import { Progress } from "../project/progress.js";
import { checkReportPath, writeReport } from "../report/file.js";
import { renderReport } from "../report/html.js";

interface ProfileFlags extends ServerFlags {
  input?: string[];
  fillMode: FillMode;
  runs: number;
  repeat: number;
  json?: boolean;
  report?: string;
  projectOption?: string[];
  template?: string;
  model?: string;
  /** true: --build, false: --no-build, undefined: as the build stamp says. */
  build?: boolean;
  timeout?: number;
}

function wholeNumber(name: string, min: number, max: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new CliError(
        `${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`,
        ExitCode.usage,
      );
    }
    return n;
  };
}

export function profileCommand(program: Command): void {
  const command = program
    .command("profile")
    .description("device time of every operator of a model, sorted, with its share and calls")
    .argument(
      "<project-or-archive>",
      "a generated project directory, or a model archive (.tar) with --template",
    )
    .option(
      "-i, --input <name=file>",
      "an input from a file: NAME is the input's name or index; .bin (raw), .npy or .json (repeatable)",
      collectRepeated,
    )
    .option(
      "--fill-mode <mode>",
      "how inputs without --input are filled: zeros, ones or random (seeded)",
      parseFillMode,
      "random",
    )
    .option(
      "--runs <n>",
      "AOT: inferences timed by the hooks and by the time evaluator; graph: calls per kernel per repetition",
      wholeNumber("--runs", 1, 100000),
      10,
    )
    .option(
      "--repeat <n>",
      "graph: repetitions per kernel (the median is kept)",
      wholeNumber("--repeat", 1, 1000),
      3,
    );
  addDeviceTargetFlags(command, "profile").option(
    "--report <file.html>",
    "also write the profile and the memory breakdown as a self-contained HTML page",
  );
  addProjectOptionFlag(command, true);
  addServerFlags(command)
    .option("--json", "print one JSON document (schema microtvm.profile/1)")
    .action(async (targetArg: string, flags: ProfileFlags) => {
      await profileModel(targetArg, flags);
    });
}

/** The unit the figures are shown in, and how a profile's seconds convert to it. */
interface Unit {
  /** Always named: "SysTick ticks", "s". */
  readonly name: string;
  readonly perSecond: number;
  readonly deterministic: boolean | null;
  readonly source: string;
}

function unitOf(profile: OperatorProfile, timer: DeviceTimer | undefined): Unit {
  if (profile.clock && !/\bns\b/.test(profile.clock.name)) {
    return {
      // A cycle counter names its own unit ("DWT cycles"); a timer counts ticks ("SysTick ticks").
      name: /cycles$/.test(profile.clock.name) ? profile.clock.name : `${profile.clock.name} ticks`,
      perSecond: profile.clock.hz,
      deterministic: timer?.deterministic ?? null,
      source: timer?.source ?? `${profile.clock.name} at ${profile.clock.hz} Hz`,
    };
  }
  if (!profile.clock && timer) {
    const name = /SysTick/.test(timer.source) ? "SysTick ticks" : "device timer ticks";
    return { name, perSecond: timer.hz, deterministic: timer.deterministic, source: timer.source };
  }
  return {
    name: "s",
    perSecond: 1,
    deterministic: false,
    source: profile.clock ? `${profile.clock.name} (host clock)` : "the device's timer in seconds",
  };
}

interface ProfileReport {
  target: ProjectTarget;
  model: InferenceModel;
  profile: OperatorProfile;
  unit: Unit;
}

function show(value: number, unit: Unit): string {
  if (unit.name === "s") {
    const us = value * 1e6;
    return us >= 1000 ? `${(us / 1000).toFixed(3)} ms` : `${us.toFixed(1)} µs`;
  }
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function inUnit(secondsValue: number, unit: Unit): number {
  const v = secondsValue * unit.perSecond;
  // Ticks of a deterministic clock are whole numbers; keep the average exact otherwise.
  return unit.name === "s" ? v : Math.round(v * 10) / 10;
}

/**
 * Operator times in seconds to 1 ns; ticks stay as counted. A mean over many runs resolves below
 * a clock's tick, and the fastest operators take well under 0.1 µs on the host (a rounding to
 * 0.1 µs showed one as taking no time about one run in ten).
 */
const SECONDS_STEP = 1e-9;
/** Shares and ratios to 0.01 %. */
const FRACTION_STEP = 1e-4;

function jsonTime(value: number, unit: Unit): number {
  return unit.name === "s" ? roundTo(value, SECONDS_STEP) : value;
}

function totals(report: ProfileReport): { sum: number; entry?: number; whole?: number; agreement?: number } {
  const { profile, unit } = report;
  const sum = profile.operators.reduce((s, o) => s + o.seconds, 0);
  const out: { sum: number; entry?: number; whole?: number; agreement?: number } = { sum: inUnit(sum, unit) };
  if (profile.entrySeconds !== undefined) out.entry = inUnit(profile.entrySeconds, unit);
  if (profile.wholeRunSeconds !== undefined) {
    out.whole = inUnit(profile.wholeRunSeconds, unit);
    out.agreement =
      profile.wholeRunSeconds > 0 ? (sum - profile.wholeRunSeconds) / profile.wholeRunSeconds : NaN;
  }
  return out;
}

async function profileModel(targetArg: string, flags: ProfileFlags): Promise<void> {
  const reportPath = flags.report === undefined ? undefined : checkReportPath(flags.report);
  // Ctrl-C aborts the signal: the project's server and what it started stop; the command ends as
  // interrupted.
  const report = await cancellable((signal) => profileWithSignal(targetArg, flags, signal));
  await printProfile(report, flags, reportPath);
}

async function profileWithSignal(
  targetArg: string,
  flags: ProfileFlags,
  signal: AbortSignal,
): Promise<ProfileReport> {
  const progress = new Progress();
  let project: GeneratedProject | undefined;
  let session: Device | undefined;
  const serverLog = new ServerLog();
  try {
    const target = await resolveTarget(targetArg, flags, progress, signal);
    signal.throwIfAborted();
    const assignments = target.archive ? [] : (flags.projectOption ?? []);
    const opened = await openRunProject(target.dir, assignments, flags, progress, {
      onServerLine: serverLog.add,
      signal,
    });
    project = opened.project;
    const { options } = opened;
    const model = await loadProjectModel(project, flags.model);
    const inputs = await resolveInputs(flags.input ?? [], model.inputs, flags.fillMode);
    const p = project;
    session = await Device.open(
      p,
      deviceOpenOptions(progress, target.dir, options, {
        build: buildMode(flags.build),
        timeoutSec: flags.timeout,
      }),
    );
    // AOT operators are named from the firmware's symbol table, read once the build is done.
    let elf;
    if (model.executor === "aot") {
      const firmware = firmwareDescription(target.dir);
      if (!firmware) {
        throw new CliError(
          `${target.dir}: the project's template does not record its firmware, whose symbol table names the AOT operators; profile AOT models on a project of microtvm's own templates (host, qemu-cortex-m)`,
          ExitCode.badInput,
        );
      }
      const path = isAbsolute(firmware.elf) ? firmware.elf : join(target.dir, firmware.elf);
      try {
        elf = parseElf(readFileSync(path), path);
      } catch (error) {
        throw new CliError(
          `cannot read the firmware ${path}: ${(error as Error).message}; build the project`,
          ExitCode.badInput,
          {
            cause: error,
          },
        );
      }
    }
    const runtime = session.runtime;
    const profile = await progress.step(
      `timing every operator of ${model.name} (${model.executor} executor)`,
      async () => {
        if (model.executor === "aot") {
          const aot = await AotExecutor.create(runtime, { moduleName: model.name });
          for (const [index, input] of inputs.entries()) await aot.setInput(index, input.tensor);
          return profileAot(runtime, aot, elf!, { runs: flags.runs });
        }
        const graph = await GraphExecutor.create(runtime, model.graphJson!, {
          params: model.params,
          lookupLinkedParams: true,
        });
        for (const [index, input] of inputs.entries())
          await graph.setInput(model.inputs[index]!.name, input.tensor);
        await graph.run();
        return profileGraph(runtime, graph, { number: flags.runs, repeat: flags.repeat });
      },
    );
    await session.close();
    signal.throwIfAborted();
    saveGivenOptions(target.dir, opened.given);
    return { target, model, profile, unit: unitOf(profile, deviceTimer(target.dir)) };
  } catch (error) {
    const mark = serverLog.mark();
    if (session) await session.close();
    await project?.close();
    throw deviceRunError(error, signal.aborted, serverLog.since(mark), "profile", serverLog);
  } finally {
    await session?.close();
    await project?.close();
  }
}

async function printProfile(
  report: ProfileReport,
  flags: ProfileFlags,
  reportPath: string | undefined,
): Promise<void> {
  const footprint = await readProjectFootprint(report.target.dir).catch(() => undefined);
  if (reportPath) writeReport(reportPath, renderProfileReport(report, footprint));
  if (flags.json) {
    const t = totals(report);
    const { profile, unit, target, model } = report;
    printJson("microtvm.profile/1", {
      project_dir: target.dir,
      ...(target.archive
        ? {
            archive: {
              path: target.archive.path,
              sha256: target.archive.sha256,
              template: target.archive.template,
            },
          }
        : {}),
      model: { name: model.name, executor: model.executor, path: model.path },
      unit: unit.name,
      clock: { source: unit.source, per_second: unit.perSecond, deterministic: unit.deterministic },
      method: profile.method,
      runs: profile.runs,
      operators: profile.operators.map((o) => ({
        name: o.name,
        calls: o.calls,
        time: jsonTime(inUnit(o.seconds, unit), unit),
        seconds: roundTo(o.seconds, SECONDS_STEP),
        share: roundTo(t.sum > 0 ? inUnit(o.seconds, unit) / t.sum : 0, FRACTION_STEP),
        ...(o.nodes ? { nodes: o.nodes } : {}),
      })),
      total: {
        operators_time: jsonTime(t.sum, unit),
        ...(t.entry !== undefined ? { entry_function_time: jsonTime(t.entry, unit) } : {}),
        ...(t.whole !== undefined
          ? {
              whole_run_time: jsonTime(t.whole, unit),
              operators_vs_whole_run: Number.isFinite(t.agreement)
                ? roundTo(t.agreement!, FRACTION_STEP)
                : t.agreement,
            }
          : {}),
      },
      notes: profile.notes,
      footprint: footprint ? footprintJson(footprint) : null,
      ...(reportPath ? { report: reportPath } : {}),
    });
  } else {
    printProfileText(report);
    if (reportPath) process.stdout.write(`wrote ${reportPath}\n`);
  }
}

function printProfileText(report: ProfileReport): void {
  const { profile, unit, model, target } = report;
  const t = totals(report);
  const lines: string[] = [];
  lines.push(`model ${model.name} (${model.executor} executor) in ${target.dir}`);
  lines.push(`time in ${unit.name === "s" ? "seconds (host clock)" : `${unit.name} (${unit.source})`}`);
  lines.push(
    formatTable(
      ["operator", "calls", unit.name === "s" ? "time" : unit.name, "share"],
      profile.operators.map((o) => {
        const v = inUnit(o.seconds, unit);
        return [
          o.name,
          String(o.calls),
          show(v, unit),
          `${t.sum > 0 ? ((100 * v) / t.sum).toFixed(1) : "0.0"} %`,
        ];
      }),
    ),
  );
  lines.push("");
  lines.push(`operators total   ${show(t.sum, unit)} per inference`);
  if (t.entry !== undefined)
    lines.push(`AOT main function ${show(t.entry, unit)} (operators and the code between them)`);
  if (t.whole !== undefined)
    lines.push(
      `whole run         ${show(t.whole, unit)} (runtime.RPCTimeEvaluator on run, hooks disarmed); operators ${
        Number.isFinite(t.agreement!)
          ? `${t.agreement! >= 0 ? "+" : ""}${(100 * t.agreement!).toFixed(1)} %`
          : "-"
      } of it`,
    );
  lines.push(`method: ${profile.method}`);
  if (unit.deterministic === true)
    lines.push("deterministic: QEMU -icount counts instructions, not cycles of real silicon");
  for (const note of profile.notes) lines.push(`note: ${note}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}

function renderProfileReport(
  report: ProfileReport,
  footprint: Awaited<ReturnType<typeof readProjectFootprint>>,
): string {
  const { profile, unit, model, target } = report;
  const t = totals(report);
  const unitName = unit.name === "s" ? "µs" : unit.name;
  const scale = unit.name === "s" ? 1e6 : 1;
  const rows = profile.operators.map((o) => {
    const v = inUnit(o.seconds, unit);
    return { name: o.name, calls: o.calls, value: v * scale, share: t.sum > 0 ? v / t.sum : 0 };
  });
  const fmt = (v: number) => `${(v * scale).toFixed(unit.name === "s" ? 1 : 0)} ${unitName}`;
  const totalsRows: [string, string][] = [["operators total", fmt(t.sum)]];
  if (t.entry !== undefined) totalsRows.push(["AOT main function", fmt(t.entry)]);
  if (t.whole !== undefined) {
    totalsRows.push(["whole run (time evaluator)", fmt(t.whole)]);
    totalsRows.push(["operators vs whole run", `${(100 * (t.agreement ?? NaN)).toFixed(1)} %`]);
  }
  return renderReport({
    title: `Profile of ${model.name} (${model.executor})`,
    facts: [
      ["project", target.dir],
      ["model", model.path],
      ["clock", `${unit.source}${unit.deterministic ? " (deterministic)" : ""}`],
      ["profiled", new Date().toISOString()],
    ],
    profile: { unit: unitName, rows, totals: totalsRows, method: profile.method, notes: profile.notes },
    ...(footprint ? { footprint } : {}),
  });
}
