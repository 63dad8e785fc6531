// `microtvm monitor <project-dir>`: open the project's transport, complete the session
// handshake and show what the device logs (with --raw also every byte, as hex) until Ctrl-C or
// --duration. The session, the transport and the server are closed on every path.
import type { Command } from "commander";
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { GeneratedProject } from "../../client/index.js";
import { SessionError } from "../../session/index.js";
import { cancellable, interrupted } from "../cancel.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { addProjectOptionFlag, addServerFlags, type ServerFlags } from "../options.js";
import { printJson, roundSeconds } from "../output.js";
import { ProjectByteTransport, monitorDevice } from "../../device/index.js";
import { openRunProject, saveGivenOptions } from "../inference/project.js";
import { builtInOptionsHelp } from "../project/describe.js";
import { projectCallError } from "../project/errors.js";
import { lockProject } from "../project/lock.js";
import { Progress } from "../project/progress.js";

interface MonitorFlags extends ServerFlags {
  raw?: boolean;
  duration?: number;
  json?: boolean;
  projectOption?: string[];
}

function duration(text: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n <= 0) {
    throw new CliError(
      `--duration must be a number of seconds > 0, got ${JSON.stringify(text)}`,
      ExitCode.usage,
    );
  }
  return n;
}

export function monitorCommand(program: Command): void {
  const command = program
    .command("monitor")
    .description(
      "open a project's device session and show its log lines (and with --raw its bytes) until Ctrl-C",
    )
    .argument("<project-dir>", "a generated, built project")
    .option("--raw", "also show every byte read (<) and written (>) as hex")
    .option("--duration <sec>", "stop after this many seconds", duration);
  addProjectOptionFlag(command, true);
  addServerFlags(command)
    .option("--json", "print lines on stderr and one JSON summary (schema microtvm.monitor/1) on stdout")
    .addHelpText(
      "after",
      () =>
        "\nCtrl-C or --duration ends the monitor normally (exit 0).\n" +
        builtInOptionsHelp(["open_transport"]),
    )
    .action(async (dirArg: string, flags: MonitorFlags) => {
      await monitor(dirArg, flags);
    });
}

async function monitor(dirArg: string, flags: MonitorFlags): Promise<void> {
  const dir = resolve(dirArg);
  if (!existsSync(dir)) {
    throw new CliError(
      `project directory ${dir} does not exist; create it with microtvm create-project`,
      ExitCode.badInput,
    );
  }
  if (!statSync(dir).isDirectory()) {
    throw new CliError(`${dir} is a file; give a generated project directory`, ExitCode.badInput);
  }
  await lockProject(dir, `monitor ${dirArg}`);
  const progress = new Progress();
  const started = Date.now();
  // One mechanism for Ctrl-C: while the server starts and the transport opens it stops everything
  // (exit 130, as in every command); once monitoring, it is the normal way to end (exit 0).
  let monitoring = false;
  const summary = await cancellable(async (signal) => {
    const starting = new AbortController();
    const onAbort = () => {
      if (!monitoring) starting.abort(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    let project: GeneratedProject | undefined;
    try {
      const opened = await openRunProject(dir, flags.projectOption ?? [], flags, progress, {
        signal: starting.signal,
      });
      project = opened.project;
      const transport = project.transport(opened.options);
      const timeouts = await progress.step("opening the transport", () => transport.open());
      signal.throwIfAborted();
      monitoring = true;
      const print = flags.json
        ? (line: string) => progress.log(line)
        : (line: string) => void process.stdout.write(`${line}\n`);
      const summary = await monitorDevice(new ProjectByteTransport(transport), {
        timeouts,
        raw: flags.raw === true,
        ...(flags.duration !== undefined ? { durationSec: flags.duration } : {}),
        stopped: () => signal.aborted,
        print,
      });
      saveGivenOptions(dir, opened.given);
      return summary;
    } catch (error) {
      if (error instanceof SessionError)
        throw new CliError(`device: ${error.message}`, ExitCode.failed, { cause: error });
      throw projectCallError(error, "monitor");
    } finally {
      signal.removeEventListener("abort", onAbort);
      await project?.close();
    }
  });
  const stop = interrupted();
  const seconds = (Date.now() - started) / 1000;
  if (flags.json) {
    printJson("microtvm.monitor/1", {
      project_dir: dir,
      session_id: summary.sessionId,
      log_lines: summary.logLines,
      bytes_in: summary.bytesIn,
      bytes_out: summary.bytesOut,
      seconds: roundSeconds(seconds),
      interrupted: stop,
    });
  } else {
    process.stderr.write(
      `monitor ended${stop ? " (interrupted)" : ""} after ${seconds.toFixed(1)} s: ${summary.logLines} log lines, ${summary.bytesIn} bytes in, ${summary.bytesOut} bytes out\n`,
    );
  }
}
