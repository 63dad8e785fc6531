// Running every sample in one device session for `validate` (and the host reference it may
// need): build, flash, open the session, run the samples, close. Everything opened is closed on
// every path; the caller stops the project's server.
import type { GeneratedProject, ProjectOptions } from "../../client/index.js";
import { Device, runSamples, type InferenceModel, type Sample, type SamplesRun } from "../../device/index.js";
import { RpcError } from "../../rpc/index.js";
import { SessionError } from "../../session/index.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { projectCallError } from "../project/errors.js";
import type { Progress } from "../project/progress.js";

export interface SamplesSessionOptions {
  /** Ask the project to build first. */
  build: boolean;
  /** Seconds to wait for each device reply. */
  timeoutSec?: number;
  /** Registers a way to end the session early (Ctrl-C). */
  onOpen?: (close: () => Promise<void>) => void;
}

/** Builds (when asked), flashes, opens one session and runs every sample in it. */
export async function runSamplesInSession(
  project: GeneratedProject,
  options: ProjectOptions,
  model: InferenceModel,
  samples: readonly Sample[],
  progress: Progress,
  settings: SamplesSessionOptions,
): Promise<SamplesRun> {
  const device = await Device.open(project, {
    options,
    build: settings.build ? "always" : "never",
    step: (what, work) => progress.step(what, work),
    onLog: (text) => progress.log(`device: ${text}`),
    ...(settings.timeoutSec !== undefined ? { replyTimeoutSec: settings.timeoutSec } : {}),
  });
  settings.onOpen?.(() => device.close());
  try {
    const session = await device.loadModel(model);
    const runner = { run: (inputs: Parameters<typeof session.run>[0]) => session.run(inputs) };
    return await progress.step(
      `running ${samples.length} sample${samples.length === 1 ? "" : "s"} of ${model.name} (${model.executor} executor) in one session`,
      () => runSamples(runner, samples),
    );
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
