// `microtvm validate <project | model.tar> --input NAME=PATH … --reference REF`: run every sample
// in one device session, compare the outputs with a reference (files, or the same archive on the
// host template), print the error metrics and exit 1 when a tolerance is exceeded.
import type { Command } from "commander";
import type { GeneratedProject, ProjectOptions } from "../../client/index.js";
import {
  METRICS,
  judgeOutputs,
  loadReferenceFile,
  loadSamples,
  outputsByName,
  parseToleranceLimit,
  referenceFromOutputs,
  type ErrorMetrics,
  type FirmwareIdentity,
  type Reference,
  type Sample,
  type SamplesRun,
  type ToleranceLimit,
  type ValidationVerdict,
} from "../../device/index.js";
import type { FillMode } from "../../rpc/index.js";
import { CliError, ExitCode } from "../exit-codes.js";
import {
  addProjectOptionFlag,
  addServerFlags,
  addStandaloneCrtFlag,
  cliErrorFrom,
  collectRepeated,
  type ServerFlags,
} from "../options.js";
import { formatTable, printJson, roundSeconds, roundTo } from "../output.js";
import { parseFillMode } from "../inference/inputs.js";
import { loadProjectModel, type InferenceModel } from "../../device/index.js";
import {
  addDeviceTargetFlags,
  openRunProject,
  resolveTarget,
  saveGivenOptions,
  type ProjectTarget,
} from "../inference/project.js";
import { firmwareJson } from "../inference/firmware.js";
import { cancellable } from "../cancel.js";
import {
  buildMode,
  deviceRunError,
  runSamplesInSession,
  ServerLog,
  type SamplesSession,
} from "../inference/samples-session.js";
import { builtInOptionsHelp } from "../project/describe.js";
import { Progress } from "../project/progress.js";
import { readProjectFootprint } from "../project/footprint.js";
import { checkReportPath, writeReport } from "../report/file.js";
import { renderReport } from "../report/html.js";

interface ValidateFlags extends ServerFlags {
  input?: string[];
  reference: string;
  tolerance?: string[];
  fillMode: FillMode;
  template?: string;
  projectOption?: string[];
  model?: string;
  /** true: --build, false: --no-build, undefined: as the build stamp says. */
  build?: boolean;
  timeout?: number;
  json?: boolean;
  report?: string;
  standaloneCrtDir?: string;
}

function parseLimits(texts: readonly string[] | undefined): ToleranceLimit[] | undefined {
  if (!texts || texts.length === 0) return undefined;
  return texts.map((text) => {
    const parsed = parseToleranceLimit(text);
    if (typeof parsed === "string")
      throw new CliError(`--tolerance ${JSON.stringify(text)}: ${parsed}`, ExitCode.usage);
    return parsed;
  });
}

export function validateCommand(program: Command): void {
  const command = program
    .command("validate")
    .description(
      "run samples on a project's device in one session and compare the outputs with a reference: " +
        "max and mean absolute error, RMSE, L2 relative error, cosine similarity, top-1 agreement",
    )
    .argument(
      "<project-or-archive>",
      "a generated project directory, or a model archive (.tar) to run with --template",
    )
    .option(
      "-i, --input <name=path>",
      "an input's samples: NAME is the input's name or index; PATH a file, a folder (sorted by name), a quoted glob or an .npz; samples pair across inputs by file stem (repeatable)",
      collectRepeated,
    )
    .requiredOption(
      "-r, --reference <ref>",
      'the expected outputs: a folder (<sample>.npy|.bin, or <sample>/<output>.npy|.bin), an .npz (keys <sample> or <sample>/<output>), a JSON file {"samples": {"<sample>": [...]}}, or "host" (the same archive run on the host template)',
    )
    .option(
      "--tolerance <limit>",
      "fail (exit 1) when exceeded on any output: a number (max absolute error) or metric=value with metric max_abs, mean_abs, rmse, l2_relative (at most) or cosine, top1 (at least); repeatable. Default: integer outputs exact, float outputs within 1e-5 of the reference's largest magnitude",
      collectRepeated,
    )
    .option(
      "--fill-mode <mode>",
      "how inputs without --input are filled: zeros, ones or random (seeded)",
      parseFillMode,
      "random",
    );
  addDeviceTargetFlags(command, "run");
  addProjectOptionFlag(command, true);
  addStandaloneCrtFlag(command);
  addServerFlags(command)
    .option("--json", "print one JSON document (schema microtvm.validate/1)")
    .option("--report <file.html>", "also write the metrics as a self-contained HTML page")
    .addHelpText(
      "after",
      () =>
        "\nExit codes: 0 every output within tolerance, 1 a tolerance exceeded (or a device error),\n" +
        "2 usage, 3 an input or reference that cannot be used (a missing sample, a wrong size).\n" +
        builtInOptionsHelp(["generate_project", "build", "flash", "open_transport"]),
    )
    .action(async (targetArg: string, flags: ValidateFlags) => {
      await validateModel(targetArg, flags);
    });
}

