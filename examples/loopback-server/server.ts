// A complete Project API server whose "device" is an in-memory loopback: bytes written to the
// transport are read back. Copy this directory to start a server for your own platform; the
// parts to replace are marked PLATFORM.
//
// Files: server.ts (this), launch_microtvm_api_server.sh (what a client runs), README.md, and
// microtvm_api_server.js (server.ts bundled by `npm run build`, so a project needs only Node).

import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  closeSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { GenerateProjectArgs, ProjectApiHandler, ProjectOptions } from "microtvm/server";
import { runServer } from "microtvm/server";
import type { ProjectOption, ServerInfo, TransportTimeouts } from "microtvm/protocol";
import { IoTimeoutError, ServerError, timeoutMs, TransportClosedError } from "microtvm/protocol";

/** Where this server lives: the template directory, or a generated project. */
const SERVER_DIR = dirname(fileURLToPath(import.meta.url));
/** The MLF copy inside a generated project; its presence is what makes a project "generated". */
const MODEL_FILE = "model.tar";
/** Files a generated project gets from the template (besides the model). */
const PROJECT_FILES = ["launch_microtvm_api_server.sh", "microtvm_api_server.js", "README.md"];
/** The loopback "device" refuses more than this many unread bytes (a full UART buffer). */
const LOOPBACK_CAPACITY = 1024 * 1024;

const OPTIONS: ProjectOption[] = [
  {
    name: "verbose",
    choices: null,
    default: false,
    type: "bool",
    required: null,
    optional: ["generate_project", "build", "flash"],
    help: "Log each step to stderr.",
  },
  {
    name: "max_read_bytes",
    choices: null,
    default: 4096,
    type: "int",
    required: null,
    optional: ["open_transport"],
    help: "Largest number of bytes one read_transport returns.",
  },
  {
    name: "block_timeout_sec",
    choices: null,
    default: 10,
    type: "int",
    required: null,
    optional: ["open_transport"],
    help: "How long a read with timeout_sec null waits for data before raising IoTimeoutError.",
  },
];

// ---- option values: tvmc sends strings ("true", "4096"), the Python API sends JSON values ----

function boolOption(options: ProjectOptions, name: string): boolean {
  const v = options[name];
  if (v === undefined || v === null) return false;
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0;
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0" || v === "") return false;
  throw new ServerError(`option ${name} must be true or false; got ${JSON.stringify(v)}`);
}

function intOption(options: ProjectOptions, name: string, fallback: number, min: number): number {
  const v = options[name];
  if (v === undefined || v === null) return fallback;
  const n = typeof v === "string" && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min)
    throw new ServerError(`option ${name} must be an integer >= ${min}; got ${JSON.stringify(v)}`);
  return n;
}

function log(enabled: boolean, message: string): void {
  if (enabled) process.stderr.write(`loopback: ${message}\n`);
}

/** True when the first bytes look like a tar archive (ustar magic) or a gzip stream. */
function looksLikeArchive(path: string): boolean {
  const head = Buffer.alloc(263);
  const fd = openSync(path, "r");
  try {
    const n = readSync(fd, head, 0, head.length, 0);
    if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return true;
    return n >= 262 && head.toString("latin1", 257, 262) === "ustar";
  } finally {
    closeSync(fd);
  }
}

