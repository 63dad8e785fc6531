// Running every sample in one device session for `validate` (and the host reference it may
// need): build, flash, open the session, run the samples, close. Everything opened is closed on
// every path; the caller stops the project's server.
import type { GeneratedProject, ProjectOptions } from "../../client/index.js";
import {
  Device,
  runSamples,
  type FirmwareIdentity,
  type InferenceModel,
  type Sample,
  type SamplesRun,
} from "../../device/index.js";
import { RpcError } from "../../rpc/index.js";
import { SessionError } from "../../session/index.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { projectCallError } from "../project/errors.js";
import type { Progress } from "../project/progress.js";

export interface SamplesSessionOptions {
  /** `auto`: build when the build stamp says the firmware is not current. */
  build: "auto" | "always" | "never";
  /** Seconds to wait for each device reply. */
  timeoutSec?: number;
  /** Registers a way to end the session early (Ctrl-C). */
  onOpen?: (close: () => Promise<void>) => void;
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
  const device = await Device.open(project, {
    options,
    build: settings.build,
    step: (what, work) => progress.step(what, work),
    onBuildSkipped: (reason) => progress.log(`not building ${project.projectDir}: ${reason}`),
    onUnstampedFirmware: (why) => progress.log(`warning: ${why}`),
    onLog: (text) => progress.log(`device: ${text}`),
    ...(settings.timeoutSec !== undefined ? { replyTimeoutSec: settings.timeoutSec } : {}),
  });
  settings.onOpen?.(() => device.close());
  try {
    const session = await device.loadModel(model);
    const runner = { run: (inputs: Parameters<typeof session.run>[0]) => session.run(inputs) };
    const run = await progress.step(
      `running ${samples.length} sample${samples.length === 1 ? "" : "s"} of ${model.name} (${model.executor} executor) in one session`,
      () => runSamples(runner, samples),
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
): unknown {
  if (interrupted)
    return new CliError(
      "interrupted; the session and the project's server were closed",
      ExitCode.interrupted,
    );
  if (error instanceof CliError) return error;
  if (error instanceof RpcError || error instanceof SessionError) {
    const said = serverSaid.length > 0 ? ` (the project's server says: ${serverSaid.join(" | ")})` : "";
    return new CliError(`device: ${error.message}${said}`, ExitCode.failed, { cause: error });
  }
  return projectCallError(error, what);
}
