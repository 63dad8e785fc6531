import type { Command } from "commander";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { create as createTar } from "tar";
import { createStreamChannel, type Channel } from "../../channel/index.js";
import {
  ProjectApiClient,
  ServerExitedError,
  checkRequiredOptions,
  launchServer,
  withDefaults,
  type LaunchOptions,
  type ServerExit,
  type ServerProcess,
  describeExit,
} from "../../client/index.js";
import { IoTimeoutError, TransportClosedError } from "../../protocol/index.js";
import { cancellable } from "../cancel.js";
import { CliError, ExitCode } from "../exit-codes.js";
import {
  addProjectOptionFlag,
  addServerFlags,
  cliErrorFrom,
  launchOptionsFrom,
  parseProjectOptions,
  type ServerFlags,
} from "../options.js";
import { printJson } from "../output.js";
import { checkModelArchive } from "../project/archive.js";
import { serverDirArgument } from "../project/templates.js";

/** How long one raw check waits for a reply or an exit before calling it a failure. */
const RAW_WAIT_MS = 5000;
/** Transport sizes for the loopback round trips: edges of base85 groups and of common buffers. */
const ROUND_TRIP_SIZES = [
  1, 2, 3, 4, 5, 7, 8, 63, 64, 65, 255, 256, 1000, 1024, 4095, 4096, 4097, 16384, 65535, 65536,
];

interface Flags extends ServerFlags {
  mlf?: string;
  json?: boolean;
  projectOption?: string[];
}

/** `microtvm conformance <template-dir>`: drives any Project API server through the protocol. */
export function conformanceCommand(program: Command): void {
  const command = program
    .command("conformance")
    .description(
      "check a Project API server against the protocol: the project lifecycle (info, generate, build, flash, " +
        "transport) and the reference's answers to malformed requests; prints PASS/FAIL per check",
    )
    .argument(
      "<template-dir>",
      "a template project directory, or a built-in template's name (its server must report is_template: true)",
    )
    .option(
      "--mlf <file>",
      "Model Library Format archive to generate with (default: the package's example model, examples/sine-model/sine.tar)",
    );
  addServerFlags(addProjectOptionFlag(command))
    .option(
      "--json",
      "print the PASS/FAIL lines on stderr and one JSON document (schema microtvm.conformance/1) on stdout",
    )
    .action(async (templateDir: string, flags: Flags) => {
      // Ctrl-C aborts the signal: every server started so far stops, the temporary directories go.
      const runner = await cancellable(async (signal) => {
        const runner = new Runner(
          serverDirArgument(templateDir),
          { ...launchOptionsFrom(flags), signal },
          flags.json === true,
        );
        // A reader that goes away (`| head`) ends the process from the EPIPE handler: the
        // temporary directories still go.
        const cleanUpOnExit = () => runner.killAndCleanUp();
        process.on("exit", cleanUpOnExit);
        try {
          await runner.runAll(flags);
        } finally {
          process.removeListener("exit", cleanUpOnExit);
          runner.cleanUp();
        }
        return runner;
      });
      if (flags.json) {
        printJson("microtvm.conformance/1", {
          template_dir: runner.templateDir,
          passed: runner.passed,
          failed: runner.failed,
          skipped: runner.results.filter((r) => r.status === "skip").length,
          checks: runner.results,
        });
      } else {
        process.stdout.write(`${runner.passed} passed, ${runner.failed} failed\n`);
      }
      if (runner.failed > 0) process.exitCode = ExitCode.failed;
    });
}

/** A check failed: the message says what was expected and what came instead. */
class CheckFailure extends Error {}

function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailure(message);
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

interface CheckResult {
  name: string;
  status: "pass" | "fail" | "skip";
  /** Why it failed or was skipped. */
  message?: string;
}

class Runner {
  passed = 0;
  failed = 0;
  readonly results: CheckResult[] = [];
  private readonly tempDirs: string[] = [];
  private readonly servers: ServerProcess[] = [];

  constructor(
    readonly templateDir: string,
    /** How servers are started; its `signal` cancels the run (every server is stopped). */
    private readonly launch: LaunchOptions & { signal: AbortSignal },
    /** With --json the lines go to stderr, keeping stdout for the one document. */
    private readonly json = false,
  ) {
    launch.signal.addEventListener("abort", () => void this.stopServers(), { once: true });
  }