interface ValidationReport {
  target: ProjectTarget;
  model: InferenceModel;
  samples: Sample[];
  reference: Reference;
  run: SamplesRun;
  verdict: ValidationVerdict;
  built: boolean;
  /** What the firmware's build stamp said (checked before anything ran). */
  firmware: FirmwareIdentity;
}

async function validateModel(targetArg: string, flags: ValidateFlags): Promise<void> {
  const limits = parseLimits(flags.tolerance);
  const reportPath = flags.report === undefined ? undefined : checkReportPath(flags.report);
  // Ctrl-C aborts the signal: every server this started (and its firmware) stops; the command
  // ends as interrupted.
  const report = await cancellable(async (signal) => {
    try {
      return await validateWithSignal(targetArg, flags, limits, signal);
    } catch (error) {
      throw deviceRunError(error, signal.aborted, [], "validate");
    }
  });
  if (reportPath) await writeValidateReport(reportPath, report, limits);
  if (flags.json) printValidateJson(report, limits, reportPath);
  else {
    printValidateText(report, limits);
    if (reportPath) process.stdout.write(`wrote ${reportPath}\n`);
  }
  if (!report.verdict.passed) process.exitCode = ExitCode.failed;
}

async function validateWithSignal(
  targetArg: string,
  flags: ValidateFlags,
  limits: ToleranceLimit[] | undefined,
  signal: AbortSignal,
): Promise<ValidationReport> {
  const progress = new Progress();
  const target = await resolveTarget(targetArg, flags, progress, signal);
  signal.throwIfAborted();
  const log = new ServerLog();
  const assignments = target.archive ? [] : (flags.projectOption ?? []);
  const opened = await openRunProject(target.dir, assignments, flags, progress, {
    onServerLine: log.add,
    signal,
  });
  const project = opened.project;
  try {
    // Everything the user gave is read before any device is touched.
    const model = await loadProjectModel(project, flags.model);
    const samples = await loadSamples(flags.input ?? [], model.inputs, flags.fillMode).catch((e: unknown) => {
      throw cliErrorFrom(e);
    });
    const names = samples.map((s) => s.name);
    const reference =
      flags.reference === "host"
        ? await hostReference(
            target.archive?.path ?? model.path,
            // The archive's cached host project is the target itself: the reference runs on it.
            target.archive?.template === "host" && (flags.projectOption ?? []).length === 0
              ? { dir: target.dir, project, options: opened.options }
              : undefined,
            model,
            samples,
            flags,
            progress,
            signal,
          )
        : await loadReferenceFile(flags.reference, model.outputs, names).catch((e: unknown) => {
            throw cliErrorFrom(e);
          });
    signal.throwIfAborted();
    const mark = log.mark();
    let session: SamplesSession;
    try {
      session = await runSamplesInSession(project, opened.options, model, samples, progress, {
        build: buildMode(flags.build),
        ...(flags.timeout !== undefined ? { timeoutSec: flags.timeout } : {}),
      });
    } catch (error) {
      await project.close();
      throw deviceRunError(error, signal.aborted, log.since(mark), "validate", log);
    }
    const { run, built, firmware } = session;
    saveGivenOptions(target.dir, opened.given);
    const verdict = judgeOutputs(model.outputs, outputsByName(run.results), reference, limits);
    return { target, model, samples, reference, run, verdict, built, firmware };
  } finally {
    await project.close();
  }
}

/**
 * The reference `host`: the same archive on the host template (a cached project), every sample
 * in one session. A model that cannot be generated or built for the host is refused with the
 * reason.
 */
