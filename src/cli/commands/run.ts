// `microtvm run <project-dir | model.tar>`: build if needed, flash, start a session with the
// device, run the model (AOT or graph executor, from the MLF) on every sample of inputs in that
// one session, print the outputs and the device and round-trip times. Everything started is
// stopped on every path.
import type { Command } from "commander";
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { GeneratedProject } from "../../client/index.js";
import { writeTensorFile, type FillMode } from "../../rpc/index.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { fileErrorToCliError, makeDirectories, removeEmptyDirectories } from "../file-errors.js";
import {
  addProjectOptionFlag,
  addServerFlags,
  addStandaloneCrtFlag,
  collectRepeated,
  type ServerFlags,
} from "../options.js";
import { formatTable, printJson, roundMicros } from "../output.js";
import {
  Device,
  deviceTimer,
  loadProjectModel,
  loadSamples,
  type DeviceTimer,
  type FirmwareIdentity,
  type InferenceModel,
  type InferenceOutcome,
  type InferenceTiming,
  type Sample,
  type SampleSource,
} from "../../device/index.js";
import { cliErrorFrom } from "../options.js";
import { cancellable } from "../cancel.js";
import { parseFillMode } from "../inference/inputs.js";
import { buildMode, deviceOpenOptions, deviceRunError, ServerLog } from "../inference/samples-session.js";
import { firmwareJson } from "../inference/firmware.js";
import {
  addDeviceTargetFlags,
  openRunProject,
  resolveTarget,
  saveGivenOptions,
  type ProjectTarget,
} from "../inference/project.js";
import {
  formatMicros,
  formatValue,
  jsonValues,
  median,
  summariseValues,
  topN,
} from "../inference/summary.js";
import { builtInOptionsHelp } from "../project/describe.js";
import { Progress } from "../project/progress.js";

interface RunFlags extends ServerFlags {
  input?: string[];
  fillMode: FillMode;
  outputDir?: string;
  printTop: number;
  repeat: number;
  number: number;
  json?: boolean;
  projectOption?: string[];
  template?: string;
  model?: string;
  /** true: --build, false: --no-build, undefined: as the build stamp says. */
  build?: boolean;
  timeout?: number;
  standaloneCrtDir?: string;
}

function positiveInt(name: string, min: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min) {
      throw new CliError(
        `${name} must be a whole number >= ${min}, got ${JSON.stringify(text)}`,
        ExitCode.usage,
      );
    }
    return n;
  };
}

export function runCommand(program: Command): void {
  const command = program
    .command("run")
    .description(
      "run a model on a project's device: build if needed, flash, send inputs, run, print outputs and timing",
    )
    .argument(
      "<project-or-archive>",
      "a generated project directory, or a model archive (.tar) to run with --template",
    )
    .option(
      "-i, --input <name=path>",
      "an input's samples: NAME is the input's name or index; PATH a file (.bin raw, .npy, .json), a folder (sorted by name), a quoted glob or an .npz; samples pair across inputs by file stem and all run in one session (repeatable)",
      collectRepeated,
    )
    .option(
      "--fill-mode <mode>",
      "how inputs without --input are filled: zeros, ones or random (seeded)",
      parseFillMode,
      "random",
    )
    .option(
      "--output-dir <dir>",
      "write each output as <name>.bin and <name>.npy (several samples: <sample>/<name>.bin and .npy)",
    )
    .option("--print-top <n>", "show the n largest elements of each output", positiveInt("--print-top", 0), 5)
    .option("--repeat <n>", "timing repetitions (medians are reported)", positiveInt("--repeat", 1), 10)
    .option("--number <n>", "runs per device timing repetition", positiveInt("--number", 1), 10);
  addDeviceTargetFlags(command, "run");
  addProjectOptionFlag(command, true);
  addStandaloneCrtFlag(command);
  addServerFlags(command)
    .option("--json", "print one JSON document (schema microtvm.run/2)")
    .addHelpText(
      "after",
      () =>
        "\nWith a model archive the project is generated once into a cache directory\n" +
        "($MICROTVM_CACHE_DIR, else $XDG_CACHE_HOME/microtvm, else ~/.cache/microtvm) and reused;\n" +
        "its -o options choose the cached project. With a project directory they are saved in the\n" +
        "project once the run succeeded, and every later command uses them until changed.\n" +
        "The project is built only when its build stamp (microtvm-build-stamp.json) is missing or\n" +
        "differs: another model archive, other build options, or changed template or runtime files.\n" +
        builtInOptionsHelp(["generate_project", "build", "flash", "open_transport"]),
    )
    .action(async (targetArg: string, flags: RunFlags) => {
      await runModel(targetArg, flags);
    });
}

