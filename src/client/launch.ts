// Finding and starting the Project API server of a project directory, and stopping it again.
import { spawn, type ChildProcess } from "node:child_process";
import { statSync } from "node:fs";
import { resolve, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { ProjectApiServerNotFoundError, ServerLaunchError, type ServerExit } from "./errors.js";

/** The reference's launch script: run with the `.py` path as its first argument. */
export const LAUNCH_SCRIPT_NAME = "launch_microtvm_api_server.sh";
/** A Python server, run with `python3` (or LaunchOptions.python). */
export const PYTHON_SERVER_NAME = "microtvm_api_server.py";
/** The executable named by the former Project API documentation, run directly. */
export const DOCUMENTED_SCRIPT_NAME = "microtvm_api_server.sh";
/** Node-native servers (an extension of this package), run with the current Node binary. */
export const NODE_SERVER_NAMES = ["microtvm_api_server.js", "microtvm_api_server.mjs"] as const;

/** The fds the server reads requests from and writes replies to (stdio slots 3 and 4 of the child). */
export const SERVER_READ_FD = 3;
export const SERVER_WRITE_FD = 4;

export interface LaunchOptions {
  /** Interpreter for `microtvm_api_server.py` when no launch script is present. Default `python3`. */
  python?: string;
  /** Append `--debug` to the server's command line. */
  debug?: boolean;
  /** Receives everything the server writes to stdout and stderr (the protocol never uses them). */
  onOutput?: (text: string, stream: "stdout" | "stderr") => void;
  /** How much of the server's stderr to keep for error messages. Default 16 KiB. */
  stderrTailBytes?: number;
  /** Environment of the server. Default: this process's environment. */
  env?: NodeJS.ProcessEnv;
}

/** How a server will be started: which file was found and the command line used. */
export interface ServerCommand {
  kind: "launch-script" | "python" | "documented-script" | "node";
  /** The file that was found in the project directory. */
  file: string;
  command: string;
  args: string[];
}

/**
 * Finds the server of `projectDir` (made absolute first). Precedence, first match wins:
 * 1. `launch_microtvm_api_server.sh` — argv `[script, <dir>/microtvm_api_server.py, --read-fd 3,
 *    --write-fd 4]`, exactly as TVM's client runs it (the `.py` path is passed even if absent).
 * 2. `microtvm_api_server.py` — run as `[python3, <dir>/microtvm_api_server.py, --read-fd 3, --write-fd 4]`
 *    (`python3` or LaunchOptions.python).
 * 3. `microtvm_api_server.sh` — the executable the former Project API documentation names, run directly.
 * 4. `microtvm_api_server.js`, then `microtvm_api_server.mjs` — Node-native servers (our extension),
 *    run with the Node binary running this client.
 * `--debug` is appended when requested. Throws ProjectApiServerNotFoundError listing what was tried.
 */
export function findServer(projectDir: string, options: LaunchOptions = {}): ServerCommand {
  const dir = resolve(projectDir);
  const fdArgs = ["--read-fd", String(SERVER_READ_FD), "--write-fd", String(SERVER_WRITE_FD)];
  if (options.debug) fdArgs.push("--debug");
  const py = join(dir, PYTHON_SERVER_NAME);
  const launch = join(dir, LAUNCH_SCRIPT_NAME);
  if (isFile(launch)) return { kind: "launch-script", file: launch, command: launch, args: [py, ...fdArgs] };
  if (isFile(py))
    return { kind: "python", file: py, command: options.python ?? "python3", args: [py, ...fdArgs] };
  const documented = join(dir, DOCUMENTED_SCRIPT_NAME);
  if (isFile(documented))
    return { kind: "documented-script", file: documented, command: documented, args: fdArgs };
  for (const name of NODE_SERVER_NAMES) {
    const file = join(dir, name);
    if (isFile(file)) return { kind: "node", file, command: process.execPath, args: [file, ...fdArgs] };
  }
  if (!isDirectory(dir)) {
    throw new ProjectApiServerNotFoundError(dir, [
      `(the directory does not exist) ${LAUNCH_SCRIPT_NAME}`,
      PYTHON_SERVER_NAME,
      DOCUMENTED_SCRIPT_NAME,
      ...NODE_SERVER_NAMES,
    ]);
  }
  throw new ProjectApiServerNotFoundError(dir, [
    LAUNCH_SCRIPT_NAME,
    PYTHON_SERVER_NAME,
    DOCUMENTED_SCRIPT_NAME,
    ...NODE_SERVER_NAMES,
  ]);
}

/** Starts the server of `projectDir` (see findServer) and resolves once the process is running. */
export async function launchServer(projectDir: string, options: LaunchOptions = {}): Promise<ServerProcess> {
  const dir = resolve(projectDir);
  const command = findServer(dir, options);
  const child = spawn(command.command, command.args, {
    cwd: dir,
    env: options.env ?? process.env,
    // stdin ignored; stdout/stderr captured; fds 3 and 4 are the request and reply channel.
    stdio: ["ignore", "pipe", "pipe", "pipe", "pipe"],
    // Own process group, so the shutdown ladder also reaches anything the server started.
    detached: true,
  });
  await new Promise<void>((resolveSpawn, reject) => {
    child.once("spawn", () => resolveSpawn());
    child.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        new ServerLaunchError(`cannot start ${command.file}: ${spawnHint(error, command)}`, { cause: error }),
      );
    });
  });
  return new ServerProcess(child, dir, command, options);
}

