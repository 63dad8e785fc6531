// The host template refusing what it cannot do, with messages that say what was wrong and what
// to do, and never leaving a half-written project behind.
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import {
  appendFileSync,
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
import { GeneratedProject, TemplateProject, generateProjectFromMlf } from "../../src/client/index.js";
import { buildTar, readTarFile, type TarInput } from "../../src/mlf/index.js";
import { ServerError } from "../../src/protocol/index.js";
import { repoRoot, sharedFixture } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";

const hostTemplate = join(repoRoot, "templates", "host");
const exampleSine = join(repoRoot, "examples", "sine-model", "sine.tar");

let scratch: string;
let template: TemplateProject;
before(async () => {
  scratch = mkdtempSync(join(tmpdir(), "microtvm-host-errors-"));
  assert.ok(
    existsSync(join(hostTemplate, "microtvm_api_server.js")),
    "templates/host/microtvm_api_server.js is missing: run `npm run build` first",
  );
  template = await TemplateProject.open(hostTemplate);
});
after(async () => {
  await template?.close();
  rmSync(scratch, { recursive: true, force: true });
});

function toolchain(t: TestContext): boolean {
  return (
    requireCommand(t, "cc", "a C compiler (apt-get install gcc libc6-dev)") &&
    requireCommand(t, "make", "GNU make (apt-get install make)")
  );
}

/** Calls generate_project on the template's server directly (the client facade checks some things first). */
function generate(mlf: string, projectDir: string, options: Record<string, unknown> = {}) {
  return template.apiClient.generateProject({
    modelLibraryFormatPath: mlf,
    standaloneCrtDir: join(repoRoot, "runtime"),
    projectDir,
    options: options as Record<string, never>,
  });
}

/** Asserts a ServerError whose message matches every pattern. */
function serverError(...patterns: RegExp[]) {
  return (error: unknown) => {
    assert.ok(error instanceof ServerError, `expected a ServerError, got ${String(error)}`);
    for (const p of patterns) assert.match(error.message, p);
    return true;
  };
}

/** The entries of a tar, so tests can make variants of a real archive. */
async function entriesOf(archive: string): Promise<TarInput[]> {
  const entries: TarInput[] = [];
  await readTarFile(archive, (entry) => {
    if (entry.type === "directory") entries.push({ name: entry.name, type: "directory" });
    else entries.push({ name: entry.name, type: "file", data: entry.data });
  });
  return entries;
}

describe("generate_project refuses bad input and leaves nothing behind", () => {
  test("an existing directory is refused and left untouched", async () => {
    const dir = join(scratch, "existing");
    mkdirSync(dir);
    writeFileSync(join(dir, "keep.txt"), "mine");
    await assert.rejects(
      generate(exampleSine, dir),
      serverError(/already exists/, /remove it or choose another path/),
    );
    assert.deepEqual(readdirSync(dir), ["keep.txt"]);
  });

  test("a missing archive is refused", async () => {
    const dir = join(scratch, "missing-archive");
    await assert.rejects(
      generate(join(scratch, "no-such.tar"), dir),
      serverError(/cannot use the model archive/, /no-such\.tar/),
    );
    assert.equal(existsSync(dir), false);
  });

  test("a file that is not an archive is refused", async () => {
    const notTar = join(scratch, "not-a-tar.tar");
    writeFileSync(notTar, "this is not a tar file\n".repeat(40));
    const dir = join(scratch, "not-tar");
    await assert.rejects(generate(notTar, dir), serverError(/cannot use the model archive/));
    assert.equal(existsSync(dir), false);
  });

  test("a hostile archive (an entry escaping the directory) is refused; nothing is written outside", async () => {
    const hostile = join(scratch, "hostile", "model.tar");
    mkdirSync(join(scratch, "hostile"));
    const entries = await entriesOf(exampleSine);
    entries.push({ name: "../../escaped.txt", type: "file", data: Buffer.from("gotcha") });
    writeFileSync(hostile, buildTar(entries));
    const dir = join(scratch, "hostile", "deep", "project");
    await assert.rejects(generate(hostile, dir), serverError(/cannot use the model archive/, /escaped\.txt/));
    assert.equal(existsSync(join(scratch, "hostile", "deep")), false, "no parent directory was left either");
    for (const where of [scratch, join(scratch, "hostile")])
      assert.equal(existsSync(join(where, "escaped.txt")), false);
  });

  test("AArch64 object-file codegen is refused, naming the finding and what to do instead", async (t) => {
    const mlf = sharedFixture(t, "conv1d-graph-llvm-v5", "archive.tar");
    if (!mlf) return;
    const dir = join(scratch, "aarch64");
    // No built-in template runs AArch64 code (qemu-cortex-m is 32-bit Cortex-M): say so, and how to
    // get an archive that does run.
    await assert.rejects(
      generate(mlf, dir),
      serverError(
        /aarch64 machine code/,
        /codegen\/host\/lib\/default_lib0\.o/,
        /No built-in template runs aarch64 code/,
        /C target/,
      ),
    );
    await assert.rejects(generate(mlf, join(scratch, "aarch64-2")), (error: Error) => {
      assert.doesNotMatch(error.message, /qemu-cortex-m/);
      return true;
    });
    assert.equal(existsSync(dir), false);
  });

  test("a project directory that cannot be created is an error, not a hang", async () => {
    // Under /proc, mkdir fails with ENOENT at every level: a recursive mkdir would loop for ever.
    const started = Date.now();
    await assert.rejects(
      generate(exampleSine, "/proc/microtvm-no-such-dir/project"),
      serverError(/ENOENT|proc/),
    );
    assert.ok(Date.now() - started < 10_000, "answered promptly");
  });

  test("ARM-only C is refused, naming the file, line and construct", async () => {
    const entries = await entriesOf(exampleSine);
    const lib1 = entries.find((e) => e.name === "codegen/host/src/default_lib1.c")!;
    const armOnly = `#include <arm_math.h>\n${Buffer.from(lib1.data!).toString("utf8")}`;
    const archive = join(scratch, "arm-only.tar");
    writeFileSync(
      archive,
      buildTar(entries.map((e) => (e === lib1 ? { ...e, data: Buffer.from(armOnly) } : e))),
    );
    const dir = join(scratch, "arm-only");
    await assert.rejects(
      generate(archive, dir),
      serverError(/ARM-only/, /default_lib1\.c:1/, /arm_math\.h/, /qemu-cortex-m/),
    );
    assert.equal(existsSync(dir), false);
  });

  test("option values of the wrong type are refused before anything is written", async () => {
    const dir = join(scratch, "bad-option");
    await assert.rejects(
      generate(exampleSine, dir, { workspace_size_bytes: "lots" }),
      serverError(/workspace_size_bytes: want int/),
    );
    await assert.rejects(generate(exampleSine, dir, { verbose: "maybe" }), serverError(/verbose: want bool/));
    await assert.rejects(
      generate(exampleSine, dir, { project_type: "standalone" }),
      serverError(/host-driven firmware only/),
    );
    assert.equal(existsSync(dir), false);
  });

  test("the template itself cannot build, flash or open a transport", async () => {
    await assert.rejects(
      template.apiClient.build({}),
      serverError(/is the host template, not a generated project/),
    );
    await assert.rejects(template.apiClient.flash({}), serverError(/generate a project first/));
    await assert.rejects(template.apiClient.openTransport({}), serverError(/generate a project first/));
  });
});

describe("options: typed or text, null means the saved value", () => {
  test("strings and typed values are both accepted, saved, and reused when a call sends null", async (t) => {
    if (!toolchain(t)) return;
    const dir = join(scratch, "options");
    // As tvmc sends them: every value a string; and `verbose: 1` as TVM's CRT tests do.
    await generate(exampleSine, dir, {
      workspace_size_bytes: "65536",
      warning_as_error: "true",
      verbose: 1,
      cflags: null,
    });
    const saved = JSON.parse(readFileSync(join(dir, "microtvm-project.json"), "utf8")).options;
    assert.equal(saved.workspace_size_bytes, 65536);
    assert.equal(saved.warning_as_error, true);
    assert.equal(saved.verbose, true);
    assert.equal(saved.cc, "cc");

    const project = await GeneratedProject.open(dir);
    try {
      // Every option null, as TVM's client sends unset ones: the saved values apply.
      const nulls = Object.fromEntries(project.info().projectOptions.map((o) => [o.name, null]));
      await project.apiClient.build(nulls);
      const config = readFileSync(join(dir, "build", "config.txt"), "utf8");
      // The last field is the session packet size chosen for a 64 KiB pool.
      assert.match(config, /\| 1 \| 65536 \| 2048$/m, "WERROR=1 and the saved workspace size reached make");
      // A value sent wins, and is saved for the next call.
      await project.apiClient.build({ ...nulls, workspace_size_bytes: 131072, cflags: "-O1" });
      assert.match(readFileSync(join(dir, "build", "config.txt"), "utf8"), /-O1 .*\| 131072 \| 2048$/m);
      assert.equal(
        JSON.parse(readFileSync(join(dir, "microtvm-project.json"), "utf8")).options.workspace_size_bytes,
        131072,
      );
    } finally {
      await project.close();
    }
  });
});

describe("build failures name the command, its status and the compiler's words", () => {
  test("a syntax error in the model's C fails the build with the compiler's message", async (t) => {
    if (!toolchain(t)) return;
    const dir = join(scratch, "syntax-error");
    const project = await generateProjectFromMlf(hostTemplate, dir, exampleSine, {});
    try {
      appendFileSync(join(dir, "model", "codegen", "host", "src", "default_lib0.c"), "\nint broken( {\n");
      await assert.rejects(
        project.build(),
        serverError(
          /build failed: `make -j\d+ CC=cc /,
          /exited with status 2/,
          /default_lib0\.c:\d+/,
          /error/,
        ),
      );
      assert.equal(existsSync(join(dir, "build", "firmware")), false);
    } finally {
      await project.close();
    }
  });

  test("warning_as_error fails this project's own warnings, not the model's", async (t) => {
    if (!toolchain(t)) return;
    const dir = join(scratch, "werror");
    const project = await generateProjectFromMlf(hostTemplate, dir, exampleSine, {});
    try {
      appendFileSync(join(dir, "firmware", "main.c"), "\nstatic int unused_helper(void) { return 0; }\n");
      await assert.rejects(
        project.build({ warning_as_error: true }),
        serverError(/main\.c/, /unused_helper/, /Werror|error/),
      );
      await project.build({ warning_as_error: false }); // the same source builds when warnings are allowed
      assert.ok(existsSync(join(dir, "build", "firmware")));
    } finally {
      await project.close();
    }
  });

  test("a missing compiler is named, with what to install", async (t) => {
    if (!toolchain(t)) return;
    const dir = join(scratch, "no-compiler");
    const project = await generateProjectFromMlf(hostTemplate, dir, exampleSine, {});
    try {
      await assert.rejects(
        project.build({ cc: "no-such-cc-compiler" }),
        serverError(/"no-such-cc-compiler" was not found on PATH/, /apt-get install gcc/),
      );
    } finally {
      await project.close();
    }
  });
});