interface RunReport {
  target: ProjectTarget;
  model: InferenceModel;
  samples: Sample[];
  /** One per sample, in order. */
  outcomes: InferenceOutcome[];
  /** Measured with the last sample's inputs in place. */
  timing: InferenceTiming;
  built: boolean;
  /** What the firmware's build stamp said (checked before anything ran). */
  firmware: FirmwareIdentity;
  written: string[];
  /** How the device's timer counts, when the project's server recorded it. */
  timer: DeviceTimer | undefined;
}

async function runModel(targetArg: string, flags: RunFlags): Promise<void> {
  // Ctrl-C aborts the signal: the project's server, and the firmware or emulator it started, stop;
  // the step in flight fails and the command ends as interrupted.
  const report = await cancellable((signal) => runWithSignal(targetArg, flags, signal));
  if (flags.json) printRunJson(report);
  else printRunText(report, flags.printTop);
}

async function runWithSignal(targetArg: string, flags: RunFlags, signal: AbortSignal): Promise<RunReport> {
  const progress = new Progress();
  let project: GeneratedProject | undefined;
  let device: Device | undefined;
  const serverLog = new ServerLog();
  try {
    const target = await resolveTarget(targetArg, flags, progress, signal);
    signal.throwIfAborted();
    // In archive mode the -o options went into the cached project; they are saved there.
    const assignments = target.archive ? [] : (flags.projectOption ?? []);
    const opened = await openRunProject(target.dir, assignments, flags, progress, {
      onServerLine: serverLog.add,
      signal,
    });
    project = opened.project;
    const { options } = opened;
    // Everything the user gave is checked before the device is touched.
    const model = await loadProjectModel(project, flags.model);
    const samples = await loadSamples(flags.input ?? [], model.inputs, flags.fillMode).catch((e: unknown) => {
      throw cliErrorFrom(e);
    });
    const outputDir = flags.outputDir === undefined ? undefined : resolve(flags.outputDir);
    if (outputDir !== undefined) checkOutputDir(outputDir);

    device = await Device.open(project, {
      ...deviceOpenOptions(progress, target.dir, options, {
        build: buildMode(flags.build),
        timeoutSec: flags.timeout,
      }),
      onDrop: (text) => progress.log(`session: ${text}`),
    });
    const built = device.build.built;
    const firmware = device.firmware!;
    const s = await device.loadModel(model);
    const outcomes: InferenceOutcome[] = [];
    const count = samples.length === 1 ? "" : ` on ${samples.length} samples`;
    await progress.step(`running ${model.name} (${model.executor} executor)${count}`, async () => {
      for (const sample of samples) outcomes.push(await s.run(sample.inputs.map((i) => i.tensor)));
    });
    const timing = await progress.step(`timing ${flags.repeat} repetitions`, () =>
      s.measure(flags.repeat, flags.number),
    );
    await device.close();
    signal.throwIfAborted();
    const written: string[] = [];
    if (outputDir) {
      // One sample keeps the flat layout; several get a folder each (the layout `validate` reads).
      const sampleDirs =
        samples.length === 1
          ? [outputDir]
          : samples.map((x) =>
              join(outputDir, x.name.replace(/[^\w.-]+/g, "_").replace(/^\.+/, "") || "sample"),
            );
      for (const [index, outcome] of outcomes.entries())
        written.push(...(await writeOutputs(sampleDirs[index]!, model, outcome)));
    }
    const timer = deviceTimer(target.dir);
    saveGivenOptions(target.dir, opened.given);
    return { target, model, samples, outcomes, timing, built, firmware, written, timer };
  } catch (error) {
    // End the session and the server first, so that the server can say how the device ended:
    // its log arrives on its stderr, a different pipe from its replies, and is complete only
    // once it has exited.
    const mark = serverLog.mark();
    if (device) await device.close();
    await project?.close();
    throw deviceRunError(error, signal.aborted, serverLog.since(mark), "run", serverLog);
  } finally {
    await device?.close();
    await project?.close();
  }
}

