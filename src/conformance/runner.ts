// Drives any Project API server through the protocol and reports each check: the project
// lifecycle (info, generate, build, flash, transport) and the reference's answers to malformed
// requests (the tables in cases.ts).
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ProjectApiClient,
  ServerExitedError,
  checkRequiredOptions,
  describeExit,
  launchServer,
  withDefaults,
  type LaunchOptions,
  type ProjectOptions,
  type ServerProcess,
} from "../client/index.js";
import {
  IoTimeoutError,
  TransportClosedError,
  timeoutsFromWire,
  type ProjectOption,
} from "../protocol/index.js";
import {
  ERROR_CASES,
  INVALID_REQUEST_CASES,
  NO_REPLY_CASES,
  OPTION_KEYS,
  ROUND_TRIP_SIZES,
  SERVER_INFO_KEYS,
  type ErrorCase,
  type InvalidRequestCase,
  type NoReplyCase,
} from "./cases.js";
import { CheckFailure, expect, show, type CheckResult } from "./checks.js";
import { RAW_WAIT_MS, RawServer, expectError, infoRequest } from "./raw.js";
import { writeTinyMlf } from "./tiny-mlf.js";

export interface ConformanceOptions {
  /** How servers are started (interpreters, timeouts); its `signal` cancels the run and stops every server. */
  launch?: LaunchOptions & { signal?: AbortSignal };
  /** The Model Library Format archive to generate with; default the package's example model. */
  mlf?: string;
  /**
   * The project options to give, from those the template declares (their defaults fill the rest). A throw
   * ends the run before the lifecycle, with that error.
   */
  projectOptions?: (declared: readonly ProjectOption[]) => ProjectOptions;
  /** Called with each check's outcome as soon as it is known. */
  onResult?: (result: CheckResult) => void;
}

export interface ConformanceReport {
  templateDir: string;
  passed: number;
  failed: number;
  skipped: number;
  checks: CheckResult[];
}

/**
 * One conformance run over a template directory. Errors that make the server uncheckable (no server, one that
 * exits before its first reply, project options it refuses) end `run()` with the client layer's error; every
 * other problem is a failed check.
 */
export class ConformanceRunner {
  readonly results: CheckResult[] = [];
  private readonly tempDirs: string[] = [];
  private readonly servers: ServerProcess[] = [];
  private readonly launch: LaunchOptions & { signal: AbortSignal };

  constructor(
    readonly templateDir: string,
    private readonly options: ConformanceOptions = {},
  ) {
    this.launch = { ...options.launch, signal: options.launch?.signal ?? new AbortController().signal };
    this.launch.signal.addEventListener("abort", () => void this.stopServers(), { once: true });
  }

  get passed(): number {
    return this.results.filter((r) => r.status === "pass").length;
  }

  get failed(): number {
    return this.results.filter((r) => r.status === "fail").length;
  }

  report(): ConformanceReport {
    const skipped = this.results.filter((r) => r.status === "skip").length;
    return {
      templateDir: this.templateDir,
      passed: this.passed,
      failed: this.failed,
      skipped,
      checks: [...this.results],
    };
  }

  /** Runs every check; the servers it started are stopped, its temporary directories removed. */
  async run(): Promise<ConformanceReport> {
    try {
      try {
        await this.lifecycle();
        this.launch.signal.throwIfAborted();
        await this.rawChecks();
      } finally {
        await Promise.all(this.servers.map((s) => s.stop()));
      }
    } finally {
      this.cleanUp();
    }
    return this.report();
  }

