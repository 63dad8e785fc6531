// The CLI as a user meets it on bad input: one clear line on stderr, the documented exit code,
// nothing on stdout, nothing left behind. These need no C compiler: the host template generates
// and answers without building.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../helpers/paths.js";
import { CLI_BIN, runCliSync } from "../helpers/processes.js";

const sine = join(repoRoot, "examples", "sine-model", "sine.tar");

let work: string;

function cli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return runCliSync(args, {
    built: true,
    timeoutMs: 60_000,
    cwd: options.cwd ?? work,
    env: { MICROTVM_CACHE_DIR: join(work, "cache"), ...options.env },
  });
}

/** The one-line error promise: `microtvm: ...` on one line, no stack frame, no raw errno text. */
function assertOneLineError(stderr: string): void {
  const lines = stderr.split("\n").filter((l) => l.startsWith("microtvm: ") || l.startsWith("Tried"));
  assert.equal(lines.length, 1, `one error line expected:\n${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at |file:\/\/|\(at async |ENOENT|EISDIR|\[object Object\]/, stderr);
}

before(() => {
  work = mkdtempSync(join(tmpdir(), "microtvm-cli-errors-"));
  writeFileSync(join(work, "junk.tar"), Buffer.alloc(100, 7));
  writeFileSync(join(work, "a-file"), "not a directory\n");
  mkdirSync(join(work, "no-server"));
  writeFileSync(join(work, "no-server", "notes.txt"), "hello\n");
  writeFileSync(join(work, "a.c"), "int x;\n");
  writeFileSync(
    join(work, "tensors.json"),
    JSON.stringify({
      inputs: [{ name: "x", dtype: "float32", shape: [1] }],
      outputs: [{ name: "y", dtype: "float32", shape: [1] }],
    }),
  );
});

after(() => rmSync(work, { recursive: true, force: true }));

describe("info and conformance find servers by path or built-in name", () => {
  test("a directory without a server: exit 3 and one line saying it is no project and what to do", () => {
    const r = cli(["info", "no-server"]);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, "");
    assertOneLineError(r.stderr);
    assert.match(
      r.stderr,
      /no-server: not a microtvm project or template \(no Project API server in it\); give a template directory/,
    );
    for (const command of ["build", "flash", "run", "monitor"]) {
      const project = cli([command, "no-server"]);
      assert.equal(project.code, 3, project.stderr);
      assertOneLineError(project.stderr);
      assert.match(
        project.stderr,
        /no-server: not a microtvm project; create one with `microtvm create-project .*no-server <model\.tar>`/,
        command,
      );
    }
  });

  test("create-project with its arguments swapped: a hint with the command the right way round", () => {
    const r = cli(["create-project", sine, "fresh-proj"]);
    assert.equal(r.code, 3, r.stderr);
    assertOneLineError(r.stderr);
    assert.match(
      r.stderr,
      /The arguments look swapped: the project directory comes first, then the archive: microtvm create-project fresh-proj .*sine\.tar$/m,
    );
    assert.equal(existsSync(join(work, "fresh-proj")), false);
  });

  test("a file where a directory is expected: exit 3, says it is a file", () => {
    const r = cli(["info", "a-file"]);
    assert.equal(r.code, 3, r.stderr);
    assertOneLineError(r.stderr);
    assert.match(r.stderr, /a-file is a file; give a template or project directory/);
  });

  test("a built-in template by name, from a directory that has no templates/", () => {
    const r = cli(["info", "host", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { schema: string; platform_name: string };
    assert.equal(doc.schema, "microtvm.info/2");
    assert.equal(doc.platform_name, "host");
  });

  test("conformance --mlf with a file that is not an archive: exit 3 before any check runs", () => {
    const r = cli(["conformance", "host", "--mlf", "junk.tar"]);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, "", "no PASS/FAIL line is printed");
    assertOneLineError(r.stderr);
    assert.match(r.stderr, /model archive .*junk\.tar cannot be used/);
  });

  test("conformance --json: one document on stdout, the check lines on stderr", () => {
    const r = cli(["conformance", "host", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as {
      schema: string;
      passed: number;
      failed: number;
      checks: { name: string; status: string }[];
    };
    assert.equal(doc.schema, "microtvm.conformance/1");
    assert.equal(doc.failed, 0);
    assert.ok(doc.passed > 10);
    assert.equal(doc.checks.filter((c) => c.status === "pass").length, doc.passed);
    assert.match(r.stderr, /^PASS /m);
  });

  test("conformance piped into head leaves no temporary directory behind", () => {
    const tmp = join(work, "tmp-head");
    mkdirSync(tmp);
    for (let i = 0; i < 3; i++) {
      const template = join(repoRoot, "templates", "host");
      const r = spawnSync(
        "sh",
        ["-c", `"${process.execPath}" "${CLI_BIN}" conformance "${template}" | head -1`],
        {
          encoding: "utf8",
          timeout: 60_000,
          cwd: work,
          env: { ...process.env, TMPDIR: tmp },
        },
      );
      assert.match(r.stdout, /^PASS /);
    }
    assert.deepEqual(readdirSync(tmp), []);
  });
});

describe("model archives are checked before a server sees them", () => {
  test("create-project with a file that is not a tar: exit 3, the reader's reason, nothing created", () => {
    const r = cli(["create-project", "proj", "junk.tar"]);
    assert.equal(r.code, 3, r.stderr);
    assertOneLineError(r.stderr);
    assert.match(r.stderr, /model archive .*junk\.tar cannot be used: .*give a Model Library Format archive/);
    assert.equal(existsSync(join(work, "proj")), false);
  });

  test("create-project with an archive whose entry climbs out: exit 3, nothing written", () => {
    const hostile = join(work, "hostile.tar");
    // A ustar header for "../escaped.txt" (3 bytes), then the two zero blocks that end a tar.
    const header = Buffer.alloc(512);
    header.write("../escaped.txt", 0);
    header.write("0000644\0", 100);
    header.write("0000000\0", 108);
    header.write("0000000\0", 116);
    header.write("00000000003\0", 124);
    header.write("00000000000\0", 136);
    header.write("        ", 148);
    header.write("0", 156);
    header.write("ustar\0", 257);
    header.write("00", 263);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
    const data = Buffer.alloc(512);
    data.write("bad");
    writeFileSync(hostile, Buffer.concat([header, data, Buffer.alloc(1024)]));
    mkdirSync(join(work, "inner"), { recursive: true });
    const r = cli(["create-project", "proj", "../hostile.tar"], { cwd: join(work, "inner") });
    assert.equal(r.code, 3, r.stderr);
    assertOneLineError(r.stderr);
    assert.match(r.stderr, /cannot be used: .*'\.\.' path segments are not allowed/);
    assert.equal(existsSync(join(work, "inner", "proj")), false);
    assert.equal(existsSync(join(work, "escaped.txt")), false);
  });

  test("run with a file that is not an archive: exit 3, no cached project", () => {
    const r = cli(["run", "a-file"]);
    assert.equal(r.code, 3, r.stderr);
    assertOneLineError(r.stderr);
    assert.match(r.stderr, /model archive .*a-file cannot be used/);
    assert.equal(existsSync(join(work, "cache", "projects")), false);
  });
});

describe("generated projects", () => {
  test("a server-side failure reads as the server's message, without a stack frame", () => {
    const r1 = cli(["create-project", "unbuilt", sine]);
    assert.equal(r1.code, 0, r1.stderr);
    const r = cli(["flash", "unbuilt"]);
    assert.equal(r.code, 1, r.stderr);
    assertOneLineError(r.stderr);
    assert.match(r.stderr, /microtvm: flash failed on the Project API server: .*run build first$/m);
  });

  test("create-project --force whose generation fails keeps the old project", () => {
    const r1 = cli(["create-project", "kept", sine]);
    assert.equal(r1.code, 0, r1.stderr);
    const r = cli(["create-project", "kept", sine, "--force", "-o", "workspace_size_bytes=-5"]);
    assert.equal(r.code, 1, r.stderr);
    assertOneLineError(r.stderr);
    assert.ok(existsSync(join(work, "kept", "microtvm-project.json")), "the old project is back");
    assert.deepEqual(
      readdirSync(work).filter((name) => name.startsWith("kept.")),
      [],
      "no side directory is left",
    );
  });

  test("the next command suggested after create-project is quoted when the path has a space", () => {
    const r = cli(["create-project", "with space/proj", sine]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^next: microtvm build 'with space\/proj'$/m);
  });

  test("run --output-dir naming a file: exit 3 before the device is touched", () => {
    const r = cli(["run", "unbuilt", "--output-dir", "a-file"]);
    assert.equal(r.code, 3, r.stderr);
    assertOneLineError(r.stderr);
    assert.match(r.stderr, /--output-dir .*a-file is a file; give a directory/);
    assert.doesNotMatch(r.stderr, /building|flashing/);
  });

  test("a project or output directory where none can be made fails at once instead of hanging", (t) => {
    if (!existsSync("/proc/self")) {
      t.skip("needs /proc, where mkdir fails with ENOENT");
      return;
    }
    const create = cli(["create-project", "/proc/microtvm-project", sine]);
    assert.equal(create.code, 3, create.stderr);
    assertOneLineError(create.stderr);
    assert.match(
      create.stderr,
      /cannot create the project directory \/proc\/microtvm-project: .*cannot be made/,
    );
    const cache = cli(["run", sine], { env: { MICROTVM_CACHE_DIR: "/proc/microtvm-cache" } });
    assert.equal(cache.code, 3, cache.stderr);
    assertOneLineError(cache.stderr);
    assert.match(cache.stderr, /cannot create the project cache .*set MICROTVM_CACHE_DIR/);
    const output = cli(["run", "unbuilt", "--output-dir", "/proc/microtvm-out"]);
    assert.equal(output.code, 3, output.stderr);
    assertOneLineError(output.stderr);
    assert.match(output.stderr, /cannot create the output directory \/proc\/microtvm-out/);
    assert.doesNotMatch(output.stderr, /building/);
  });

  test("create-project makes missing parents, and removes them again when it fails", () => {
    const bad = cli(["create-project", "new-parent/inner/proj", sine, "-o", "verbose=maybe"]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.equal(existsSync(join(work, "new-parent")), false);
    const good = cli(["create-project", "new-parent/inner/proj", sine]);
    assert.equal(good.code, 0, good.stderr);
    assert.ok(existsSync(join(work, "new-parent", "inner", "proj", "microtvm-project.json")));
  });

  test("a saved option that does not fit its type is named with its file, and -o replaces it", () => {
    const r1 = cli(["create-project", "saved-bad", sine]);
    assert.equal(r1.code, 0, r1.stderr);
    const file = join(work, "saved-bad", "microtvm-project.json");
    const saved = JSON.parse(readFileSync(file, "utf8")) as { options?: Record<string, unknown> };
    writeFileSync(file, JSON.stringify({ ...saved, options: { ...saved.options, verbose: "maybe" } }));
    const r = cli(["flash", "saved-bad"]);
    assert.equal(r.code, 3, r.stderr);
    assertOneLineError(r.stderr);
    assert.match(
      r.stderr,
      /microtvm-project\.json: the saved option verbose does not fit \(it is "maybe", not a bool\)/,
    );
    const replaced = cli(["flash", "saved-bad", "-o", "verbose=false"]);
    assert.equal(replaced.code, 1, replaced.stderr);
    assert.match(replaced.stderr, /run build first/, "past the options, to the server's own answer");
  });

  test("an input file that is not JSON gives one line, even when the parser quotes a line break", () => {
    writeFileSync(join(work, "nan.json"), "nan\n");
    const r = cli(["run", "unbuilt", "--input", "x=nan.json"]);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assert.match(
      r.stderr,
      /^microtvm: input "x" \(float32 \[1, 1\], 4 bytes\): (?:\S*\/)?nan\.json: not valid JSON/,
    );
  });

  test("monitor on a file says it is a file, not that it does not exist", () => {
    const r = cli(["monitor", "a-file", "--duration", "1"]);
    assert.equal(r.code, 3, r.stderr);
    assertOneLineError(r.stderr);
    assert.match(r.stderr, /a-file is a file; give a generated project directory/);
  });
});

describe("pack", () => {
  const base = ["pack", "--tensors", "tensors.json", "--source", "a.c"];

  test("--output naming a directory: exit 3 before any work", () => {
    const r = cli([...base, "--output", "no-server"]);
    assert.equal(r.code, 3, r.stderr);
    assertOneLineError(r.stderr);
    assert.match(r.stderr, /--output no-server is a directory; give the archive's file name/);
  });

  test("--output in a directory that does not exist: exit 3", () => {
    const r = cli([...base, "--output", "missing/dir/model.tar"]);
    assert.equal(r.code, 3, r.stderr);
    assertOneLineError(r.stderr);
    assert.match(r.stderr, /the directory .*missing\/dir does not exist; create it first/);
  });

  test("a missing tensor description and a directory given as a source are plain sentences", () => {
    const missing = cli(["pack", "--tensors", "nope.json", "--source", "a.c", "--output", "m.tar"]);
    assert.equal(missing.code, 3, missing.stderr);
    assertOneLineError(missing.stderr);
    assert.match(missing.stderr, /cannot read tensor description: nope\.json does not exist/);
    const dir = cli(["pack", "--tensors", "tensors.json", "--source", "no-server", "--output", "m.tar"]);
    assert.equal(dir.code, 3, dir.stderr);
    assertOneLineError(dir.stderr);
    assert.match(dir.stderr, /the source no-server is a directory; give a file/);
  });

  test("--json prints one document", () => {
    const r = cli([...base, "--output", "packed.tar", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { schema: string; path: string; bytes: number };
    assert.equal(doc.schema, "microtvm.pack/1");
    assert.equal(doc.path, join(work, "packed.tar"));
    assert.ok(doc.bytes > 0);
  });
});

describe("help", () => {
  test("run and monitor list the built-in templates' options", () => {
    for (const name of ["run", "monitor"]) {
      const r = cli([name, "--help"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Project options of the built-in templates/, name);
      assert.match(r.stdout, /^ {2}host:$/m, name);
    }
  });

  test("each command's help lists only the options that apply to it, and starts no server", () => {
    // The templates' launch scripts run $MICROTVM_NODE: a wrapper that leaves a mark if run.
    const mark = join(work, "a-server-started");
    const wrapper = join(work, "marking-node");
    writeFileSync(wrapper, `#!/bin/sh\ntouch "${mark}"\nexec "${process.execPath}" "$@"\n`, { mode: 0o755 });
    const cases: [string, RegExp, RegExp | undefined][] = [
      ["create-project", /^ {4}cc=STR$/m, undefined],
      ["build", /^ {4}cflags=STR$/m, undefined],
      ["flash", /^ {4}verbose=true\|false$/m, /^ {4}cflags=/m],
      ["monitor", /^ {4}verbose=true\|false$/m, /^ {4}cflags=/m],
      ["run", /^ {4}cflags=STR$/m, undefined],
    ];
    for (const [name, listed, notListed] of cases) {
      const r = cli([name, "--help"], { env: { MICROTVM_NODE: wrapper } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Project options of the built-in templates for this command/, name);
      assert.match(r.stdout, listed, name);
      if (notListed) assert.doesNotMatch(r.stdout, notListed, name);
    }
    for (const args of [["templates"], ["templates", "--json"], ["--help"], ["doctor", "--help"]]) {
      assert.equal(cli(args, { env: { MICROTVM_NODE: wrapper } }).code, 0, args.join(" "));
    }
    assert.equal(existsSync(mark), false, "no server was started for help or templates");
  });

  test("repeatable flags do not show an empty default", () => {
    for (const name of ["create-project", "build", "run", "doctor"]) {
      const r = cli([name, "--help"]);
      assert.doesNotMatch(r.stdout, /\(default: \[\]\)/, name);
    }
  });

  test("flag and argument errors read like every other error and point at the command's help", () => {
    const r = cli(["run", "somewhere", "--bogus"]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, "microtvm: unknown option '--bogus'\n(run microtvm run --help for usage)\n");
    const missing = cli(["create", "only-one"]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(
      missing.stderr,
      /^microtvm: missing required argument 'mlf'\n\(run microtvm create-project --help/,
    );
  });

  test("the command list of --help has one short line per command", () => {
    const r = cli(["--help"]);
    assert.equal(r.code, 0, r.stderr);
    const long = r.stdout.split("\n").filter((line) => line.length > 110);
    assert.deepEqual(long, []);
  });

  test("inspect names a missing archive once", () => {
    const r = cli(["inspect", "nope.tar"]);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stderr.split("nope.tar").length - 1, 1, r.stderr);
  });
});
