// generate_project and the options of the qemu-cortex-m template, in process (no toolchain or
// QEMU needed): what each board accepts, what it refuses and why, and what a project holds.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ServerError } from "../../src/protocol/index.js";
import { writeMlf } from "../../src/mlf/index.js";
import { repoRoot, sharedFixture } from "../helpers/paths.js";
import { generateQemuProject } from "../../templates/qemu-cortex-m/generate.js";
import { QEMU_OPTIONS, resolveQemuOptions } from "../../templates/qemu-cortex-m/options.js";
import { QemuProjectHandler } from "../../templates/qemu-cortex-m/handler.js";

const TEMPLATE = join(repoRoot, "templates", "qemu-cortex-m");
let work: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), "microtvm-qemu-generate-"));
});
after(() => rmSync(work, { recursive: true, force: true }));

const silent = { info: () => {}, error: () => {} };

function requireBundle(): void {
  assert.ok(
    existsSync(join(TEMPLATE, "microtvm_api_server.js")),
    "templates/qemu-cortex-m/microtvm_api_server.js is missing: run `npm run build` first",
  );
}

/** A tiny v7 C-interface archive whose C is `body` (inside tvmgen_default_run). */
async function archive(name: string, prelude: string, body: string): Promise<string> {
  const path = join(work, `${name}.tar`);
  await writeMlf({
    sources: [
      {
        name: "default_lib0.c",
        content:
          `#include <stdint.h>\n${prelude}\n#include "tvmgen_default.h"\n` +
          "int32_t tvmgen_default_run(struct tvmgen_default_inputs* inputs, struct tvmgen_default_outputs* outputs) {\n" +
          `  const uint32_t* a = (const uint32_t*)inputs->a;\n  int32_t* out = (int32_t*)outputs->out;\n${body}\n  return 0;\n}\n`,
      },
    ],
    inputs: [{ name: "a", dtype: "int8", shape: [4] }],
    outputs: [{ name: "out", dtype: "int32", shape: [1] }],
    workspaceBytes: 0,
    exportDatetime: "2024-01-01 00:00:00Z",
    output: path,
  });
  return path;
}

async function generate(mlf: string, dir: string, options: Record<string, unknown>): Promise<void> {
  await generateQemuProject({
    templateDir: TEMPLATE,
    modelLibraryFormatPath: mlf,
    projectDir: dir,
    options: resolveQemuOptions(options),
    log: () => {},
  });
}

test("CMSIS-style DSP code (__SMLAD) is refused on the Cortex-M3 and accepted on the M4 and M7", async () => {
  requireBundle();
  const mlf = await archive("cmsis-dsp", "", "  out[0] = (int32_t)__SMLAD(a[0], a[0], 0);");
  const refused = join(work, "an385-cmsis");
  await assert.rejects(generate(mlf, refused, { board: "mps2-an385" }), (error: Error) => {
    assert.ok(error instanceof ServerError);
    assert.match(
      error.message,
      /uses ARM DSP instructions \(codegen\/host\/src\/default_lib0\.c:\d+ __SMLAD\)/,
    );
    assert.match(error.message, /cortex-m3 of mps2-an385 does not have \(no DSP extension\)/);
    assert.match(error.message, /mps2-an386 \(Cortex-M4\) or mps2-an500 \(Cortex-M7\)/);
    return true;
  });
  assert.ok(!existsSync(refused), "nothing is written for a refused model");
  for (const board of ["mps2-an386", "mps2-an500"]) {
    const dir = join(work, `${board}-cmsis`);
    await generate(mlf, dir, { board });
    assert.ok(statSync(join(dir, "firmware", "model_intrinsics.h")).isFile());
  }
  // Switching a generated project to the M3 at build time is refused before make runs.
  const handler = new QemuProjectHandler(join(work, "mps2-an386-cmsis"), silent);
  await assert.rejects(handler.build({ board: "mps2-an385" }), /ARM DSP instructions .*no DSP extension/);
});

test("ACLE DSP intrinsics through <arm_acle.h> (as TVM's Cortex-M kernels emit) are refused on the M3", async () => {
  const mlf = await archive(
    "acle-dsp",
    "#include <arm_acle.h>",
    "  out[0] = (int32_t)__smlad(a[0], a[0], 0);",
  );
  const dir = join(work, "an385-acle");
  await assert.rejects(generate(mlf, dir, { board: "mps2-an385" }), /ARM DSP instructions .*__smlad/);
  assert.ok(!existsSync(dir));
});

test("headers of CMSIS libraries the template does not ship are refused on every board", async () => {
  const mlf = await archive("cmsis-nn", "#include <arm_nnfunctions.h>", "  out[0] = 0;");
  await assert.rejects(
    generate(mlf, join(work, "cmsis-nn"), { board: "mps2-an386" }),
    /includes headers of libraries this template does not provide: .*arm_nnfunctions\.h/,
  );
});