  private report(line: string): void {
    (this.json ? process.stderr : process.stdout).write(`${line}\n`);
  }

  /** Runs one check; true when it passed. */
  private async check(name: string, body: () => Promise<void>): Promise<boolean> {
    try {
      await body();
      this.passed++;
      this.results.push({ name, status: "pass" });
      this.report(`PASS ${name}`);
      return true;
    } catch (error) {
      // A cancelled run is not a failed check.
      this.launch.signal.throwIfAborted();
      this.failed++;
      const why = (error instanceof Error ? error.message.split("\n")[0] : String(error)) ?? "";
      this.results.push({ name, status: "fail", message: why });
      this.report(`FAIL ${name}: ${why}`);
      return false;
    }
  }

  private skip(name: string, why: string): void {
    this.results.push({ name, status: "skip", message: why });
    this.report(`SKIP ${name}: ${why}`);
  }

  /** Stops every server started so far, quickly. */
  private async stopServers(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop({ graceMs: 200, termMs: 1000 })));
  }

  /**
   * For process exit, when nothing can be awaited: kill every server's process group at once
   * (they run detached, so nothing else would), so none writes into a directory removed next.
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

  cleanUp(): void {
    for (const dir of this.tempDirs) rmSync(dir, { recursive: true, force: true });
  }

  async runAll(flags: Flags): Promise<void> {
    // Bad inputs end the command before the first check is printed.
    if (!existsSync(this.templateDir)) {
      throw new CliError(`template directory ${this.templateDir} does not exist`, ExitCode.badInput);
    }
    if (flags.mlf) await checkModelArchive(resolve(flags.mlf));
    try {
      await this.lifecycle(flags);
      this.launch.signal.throwIfAborted();
      await this.rawChecks();
    } finally {
      await Promise.all(this.servers.map((s) => s.stop()));
    }
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

  private async lifecycle(flags: Flags): Promise<void> {
    let template: ProjectApiClient;
    try {
      template = await this.client(this.templateDir);
    } catch (error) {
      // No server, or one that cannot be started: the input is unusable, not a failed check.
      throw cliErrorFrom(error, "template");
    }
    let info: Record<string, unknown> | undefined;
    let first: Promise<Record<string, unknown>> | undefined;
    try {
      first = template.serverInfoQueryWire() as unknown as Promise<Record<string, unknown>>;
      info = await first;
    } catch (error) {
      // A server that exits before its first reply cannot be checked at all: say why, once.
      if (error instanceof ServerExitedError) {
        await template.close();
        throw cliErrorFrom(error);
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

    let options: Record<string, unknown> = {};
    const declared = Array.isArray(templateInfo.project_options) ? templateInfo.project_options : [];
    try {
      const given = parseProjectOptions(flags.projectOption, declared as never);
      options = withDefaults(given, declared as never);
      checkRequiredOptions(options, declared as never, "generate_project");
    } catch (error) {
      await template.close();
      throw cliErrorFrom(error, "template");
    }

    const work = this.tempDir();
    const projectDir = join(work, "project");
    const mlf = flags.mlf ? resolve(flags.mlf) : await defaultConformanceMlf(work);
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

  private async generatedLifecycle(projectDir: string, options: Record<string, unknown>): Promise<void> {
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
      const timeouts = (reply as Record<string, unknown>).timeouts as Record<string, unknown> | undefined;
      expect(typeof timeouts === "object" && timeouts !== null, `no "timeouts" in ${show(reply)}`);
      const keys = Object.keys(timeouts).sort();
      const want = [
        "session_established_timeout_sec",
        "session_start_retry_timeout_sec",
        "session_start_timeout_sec",
      ];
      expect(show(keys) === show(want), `timeouts keys are ${show(keys)}; want exactly ${show(want)}`);
      for (const k of want) {
        const v = timeouts[k];
        expect(
          typeof v === "number" && Number.isFinite(v) && v >= 0,
          `${k} is ${show(v)}; want a number ≥ 0`,
        );
      }
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

  // ---- raw negative cases -------------------------------------------------------------------------

  private async raw(): Promise<RawServer> {
    const server = await launchServer(this.templateDir, this.launch);
    this.servers.push(server);
    if (this.launch.signal.aborted) {
      await server.stop({ graceMs: 200, termMs: 1000 });
      this.launch.signal.throwIfAborted();
    }
    return new RawServer(server);
  }

  /** Sends `text`, expects no reply and the server's exit. */
  private async noReplyAndExit(name: string, text: string | Uint8Array): Promise<void> {
    await this.check(name, async () => {
      const s = await this.raw();
      try {
        await s.send(text);
        const line = await s.readLine();
        expect(line === undefined || line === "timeout", `the server replied ${show(line)}`);
        const exit = await s.waitExit();
        expect(exit, `the server is still running ${RAW_WAIT_MS} ms later`);
      } finally {
        await s.stop();
      }
    });
  }

  /** Sends `request`, expects a -32600 reply with id null and `message`, then the server's exit. */
  private async invalidRequest(name: string, request: string, message: string): Promise<void> {
    await this.check(name, async () => {
      const s = await this.raw();
      try {
        await s.send(`${request}\n`);
        const reply = await s.reply();
        expectError(reply, -32600, message, null);
        const exit = await s.waitExit();
        expect(exit, `the server kept running after a -32600 reply (the reference exits)`);
      } finally {
        await s.stop();
      }
    });
  }

  /** Sends `request` (with `id`), expects error `code`/`message` with the id echoed, then a normal reply. */
  private async errorThenContinue(
    name: string,
    request: object,
    code: number,
    message: string,
  ): Promise<void> {
    await this.check(name, async () => {
      const s = await this.raw();
      try {
        const id = (request as { id?: unknown }).id ?? null;
        await s.send(`${JSON.stringify(request)}\n`);
        expectError(await s.reply(), code, message, id);
        await s.send(`${infoRequest(99)}\n`);
        const next = await s.reply();
        expect(
          next.id === 99 && "result" in next,
          `the next request got ${show(next)}; the server should keep serving`,
        );
      } finally {
        await s.stop();
      }
    });
  }

  private async rawChecks(): Promise<void> {
    await this.noReplyAndExit("a line that is not JSON gets no reply and the server exits", "foobar\n");
    await this.noReplyAndExit("a blank line gets no reply and the server exits", "\n");
    await this.noReplyAndExit(
      "invalid UTF-8 gets no reply and the server exits",
      new Uint8Array([0x7b, 0xff, 0xfe, 0x7d, 0x0a]),
    );
    await this.invalidRequest("-32600 for a request that is not an object", "1", "request: want dict; got 1");
    await this.invalidRequest(
      "-32600 for a batch (array) request",
      "[1, 2]",
      "request: want dict; got [1, 2]",
    );
    await this.invalidRequest(
      '-32600 for "jsonrpc": 1.0',
      '{"jsonrpc": 1.0}',
      'request["jsonrpc"]: want "2.0"; got 1.0',
    );
    await this.invalidRequest(
      "-32600 for a missing jsonrpc",
      '{"method": "build", "params": {"options": {}}, "id": 1}',
      'request["jsonrpc"]: want "2.0"; got None',
    );
    await this.invalidRequest(
      "-32600 for a non-string method",
      '{"jsonrpc": "2.0", "method": 123}',
      'request["method"]: want str; got 123',
    );
    await this.invalidRequest(
      "-32600 for a method name outside [a-zA-Z0-9_]",
      '{"jsonrpc": "2.0", "method": "bar!", "params": {}, "id": 1}',
      "request[\"method\"]: should match regex ^[a-zA-Z0-9_]+$; got 'bar!'",
    );
    await this.invalidRequest(
      "-32600 for numeric params",
      '{"jsonrpc": "2.0", "method": "build", "params": 123, "id": 1}',
      "request[\"params\"]: want dict; got <class 'int'>",
    );
    await this.invalidRequest(
      "-32600 for array params",
      '{"jsonrpc": "2.0", "method": "build", "params": [], "id": 1}',
      "request[\"params\"]: want dict; got <class 'list'>",
    );
    await this.invalidRequest(
      "-32600 for missing params",
      '{"jsonrpc": "2.0", "method": "build", "id": 1}',
      "request[\"params\"]: want dict; got <class 'NoneType'>",
    );
    await this.invalidRequest(
      "-32600 for an object id",
      '{"jsonrpc": "2.0", "method": "build", "params": {}, "id": {}}',
      'request["id"]: want str, number, null; got {}',
    );
    await this.invalidRequest(
      "-32600 for a float id",
      '{"jsonrpc": "2.0", "method": "build", "params": {}, "id": 1.5}',
      'request["id"]: want str, number, null; got 1.5',
    );
    const req = (method: string, params: unknown, id: unknown) => ({ jsonrpc: "2.0", method, params, id });
    await this.errorThenContinue(
      "-32601 for an unknown method, id echoed, server continues",
      req("invalid_method", { bar: null }, 7),
      -32601,
      "invalid_method: no such method",
    );
    await this.errorThenContinue(
      "-32602 for a missing parameter, string id echoed, server continues",
      req("build", {}, "abc"),
      -32602,
      "method build: parameter options not given",
    );
    await this.errorThenContinue(
      "-32602 reports the first missing parameter in declaration order",
      req("generate_project", { project_dir: "x" }, 3),
      -32602,
      "method generate_project: parameter model_library_format_path not given",
    );
    await this.errorThenContinue(
      "-32602 for build options: null",
      req("build", { options: null }, 4),
      -32602,
      "method build: parameter options: want <class 'dict'>, got <class 'NoneType'>",
    );
    await this.errorThenContinue(
      "-32602 lists extra parameters in request order",
      req("build", { options: {}, zzz: 1, aaa: 2 }, 5),
      -32602,
      "build: extra parameters: zzz, aaa",
    );
    await this.errorThenContinue(
      "-32602 for close_transport with any parameter",
      req("close_transport", { options: {} }, 6),
      -32602,
      "close_transport: extra parameters: options",
    );
    await this.errorThenContinue(
      "-32000 for invalid base85 in write_transport, server continues",
      req("write_transport", { data: "ab cd", timeout_sec: 1 }, 8),
      -32000,
      "calling method write_transport",
    );
    await this.check("ids are echoed exactly: big and negative integers, strings, null", async () => {
      const s = await this.raw();
      try {
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
          await s.send(`${JSON.stringify(req("server_info_query", { tvm_version: "0" }, id))}\n`);
          const reply = await s.reply();
          expect(reply.id === id && "result" in reply, `id ${show(id)} came back as ${show(reply.id)}`);
        }
      } finally {
        await s.stop();
      }
    });
    await this.check("\\r, \\r\\n and \\n all end a request line", async () => {
      const s = await this.raw();
      try {
        await s.send(`${infoRequest(1)}\r${infoRequest(2)}\r\n${infoRequest(3)}\n`);
        for (const id of [1, 2, 3]) {
          const reply = await s.reply();
          expect(reply.id === id, `reply ${show(reply)}; want id ${id}`);
        }
      } finally {
        await s.stop();
      }
    });
    await this.check("a last request without a line end is served before EOF", async () => {
      const s = await this.raw();
      try {
        await s.send(infoRequest(11));
        s.endInput();
        const reply = await s.reply();
        expect(reply.id === 11 && "result" in reply, `reply ${show(reply)}`);
      } finally {
        await s.stop();
      }
    });
    await this.check("EOF on the request pipe makes the server exit with status 0", async () => {
      const s = await this.raw();
      try {
        s.endInput();
        const exit = await s.waitExit();
        expect(exit, `the server is still running ${RAW_WAIT_MS} ms after EOF`);
        expect(exit.exitCode === 0, `it ended with ${describeExit(exit)}`);
      } finally {
        await s.stop();
      }
    });
  }
}