function fileBase(name: string, index: number, used: Set<string>): string {
  let base = name.replace(/[^\w.-]+/g, "_").replace(/^\.+/, "") || `output_${index}`;
  if (used.has(base)) base = `output_${index}`;
  used.add(base);
  return base;
}

/**
 * `--output-dir` is checked before the device is touched: it may not be a file, and when missing
 * it is made and removed again, so a place that cannot take it fails now rather than after the run.
 */
function checkOutputDir(dir: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) {
      throw new CliError(
        `--output-dir ${dir} is a file; give a directory (it is created when missing)`,
        ExitCode.badInput,
      );
    }
    return;
  }
  try {
    removeEmptyDirectories(makeDirectories(dir));
  } catch (error) {
    const plain = fileErrorToCliError(error)?.message ?? (error as Error).message;
    throw new CliError(`cannot create the output directory ${dir}: ${plain}`, ExitCode.badInput, {
      cause: error,
    });
  }
}

async function writeOutputs(
  dir: string,
  model: InferenceModel,
  outcome: InferenceOutcome,
): Promise<string[]> {
  try {
    makeDirectories(dir);
  } catch (error) {
    const plain = fileErrorToCliError(error)?.message ?? (error as Error).message;
    throw new CliError(`cannot create the output directory ${dir}: ${plain}`, ExitCode.badInput, {
      cause: error,
    });
  }
  const used = new Set<string>();
  const written: string[] = [];
  for (const [index, tensor] of outcome.outputs.entries()) {
    const base = fileBase(model.outputs[index]?.name ?? `output_${index}`, index, used);
    for (const ext of ["bin", "npy"]) {
      const file = join(dir, `${base}.${ext}`);
      await writeTensorFile(file, tensor);
      written.push(file);
    }
  }
  return written;
}

function outputName(model: InferenceModel, index: number): string {
  return model.outputs[index]?.name ?? `output_${index}`;
}

function timingJson(
  timing: InferenceTiming,
  outcome: InferenceOutcome,
  timer: DeviceTimer | undefined,
): Record<string, unknown> {
  // Microseconds to 0.1: finer than any timer the figures come from.
  const us = (s: number) => roundMicros(s * 1e6);
  return {
    device_us_median: us(median(timing.deviceSec)),
    ...(timer
      ? {
          device_ticks_median: Math.round(median(timing.deviceSec) * timer.hz),
          device_timer: { hz: timer.hz, deterministic: timer.deterministic, source: timer.source },
        }
      : {}),
    round_trip_us_median: us(median(timing.roundTripSec)),
    device_us: timing.deviceSec.map(us),
    round_trip_us: timing.roundTripSec.map(us),
    repeat: timing.repeat,
    number: timing.number,
    device_method: timing.deviceMethod,
    first_inference: {
      upload_us: us(outcome.uploadSec),
      run_us: us(outcome.runSec),
      download_us: us(outcome.downloadSec),
    },
  };
}

function sourceJson(source: SampleSource): Record<string, unknown> {
  if ("file" in source) return { file: resolve(source.file) };
  if ("npz" in source) return { npz: resolve(source.npz), key: source.key };
  return { fill: source.fill };
}

