// The server process entry: parse `--read-fd N --write-fd M [--debug]` as the reference's
// argparse does, serve the two pipes until the client closes them, exit 0.

import type { Channel } from "../channel/index.js";
import { createFdChannel } from "../channel/index.js";
import type { ProjectApiHandler } from "./handler.js";
import { createStderrLog } from "./log.js";
import { serveChannel } from "./serve.js";

export interface ServerArgs {
  readFd: number;
  writeFd: number;
  debug: boolean;
}

/** A command line the server cannot run with; exit status 2 like argparse. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export const SERVER_USAGE = "usage: microtvm_api_server [-h] --read-fd READ_FD --write-fd WRITE_FD [--debug]";

const HELP = `${SERVER_USAGE}

Generic TVM Project API server entry point

options:
  -h, --help           show this help message and exit
  --read-fd READ_FD    Numeric file descriptor where RPC requests should be read.
  --write-fd WRITE_FD  Numeric file descriptor where RPC replies should be written.
  --debug              When given, configure logging at DEBUG level.
`;

/** Parses the server's argv; returns "help" for -h/--help. Throws UsageError. */
export function parseServerArgs(argv: readonly string[]): ServerArgs | "help" {
  let readFd: number | undefined;
  let writeFd: number | undefined;
  let debug = false;
  const unrecognized: string[] = [];
  const fdValue = (flag: string, value: string | undefined): number => {
    if (value === undefined || (value.startsWith("-") && !/^-\d+$/.test(value)))
      throw new UsageError(`argument ${flag}: expected one argument`);
    if (!/^\s*[-+]?\d+\s*$/.test(value))
      throw new UsageError(`argument ${flag}: invalid int value: '${value}'`);
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 0)
      throw new UsageError(`argument ${flag}: not a file descriptor: ${value}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const [flag, inline] =
      arg.startsWith("--") && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    if (flag === "-h" || flag === "--help") return "help";
    if (flag === "--read-fd" || flag === "--write-fd") {
      const value = inline ?? argv[++i];
      const fd = fdValue(flag, value);
      if (flag === "--read-fd") readFd = fd;
      else writeFd = fd;
    } else if (flag === "--debug" && inline === undefined) debug = true;
    else unrecognized.push(arg);
  }
  const missing = [readFd === undefined && "--read-fd", writeFd === undefined && "--write-fd"].filter(
    Boolean,
  );
  if (missing.length > 0) throw new UsageError(`the following arguments are required: ${missing.join(", ")}`);
  if (unrecognized.length > 0) throw new UsageError(`unrecognized arguments: ${unrecognized.join(" ")}`);
  return { readFd: readFd!, writeFd: writeFd!, debug };
}

export interface RunServerOptions {
  /** Call process.exit with the status when done (default true). */
  exit?: boolean;
}

// How long handler.shutdown() may take when the client has gone.
const SHUTDOWN_GRACE_MS = 5000;

async function shutdownHandler(
  handler: ProjectApiHandler,
  log: ReturnType<typeof createStderrLog>,
): Promise<void> {
  if (!handler.shutdown) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve(handler.shutdown()),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`shutdown took longer than ${SHUTDOWN_GRACE_MS} ms`)),
          SHUTDOWN_GRACE_MS,
        );
      }),
    ]);
  } catch (e) {
    log.error(`handler shutdown failed: ${(e as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs a Project API server process: serves `--read-fd`/`--write-fd` until EOF and resolves
 * with the exit status (0 when the client closed the channel or sent something unusable, 1
 * when the descriptors cannot be used, 2 for a usage error). Logs only to stderr. By default
 * it then exits the process with that status.
 */
export async function runServer(
  handler: ProjectApiHandler,
  argv: readonly string[] = process.argv.slice(2),
  opts: RunServerOptions = {},
): Promise<number> {
  const status = await runServerInner(handler, argv);
  if (opts.exit !== false) process.exit(status);
  return status;
}

async function runServerInner(handler: ProjectApiHandler, argv: readonly string[]): Promise<number> {
  let args: ServerArgs | "help";
  try {
    args = parseServerArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${SERVER_USAGE}\nmicrotvm_api_server: error: ${e.message}\n`);
    return 2;
  }
  if (args === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  const log = createStderrLog(args.debug);
  let channel: Channel;
  try {
    channel = createFdChannel(args.readFd, args.writeFd);
  } catch (e) {
    process.stderr.write(
      `microtvm_api_server: cannot use --read-fd ${args.readFd} / --write-fd ${args.writeFd}: ${(e as Error).message}\n` +
        "This program is started by a Project API client, which passes the two pipe descriptors.\n",
    );
    return 1;
  }

  const onSignal = (signal: NodeJS.Signals) => {
    log.debug(`received ${signal}; shutting down`);
    void shutdownHandler(handler, log).finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);

  const end = await serveChannel(handler, channel, { log });
  log.debug(`server stopping: ${end.reason} after ${end.replies} replies`);
  await channel.close();
  await shutdownHandler(handler, log);
  process.off("SIGTERM", onSignal);
  process.off("SIGINT", onSignal);
  return 0;
}
