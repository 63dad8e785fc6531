// `microtvm validate` end to end: the yes/no keyword model's four real samples run in one session
// on the host template and on the qemu-cortex-m template (mps2-an386), compared with TensorFlow's
// outputs (expected.json) and with the same archive on the host template; a perturbed reference
// is caught with the metric values worked out here; folder, glob and .npz inputs agree.
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zipSync } from "fflate";
import { assertNothingLeft, runCli, type CliRun } from "../helpers/processes.js";
import { sharedFixture } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";
import { generateCInterfaceHeader, writeMlf } from "../../src/mlf/index.js";
import { encodeNpy, tensorFromValues } from "../../src/rpc/index.js";

const SAMPLES = ["no", "silence", "unknown", "yes"] as const; // sorted by name

interface Metrics {
  elements: number;
  max_abs_error: number;
  mean_abs_error: number;
  rmse: number;
  l2_relative_error: number;
  cosine_similarity: number;
  top1_agreement: { agree: number; samples: number };
}

interface ValidateDocument {
  schema: string;
  project_dir: string;
  reference: { kind: string; source: string };
  session: { samples: number; seconds: number; samples_per_second: number };
  samples: {
    name: string;
    inputs: Record<string, unknown>[];
    outputs: { name: string; max_abs_error: number; device_top1: number; reference_top1: number }[];
  }[];
  outputs: (Metrics & { name: string; dtype: string; shape: number[] })[];
  overall: Metrics;
  tolerance: { source: string; checks: { metric: string; limit: number; actual: number; passed: boolean }[] };
  passed: boolean;
}

let work: string;
let env: NodeJS.ProcessEnv;

before(() => {
  work = mkdtempSync(join(tmpdir(), "microtvm-validate-e2e-"));
  env = { MICROTVM_CACHE_DIR: join(work, "cache") };
});

after(() => {
  rmSync(work, { recursive: true, force: true });
});

function cli(args: string[]): Promise<CliRun> {
  return runCli(args, { env, timeoutMs: 300_000 });
}

function validateJson(result: CliRun, code = 0): ValidateDocument {
  assert.equal(result.code, code, `validate exited ${result.code}:\n${result.stderr}`);
  return JSON.parse(result.stdout) as ValidateDocument;
}

interface Kws {
  archive: string;
  expectedJson: string;
  expected: Record<string, number[]>;
  /** A folder with only the four samples. */
  folder: string;
}

let kwsMade: Kws | undefined;

function kws(t: TestContext): Kws | undefined {
  if (
    !requireCommand(t, "cc", "a C compiler (Debian: apt-get install gcc libc6-dev)") ||
    !requireCommand(t, "make", "GNU make (Debian: apt-get install make)")
  )
    return undefined;
  const archive = sharedFixture(t, "yes-no-kws-aot-v5", "model.tar");
  const samples = sharedFixture(t, "kws-samples");
  if (!archive || !samples) return undefined;
  if (!kwsMade) {
    const folder = join(work, "samples");
    mkdirSync(folder, { recursive: true });
    for (const s of SAMPLES) copyFileSync(join(samples, `${s}.bin`), join(folder, `${s}.bin`));
    const expectedJson = join(samples, "expected.json");
    const { samples: expected } = JSON.parse(readFileSync(expectedJson, "utf8")) as {
      samples: Record<string, number[]>;
    };
    kwsMade = { archive, expectedJson, expected, folder };
  }
  return kwsMade;
}

function assertExact(doc: ValidateDocument, referenceKind: string): void {
  assert.equal(doc.schema, "microtvm.validate/1");
  assert.equal(doc.reference.kind, referenceKind);
  assert.equal(doc.session.samples, 4, "all four samples in one session");
  assert.deepEqual(
    doc.samples.map((s) => s.name),
    [...SAMPLES],
  );
  const [output] = doc.outputs;
  assert.equal(doc.outputs.length, 1);
  assert.equal(output!.dtype, "int8");
  assert.equal(output!.elements, 16);
  for (const m of [output!, doc.overall]) {
    assert.equal(m.max_abs_error, 0);
    assert.equal(m.mean_abs_error, 0);
    assert.equal(m.rmse, 0);
    assert.equal(m.l2_relative_error, 0);
    assert.equal(m.cosine_similarity, 1);
    assert.deepEqual(m.top1_agreement, { agree: 4, samples: 4 });
  }
  // argmax of yes/no/silence/unknown is 0/1/2/3 (the README of the samples).
  const classes: Record<string, number> = { yes: 0, no: 1, silence: 2, unknown: 3 };
  for (const s of doc.samples) assert.equal(s.outputs[0]!.device_top1, classes[s.name], s.name);
  assert.equal(doc.passed, true);
}

