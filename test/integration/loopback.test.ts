// The loopback example as a real process: launched through its shell script with two extra
// pipes (fds 3 and 4, as TVM's client passes them), driven with raw JSON-RPC lines.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { buildTar } from "../../src/mlf/index.js";
import { LineDecoder, b85decode, b85encode } from "../../src/protocol/index.js";
import { repoRoot } from "../helpers/paths.js";

// Parsed replies: tests walk into them field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const exampleDir = join(repoRoot, "examples", "loopback-server");
const REPLY_TIMEOUT_MS = 15_000;

/** A template directory made the way `npm run build` makes the example (bundled from source). */
async function makeTemplate(root: string): Promise<string> {
  const dir = join(root, "template");
  mkdirSync(dir);
  for (const f of ["launch_microtvm_api_server.sh", "README.md"])
    copyFileSync(join(exampleDir, f), join(dir, f));
  chmodSync(join(dir, "launch_microtvm_api_server.sh"), 0o755);
  const esbuild = await import("esbuild");
  await esbuild.build({
    entryPoints: [join(exampleDir, "server.ts")],
    outfile: join(dir, "microtvm_api_server.js"),
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    alias: { microtvm: join(repoRoot, "src") },
    logLevel: "warning",
  });
  return dir;
}

/** A launched server and a lock-step client for it. */
class Server {
  readonly child: ChildProcess;
  private readonly decoder = new LineDecoder();
  private readonly lines: string[] = [];
  private wake: (() => void) | undefined;
  private nextId = 1;
  stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(script: string, cwd: string, extraArgs: string[] = []) {
    // TVM's client passes the .py path first, then the descriptors.
    this.child = spawn(
      script,
      [join(cwd, "microtvm_api_server.py"), "--read-fd", "3", "--write-fd", "4", ...extraArgs],
      {
        cwd,
        stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"],
      },
    );
    this.child.stderr!.on("data", (c: Buffer) => (this.stderr += c.toString()));
    this.replies.on("data", (c: Buffer) => {
      this.lines.push(...this.decoder.push(c));
      this.wake?.();
    });
    this.replies.on("error", () => {});
    this.requests.on("error", () => {});
    this.exited = new Promise((resolve) =>
      this.child.on("exit", (code, signal) => resolve({ code, signal })),
    );
  }

  get requests(): Writable {
    return this.child.stdio[3] as Writable;
  }

  get replies(): Readable {
    return this.child.stdio[4] as Readable;
  }