  /**
   * For process exit, when nothing can be awaited: kill every server's process group at once (they run
   * detached, so nothing else would), so none writes into a directory removed next.
   */
  killAndCleanUp(): void {
    for (const server of this.servers) {
      try {
        process.kill(-server.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    this.cleanUp();
  }

  private cleanUp(): void {
    for (const dir of this.tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }

  private record(result: CheckResult): void {
    this.results.push(result);
    this.options.onResult?.(result);
  }

  /** Runs one check; true when it passed. */
  private async check(name: string, body: () => Promise<void>): Promise<boolean> {
    try {
      await body();
      this.record({ name, status: "pass" });
      return true;
    } catch (error) {
      // A cancelled run is not a failed check.
      this.launch.signal.throwIfAborted();
      const why = (error instanceof Error ? error.message.split("\n")[0] : String(error)) ?? "";
      this.record({ name, status: "fail", message: why });
      return false;
    }
  }

  private skip(name: string, why: string): void {
    this.record({ name, status: "skip", message: why });
  }

  /** Stops every server started so far, quickly. */
  private async stopServers(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop({ graceMs: 200, termMs: 1000 })));
  }

  private tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), "microtvm-conformance-"));
    this.tempDirs.push(dir);
    return dir;
  }

  /** Starts a client, remembering its server so it is stopped even when a check throws. */
  private async client(dir: string): Promise<ProjectApiClient> {
    const client = await ProjectApiClient.launch(dir, { ...this.launch, requestTimeouts: {} });
    if (client.process) this.servers.push(client.process);
    return client;
  }

  // ---- the lifecycle ------------------------------------------------------------------------------

  private async lifecycle(): Promise<void> {
    // No server, or one that cannot be started: the input is unusable, not a failed check.
    const template = await this.client(this.templateDir);
    let info: Record<string, unknown> | undefined;
    let first: Promise<Record<string, unknown>> | undefined;
    try {
      first = template.serverInfoQueryWire() as unknown as Promise<Record<string, unknown>>;
      info = await first;
    } catch (error) {
      // A server that exits before its first reply cannot be checked at all: say why, once.
      if (error instanceof ServerExitedError) {
        await template.close();
        throw error;
      }
    }
    await this.check("template server answers server_info_query", async () => {
      if (!info) await first;
    });
    if (!info) {
      await template.close();
      return;
    }
    const templateInfo = info;
    await this.check("server_info_query reply has the reference's keys, types and order", async () =>
      checkServerInfo(templateInfo),
    );
    await this.check(
      "project_options entries have exactly name, choices, default, type, required, optional, help",
      async () => checkProjectOptions(templateInfo.project_options),
    );
    const isTemplate = await this.check("template reports is_template: true", async () =>
      expect(templateInfo.is_template === true, `is_template is ${show(templateInfo.is_template)}`),
    );

    let options: ProjectOptions;
    const declared = (
      Array.isArray(templateInfo.project_options) ? templateInfo.project_options : []
    ) as ProjectOption[];
    try {
      const given = this.options.projectOptions?.(declared) ?? {};
      options = withDefaults(given, declared);
      checkRequiredOptions(options, declared, "generate_project");
    } catch (error) {
      await template.close();
      throw error;
    }

    const work = this.tempDir();
    const projectDir = join(work, "project");
    const mlf = this.options.mlf ? resolve(this.options.mlf) : await defaultConformanceMlf(work);
    let generated = false;
    if (isTemplate) {
      generated = await this.check("generate_project creates the project directory", async () => {
        await template.generateProject({
          modelLibraryFormatPath: mlf,
          standaloneCrtDir: join(work, "no-standalone-crt"),
          projectDir,
          options,
        });
        expect(existsSync(projectDir), `generate_project returned but ${projectDir} does not exist`);
      });
    } else {
      this.skip("generate_project creates the project directory", "the directory is not a template");
    }
    await this.exitsOnEof("template server exits on EOF (close without SIGTERM)", template);
    if (!generated) return;
    await this.generatedLifecycle(projectDir, options);
  }

  private async exitsOnEof(name: string, client: ProjectApiClient): Promise<void> {
    await this.check(name, async () => {
      const server = client.process!;
      await client.close();
      const exit = server.exit!;
      expect(
        exit.signal !== "SIGTERM" && exit.signal !== "SIGKILL",
        `the server had to be stopped with ${exit.signal} (it ignored EOF on its request pipe)`,
      );
    });
  }

  private async generatedLifecycle(projectDir: string, options: ProjectOptions): Promise<void> {
    let project: ProjectApiClient | undefined;
    let info: Record<string, unknown> | undefined;
    await this.check("generated project's server starts and answers server_info_query", async () => {
      project = await this.client(projectDir);
      info = (await project.serverInfoQueryWire()) as unknown as Record<string, unknown>;
    });
    if (!project || !info) return;
    const generatedInfo = info;
    await this.check(
      "generated project reports is_template: false and an existing model archive",
      async () => {
        expect(generatedInfo.is_template === false, `is_template is ${show(generatedInfo.is_template)}`);
        const path = generatedInfo.model_library_format_path;
        expect(typeof path === "string" && path !== "", `model_library_format_path is ${show(path)}`);
        expect(existsSync(resolve(projectDir, path)), `model_library_format_path ${path} does not exist`);
      },
    );
    const p = project;
    const built = await this.check("build succeeds", async () => void (await p.build(options)));
    if (built) await this.check("flash succeeds", async () => void (await p.flash(options)));
    else this.skip("flash succeeds", "build failed");

    let opened = false;
    await this.check("open_transport returns the three session timeouts", async () => {
      const reply = await p.call("open_transport", { options });
      opened = true;
      expect(typeof reply === "object" && reply !== null, `reply is ${show(reply)}`);
      const timeouts = (reply as Record<string, unknown>).timeouts;
      expect(typeof timeouts === "object" && timeouts !== null, `no "timeouts" in ${show(reply)}`);
      // Exactly the three keys, each a number ≥ 0; the error names the one that is not.
      timeoutsFromWire(timeouts);
    });
    if (opened) await this.transportChecks(p);
    await this.check("read_transport after close_transport raises TransportClosedError", async () => {
      try {
        await p.readTransport(1, 0.1);
      } catch (error) {
        expect(error instanceof TransportClosedError, `got ${(error as Error).message.split("\n")[0]}`);
        return;
      }
      throw new CheckFailure("read_transport returned data with the transport closed");
    });
    await this.exitsOnEof("generated project's server exits on EOF (close without SIGTERM)", p);
  }

  private async transportChecks(client: ProjectApiClient): Promise<void> {
    const probe = new TextEncoder().encode("probe");
    let loopback = false;
    let probeNote = "";
    await this.check("write_transport accepts bytes", async () => {
      await client.writeTransport(probe, 5);
      try {
        const back = await readExactly(client, probe.length, 2);
        loopback = Buffer.from(back).equals(Buffer.from(probe));
        if (!loopback) probeNote = `read_transport returned ${show(Buffer.from(back).toString("latin1"))}`;
      } catch (error) {
        if (!(error instanceof IoTimeoutError)) throw error;
        probeNote = "nothing came back (IoTimeoutError)";
      }
    });
    if (!loopback) {
      this.skip(
        "transport round trips",
        `the server does not loop its transport back: ${probeNote || "probe failed"}`,
      );
    } else {
      for (const size of ROUND_TRIP_SIZES) {
        await this.check(`transport round trip of ${size} B`, async () => {
          const data = new Uint8Array(randomBytes(size));
          await client.writeTransport(data, 5);
          const back = await readExactly(client, size, 5);
          expect(
            Buffer.from(back).equals(Buffer.from(data)),
            `the ${size} bytes read back differ from those written`,
          );
        });
      }
      await this.check("read_transport with nothing pending raises IoTimeoutError", async () => {
        try {
          const data = await client.readTransport(16, 0.05);
          throw new CheckFailure(`read_transport returned ${data.length} bytes with nothing written`);
        } catch (error) {
          if (error instanceof CheckFailure) throw error;
          expect(error instanceof IoTimeoutError, `got ${(error as Error).message.split("\n")[0]}`);
        }
      });
    }
    await this.check("close_transport succeeds", async () => void (await client.closeTransport()));
    await this.check("close_transport again is a no-op", async () => void (await client.closeTransport()));
  }

  // ---- raw protocol cases -------------------------------------------------------------------------

  private async raw(): Promise<RawServer> {
    const server = await launchServer(this.templateDir, this.launch);
    this.servers.push(server);
    if (this.launch.signal.aborted) {
      await server.stop({ graceMs: 200, termMs: 1000 });
      this.launch.signal.throwIfAborted();
    }
    return new RawServer(server);
  }

  /** Runs `body` against a fresh raw server, which is stopped afterwards. */
  private async rawCheck(name: string, body: (server: RawServer) => Promise<void>): Promise<void> {
    await this.check(name, async () => {
      const server = await this.raw();
      try {
        await body(server);
      } finally {
        await server.stop();
      }
    });
  }

  /** Sends bytes that are no request; expects no reply and the server's exit. */
  private async noReplyAndExit(c: NoReplyCase): Promise<void> {
    await this.rawCheck(c.name, async (s) => {
      await s.send(c.send);
      const line = await s.readLine();
      expect(line === undefined || line === "timeout", `the server replied ${show(line)}`);
      const exit = await s.waitExit();
      expect(exit, `the server is still running ${RAW_WAIT_MS} ms later`);
    });
  }

  /** Sends an invalid request; expects a -32600 reply with id null and the message, then the server's exit. */
  private async invalidRequest(c: InvalidRequestCase): Promise<void> {
    await this.rawCheck(c.name, async (s) => {
      await s.send(`${c.line}\n`);
      expectError(await s.reply(), -32600, c.message, null);
      const exit = await s.waitExit();
      expect(exit, `the server kept running after a -32600 reply (the reference exits)`);
    });
  }

  /** Sends a refused request; expects its error with the id echoed, then a normal reply to the next one. */
  private async errorThenContinue(c: ErrorCase): Promise<void> {
    await this.rawCheck(c.name, async (s) => {
      await s.send(`${JSON.stringify({ jsonrpc: "2.0", ...c.request })}\n`);
      expectError(await s.reply(), c.code, c.message, c.request.id);
      await s.send(`${infoRequest(99)}\n`);
      const next = await s.reply();
      expect(
        next.id === 99 && "result" in next,
        `the next request got ${show(next)}; the server should keep serving`,
      );
    });
  }

  private async rawChecks(): Promise<void> {
    for (const c of NO_REPLY_CASES) await this.noReplyAndExit(c);
    for (const c of INVALID_REQUEST_CASES) await this.invalidRequest(c);
    for (const c of ERROR_CASES) await this.errorThenContinue(c);
    await this.rawCheck("ids are echoed exactly: big and negative integers, strings, null", async (s) => {
      const big = "123456789012345678901234567890";
      await s.send(
        `{"jsonrpc": "2.0", "method": "server_info_query", "params": {"tvm_version": "0"}, "id": ${big}}\n`,
      );
      const line = await s.readLine();
      expect(
        typeof line === "string" && new RegExp(`"id":\\s*${big}[,}\\s]`).test(line),
        `reply ${show(line)}`,
      );
      for (const id of [-5, "x-1", null]) {
        await s.send(`${infoRequest(id)}\n`);
        const reply = await s.reply();
        expect(reply.id === id && "result" in reply, `id ${show(id)} came back as ${show(reply.id)}`);
      }
    });
    await this.rawCheck("\\r, \\r\\n and \\n all end a request line", async (s) => {
      await s.send(`${infoRequest(1)}\r${infoRequest(2)}\r\n${infoRequest(3)}\n`);
      for (const id of [1, 2, 3]) {
        const reply = await s.reply();
        expect(reply.id === id, `reply ${show(reply)}; want id ${id}`);
      }
    });
    await this.rawCheck("a last request without a line end is served before EOF", async (s) => {
      await s.send(infoRequest(11));
      s.endInput();
      const reply = await s.reply();
      expect(reply.id === 11 && "result" in reply, `reply ${show(reply)}`);
    });
    await this.rawCheck("EOF on the request pipe makes the server exit with status 0", async (s) => {
      s.endInput();
      const exit = await s.waitExit();
      expect(exit, `the server is still running ${RAW_WAIT_MS} ms after EOF`);
      expect(exit.exitCode === 0, `it ended with ${describeExit(exit)}`);
    });
  }
}

