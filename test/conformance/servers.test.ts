// `microtvm conformance` against real servers: our loopback example, a Python server written
// without TVM, and a server that answers everything with success (which must fail).
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";
import { processesMentioning, runCli } from "../helpers/processes.js";
import { copyServer, scratchDir } from "../helpers/servers.js";

const loopback = join(repoRoot, "examples", "loopback-server");
const python = join(repoRoot, "test", "fixtures", "servers", "python-loopback");
const sloppy = join(repoRoot, "test", "fixtures", "servers", "misbehaving", "sloppy");

/** Runs conformance on a private copy of `source`; checks temp dirs and processes are cleaned up. */
async function conformance(t: TestContext, source: string, extra: string[] = []) {
  const server = copyServer(source, "conf-server");
  // The misbehaving servers share a module one level up; the copy needs it beside it too.
  const shared = join(source, "..", "misbehave.mjs");
  if (existsSync(shared)) cpSync(shared, join(server, "..", "misbehave.mjs"));
  const tmp = scratchDir("conf-tmp");
  t.after(() => {
    rmSync(join(server, ".."), { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  });
  const result = await runCli(["conformance", server, ...extra], { env: { TMPDIR: tmp } });
  const lines = result.stdout.trimEnd().split("\n");
  const leftovers = readdirSync(tmp).filter((name) => name.startsWith("microtvm-"));
  assert.deepEqual(leftovers, [], "conformance removed its temporary directories");
  assert.deepEqual(
    [...processesMentioning(server), ...processesMentioning(tmp)],
    [],
    "no server left running",
  );
  return { ...result, lines };
}

function assertAllPassed(r: { code: number | null; lines: string[]; stderr: string }) {
  const failures = r.lines.filter((l) => l.startsWith("FAIL"));
  assert.deepEqual(failures, [], r.stderr);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.lines.at(-1)!, /^\d+ passed, 0 failed$/);
  for (const line of r.lines.slice(0, -1)) assert.match(line, /^(PASS|SKIP) /);
  // The lifecycle and the raw cases both ran.
  assert.ok(r.lines.includes("PASS build succeeds"));
  assert.ok(r.lines.includes("PASS transport round trip of 65536 B"));
  assert.ok(r.lines.includes("PASS -32600 for a request that is not an object"));
  assert.ok(r.lines.includes("PASS a line that is not JSON gets no reply and the server exits"));
}

test("the loopback example passes conformance", async (t) => {
  assert.ok(
    existsSync(join(loopback, "microtvm_api_server.js")),
    "examples/loopback-server/microtvm_api_server.js is missing: run `npm run build`",
  );
  assertAllPassed(
    await conformance(t, loopback, ["-o", "verbose=false", "--project-option", "max_read_bytes=1000"]),
  );
});

test("a Python server written without TVM passes conformance", async (t) => {
  if (!requireCommand(t, "python3", "Python 3 (e.g. apt-get install python3)")) return;
  assertAllPassed(await conformance(t, python));
});

test("a server that never validates anything fails conformance with exit 1", async (t) => {
  const r = await conformance(t, sloppy);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.lines.at(-1)!, /^\d+ passed, [1-9]\d* failed$/);
  assert.ok(r.lines.some((l) => l.startsWith("FAIL -32600 for a request that is not an object: ")));
  assert.ok(r.lines.some((l) => l.startsWith("FAIL -32601 for an unknown method")));
});

test("bad input: a directory without a server is exit 3; a bad option value is exit 2", async (t) => {
  const empty = scratchDir("conf-empty");
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  const none = await runCli(["conformance", empty]);
  assert.equal(none.code, 3, none.stderr);
  assert.match(none.stderr, /: not a template \(no Project API server in it\)/);
  assert.equal(none.stdout, "");

  const bad = await conformance(t, loopback, ["-o", "max_read_bytes=12abc"]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /invalid value "12abc" for option max_read_bytes \(int\)/);
  const unknown = await conformance(t, loopback, ["-o", "nope=1"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown option "nope"; the server declares: verbose, max_read_bytes/);
});