  async nextLine(): Promise<string> {
    const deadline = Date.now() + REPLY_TIMEOUT_MS;
    while (this.lines.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${REPLY_TIMEOUT_MS} ms; stderr:\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.lines.shift()!;
  }

  async call(method: string, params: Record<string, unknown>): Promise<Json> {
    const id = this.nextId++;
    this.requests.write(`${JSON.stringify({ jsonrpc: "2.0", method, params, id })}\n`);
    const reply = JSON.parse(await this.nextLine());
    assert.equal(reply.id, id);
    return reply;
  }

  async result(method: string, params: Record<string, unknown>): Promise<Json> {
    const reply = await this.call(method, params);
    assert.equal(reply.error, undefined, `${method} failed: ${JSON.stringify(reply.error)}`);
    return reply.result;
  }

  /** Closes the request pipe (EOF) and waits for the exit, killing after a deadline. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.requests.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), REPLY_TIMEOUT_MS);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("loopback server: template → generate → relaunch → build → flash → transport round trips → EOF", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "microtvm-loopback-"));
  const servers: Server[] = [];
  t.after(() => {
    for (const s of servers) if (s.child.exitCode === null) s.child.kill("SIGKILL");
    rmSync(root, { recursive: true, force: true });
  });
  const template = await makeTemplate(root);
  writeFileSync(
    join(root, "model.tar"),
    buildTar([{ name: "metadata.json", type: "file", data: Buffer.from('{"version": 7}') }]),
  );
  writeFileSync(join(root, "not-a-model.tar"), "plain text");

  // 1. The template, launched by absolute path.
  const tpl = new Server(join(template, "launch_microtvm_api_server.sh"), template);
  servers.push(tpl);
  const info = await tpl.result("server_info_query", { tvm_version: "0.19.dev0" });
  assert.equal(info.platform_name, "loopback");
  assert.equal(info.is_template, true);
  assert.equal(info.model_library_format_path, "");
  assert.equal(info.protocol_version, 1);
  assert.ok(info.project_options.every((o: Json) => "default" in o && o.default !== undefined));

  const project = join(root, "projects", "p1");
  const gen = (mlf: string, dir = project) =>
    tpl.call("generate_project", {
      model_library_format_path: mlf,
      standalone_crt_dir: "/unused",
      project_dir: dir,
      options: {},
    });
  assert.match(
    (await gen(join(root, "missing.tar"))).error.message,
    /not found; pass the path of a model.tar/,
  );
  assert.match((await gen(join(root, "not-a-model.tar"))).error.message, /is not a tar or tar.gz archive/);
  assert.equal(existsSync(join(root, "projects")), false, "a refused generate leaves nothing behind");
  assert.equal((await gen(join(root, "model.tar"))).result, null);
  const again = await gen(join(root, "model.tar"));
  assert.equal(again.error.code, -32000);
  assert.match(again.error.message, /already exists/);
  assert.match((await tpl.call("build", { options: {} })).error.message, /is a template; generate a project/);
  assert.deepEqual(await tpl.stop(), { code: 0, signal: null });

  // 2. The generated project, launched by a relative script path.
  const gp = new Server("./launch_microtvm_api_server.sh", project, ["--debug"]);
  servers.push(gp);
  const ginfo = await gp.result("server_info_query", { tvm_version: "0.19.dev0" });
  assert.equal(ginfo.is_template, false);
  assert.equal(ginfo.model_library_format_path, join(project, "model.tar"));
  assert.match(
    (await gp.call("flash", { options: {} })).error.message,
    /no build found .*; run build before flash/,
  );
  assert.equal(await gp.result("build", { options: { verbose: "true" } }), null);
  const built = JSON.parse(readFileSync(join(project, "build", "loopback.json"), "utf8"));
  assert.equal(
    built.model_sha256,
    createHash("sha256")
      .update(readFileSync(join(root, "model.tar")))
      .digest("hex"),
  );
  assert.deepEqual(built.options, { verbose: "true" });
  await gp.result("flash", { options: {} });
  await gp.result("flash", { options: {} });
  assert.equal(JSON.parse(readFileSync(join(project, "build", "flash.json"), "utf8")).flash_count, 2);

  // Transport.
  const closed = await gp.call("read_transport", { n: 4, timeout_sec: 0 });
  assert.equal(closed.error.message, "TransportClosedError");
  assert.match(
    (await gp.call("open_transport", { options: { max_read_bytes: "x" } })).error.message,
    /max_read_bytes must be an integer/,
  );
  const opened = await gp.result("open_transport", { options: { max_read_bytes: 3 } });
  assert.deepEqual(Object.keys(opened.timeouts), [
    "session_start_retry_timeout_sec",
    "session_start_timeout_sec",
    "session_established_timeout_sec",
  ]);
  assert.equal(
    await gp.result("write_transport", {
      data: b85encode(new TextEncoder().encode("hello")),
      timeout_sec: 1,
    }),
    null,
  );
  const first = await gp.result("read_transport", { n: 128, timeout_sec: 1 });
  assert.equal(new TextDecoder().decode(b85decode(first.data)), "hel", "max_read_bytes caps a read");
  const second = await gp.result("read_transport", { n: 128, timeout_sec: 1 });
  assert.equal(new TextDecoder().decode(b85decode(second.data)), "lo");
  const started = Date.now();
  const empty = await gp.call("read_transport", { n: 1, timeout_sec: 0.2 });
  assert.equal(empty.error.message, "IoTimeoutError");
  assert.ok(Date.now() - started >= 150, "waited for timeout_sec before giving up");
  await gp.result("open_transport", { options: {} });
  const payload = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) & 0xff);
  await gp.result("write_transport", { data: b85encode(payload), timeout_sec: null });
  const received: number[] = [];
  while (received.length < payload.length) {
    const r = await gp.result("read_transport", { n: 4096, timeout_sec: 1 });
    const chunk = b85decode(r.data);
    assert.ok(chunk.length >= 1 && chunk.length <= 4096);
    received.push(...chunk);
  }
  assert.deepEqual(Uint8Array.from(received), payload);
  assert.equal(await gp.result("close_transport", {}), null);
  assert.equal(await gp.result("close_transport", {}), null, "closing twice is a no-op");
  assert.equal(
    (await gp.call("write_transport", { data: "", timeout_sec: 0 })).error.message,
    "TransportClosedError",
  );

  const pid = gp.child.pid!;
  assert.deepEqual(await gp.stop(), { code: 0, signal: null });
  assert.match(gp.stderr, /DEBUG:microtvm\.server:read request <- \{"jsonrpc"/);
  assert.match(gp.stderr, /DEBUG:microtvm\.server:write reply -> \{"jsonrpc"/);
  assert.match(gp.stderr, /loopback: built: model.tar sha256/);
  assert.equal(isAlive(pid), false, "no process left behind");
});

test("deviation 8: loopback server: usage errors exit 2 with argparse's message, descriptors that are not open exit 1 naming them; --help exits 0", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "microtvm-loopback-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const template = await makeTemplate(root);
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
      const child = spawn(join(template, "launch_microtvm_api_server.sh"), args, { cwd: template });
      let stderr = "";
      let stdout = "";
      child.stderr.on("data", (c: Buffer) => (stderr += c));
      child.stdout.on("data", (c: Buffer) => (stdout += c));
      const timer = setTimeout(() => child.kill("SIGKILL"), REPLY_TIMEOUT_MS);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stderr, stdout });
      });
    });
  const none = await run([]);
  assert.equal(none.code, 2);
  assert.match(
    none.stderr,
    /^usage: microtvm_api_server .*\nmicrotvm_api_server: error: the following arguments are required: --read-fd, --write-fd\n$/,
  );
  const bad = await run(["x/microtvm_api_server.py", "--read-fd", "three", "--write-fd", "4"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /argument --read-fd: invalid int value: 'three'/);
  const closedFd = await run(["--read-fd", "97", "--write-fd", "98"]);
  assert.equal(closedFd.code, 1);
  assert.match(closedFd.stderr, /cannot use --read-fd 97/);
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--read-fd READ_FD/);
});

test("deviation 5: loopback server: a client that closes the reply pipe mid-conversation makes it exit quietly", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "microtvm-loopback-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const template = await makeTemplate(root);
  const s = new Server(join(template, "launch_microtvm_api_server.sh"), template);
  t.after(() => {
    if (s.child.exitCode === null) s.child.kill("SIGKILL");
  });
  await s.result("server_info_query", { tvm_version: "x" });
  s.replies.destroy();
  await new Promise((r) => setTimeout(r, 50));
  s.requests.write(
    `${JSON.stringify({ jsonrpc: "2.0", method: "server_info_query", params: { tvm_version: "x" }, id: 9 })}\n`,
  );
  const exit = await s.stop();
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.doesNotMatch(s.stderr, /at |Error/, "no stack trace on stderr");
});

test("loopback server: a request line that is not JSON gets no reply and the server exits 0", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "microtvm-loopback-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const template = await makeTemplate(root);
  const s = new Server(join(template, "launch_microtvm_api_server.sh"), template);
  t.after(() => {
    if (s.child.exitCode === null) s.child.kill("SIGKILL");
  });
  s.requests.write("foobar\n");
  const exit = await s.exited;
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.match(s.stderr, /ERROR:microtvm\.server:Caught error reading request/);
});

test("deviation 10: loopback server: read_transport timeout_sec 1e308 waits (clamped to what a timer can hold) without a warning flood", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "microtvm-loopback-"));
  const servers: Server[] = [];
  t.after(() => {
    for (const s of servers) if (s.child.exitCode === null) s.child.kill("SIGKILL");
    rmSync(root, { recursive: true, force: true });
  });
  const template = await makeTemplate(root);
  writeFileSync(
    join(root, "model.tar"),
    buildTar([{ name: "metadata.json", type: "file", data: Buffer.from('{"version": 7}') }]),
  );
  const tpl = new Server(join(template, "launch_microtvm_api_server.sh"), template);
  const project = join(root, "p");
  await tpl.result("generate_project", {
    model_library_format_path: join(root, "model.tar"),
    standalone_crt_dir: "/unused",
    project_dir: project,
    options: {},
  });
  await tpl.stop();
  const server = new Server("./launch_microtvm_api_server.sh", project);
  servers.push(server);
  await server.result("open_transport", { options: {} });
  server.requests.write(
    `${JSON.stringify({ jsonrpc: "2.0", method: "read_transport", params: { n: 1, timeout_sec: 1e308 }, id: 99 })}\n`,
  );
  await new Promise((r) => setTimeout(r, 800));
  await assert.rejects(
    Promise.race([
      server.nextLine(),
      new Promise((_, rej) => setTimeout(() => rej(new Error("pending")), 300)),
    ]),
    /pending/,
    "a read with a huge timeout is still waiting, not timed out at once",
  );
  assert.doesNotMatch(server.stderr, /TimeoutOverflowWarning/);
  server.child.kill("SIGTERM");
  await server.exited;
});