/** The metrics of device values (TensorFlow's, which the device matches exactly) against `reference`. */
function expectedMetrics(device: Record<string, number[]>, reference: Record<string, number[]>) {
  let maxAbs = 0;
  let sumAbs = 0;
  let sumSq = 0;
  let refSq = 0;
  let devSq = 0;
  let dot = 0;
  let n = 0;
  let agree = 0;
  const argmax = (v: number[]) => v.indexOf(Math.max(...v));
  for (const name of SAMPLES) {
    const d = device[name]!;
    const r = reference[name]!;
    d.forEach((dv, i) => {
      const e = Math.abs(dv - r[i]!);
      maxAbs = Math.max(maxAbs, e);
      sumAbs += e;
      sumSq += e * e;
      refSq += r[i]! * r[i]!;
      devSq += dv * dv;
      dot += dv * r[i]!;
      n++;
    });
    if (argmax(d) === argmax(r)) agree++;
  }
  return {
    max_abs_error: maxAbs,
    mean_abs_error: sumAbs / n,
    rmse: Math.sqrt(sumSq / n),
    l2_relative_error: Math.sqrt(sumSq) / Math.sqrt(refSq),
    cosine_similarity: dot / Math.sqrt(devSq * refSq),
    top1: agree,
  };
}

describe("validate on the host template", () => {
  test("the four samples: zero error and 4/4 top-1 against expected.json and against host", async (t) => {
    const k = kws(t);
    if (!k) return;
    const againstJson = validateJson(
      await cli([
        "validate",
        k.archive,
        "--input",
        `Reshape_1=${k.folder}`,
        "--reference",
        k.expectedJson,
        "--json",
      ]),
    );
    assertExact(againstJson, "json");
    assert.deepEqual(againstJson.samples[0]!.inputs, [{ name: "Reshape_1", file: join(k.folder, "no.bin") }]);
    assert.deepEqual(againstJson.tolerance.checks, [
      { output: "output", metric: "max_abs", limit: 0, actual: 0, at_least: false, passed: true },
    ]);
    const againstHost = validateJson(
      await cli(["validate", k.archive, "--input", `Reshape_1=${k.folder}`, "--reference", "host", "--json"]),
    );
    assertExact(againstHost, "host");

    const text = await cli([
      "validate",
      k.archive,
      "--input",
      `Reshape_1=${k.folder}`,
      "--reference",
      k.expectedJson,
    ]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /4 samples in one session/);
    assert.match(text.stdout, /^output +16 +0 +0 +0 +0 +1 +4\/4$/m);
    assert.match(text.stdout, /^PASSED: max_abs <= 0 on every output/m);
    await assertNothingLeft(againstJson.project_dir);
  });

  test("a folder, a glob and an .npz of inputs give the same result", async (t) => {
    const k = kws(t);
    if (!k) return;
    const npz = join(work, "samples.npz");
    writeFileSync(
      npz,
      zipSync(
        Object.fromEntries(
          SAMPLES.map((s) => [
            `${s}.npy`,
            encodeNpy(
              tensorFromValues(
                [...new Int8Array(readFileSync(join(k.folder, `${s}.bin`)))],
                "int8",
                [1, 1960],
              ),
            ),
          ]),
        ),
      ),
    );
    const strip = (doc: ValidateDocument) => ({
      samples: doc.samples.map((s) => ({ name: s.name, outputs: s.outputs })),
      outputs: doc.outputs,
      overall: doc.overall,
      passed: doc.passed,
    });
    const docs = [];
    for (const input of [k.folder, join(k.folder, "*.bin"), npz]) {
      docs.push(
        validateJson(
          await cli([
            "validate",
            k.archive,
            "--input",
            `0=${input}`,
            "--reference",
            k.expectedJson,
            "--json",
          ]),
        ),
      );
    }
    assertExact(docs[0]!, "json");
    assert.deepEqual(strip(docs[1]!), strip(docs[0]!));
    assert.deepEqual(strip(docs[2]!), strip(docs[0]!));
    assert.deepEqual(docs[2]!.samples[3]!.inputs, [{ name: "Reshape_1", npz, key: "yes" }]);
  });

  test("a perturbed reference is caught, with the metrics worked out here", async (t) => {
    const k = kws(t);
    if (!k) return;
    const perturbed: Record<string, number[]> = structuredClone(k.expected);
    perturbed.no![1] = perturbed.no![1]! + 3;
    perturbed.yes![2] = perturbed.yes![2]! - 7;
    perturbed.unknown![0] = 127; // its argmax moves from 3 to 0
    const file = join(work, "perturbed.json");
    writeFileSync(file, JSON.stringify({ samples: perturbed }));
    const want = expectedMetrics(k.expected, perturbed);
    assert.equal(want.top1, 3);

    const result = await cli([
      "validate",
      k.archive,
      "--input",
      `Reshape_1=${k.folder}`,
      "--reference",
      file,
      "--json",
    ]);
    const doc = validateJson(result, 1);
    assert.equal(doc.passed, false);
    const [output] = doc.outputs;
    assert.equal(output!.max_abs_error, want.max_abs_error);
    assert.ok(Math.abs(output!.mean_abs_error - want.mean_abs_error) < 1e-12);
    assert.ok(Math.abs(output!.rmse - want.rmse) < 1e-12);
    assert.ok(Math.abs(output!.l2_relative_error - want.l2_relative_error) < 1e-12);
    assert.ok(Math.abs(output!.cosine_similarity - want.cosine_similarity) < 1e-12);
    assert.deepEqual(output!.top1_agreement, { agree: 3, samples: 4 });
    const unknown = doc.samples.find((s) => s.name === "unknown")!.outputs[0]!;
    assert.deepEqual([unknown.device_top1, unknown.reference_top1], [3, 0]);

    const page = join(work, "validate-report.html");
    const text = await cli([
      "validate",
      k.archive,
      "--input",
      `Reshape_1=${k.folder}`,
      "--reference",
      file,
      "--report",
      page,
    ]);
    assert.equal(text.code, 1, text.stderr);
    assert.match(
      text.stdout,
      new RegExp(`^FAILED .*output "output" max_abs ${want.max_abs_error}, limit max_abs <= 0`, "m"),
    );
    // --report: the same metrics and verdict on one self-contained page (no script, no fetches).
    assert.match(text.stdout, new RegExp(`^wrote ${page.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"));
    const html = readFileSync(page, "utf8");
    assert.match(html, /<section id="metrics">/);
    assert.match(html, /class="verdict fail"[^>]*>FAILED /);
    assert.match(html, new RegExp(`<td(?: class="num")?>${want.max_abs_error}</td>`));
    assert.doesNotMatch(html, /<script|(?:src|href)="https?:/);

    // --tolerance: a looser max_abs passes; a top-1 requirement still fails.
    const loose = await cli([
      "validate",
      k.archive,
      "--input",
      `0=${k.folder}`,
      "--reference",
      file,
      "--tolerance",
      "255",
    ]);
    assert.equal(loose.code, 0, loose.stdout + loose.stderr);
    const top1 = await cli([
      "validate",
      k.archive,
      "--input",
      `0=${k.folder}`,
      "--reference",
      file,
      "--tolerance",
      "255",
      "--tolerance",
      "top1=1",
    ]);
    assert.equal(top1.code, 1, top1.stderr);
    assert.match(top1.stdout, /FAILED \(--tolerance\): output "output" top1 0\.75, limit top1 >= 1/);
  });

  test("bad inputs and references are refused before the device is touched", async (t) => {
    const k = kws(t);
    if (!k) return;
    const missing = join(work, "missing.json");
    writeFileSync(missing, JSON.stringify({ samples: { yes: k.expected.yes } }));
    const noRef = await cli([
      "validate",
      k.archive,
      "--input",
      `Reshape_1=${k.folder}`,
      "--reference",
      missing,
    ]);
    assert.equal(noRef.code, 3, noRef.stderr);
    assert.match(
      noRef.stderr,
      /missing\.json: no reference for sample "no"; sample "silence"; sample "unknown"/,
    );
    assert.doesNotMatch(noRef.stderr, /starting the device session/);

    const badTolerance = await cli(["validate", k.archive, "--reference", "host", "--tolerance", "psnr=3"]);
    assert.equal(badTolerance.code, 2, badTolerance.stderr);
    assert.match(badTolerance.stderr, /--tolerance "psnr=3": unknown metric "psnr"/);

    const noReference = await cli(["validate", k.archive, "--input", `0=${k.folder}`]);
    assert.equal(noReference.code, 2, noReference.stderr);
    assert.match(noReference.stderr, /required option '-r, --reference <ref>' not specified/);

    const noMatch = await cli([
      "validate",
      k.archive,
      "--input",
      `0=${join(work, "none-*.bin")}`,
      "--reference",
      "host",
    ]);
    assert.equal(noMatch.code, 3, noMatch.stderr);
    assert.match(noMatch.stderr, /none-\*\.bin: the pattern matches no files/);
  });
});

describe("validate on qemu-cortex-m (mps2-an386)", () => {
  function haveQemu(t: TestContext): boolean {
    return (
      requireCommand(t, "arm-none-eabi-gcc", "Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi") &&
      requireCommand(t, "qemu-system-arm", "Debian: qemu-system-arm")
    );
  }

  test("the four samples: zero error and 4/4 top-1 against host and against expected.json", async (t) => {
    const k = kws(t);
    if (!k || !haveQemu(t)) return;
    const args = ["validate", k.archive, "--template", "qemu-cortex-m", "-o", "board=mps2-an386"];
    const againstHost = validateJson(
      await cli([...args, "--input", `Reshape_1=${k.folder}`, "--reference", "host", "--json"]),
    );
    assertExact(againstHost, "host");
    assert.match(againstHost.project_dir, /qemu-cortex-m-/);
    const againstJson = validateJson(
      await cli([...args, "--input", `Reshape_1=${k.folder}`, "--reference", k.expectedJson, "--json"]),
    );
    assertExact(againstJson, "json");

    const perturbed = join(work, "perturbed-qemu.json");
    const values = structuredClone(k.expected);
    values.silence![3] = values.silence![3]! + 1;
    writeFileSync(perturbed, JSON.stringify({ samples: values }));
    const caught = validateJson(
      await cli([...args, "--input", `0=${k.folder}`, "--reference", perturbed, "--json"]),
      1,
    );
    assert.equal(caught.outputs[0]!.max_abs_error, 1);
    assert.equal(caught.outputs[0]!.mean_abs_error, 1 / 16);
    await assertNothingLeft(againstHost.project_dir);
  });
});

/** A model the host cannot build (ARM-only C: <arm_acle.h>'s __ssat): y = saturate(x, 8 bits). */
async function writeArmOnlyArchive(path: string): Promise<void> {
  await writeMlf({
    sources: [
      {
        name: "default_lib0.c",
        content: `#include <stdint.h>
#include <arm_acle.h>
#include "tvmgen_default.h"

int32_t tvmgen_default_run(struct tvmgen_default_inputs* inputs, struct tvmgen_default_outputs* outputs) {
  const int32_t* x = (const int32_t*)inputs->x;
  int32_t* y = (int32_t*)outputs->y;
  for (int i = 0; i < 4; i++) y[i] = __ssat(x[i], 8);
  return 0;
}
`,
      },
    ],
    header: generateCInterfaceHeader({
      moduleName: "default",
      inputs: [{ name: "x", bytes: 16 }],
      outputs: [{ name: "y", bytes: 16 }],
      workspaceBytes: 0,
    }),
    inputs: [{ name: "x", dtype: "int32", shape: [1, 4] }],
    outputs: [{ name: "y", dtype: "int32", shape: [1, 4] }],
    workspaceBytes: 0,
    targets: ["c -keys=arm_cpu,cpu -mcpu=cortex-m4"],
    relay:
      '#[version = "0.0.5"]\ndef @main(%x: Tensor[(1, 4), int32], output_tensor_names=["y"]) -> Tensor[(1, 4), int32] {\n  %0\n}\n',
    exportDatetime: "2024-01-01 00:00:00Z",
    output: path,
  });
}

describe("a model that cannot build on the host", () => {
  test("runs and validates on qemu-cortex-m against a reference file; --reference host is refused with the reason", async (t) => {
    if (
      !requireCommand(t, "arm-none-eabi-gcc", "Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi") ||
      !requireCommand(t, "qemu-system-arm", "Debian: qemu-system-arm")
    )
      return;
    const archive = join(work, "arm-only.tar");
    await writeArmOnlyArchive(archive);
    const inputs = join(work, "arm-only-inputs");
    mkdirSync(inputs);
    const x = { a: [-300, -5, 100, 1000], b: [127, 128, -128, -129] };
    for (const [name, values] of Object.entries(x))
      writeFileSync(join(inputs, `${name}.npy`), encodeNpy(tensorFromValues(values, "int32", [1, 4])));
    const saturate = (v: number) => Math.max(-128, Math.min(127, v));
    const reference = join(work, "arm-only.json");
    writeFileSync(reference, JSON.stringify({ samples: { a: x.a.map(saturate), b: x.b.map(saturate) } }));
    const args = [
      "validate",
      archive,
      "--template",
      "qemu-cortex-m",
      "-o",
      "board=mps2-an386",
      "--input",
      `x=${inputs}`,
    ];

    const refused = await cli([...args, "--reference", "host"]);
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(
      refused.stderr,
      /--reference host: the model cannot run on the host template \(.*ARM-only.*arm_acle\.h/,
    );
    assert.match(refused.stderr, /give a reference folder, \.npz or \.json instead/);
    assert.doesNotMatch(
      refused.stderr,
      /starting the device session/,
      "refused before the device is touched",
    );

    const doc = validateJson(await cli([...args, "--reference", reference, "--json"]));
    assert.equal(doc.outputs[0]!.max_abs_error, 0);
    assert.deepEqual(doc.outputs[0]!.top1_agreement, { agree: 2, samples: 2 });
    await assertNothingLeft(doc.project_dir);
  });
});