/** A server driven line by line, for checks that send what a client never would. */
class RawServer {
  private readonly channel: Channel;

  constructor(private readonly server: ServerProcess) {
    this.channel = createStreamChannel(server.fromServer, server.toServer);
  }

  send(text: string | Uint8Array): Promise<void> {
    return new Promise((res, reject) =>
      this.server.toServer.write(text, (error) =>
        error ? reject(new CheckFailure(`write failed: ${error.message}`)) : res(),
      ),
    );
  }

  endInput(): void {
    this.server.toServer.end();
  }

  /** The next line, undefined at EOF, or "timeout". */
  async readLine(): Promise<string | undefined | "timeout"> {
    const read = this.channel.readLine().then(
      (line) => ({ line }),
      () => ({ line: undefined }),
    );
    const outcome = await within(read, RAW_WAIT_MS);
    return outcome ? outcome.line : "timeout";
  }

  async reply(): Promise<Record<string, unknown>> {
    const line = await this.readLine();
    if (line === "timeout") throw new CheckFailure(`no reply within ${RAW_WAIT_MS} ms`);
    if (line === undefined) {
      const exit = this.server.exit ?? (await within(this.server.exited, 500));
      throw new CheckFailure(
        `no reply; the server closed its pipe${exit ? ` and exited with ${describeExit(exit)}` : ""}`,
      );
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new CheckFailure(`the reply is not JSON: ${show(line)}`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw new CheckFailure(`the reply is not an object: ${show(line)}`);
    return value as Record<string, unknown>;
  }

  waitExit(): Promise<ServerExit | undefined> {
    return within(this.server.exited, RAW_WAIT_MS);
  }

  async stop(): Promise<void> {
    await this.server.stop();
  }
}

function infoRequest(id: number): string {
  return JSON.stringify({ jsonrpc: "2.0", method: "server_info_query", params: { tvm_version: "0" }, id });
}

function expectError(reply: Record<string, unknown>, code: number, message: string, id: unknown): void {
  expect(reply.jsonrpc === "2.0", `reply has jsonrpc ${show(reply.jsonrpc)}`);
  expect(reply.id === id, `reply id is ${show(reply.id)}; want ${show(id)}`);
  const error = reply.error as Record<string, unknown> | undefined;
  expect(typeof error === "object" && error !== null, `reply has no error object: ${show(reply)}`);
  expect(
    error.code === code,
    `error code ${show(error.code)}; want ${code} (message ${show(error.message)})`,
  );
  expect(error.message === message, `error message ${show(error.message)}; want ${show(message)}`);
  if (code === -32000) {
    const data = error.data as Record<string, unknown> | null;
    expect(
      data && typeof data.traceback === "string",
      `error data ${show(error.data)}; want {"traceback": "..."}`,
    );
  } else {
    expect(error.data === null, `error data ${show(error.data)}; want null`);
  }
}

const SERVER_INFO_KEYS = [
  "platform_name",
  "is_template",
  "model_library_format_path",
  "project_options",
  "protocol_version",
];
const OPTION_KEYS = ["name", "choices", "default", "type", "required", "optional", "help"];

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
 * The archive the lifecycle runs on when --mlf is not given: the package's own example model, a
 * real archive every C template can build; the tiny shape-only archive where it is missing.
 */
async function defaultConformanceMlf(work: string): Promise<string> {
  const example = fileURLToPath(new URL("../../../examples/sine-model/sine.tar", import.meta.url));
  return existsSync(example) ? example : writeTinyMlf(join(work, "model.tar"));
}

/**
 * Writes the smallest archive that has the Model Library Format's shape: a version 7 full-model
 * metadata.json, one C source, a Relay text and an empty params file, rooted at `./` like TVM's.
 */
export async function writeTinyMlf(file: string): Promise<string> {
  const src = `${file}.d`;
  mkdirSync(join(src, "codegen", "host", "src"), { recursive: true });
  mkdirSync(join(src, "src"), { recursive: true });
  mkdirSync(join(src, "parameters"), { recursive: true });
  const metadata = {
    modules: {
      default: {
        executors: ["aot"],
        export_datetime: "2024-01-01 00:00:00Z",
        memory: {
          functions: {
            main: [
              {
                constants_size_bytes: 0,
                device: 1,
                inputs: { input: { dtype: "uint8", size: 4 } },
                io_size_bytes: 8,
                outputs: { output: { dtype: "uint8", size: 4 } },
                workspace_size_bytes: 0,
              },
            ],
            operator_functions: [],
          },
        },
        model_name: "default",
        style: "full-model",
        target: ["c -keys=cpu -model=host"],
      },
    },
    version: 7,
  };
  writeFileSync(join(src, "metadata.json"), `${JSON.stringify(metadata, null, 2)}\n`);
  writeFileSync(
    join(src, "codegen", "host", "src", "default_lib0.c"),
    "/* conformance check model: no operators */\n",
  );
  writeFileSync(join(src, "src", "default.relay"), "def @main(%input: Tensor[(4), uint8]) { %input }\n");
  // An empty params dict: magic, reserved, 0 names, 0 arrays (32 bytes).
  const params = Buffer.alloc(32);
  params.writeBigUInt64LE(0xf7e58d4f05049cb7n, 0);
  writeFileSync(join(src, "parameters", "default.params"), params);
  await createTar({ file, cwd: src, portable: true }, ["."]);
  rmSync(src, { recursive: true, force: true });
  return file;
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((res) => {
    const timer = setTimeout(() => res(undefined), ms);
    void promise.then((v) => {
      clearTimeout(timer);
      res(v);
    });
  });
}