function spawnHint(error: NodeJS.ErrnoException, command: ServerCommand): string {
  if (error.code === "EACCES") return `permission denied; make it executable (chmod +x ${command.command})`;
  if (error.code === "ENOENT" && command.kind === "python")
    return `${command.command} not found; install Python 3 or choose the interpreter with the python option`;
  if (error.code === "ENOENT") return `${command.command} not found (check its #! line)`;
  return error.message;
}

/** Waits for `promise` at most `ms`; resolves to undefined on timeout. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((res) => {
    const timer = setTimeout(() => res(undefined), ms);
    void promise.then((v) => {
      clearTimeout(timer);
      res(v);
    });
  });
}

export interface StopOptions {
  /** How long to wait for the server to exit on EOF before SIGTERM. Default 1000 ms. */
  graceMs?: number;
  /** How long to wait after SIGTERM before SIGKILL. Default 2000 ms. */
  termMs?: number;
}

/** A running Project API server: its pipes, its exit, the tail of its stderr, and the stop ladder. */
export class ServerProcess {
  readonly pid: number;
  /** Requests go here (the server's `--read-fd`). */
  readonly toServer: Writable;
  /** Replies come from here (the server's `--write-fd`). */
  readonly fromServer: Readable;
  /** Resolves when the server process has exited (and been reaped). */
  readonly exited: Promise<ServerExit>;
  private exitInfo: ServerExit | undefined;
  private tail = "";
  private stopping: Promise<ServerExit> | undefined;
  private readonly tailBytes: number;

  constructor(
    private readonly child: ChildProcess,
    readonly projectDir: string,
    readonly command: ServerCommand,
    options: LaunchOptions,
  ) {
    this.pid = child.pid!;
    this.toServer = child.stdio[SERVER_READ_FD] as Writable;
    this.fromServer = child.stdio[SERVER_WRITE_FD] as Readable;
    this.tailBytes = options.stderrTailBytes ?? 16 * 1024;
    // The pipes may fail with EPIPE/ECONNRESET when the server dies; the exit is reported instead.
    this.toServer.on("error", () => {});
    this.fromServer.on("error", () => {});
    this.exited = new Promise((res) => {
      child.once("exit", (exitCode, signal) => {
        this.exitInfo = { exitCode, signal };
        res(this.exitInfo);
      });
    });
    child.stdout!.setEncoding("utf8");
    child.stderr!.setEncoding("utf8");
    child.stdout!.on("data", (text: string) => options.onOutput?.(text, "stdout"));
    child.stderr!.on("data", (text: string) => {
      this.tail = (this.tail + text).slice(-this.tailBytes);
      options.onOutput?.(text, "stderr");
    });
  }

  /** How the process ended, once it has. */
  get exit(): ServerExit | undefined {
    return this.exitInfo;
  }

  /** The last lines the server wrote to stderr (at most `lines`, within the kept tail). */
  stderrTail(lines = 20): string {
    const all = this.tail.split("\n");
    if (all.length > 0 && all[all.length - 1] === "") all.pop();
    return all.slice(-lines).join("\n");
  }

  /**
   * Ends the server: closes both pipes (EOF is how a Project API server is told to exit), waits
   * `graceMs`, sends SIGTERM to its process group, waits `termMs`, then SIGKILL. Afterwards any
   * process the server left in its group is terminated too. Always reaps; idempotent.
   */
  stop(options: StopOptions = {}): Promise<ServerExit> {
    this.stopping ??= this.runLadder(options.graceMs ?? 1000, options.termMs ?? 2000);
    return this.stopping;
  }

  private async runLadder(graceMs: number, termMs: number): Promise<ServerExit> {
    this.toServer.end();
    this.toServer.destroy();
    this.fromServer.destroy();
    let exit = this.exitInfo ?? (await within(this.exited, graceMs));
    if (!exit) {
      this.signalGroup("SIGTERM");
      exit = await within(this.exited, termMs);
    }
    if (!exit) {
      this.signalGroup("SIGKILL");
      // SIGKILL cannot be refused; the bound only guards against a kernel that never reports.
      exit = (await within(this.exited, 10_000)) ?? { exitCode: null, signal: "SIGKILL" };
    }
    await this.sweepGroup(termMs);
    // The server's last log lines may still be in its stdout/stderr pipes after it exited: let
    // them arrive (bounded, as a grandchild could hold a pipe open) before closing our ends.
    await Promise.all([ended(this.child.stdout, 500), ended(this.child.stderr, 500)]);
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
    return exit;
  }

  /** Terminates processes the server started that are still in its process group. */
  private async sweepGroup(termMs: number): Promise<void> {
    if (!this.groupAlive()) return;
    this.signalGroup("SIGTERM");
    const deadline = Date.now() + termMs;
    while (this.groupAlive() && Date.now() < deadline) await sleep(20);
    if (this.groupAlive()) {
      this.signalGroup("SIGKILL");
      const killDeadline = Date.now() + 2000;
      while (this.groupAlive() && Date.now() < killDeadline) await sleep(20);
    }
  }

  private groupAlive(): boolean {
    try {
      process.kill(-this.pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  private signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // Group gone (or never formed): fall back to the process itself.
      try {
        this.child.kill(signal);
      } catch {
        /* already exited */
      }
    }
  }
}

/** Resolves when `stream` has ended (or at once without one), or after `ms`. */
function ended(stream: Readable | null | undefined, ms: number): Promise<void> {
  if (!stream || stream.readableEnded || stream.destroyed) return Promise.resolve();
  return new Promise((res) => {
    const timer = setTimeout(done, ms);
    stream.once("end", done);
    stream.once("close", done);
    function done(): void {
      clearTimeout(timer);
      stream!.off("end", done);
      stream!.off("close", done);
      res();
    }
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