/** Writes a file atomically (temp file + rename), so a crash never leaves half a record. */
function writeJson(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** The in-memory device: a byte queue with waiting readers. PLATFORM: your serial port/socket. */
class Loopback {
  private chunks: Uint8Array[] = [];
  private size = 0;
  private wake: (() => void) | undefined;
  open = false;

  get available(): number {
    return this.size;
  }

  write(data: Uint8Array): void {
    this.chunks.push(data.slice());
    this.size += data.length;
    this.wake?.();
  }

  take(n: number): Uint8Array {
    const out = new Uint8Array(Math.min(n, this.size));
    let o = 0;
    while (o < out.length) {
      const head = this.chunks[0]!;
      const k = Math.min(head.length, out.length - o);
      out.set(head.subarray(0, k), o);
      o += k;
      if (k === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(k);
    }
    this.size -= out.length;
    return out;
  }

  /** Resolves when data arrives, the link closes, or `ms` pass. */
  waitForData(ms: number): Promise<void> {
    return new Promise((resolveWait) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolveWait();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  close(): void {
    this.open = false;
    this.chunks = [];
    this.size = 0;
    this.wake?.();
  }
}

export class LoopbackHandler implements ProjectApiHandler {
  private readonly link = new Loopback();
  private maxReadBytes = 4096;
  private blockTimeoutSec = 10;

  constructor(private readonly serverDir: string) {}

  private get modelPath(): string {
    return join(this.serverDir, MODEL_FILE);
  }

  private get isTemplate(): boolean {
    return !existsSync(this.modelPath);
  }

  serverInfoQuery(_tvmVersion: string): ServerInfo {
    const isTemplate = this.isTemplate;
    return {
      platformName: "loopback",
      isTemplate,
      modelLibraryFormatPath: isTemplate ? "" : this.modelPath,
      projectOptions: OPTIONS,
    };
  }

  generateProject({ modelLibraryFormatPath, projectDir, options }: GenerateProjectArgs): void {
    const verbose = boolOption(options, "verbose");
    const target = resolve(projectDir);
    if (existsSync(target))
      throw new ServerError(
        `project directory ${target} already exists; choose a new path or remove it first`,
      );
    const mlf = resolve(modelLibraryFormatPath);
    if (!existsSync(mlf) || !statSync(mlf).isFile())
      throw new ServerError(`model library format archive ${mlf} not found; pass the path of a model.tar`);
    if (!looksLikeArchive(mlf))
      throw new ServerError(`${mlf} is not a tar or tar.gz archive; pass a Model Library Format archive`);
    for (const file of PROJECT_FILES) {
      if (!existsSync(join(this.serverDir, file)))
        throw new ServerError(
          `template file ${file} is missing from ${this.serverDir}; run \`npm run build\``,
        );
    }

    // Build the project beside its final place and rename it in, so a failure leaves nothing.
    mkdirSync(dirname(target), { recursive: true });
    const staging = mkdtempSync(join(dirname(target), `.${basename(target)}.partial-`));
    try {
      for (const file of PROJECT_FILES) copyFileSync(join(this.serverDir, file), join(staging, file));
      chmodSync(join(staging, "launch_microtvm_api_server.sh"), 0o755);
      copyFileSync(mlf, join(staging, MODEL_FILE));
      renameSync(staging, target);
    } catch (e) {
      rmSync(staging, { recursive: true, force: true });
      throw e;
    }
    log(verbose, `generated ${target} from ${mlf}`);
  }

  build(options: ProjectOptions): void {
    const verbose = boolOption(options, "verbose");
    if (this.isTemplate)
      throw new ServerError(`${this.serverDir} is a template; generate a project from it and build that`);
    const buildDir = join(this.serverDir, "build");
    mkdirSync(buildDir, { recursive: true });
    const record = {
      model_sha256: sha256(this.modelPath),
      model_bytes: statSync(this.modelPath).size,
      options,
      built_at: new Date().toISOString(),
    };
    writeJson(join(buildDir, "loopback.json"), record);
    log(verbose, `built: model.tar sha256 ${record.model_sha256}`);
  }

  flash(options: ProjectOptions): void {
    const verbose = boolOption(options, "verbose");
    const buildRecord = join(this.serverDir, "build", "loopback.json");
    if (!existsSync(buildRecord))
      throw new ServerError(`no build found in ${this.serverDir}; run build before flash`);
    const built = JSON.parse(readFileSync(buildRecord, "utf8")) as { model_sha256: string };
    if (built.model_sha256 !== sha256(this.modelPath))
      throw new ServerError("model.tar changed since the last build; run build again before flash");
    const flashRecord = join(this.serverDir, "build", "flash.json");
    const previous = existsSync(flashRecord)
      ? (JSON.parse(readFileSync(flashRecord, "utf8")) as { flash_count: number }).flash_count
      : 0;
    writeJson(flashRecord, {
      flash_count: previous + 1,
      flashed_at: new Date().toISOString(),
      model_sha256: built.model_sha256,
    });
    log(verbose, `flashed (${previous + 1} times so far)`);
  }

  openTransport(options: ProjectOptions): TransportTimeouts {
    this.maxReadBytes = intOption(options, "max_read_bytes", 4096, 1);
    this.blockTimeoutSec = intOption(options, "block_timeout_sec", 10, 0);
    this.link.close(); // reopening starts from an empty link
    this.link.open = true;
    return { sessionStartRetryTimeoutSec: 2, sessionStartTimeoutSec: 10, sessionEstablishedTimeoutSec: 10 };
  }

  closeTransport(): void {
    this.link.close();
  }

  async readTransport(n: number, timeoutSec: number | null): Promise<Uint8Array> {
    if (!this.link.open) throw new TransportClosedError();
    if (!Number.isInteger(n) || n < 1)
      throw new ServerError(`read_transport: n must be an integer >= 1; got ${n}`);
    if (this.link.available === 0) {
      const waitSec = timeoutSec === null ? this.blockTimeoutSec : Math.max(0, timeoutSec);
      // Clamped to what a timer can wait (~24.8 days): 1e308 waits, it does not time out at once.
      if (waitSec > 0) await this.link.waitForData(timeoutMs(waitSec));
      if (!this.link.open) throw new TransportClosedError();
      if (this.link.available === 0) throw new IoTimeoutError();
    }
    return this.link.take(Math.min(n, this.maxReadBytes));
  }

  writeTransport(data: Uint8Array, _timeoutSec: number | null): void {
    if (!this.link.open) throw new TransportClosedError();
    // Nothing drains the loopback while this request runs, so a full buffer can only time out.
    if (this.link.available + data.length > LOOPBACK_CAPACITY) throw new IoTimeoutError();
    this.link.write(data);
  }

  shutdown(): void {
    this.link.close();
  }
}

// Run only as the bundled entry point, so tests can import LoopbackHandler.
function isMainModule(): boolean {
  try {
    return (
      !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
    );
  } catch {
    return false;
  }
}
if (isMainModule()) {
  void runServer(new LoopbackHandler(SERVER_DIR));
}
