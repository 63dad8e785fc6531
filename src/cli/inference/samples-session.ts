// Running every sample in one device session for `validate` (and the host reference it may
// need): build, flash, open the session, run the samples, close. Everything opened is closed on
// every path; the caller stops the project's server.
import type { GeneratedProject, ProjectOptions } from "../../client/index.js";
import {
  Device,
  DeviceStartError,
  runSamples,
  type FirmwareIdentity,
  type InferenceModel,
  type OpenDeviceOptions,
  type Sample,
  type SamplesRun,
} from "../../device/index.js";
import { RpcError } from "../../rpc/index.js";
import { SessionError } from "../../session/index.js";
import { interruptedError } from "../cancel.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { projectCallError } from "../project/errors.js";
import type { Progress } from "../project/progress.js";

/** `--build` (true), `--no-build` (false) or neither (as the build stamp says). */
export function buildMode(build: boolean | undefined): "auto" | "always" | "never" {
  return build === undefined ? "auto" : build ? "always" : "never";
}

/**
 * The last lines a project's server printed, to explain how a device ended; how the firmware
 * ended is kept even when the server said it before the call that failed.
 */
export class ServerLog {
  private readonly lines: string[] = [];
  private count = 0;
  private firmwareEnd: { line: string; at: number } | undefined;
  /** The last lines the firmware (or emulator) wrote to its stderr, as the server relayed them. */
  readonly firmwareSaid: string[] = [];

  add = (line: string): void => {
    this.lines.push(line);
    if (this.lines.length > 20) this.lines.shift();
    if (/firmware (exited with status|was killed by)/.test(line)) this.firmwareEnd = { line, at: this.count };
    const said = /^(?:\w+:[\w.-]+:)?firmware: (.*)$/.exec(line);
    if (said?.[1]) {
      this.firmwareSaid.push(said[1]);
      if (this.firmwareSaid.length > 3) this.firmwareSaid.shift();
    }
    this.count++;
  };

  /** How the firmware ended, when the server said so. */
  get firmwareEnded(): string | undefined {
    return this.firmwareEnd?.line.replace(/^\w+:[\w.-]+:/, "").replace(/; its last stderr lines:$/, "");
  }

  /** A point to read from with {@link since}. */
  mark(): number {
    return this.count;
  }

  /** The lines since `mark` (prefixes like `INFO:server:` dropped), led by how the firmware ended. */
  since(mark: number): string[] {
    const kept = this.lines.slice(Math.max(0, this.lines.length - (this.count - mark)));
    const end = this.firmwareEnd;
    if (end && end.at < mark) kept.unshift(end.line);
    return kept.map((line) => line.replace(/^\w+:[\w.]+:/, ""));
  }
}

export interface SamplesSessionOptions {
  /** `auto`: build when the build stamp says the firmware is not current. */
  build: "auto" | "always" | "never";
  /** Seconds to wait for each device reply. */
  timeoutSec?: number;
}

/**
 * Device.open options for a command: the project's options, when to build, the reply timeout,
 * and the device's steps, skipped builds, warnings and log lines told through `progress`
 * (`dir`: the project as the user named it).
 */
export function deviceOpenOptions(
  progress: Progress,
  dir: string,
  options: ProjectOptions,
  settings: SamplesSessionOptions,
): OpenDeviceOptions {
  return {
    options,
    build: settings.build,
    step: (what, work) => progress.step(what, work),
    onBuildSkipped: (reason) => progress.log(`not building ${dir}: ${reason}`),
    onUnstampedFirmware: (why) => progress.log(`warning: ${why}`),
    onLog: (text) => progress.log(`device: ${text}`),
    ...(settings.timeoutSec !== undefined ? { replyTimeoutSec: settings.timeoutSec } : {}),
  };
}

export interface SamplesSession {
  run: SamplesRun;
  /** Whether the project was built first. */
  built: boolean;
  /** What the firmware's build stamp said (checked before anything ran). */
  firmware: FirmwareIdentity;
}

/**
 * Builds when needed, flashes, opens one session, checks the firmware's build stamp (stale or
 * foreign firmware is refused, unstamped firmware warned about) and runs every sample in it.
 */
export async function runSamplesInSession(
  project: GeneratedProject,
  options: ProjectOptions,
  model: InferenceModel,
  samples: readonly Sample[],
  progress: Progress,
  settings: SamplesSessionOptions,
): Promise<SamplesSession> {
  const device = await Device.open(
    project,
    deviceOpenOptions(progress, project.projectDir, options, settings),
  );
  try {
    const session = await device.loadModel(model);
    const run = await progress.step(
      `running ${samples.length} sample${samples.length === 1 ? "" : "s"} of ${model.name} (${model.executor} executor) in one session`,
      () => runSamples(session, samples),
    );
    return { run, built: device.build.built, firmware: device.firmware! };
  } finally {
    await device.close();
  }
}

/**
 * Turns what failed into the CLI's one-line error. `serverSaid` is what the project's server
 * logged after the session ended (for the host template: how the firmware process ended).
 */
export function deviceRunError(
  error: unknown,
  interrupted: boolean,
  serverSaid: readonly string[],
  what: string,
  log?: ServerLog,
): unknown {
  if (interrupted) return interruptedError();
  if (error instanceof CliError) return error;
  if (error instanceof DeviceStartError) {
    // What stopped it, in the firmware's own words when it said anything (an emulator that cannot
    // be executed, a missing library), else what failed on the host's side.
    const said = log?.firmwareSaid ?? [];
    const ended = log?.firmwareEnded;
    let cause: string;
    if (said.length > 0) cause = `${ended ? `${ended}, saying` : "the firmware said"}: ${said.join(" | ")}`;
    else if (ended) cause = ended;
    else {
      const plain = deviceRunError(error.cause, false, serverSaid, what);
      cause = (plain instanceof Error ? plain.message : String(plain)).replace(/^device: /, "");
    }
    return new CliError(
      `device: the device did not start: ${cause}; run \`microtvm doctor\` to check the tools it needs`,
      ExitCode.failed,
      { cause: error },
    );
  }
  if (error instanceof RpcError || error instanceof SessionError) {
    const said = serverSaid.length > 0 ? ` (the project's server says: ${serverSaid.join(" | ")})` : "";
    return new CliError(`device: ${error.message}${said}`, ExitCode.failed, { cause: error });
  }
  return projectCallError(error, what);
}