/** Runs conformance on a template directory (see ConformanceRunner). */
export function runConformance(
  templateDir: string,
  options: ConformanceOptions = {},
): Promise<ConformanceReport> {
  return new ConformanceRunner(templateDir, options).run();
}

function checkServerInfo(info: Record<string, unknown>): void {
  const keys = Object.keys(info);
  expect(show(keys) === show(SERVER_INFO_KEYS), `keys are ${show(keys)}; want ${show(SERVER_INFO_KEYS)}`);
  expect(typeof info.platform_name === "string", `platform_name is ${show(info.platform_name)}`);
  expect(typeof info.is_template === "boolean", `is_template is ${show(info.is_template)}`);
  const mlf = info.model_library_format_path;
  expect(mlf === null || typeof mlf === "string", `model_library_format_path is ${show(mlf)}`);
  expect(Array.isArray(info.project_options), `project_options is ${show(info.project_options)}`);
  expect(info.protocol_version === 1, `protocol_version is ${show(info.protocol_version)}`);
}

function checkProjectOptions(options: unknown): void {
  expect(Array.isArray(options), "project_options is not an array");
  const isNameList = (v: unknown) =>
    v === null || (Array.isArray(v) && v.every((x) => typeof x === "string"));
  for (const [i, option] of options.entries()) {
    const where = `project_options[${i}]`;
    expect(typeof option === "object" && option !== null, `${where} is ${show(option)}`);
    const o = option as Record<string, unknown>;
    expect(show(Object.keys(o)) === show(OPTION_KEYS), `${where} keys are ${show(Object.keys(o))}`);
    expect(typeof o.name === "string" && o.name !== "", `${where}.name is ${show(o.name)}`);
    expect(typeof o.type === "string", `${where}.type is ${show(o.type)}`);
    expect(typeof o.help === "string", `${where}.help is ${show(o.help)}`);
    expect(isNameList(o.choices), `${where}.choices is ${show(o.choices)}`);
    expect(isNameList(o.required), `${where}.required is ${show(o.required)}`);
    expect(isNameList(o.optional), `${where}.optional is ${show(o.optional)}`);
  }
}

/** Reads until `n` bytes arrived (read_transport returns 1..n at a time). */
async function readExactly(client: ProjectApiClient, n: number, timeoutSec: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const chunk = await client.readTransport(n - got, timeoutSec);
    expect(chunk.length > 0, "read_transport returned 0 bytes (it must return 1..n or raise IoTimeoutError)");
    expect(
      chunk.length <= n - got,
      `read_transport returned ${chunk.length} bytes; asked for at most ${n - got}`,
    );
    out.set(chunk, got);
    got += chunk.length;
  }
  return out;
}

/**
 * The archive the lifecycle runs on when none is given: the package's own example model, a real archive every
 * C template can build; the tiny shape-only archive where it is missing.
 */
async function defaultConformanceMlf(work: string): Promise<string> {
  const example = fileURLToPath(new URL("../../examples/sine-model/sine.tar", import.meta.url));
  return existsSync(example) ? example : writeTinyMlf(join(work, "model.tar"));
}