function outputsJson(model: InferenceModel, outcome: InferenceOutcome): Record<string, unknown>[] {
  return outcome.outputs.map((t, index) => ({
    name: outputName(model, index),
    dtype: t.dtype,
    shape: t.shape,
    values: jsonValues(t),
  }));
}

function inputsJson(sample: Sample): Record<string, unknown>[] {
  return sample.inputs.map((i) => ({
    name: i.spec.name,
    dtype: i.spec.dtype,
    shape: i.spec.shape,
    ...sourceJson(i.source),
  }));
}

function printRunJson(report: RunReport): void {
  const { target, model, samples, outcomes, timing } = report;
  const one = samples.length === 1;
  printJson("microtvm.run/2", {
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
    samples: samples.map((sample, index) => ({
      name: sample.name,
      inputs: inputsJson(sample),
      outputs: outputsJson(model, outcomes[index]!),
    })),
    // One sample also keeps the top-level fields of microtvm.run/1.
    ...(one ? { inputs: inputsJson(samples[0]!), outputs: outputsJson(model, outcomes[0]!) } : {}),
    timing: timingJson(timing, outcomes[0]!, report.timer),
    files: report.written,
  });
}

function sourceText(source: SampleSource): string {
  if ("file" in source) return source.file;
  if ("npz" in source) return `${source.npz} [${source.key}]`;
  return `${source.fill} fill`;
}

function printRunText(report: RunReport, top: number): void {
  const { target, model, samples, outcomes, timing } = report;
  const lines: string[] = [];
  lines.push(
    `model ${model.name} (${model.executor} executor) in ${target.dir}` +
      (samples.length > 1 ? `: ${samples.length} samples in one session` : ""),
  );
  for (const [k, sample] of samples.entries()) {
    if (samples.length > 1) lines.push("", `sample ${sample.name}`);
    lines.push(
      formatTable(
        ["input", "dtype", "shape", "from"],
        sample.inputs.map((i) => [
          i.spec.name,
          i.spec.dtype,
          `[${i.spec.shape.join(", ")}]`,
          sourceText(i.source),
        ]),
      ),
    );
    for (const [index, tensor] of outcomes[k]!.outputs.entries()) {
      lines.push("");
      lines.push(`output ${outputName(model, index)}: ${tensor.dtype} [${tensor.shape.join(", ")}]`);
      lines.push(`  values ${summariseValues(tensor)}`);
      if (top > 0) {
        const best = topN(tensor, top);
        lines.push(
          `  top ${best.length}  ${best.map((e) => `#${e.index} = ${formatValue(e.value)}`).join(", ")}`,
        );
      }
    }
  }
  const outcome = outcomes[0]!;
  const device = median(timing.deviceSec) * 1e6;
  const roundTrip = median(timing.roundTripSec) * 1e6;
  lines.push("");
  lines.push(
    `device time   ${formatMicros(device)} per inference (median of ${timing.repeat} repetitions × ${timing.number} runs, timed on the device)`,
  );
  const timer = report.timer;
  if (timer) {
    const ticks = Math.round((device / 1e6) * timer.hz);
    lines.push(
      `              = ${ticks} ticks of the ${timer.hz / 1e6} MHz ${timer.source}` +
        (timer.deterministic
          ? " (deterministic: the same on every run, not cycles of real silicon)"
          : " (follows the host clock: varies with load)"),
    );
  }
  lines.push(
    `round trip    ${formatMicros(roundTrip)} per run call, host clock (median of ${timing.repeat})`,
  );
  lines.push(
    `first run     upload ${formatMicros(outcome.uploadSec * 1e6)}, run ${formatMicros(outcome.runSec * 1e6)}, download ${formatMicros(outcome.downloadSec * 1e6)}`,
  );
  for (const file of report.written) lines.push(`wrote ${file}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}
