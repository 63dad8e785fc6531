// Finding and starting a server as TVM's client does (docs/interop.md): precedence, argv,
// working directory, relative paths, and the errors when nothing can be started.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import {
  ProjectApiClient,
  ProjectApiServerNotFoundError,
  ServerExitedError,
  ServerLaunchError,
  findServer,
  type LaunchOptions,
} from "../../src/client/index.js";
import { survivors } from "../helpers/processes.js";

// A "server" that records how it was started, then exits 0.
const RECORD_SH = `#!/bin/sh\n{ pwd; for a in "$0" "$@"; do echo "$a"; done; } > argv.txt\n`;
const RECORD_JS = `require("fs").writeFileSync("argv.txt", [process.cwd(), ...process.argv.slice(1)].join("\\n") + "\\n");\n`;

function project(files: Record<string, string>, executable: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), "microtvm-launch-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  for (const name of executable) chmodSync(join(dir, name), 0o755);
  return dir;
}

/** Launches the server of `dir`, lets it record its argv and exit, and returns [cwd, ...argv]. */
async function recordedLaunch(dir: string, options: LaunchOptions = {}): Promise<string[]> {
  const client = await ProjectApiClient.launch(dir, options);
  await assert.rejects(
    client.serverInfoQuery(),
    (e: unknown) => e instanceof ServerExitedError && e.exit.exitCode === 0,
  );
  await client.close();
  assert.deepEqual(await survivors([client.process!.pid]), []);
  return readFileSync(join(dir, "argv.txt"), "utf8").trimEnd().split("\n");
}

test("launch_microtvm_api_server.sh wins over microtvm_api_server.py and gets the .py path first", async (t) => {
  const dir = project(
    { "launch_microtvm_api_server.sh": RECORD_SH, "microtvm_api_server.py": "raise SystemExit(9)\n" },
    ["launch_microtvm_api_server.sh"],
  );
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.deepEqual(await recordedLaunch(dir, { debug: true }), [
    dir,
    join(dir, "launch_microtvm_api_server.sh"),
    join(dir, "microtvm_api_server.py"),
    "--read-fd",
    "3",
    "--write-fd",
    "4",
    "--debug",
  ]);
});

test("the launch script gets the .py path even when no .py exists (as the reference)", async (t) => {
  const dir = project({ "launch_microtvm_api_server.sh": RECORD_SH }, ["launch_microtvm_api_server.sh"]);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const argv = await recordedLaunch(dir);
  assert.equal(argv[2], join(dir, "microtvm_api_server.py"));
});

test("a relative project directory is made absolute before launching", async (t) => {
  const dir = project({ "launch_microtvm_api_server.sh": RECORD_SH }, ["launch_microtvm_api_server.sh"]);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const argv = await recordedLaunch(relative(process.cwd(), dir));
  assert.equal(argv[0], dir);
  assert.equal(argv[1], join(dir, "launch_microtvm_api_server.sh"));
});

test("microtvm_api_server.py runs with the configured interpreter", async (t) => {
  const dir = project({ "microtvm_api_server.py": "", "fake-python": RECORD_SH }, ["fake-python"]);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const argv = await recordedLaunch(dir, { python: join(dir, "fake-python") });
  assert.deepEqual(argv, [
    dir,
    join(dir, "fake-python"),
    join(dir, "microtvm_api_server.py"),
    "--read-fd",
    "3",
    "--write-fd",
    "4",
  ]);
});

test("the documented microtvm_api_server.sh is run directly; .py still wins over it", async (t) => {
  const dir = project({ "microtvm_api_server.sh": RECORD_SH }, ["microtvm_api_server.sh"]);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.deepEqual(await recordedLaunch(dir), [
    dir,
    join(dir, "microtvm_api_server.sh"),
    "--read-fd",
    "3",
    "--write-fd",
    "4",
  ]);
  writeFileSync(join(dir, "microtvm_api_server.py"), "");
  assert.equal(findServer(dir).kind, "python");
});

test("microtvm_api_server.js runs with this Node; .js wins over .mjs; the shell script wins over both", async (t) => {
  const dir = project({
    "microtvm_api_server.js": RECORD_JS,
    "microtvm_api_server.mjs": "process.exit(9);\n",
  });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "package.json"), '{"type": "commonjs"}\n');
  assert.deepEqual(await recordedLaunch(dir), [
    dir,
    join(dir, "microtvm_api_server.js"),
    "--read-fd",
    "3",
    "--write-fd",
    "4",
  ]);
  const command = findServer(dir);
  assert.equal(command.command, process.execPath);
  rmSync(join(dir, "microtvm_api_server.js"));
  assert.equal(findServer(dir).file, join(dir, "microtvm_api_server.mjs"));
  writeFileSync(join(dir, "microtvm_api_server.sh"), RECORD_SH);
  assert.equal(findServer(dir).kind, "documented-script");
});

test("no server: ProjectApiServerNotFoundError lists every name tried", async (t) => {
  const dir = project({ "README.md": "nothing here\n" });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(ProjectApiClient.launch(dir), (e: unknown) => {
    assert.ok(e instanceof ProjectApiServerNotFoundError);
    assert.equal(
      e.message,
      `No Project API server found in project directory: ${dir}\nTried: launch_microtvm_api_server.sh, ` +
        "microtvm_api_server.py, microtvm_api_server.sh, microtvm_api_server.js, microtvm_api_server.mjs",
    );
    return true;
  });
  assert.throws(() => findServer(join(dir, "missing")), /the directory does not exist/);
});

test("a launch script without the executable bit: ServerLaunchError saying chmod +x", async (t) => {
  const dir = project({ "launch_microtvm_api_server.sh": RECORD_SH });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(
    ProjectApiClient.launch(dir),
    (e: unknown) => e instanceof ServerLaunchError && /chmod \+x/.test(e.message),
  );
});

test("a missing interpreter: ServerLaunchError saying what to install", async (t) => {
  const dir = project({ "microtvm_api_server.py": "" });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(
    ProjectApiClient.launch(dir, { python: "no-such-python-3" }),
    (e: unknown) =>
      e instanceof ServerLaunchError && /no-such-python-3 not found; install Python 3/.test(e.message),
  );
});

test("server output goes to the caller's sink; the stderr tail is bounded", async (t) => {
  const dir = project(
    {
      "launch_microtvm_api_server.sh":
        '#!/bin/sh\necho "to stdout"\ni=0; while [ $i -lt 500 ]; do echo "stderr line $i" >&2; i=$((i+1)); done\nexit 4\n',
    },
    ["launch_microtvm_api_server.sh"],
  );
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const seen: string[] = [];
  const client = await ProjectApiClient.launch(dir, {
    stderrTailBytes: 1024,
    onOutput: (text, stream) => seen.push(`${stream}:${text}`),
  });
  await assert.rejects(client.serverInfoQuery(), (e: unknown) => {
    assert.ok(e instanceof ServerExitedError);
    assert.match(e.message, /exit code 4/);
    assert.match(e.message, /stderr line 499/);
    assert.doesNotMatch(e.message, /stderr line 0\n/);
    return true;
  });
  await client.close();
  assert.ok(seen.some((s) => s === "stdout:to stdout\n"));
  assert.ok(seen.join("").includes("stderr line 0\n"));
  assert.ok(client.process!.stderrTail(1000).length <= 1024);
});