async function hostReference(
  archive: string,
  same: { dir: string; project: GeneratedProject; options: ProjectOptions } | undefined,
  model: InferenceModel,
  samples: readonly Sample[],
  flags: ValidateFlags,
  progress: Progress,
  signal: AbortSignal,
): Promise<Reference> {
  const refuse = (error: unknown): CliError => {
    const plain = deviceRunError(error, false, [], "building the model on the host template");
    const why = plain instanceof Error ? plain.message : String(plain);
    return new CliError(
      `--reference host: the model cannot run on the host template (${why}); give a reference folder, .npz or .json instead`,
      ExitCode.badInput,
      { cause: error },
    );
  };
  if (same) {
    const { run } = await runSamplesInSession(same.project, same.options, model, samples, progress, {
      build: "auto",
      ...(flags.timeout !== undefined ? { timeoutSec: flags.timeout } : {}),
    });
    return referenceFromOutputs(
      `host (the same archive on the host template, ${same.dir})`,
      outputsByName(run.results),
    );
  }
  let target: ProjectTarget;
  try {
    target = await resolveTarget(
      archive,
      { python: flags.python, verbose: flags.verbose, template: "host" },
      progress,
      signal,
    );
  } catch (error) {
    throw refuse(error);
  }
  const log = new ServerLog();
  const opened = await openRunProject(target.dir, [], flags, progress, { onServerLine: log.add, signal });
  try {
    const project: GeneratedProject = opened.project;
    try {
      await progress.step(`building the host reference ${target.dir}`, () => project.build(opened.options));
    } catch (error) {
      if (signal.aborted) throw error;
      throw refuse(error);
    }
    const hostModel = await loadProjectModel(project, model.name);
    const mark = log.mark();
    try {
      const { run } = await runSamplesInSession(project, opened.options, hostModel, samples, progress, {
        build: "never",
        ...(flags.timeout !== undefined ? { timeoutSec: flags.timeout } : {}),
      });
      return referenceFromOutputs(
        `host (the same archive on the host template, ${target.dir})`,
        outputsByName(run.results),
      );
    } catch (error) {
      await project.close();
      const plain = deviceRunError(error, signal.aborted, log.since(mark), "running the host reference", log);
      if (plain instanceof CliError && plain.exitCode !== ExitCode.interrupted) {
        throw new CliError(`--reference host: ${plain.message}`, plain.exitCode, { cause: error });
      }
      throw plain;
    }
  } finally {
    await opened.project.close();
  }
}

// ---- output ----------------------------------------------------------------------------------------

/** A metric as printed: 0 as 0, else 6 significant digits; NaN and infinity spelled out. */
function figure(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (value === 0) return "0";
  const abs = Math.abs(value);
  if (abs < 1e-4 || abs >= 1e6) return value.toExponential(4);
  return String(Number(value.toPrecision(6)));
}

function top1(m: ErrorMetrics): string {
  return `${m.top1.agree}/${m.top1.samples}`;
}

function outputName(model: InferenceModel, index: number): string {
  return model.outputs[index]?.name ?? `output_${index}`;
}

function limitText(limit: { metric: keyof typeof METRICS; limit: number }): string {
  return `${limit.metric} ${METRICS[limit.metric].atLeast ? ">=" : "<="} ${figure(limit.limit)}`;
}

function referenceText(reference: Reference): string {
  return reference.kind === "host" ? reference.description : `${reference.kind} ${reference.description}`;
}

function printValidateText(report: ValidationReport, limits: readonly ToleranceLimit[] | undefined): void {
  const { model, run, verdict, target } = report;
  const lines: string[] = [];
  const rate = run.results.length / run.seconds;
  lines.push(
    `validated ${model.name} (${model.executor} executor) in ${target.dir}: ${run.results.length} sample${run.results.length === 1 ? "" : "s"} in one session, ${figure(run.seconds)} s (${figure(rate)} samples/s)`,
  );
  lines.push(`reference: ${referenceText(report.reference)}`);
  lines.push("");
  lines.push(
    formatTable(
      ["sample", "output", "max abs err", "mean abs err", "top-1 device", "top-1 reference"],
      verdict.metrics.samples.flatMap((s) =>
        s.outputs.map((o, index) => [
          s.name,
          outputName(model, index),
          figure(o.maxAbsError),
          figure(o.meanAbsError),
          String(o.deviceTop1),
          String(o.referenceTop1) + (o.deviceTop1 === o.referenceTop1 ? "" : "  ✗"),
        ]),
      ),
    ),
  );
  lines.push("");
  lines.push(formatTable(METRIC_COLUMNS, metricRows(report)));
  lines.push("");
  lines.push(verdictLine(report, limits));
  process.stdout.write(`${lines.join("\n")}\n`);
}

const METRIC_COLUMNS = [
  "output",
  "elements",
  "max abs err",
  "mean abs err",
  "rmse",
  "l2 rel err",
  "cosine",
  "top-1",
];

/** One row per output (and an overall row for several), as the table and the report show them. */
function metricRows(report: ValidationReport): string[][] {
  const { model, verdict } = report;
  const row = (name: string, m: ErrorMetrics) => [
    name,
    String(m.elements),
    figure(m.maxAbsError),
    figure(m.meanAbsError),
    figure(m.rmse),
    figure(m.l2RelativeError),
    figure(m.cosineSimilarity),
    top1(m),
  ];
  return [
    ...verdict.metrics.outputs.map((m, index) => row(outputName(model, index), m)),
    ...(model.outputs.length > 1 ? [row("overall", verdict.metrics.overall)] : []),
  ];
}