test("object files for another architecture are refused", async (t) => {
  const mlf = sharedFixture(t, "conv1d-graph-llvm-v5", "archive.tar");
  if (!mlf) return;
  const dir = join(work, "llvm-x86");
  await assert.rejects(
    generate(mlf, dir, { board: "mps2-an386" }),
    /contains (aarch64|x86_64) machine code .*links ARM Thumb code for the cortex-m4 only/,
  );
  assert.ok(!existsSync(dir));
});

test("a generated project: runtime, firmware, glue, project.mk, server, saved options", async () => {
  requireBundle();
  const mlf = await archive("plain", "", "  out[0] = (int32_t)a[0];");
  const dir = join(work, "plain");
  await generate(mlf, dir, { board: "mps2-an500", workspace_size_bytes: "65536", cflags: "-O3" });
  for (const file of [
    "Makefile",
    "boards.mk",
    "ld/sections.ld",
    "firmware/rpc_main.c",
    "firmware/models.c",
    "runtime/include/microtvm/model.h",
    "runtime/src/rpc_server.c",
    "model/codegen/host/src/default_lib0.c",
    "model.tar",
    "microtvm_api_server.js",
  ])
    assert.ok(existsSync(join(dir, file)), `${file} is in the project`);
  assert.ok(!existsSync(join(dir, "runtime", "src", "host")), "the host platform stays out");
  assert.ok(
    statSync(join(dir, "launch_microtvm_api_server.sh")).mode & 0o100,
    "the launch script is executable",
  );
  const mk = readFileSync(join(dir, "project.mk"), "utf8");
  assert.match(mk, /^BOARD \?= mps2-an500$/m);
  assert.match(mk, /^WORKSPACE_SIZE_BYTES \?= 65536$/m);
  assert.match(mk, /^EXTRA_CFLAGS \?= -O3$/m);
  assert.match(mk, /\$\(TOP\)\/model\/codegen\/host\/src\/default_lib0\.c/);
  assert.match(mk, /-I\$\(TOP\)\/model\/codegen\/host\/include/);
  const saved = JSON.parse(readFileSync(join(dir, "microtvm-project.json"), "utf8")) as {
    template: string;
    options: Record<string, unknown>;
  };
  assert.equal(saved.template, "qemu-cortex-m");
  assert.equal(saved.options.board, "mps2-an500");

  // The project's handler: null options take the saved board; build/flash need a build first.
  const handler = new QemuProjectHandler(dir, silent);
  assert.equal(handler.serverInfoQuery("0.18.0").isTemplate, false);
  assert.throws(
    () => handler.flash({ board: null }),
    /build\/firmware\.elf does not exist .*run build first \(board mps2-an500\)/,
  );
  await assert.rejects(
    handler.openTransport({ board: "mps2-an386" }),
    /the project was built for mps2-an500, not mps2-an386; run build with board=mps2-an386 first/,
  );
  await assert.rejects(generate(mlf, dir, {}), /already exists/);
});

test("options: null takes the saved value, then the default; bad values say what to use", () => {
  const board = QEMU_OPTIONS.find((o) => o.name === "board")!;
  assert.deepEqual(board.choices, ["mps2-an385", "mps2-an386", "mps2-an500"]);
  assert.equal(board.default, null, "a client filling in defaults must not switch the board");
  const nulls = Object.fromEntries(QEMU_OPTIONS.map((o) => [o.name, null]));
  const fresh = resolveQemuOptions(nulls);
  assert.equal(fresh.board, "mps2-an386");
  assert.equal(fresh.deterministic_timing, false);
  assert.equal(fresh.workspace_size_bytes, null, "unset: sized from the model archive at build");
  const saved = resolveQemuOptions(nulls, { board: "mps2-an385", deterministic_timing: true });
  assert.equal(saved.board, "mps2-an385");
  assert.equal(saved.deterministic_timing, true);
  assert.equal(
    resolveQemuOptions({ deterministic_timing: "false" }, { deterministic_timing: true })
      .deterministic_timing,
    false,
  );
  assert.throws(
    () => resolveQemuOptions({ board: "mps2-an999" }),
    /unknown board "mps2-an999"; choose one of mps2-an385/,
  );
  assert.throws(
    () => resolveQemuOptions({ icount_shift: 11 }),
    /icount_shift: 11 is out of range; use 0 to 10/,
  );
  assert.throws(() => resolveQemuOptions({ workspace_size_bytes: "lots" }), /want int, got "lots"/);
  assert.throws(() => resolveQemuOptions({ project_type: "standalone" }), /host-driven firmware only/);
});

test("the template refuses project calls and a generated project refuses generate_project", async () => {
  const handler = new QemuProjectHandler(TEMPLATE, silent);
  assert.equal(handler.serverInfoQuery("0.18.0").isTemplate, true);
  assert.equal(handler.serverInfoQuery("0.18.0").platformName, "qemu-cortex-m");
  await assert.rejects(handler.build({}), /is the qemu-cortex-m template, not a generated project/);
  await assert.rejects(handler.readTransport(1, 0), /TransportClosedError|transport/i);
});
