// The project lifecycle on the command line: templates, create-project, build, flash, doctor —
// real processes, the host template, exit codes, --json documents and saved options.
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  appendFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../helpers/paths.js";
import { runCli, type CliRun } from "../helpers/processes.js";
import { requireCommand } from "../helpers/tools.js";

const exampleSine = join(repoRoot, "examples", "sine-model", "sine.tar");

/** Runs `microtvm <args>` from the sources, with a time limit. */
function cli(args: string[], timeoutMs = 120_000): Promise<CliRun> {
  return runCli(args, { timeoutMs, env: { CI: "true" } });
}

function json(run: CliRun): Record<string, unknown> {
  assert.equal(run.code, 0, `exit ${run.code}\n${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

function toolchain(t: TestContext): boolean {
  return (
    requireCommand(t, "cc", "a C compiler (apt-get install gcc libc6-dev)") &&
    requireCommand(t, "make", "GNU make (apt-get install make)")
  );
}

let scratch: string;
before(() => {
  scratch = mkdtempSync(join(tmpdir(), "microtvm-lifecycle-"));
  assert.ok(
    existsSync(join(repoRoot, "templates", "host", "microtvm_api_server.js")),
    "templates/host/microtvm_api_server.js is missing: run `npm run build` first",
  );
});
after(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe("microtvm templates / doctor", () => {
  test("templates --json lists host with its options", async () => {
    const doc = json(await cli(["templates", "--json"]));
    assert.equal(doc.schema, "microtvm.templates/2");
    const host = (doc.templates as Array<Record<string, unknown>>).find((t) => t.name === "host");
    assert.ok(host, "the host template is listed");
    assert.equal(host.platform_name, "host");
    assert.equal(host.error, null);
    const options = host.options as Array<{ name: string; type: string; default: unknown }>;
    const byName = new Map(options.map((o) => [o.name, o]));
    assert.deepEqual(byName.get("verbose"), { ...byName.get("verbose")!, type: "bool", default: false });
    assert.deepEqual(byName.get("cc"), { ...byName.get("cc")!, type: "str", default: "cc" });
    assert.deepEqual(byName.get("workspace_size_bytes"), {
      ...byName.get("workspace_size_bytes")!,
      type: "int",
      default: null,
    });
    for (const name of ["warning_as_error", "cflags"]) assert.ok(byName.has(name), `option ${name}`);
  });

  test("templates (text) and create-project --help show the host options", async () => {
    const text = await cli(["templates"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^host {2}\(/m);
    assert.match(text.stdout, /workspace_size_bytes=INT/);
    const help = await cli(["create-project", "--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Project options of the built-in templates/);
    assert.match(help.stdout, /cc=STR/);
    assert.match(help.stdout, /--project-option <key=value>/);
  });

  test("doctor --json reports each tool, its Debian package, and whether host is ready", async (t) => {
    if (!toolchain(t)) return;
    const run = await cli(["doctor", "--json", "--template", "host"]);
    const doc = json(run);
    assert.equal(doc.schema, "microtvm.doctor/2");
    const tools = doc.tools as Array<{ command: string; found: boolean; debian_packages: string[] }>;
    assert.deepEqual(
      tools.map((x) => x.command),
      [
        "cc",
        "make",
        "node",
        "python3",
        "arm-none-eabi-gcc",
        "qemu-system-arm",
        "openocd",
        "st-flash",
        "pyocd",
        "probe-rs",
        "nrfjprog",
      ],
    );
    assert.deepEqual(tools.find((x) => x.command === "arm-none-eabi-gcc")!.debian_packages, [
      "gcc-arm-none-eabi",
      "libnewlib-arm-none-eabi",
    ]);
    const templates = doc.templates as Array<{ name: string; ready: boolean; needs: string[] }>;
    assert.deepEqual(templates, [
      { name: "host", needs: ["cc", "make", "node"], ready: true, missing: [], install: null },
    ]);
    assert.equal(doc.ok, true);
  });

  test("doctor names a missing tool and its package, and exits 1", async () => {
    // A PATH without cc or make: the host template is not ready.
    const empty = join(scratch, "empty-bin");
    mkdirSync(empty, { recursive: true });
    const { code, stdout } = await runCli(["doctor", "--template", "host"], { env: { PATH: empty } });
    assert.equal(code, 1);
    assert.match(stdout, /MISSING\s+cc\s+not found on PATH; install: apt-get install gcc libc6-dev/);
    assert.match(
      stdout,
      /host: not ready, missing cc, make, node; run: apt-get install gcc libc6-dev make nodejs/,
    );
  });
});

describe("microtvm create-project / build / flash", () => {
  test("the whole lifecycle, with options saved in the project for later commands", async (t) => {
    if (!toolchain(t)) return;
    const dir = join(scratch, "sine");
    const created = json(
      await cli([
        "create-project",
        dir,
        exampleSine,
        "--template",
        "host",
        "-o",
        "workspace_size_bytes=65536",
        "--project-option",
        "cflags=-O1",
        "--json",
      ]),
    );
    assert.equal(created.schema, "microtvm.create-project/2");
    assert.equal(created.project_dir, dir);
    assert.equal(created.platform_name, "host");
    assert.equal(created.model_library_format_path, join(dir, "model.tar"));
    assert.deepEqual(
      created.options,
      { workspace_size_bytes: 65536, cflags: "-O1" },
      "typed values: 65536 is a number",
    );

    const built = json(await cli(["build", dir, "--json"]));
    assert.equal(built.schema, "microtvm.build/2");
    assert.equal(
      (built.options as Record<string, unknown>).workspace_size_bytes,
      65536,
      "the saved option was used",
    );
    assert.ok(existsSync(join(dir, "build", "firmware")));
    assert.match(
      readFileSync(join(dir, "build", "config.txt"), "utf8"),
      /^cc \| -O1 \| {2}\| 0 \| 65536 \| 2048$/m,
    );

    // A later -o wins and is saved; the next build without -o keeps it.
    json(await cli(["build", dir, "-o", "cflags=-O2", "--json"]));
    const again = json(await cli(["build", dir, "--json"]));
    assert.equal((again.options as Record<string, unknown>).cflags, "-O2");
    assert.equal(JSON.parse(readFileSync(join(dir, "microtvm-project.json"), "utf8")).options.cflags, "-O2");

    const cleaned = await cli(["build", dir, "--force"]);
    assert.equal(cleaned.code, 0, cleaned.stderr);
    assert.match(cleaned.stdout, /^built /m);
    assert.match(cleaned.stderr, /building .*: done in/, "progress lines on stderr");

    const flashed = await cli(["flash", dir]);
    assert.equal(flashed.code, 0, flashed.stderr);
    assert.match(flashed.stderr, /nothing to do on the host/);
    assert.equal(json(await cli(["flash", dir, "--json"])).schema, "microtvm.flash/2");

    // The alias, and --force on a generated project: replaced, options from the new command only.
    const replaced = json(await cli(["create", dir, exampleSine, "--force", "--json"]));
    assert.equal(replaced.replaced, true);
    assert.equal(existsSync(join(dir, "build")), false, "the old build went with the old project");
  });

  test("inputs are checked before anything is deleted or created", async () => {
    const keep = join(scratch, "not-a-project");
    mkdirSync(keep);
    writeFileSync(join(keep, "notes.txt"), "precious");

    const exists = await cli(["create-project", keep, exampleSine]);
    assert.equal(exists.code, 3);
    assert.match(exists.stderr, /already exists; choose a new directory, or pass --force/);

    const forced = await cli(["create-project", keep, exampleSine, "--force"]);
    assert.equal(forced.code, 3);
    assert.match(forced.stderr, /refusing to replace .*does not look like a generated project/);
    assert.deepEqual(readdirSync(keep), ["notes.txt"]);

    const fresh = join(scratch, "never-created");
    const noModel = await cli(["create-project", fresh, join(scratch, "missing.tar")]);
    assert.equal(noModel.code, 3);
    assert.match(noModel.stderr, /model archive .*missing\.tar does not exist/);

    const badTemplate = await cli(["create-project", fresh, exampleSine, "--template", "no-such-template"]);
    assert.equal(badTemplate.code, 3);
    assert.match(badTemplate.stderr, /unknown template "no-such-template"; built-in templates: .*host/);

    const badOption = await cli(["create-project", fresh, exampleSine, "-o", "workspace_size_bytes=big"]);
    assert.equal(badOption.code, 2);
    assert.match(badOption.stderr, /invalid value "big" for option workspace_size_bytes \(int\)/);

    const unknownOption = await cli(["create-project", fresh, exampleSine, "-o", "colour=blue"]);
    assert.equal(unknownOption.code, 2);
    assert.match(unknownOption.stderr, /unknown option "colour"/);
    assert.equal(existsSync(fresh), false, "nothing was created by the failed commands");

    const noProject = await cli(["build", join(scratch, "nowhere")]);
    assert.equal(noProject.code, 3);
    assert.match(noProject.stderr, /does not exist; create it with microtvm create-project/);
  });

  test("a server-side failure exits 1 with the server's message", async (t) => {
    if (!toolchain(t)) return;
    const dir = join(scratch, "broken");
    json(await cli(["create-project", dir, exampleSine, "--json"]));
    appendFileSync(join(dir, "firmware", "models.c"), "\nthis is not C;\n");
    const run = await cli(["build", dir]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /build failed on the Project API server: build failed: `make /);
    assert.match(run.stderr, /models\.c:\d+/);

    const template = await cli(["build", join(repoRoot, "templates", "host")]);
    assert.equal(template.code, 3, "a template is not a generated project");
    assert.match(template.stderr, /is a template project, not a generated one/);
  });
});