/** `PASSED: …` or `FAILED (…): …`, naming the limits and where they came from. */
function verdictLine(report: ValidationReport, limits: readonly ToleranceLimit[] | undefined): string {
  const { model, verdict } = report;
  const source = limits
    ? "--tolerance"
    : "default: integer outputs exact, float outputs within 1e-5 relative";
  const failed = verdict.checks.filter((c) => !c.passed);
  if (failed.length === 0)
    return `PASSED: ${[...new Set(verdict.checks.map(limitText))].join(", ")} on every output (${source})`;
  return `FAILED (${source}): ${failed
    .map(
      (c) =>
        `output ${JSON.stringify(outputName(model, c.output ?? 0))} ${c.metric} ${figure(c.actual)}, limit ${limitText(c)}`,
    )
    .join("; ")}`;
}

/** `--report`: the metrics, the verdict and the firmware's memory, as one self-contained page. */
async function writeValidateReport(
  path: string,
  report: ValidationReport,
  limits: readonly ToleranceLimit[] | undefined,
): Promise<void> {
  const { model, run, target } = report;
  const footprint = await readProjectFootprint(target.dir).catch(() => undefined);
  writeReport(
    path,
    renderReport({
      title: `Validation: ${model.name}`,
      facts: [
        ["project", target.dir],
        ["model", `${model.name} (${model.executor} executor)`],
        ["reference", referenceText(report.reference)],
        ["samples", `${run.results.length} in one session, ${figure(run.seconds)} s`],
        ["validated", new Date().toISOString()],
      ],
      metrics: {
        title: "Error metrics against the reference",
        columns: METRIC_COLUMNS,
        rows: metricRows(report),
        verdict: { ok: report.verdict.passed, text: verdictLine(report, limits) },
      },
      ...(footprint ? { footprint } : {}),
    }),
  );
}

/** A metric for JSON: NaN and infinities (not JSON numbers) become null. */
function num(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

function metricsJson(m: ErrorMetrics): Record<string, unknown> {
  return {
    elements: m.elements,
    max_abs_error: num(m.maxAbsError),
    mean_abs_error: num(m.meanAbsError),
    rmse: num(m.rmse),
    l2_relative_error: num(m.l2RelativeError),
    cosine_similarity: num(m.cosineSimilarity),
    top1_agreement: { agree: m.top1.agree, samples: m.top1.samples },
  };
}

function printValidateJson(
  report: ValidationReport,
  limits: readonly ToleranceLimit[] | undefined,
  reportPath: string | undefined,
): void {
  const { target, model, samples, run, verdict, reference } = report;
  printJson("microtvm.validate/1", {
    project_dir: target.dir,
    ...(target.archive
      ? {
          archive: {
            path: target.archive.path,
            sha256: target.archive.sha256,
            template: target.archive.template,
            project_created: target.archive.created,
          },
        }
      : {}),
    model: { name: model.name, executor: model.executor, path: model.path },
    built: report.built,
    firmware: firmwareJson(report.firmware),
    reference: { kind: reference.kind, source: reference.description },
    session: {
      samples: run.results.length,
      seconds: roundSeconds(run.seconds),
      samples_per_second: num(roundTo(run.results.length / run.seconds, 0.01)),
    },
    samples: verdict.metrics.samples.map((s, index) => ({
      name: s.name,
      inputs: samples[index]!.inputs.map((i) => ({ name: i.spec.name, ...i.source })),
      outputs: s.outputs.map((o, k) => ({
        name: outputName(model, k),
        max_abs_error: num(o.maxAbsError),
        mean_abs_error: num(o.meanAbsError),
        device_top1: o.deviceTop1,
        reference_top1: o.referenceTop1,
      })),
    })),
    outputs: verdict.metrics.outputs.map((m, index) => ({
      name: outputName(model, index),
      dtype: model.outputs[index]?.dtype,
      shape: model.outputs[index]?.shape,
      ...metricsJson(m),
    })),
    overall: metricsJson(verdict.metrics.overall),
    tolerance: {
      source: limits ? "option" : "default",
      checks: verdict.checks.map((c) => ({
        output: outputName(model, c.output ?? 0),
        metric: c.metric,
        limit: c.limit,
        actual: num(c.actual),
        at_least: METRICS[c.metric].atLeast,
        passed: c.passed,
      })),
    },
    passed: verdict.passed,
    ...(reportPath ? { report: reportPath } : {}),
  });
}
