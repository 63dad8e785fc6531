// Every command's `--json` output, success and failure, against its JSON Schema in docs/schemas/:
// one document on stdout, snake_case keys throughout, and the error document (with the exit
// code's name) whenever a command fails.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { repoRoot } from "../helpers/paths.js";
import { runCliSync } from "../helpers/processes.js";
import { haveCommand } from "../helpers/tools.js";

const sine = join(repoRoot, "examples", "sine-model", "sine.tar");
const schemaDir = join(repoRoot, "docs", "schemas");

/** Each schema file by the `schema` value it requires (`microtvm.build/2` → build.schema.json). */
const validators = new Map<string, ValidateFunction>();
/** Schema values seen in a successful document, to check that every schema file is exercised. */
const seen = new Set<string>();
let work: string;

before(() => {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
  for (const file of readdirSync(schemaDir).filter((f) => f.endsWith(".schema.json"))) {
    const schema = JSON.parse(readFileSync(join(schemaDir, file), "utf8")) as {
      properties: { schema: { const: string } };
    };
    const name = schema.properties.schema.const;
    assert.equal(`${name.replace(/^microtvm\./, "").replace(/\/\d+$/, "")}.schema.json`, file);
    validators.set(name, ajv.compile(schema));
  }
  work = mkdtempSync(join(tmpdir(), "microtvm-json-schemas-"));
  mkdirSync(join(work, "no-server"));
  writeFileSync(join(work, "junk.tar"), Buffer.alloc(100, 7));
  writeFileSync(join(work, "a.c"), "int x;\n");
  writeFileSync(
    join(work, "tensors.json"),
    JSON.stringify({
      inputs: [{ name: "x", dtype: "float32", shape: [1] }],
      outputs: [{ name: "y", dtype: "float32", shape: [1] }],
    }),
  );
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function cli(args: string[]) {
  return runCliSync(args, {
    built: true,
    timeoutMs: 180_000,
    cwd: work,
    env: { MICROTVM_CACHE_DIR: join(work, "cache") },
  });
}

/** Object keys anywhere in `value` that are not snake_case. */
function nonSnakeKeys(value: unknown, path = "$"): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => nonSnakeKeys(v, `${path}[${i}]`));
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([key, v]) => [
    ...(/^[a-z][a-z0-9_]*$/.test(key) ? [] : [`${path}.${key}`]),
    ...nonSnakeKeys(v, `${path}.${key}`),
  ]);
}

/** `value` has at most `digits` decimals (no 7751.1425000000145). */
function assertRounded(value: number, digits: number, what: string): void {
  assert.equal(typeof value, "number", what);
  assert.equal(Number(value.toFixed(digits)), value, `${what}: ${value}`);
}

/** Parses stdout as exactly one document, checks it against its schema and returns it. */
function validDocument(stdout: string, expectedSchema: string): Record<string, unknown> {
  const doc = JSON.parse(stdout) as Record<string, unknown>;
  assert.equal(doc.schema, expectedSchema, stdout);
  assert.equal(Object.keys(doc)[0], "schema", "the schema key comes first");
  const validate = validators.get(expectedSchema);
  assert.ok(validate, `docs/schemas has a schema for ${expectedSchema}`);
  assert.ok(validate(doc), `${expectedSchema}: ${JSON.stringify(validate.errors, null, 2)}\n${stdout}`);
  assert.deepEqual(nonSnakeKeys(doc), [], "every key is snake_case");
  return doc;
}

function succeeds(args: string[], schema: string, code = 0): Record<string, unknown> {
  const r = cli([...args, "--json"]);
  assert.equal(r.code, code, `microtvm ${args.join(" ")}: ${r.stderr}`);
  seen.add(schema);
  return validDocument(r.stdout, schema);
}

/** Runs a failing command: stdout holds the error document, stderr the same message on one line. */
function fails(args: string[], code: number, kind: string, message: RegExp): void {
  const r = cli([...args, "--json"]);
  assert.equal(r.code, code, `microtvm ${args.join(" ")}: ${r.stderr}`);
  const doc = validDocument(r.stdout, "microtvm.error/1");
  const error = doc.error as { exit_code: number; kind: string; message: string; command?: string };
  assert.equal(error.exit_code, code);
  assert.equal(error.kind, kind);
  assert.match(error.message, message);
  assert.ok(r.stderr.includes(`microtvm: ${error.message}`), r.stderr);
  if (args[0] !== undefined && !args[0].startsWith("-")) assert.equal(error.command, args[0]);
}

describe("--json documents match docs/schemas", () => {
  test("info, templates, doctor, devices, inspect, pack, conformance", () => {
    const info = succeeds(["info", "host"], "microtvm.info/2");
    assert.equal(info.platform_name, "host");
    fails(["info", "no-server"], 3, "bad_input", /not a microtvm project or template/);

    const templates = succeeds(["templates"], "microtvm.templates/2");
    assert.ok((templates.templates as { name: string }[]).some((t) => t.name === "host"));
    fails(["templates", "--bogus"], 2, "usage", /unknown option '--bogus'/);

    const doctorRun = cli(["doctor", "--json"]);
    assert.ok(doctorRun.code === 0 || doctorRun.code === 1, doctorRun.stderr);
    seen.add("microtvm.doctor/2");
    const doctor = validDocument(doctorRun.stdout, "microtvm.doctor/2");
    assert.equal(doctor.ok, doctorRun.code === 0);
    fails(["doctor", "--template", "nope"], 2, "usage", /unknown template "nope"/);

    const devices = succeeds(["devices"], "microtvm.devices/1");
    assert.ok(Array.isArray(devices.ports));
    fails(["devices", "--bogus"], 2, "usage", /unknown option '--bogus'/);

    succeeds(["inspect", sine], "microtvm.inspect/1");
    fails(["inspect", "junk.tar"], 3, "bad_input", /junk\.tar/);

    const packed = succeeds(
      ["pack", "--tensors", "tensors.json", "--source", "a.c", "--output", "packed.tar"],
      "microtvm.pack/1",
    );
    assert.equal(packed.path, join(work, "packed.tar"));
    fails(["pack", "--tensors", "tensors.json", "--source", "a.c", "-o", "x.tar"], 2, "usage", /-o/);

    const conformance = succeeds(["conformance", "host"], "microtvm.conformance/1");
    assert.equal(conformance.failed, 0);
    fails(["conformance", "no-server"], 3, "bad_input", /not a template/);
  });

  test("create-project, build, flash, run, profile, monitor", (t) => {
    const project = join(work, "proj");
    const created = succeeds(["create-project", project, sine], "microtvm.create-project/2");
    assert.equal(created.project_dir, project);
    fails(["create-project", project, sine], 3, "bad_input", /already exists/);
    fails(["create-project", sine, "elsewhere"], 3, "bad_input", /arguments look swapped/);

    fails(["build", "no-server"], 3, "bad_input", /not a microtvm project; create one with/);
    fails(["flash", "missing"], 3, "bad_input", /does not exist/);
    fails(["run", "missing"], 3, "bad_input", /does not exist/);
    fails(["monitor", "missing"], 3, "bad_input", /does not exist/);
    if (!haveCommand("cc") || !haveCommand("make")) {
      if (process.env.MICROTVM_REQUIRE_TOOLCHAINS === "1") throw new Error("cc and make are required");
      t.skip("cc or make not found; install gcc, libc6-dev and make");
      return;
    }
    const fresh = succeeds(["info", project], "microtvm.info/2");
    assert.equal((fresh.build as { status: string }).status, "not_built");
    const built = succeeds(["build", project], "microtvm.build/2");
    const current = succeeds(["info", project], "microtvm.info/2");
    assert.equal((current.build as { status: string }).status, "current");
    assert.equal((current.saved_options as { cc?: string }).cc, "cc");
    assert.equal(Number((built.duration_s as number).toFixed(3)), built.duration_s, "seconds to 1 ms");
    succeeds(["flash", project], "microtvm.flash/2");
    const ran = succeeds(["run", project, "--repeat", "2", "--number", "1"], "microtvm.run/2");
    const timing = ran.timing as Record<string, unknown> & { first_inference: Record<string, number> };
    const micros = [
      timing.device_us_median,
      timing.round_trip_us_median,
      ...(timing.device_us as number[]),
      ...(timing.round_trip_us as number[]),
      ...Object.values(timing.first_inference),
    ] as number[];
    for (const us of micros) assertRounded(us, 1, "µs to 0.1");
    fails(["run", project, "--input", "nope=x.bin"], 2, "usage", /nope/);
    const validated = succeeds(["validate", project, "--reference", "host"], "microtvm.validate/1");
    assert.equal(validated.passed, true);
    const session = validated.session as { seconds: number; samples_per_second: number };
    assertRounded(session.seconds, 3, "seconds to 1 ms");
    assertRounded(session.samples_per_second, 2, "samples per second to 0.01");
    assert.equal((validated.firmware as { status: string }).status, "current");
    // Outputs off the reference: still one validate document, passed false, exit 1.
    writeFileSync(join(work, "wrong.json"), JSON.stringify({ samples: { random: [999] } }));
    const off = succeeds(["validate", project, "--reference", "wrong.json"], "microtvm.validate/1", 1);
    assert.equal(off.passed, false);
    fails(["validate", project, "--reference", "missing.json"], 3, "bad_input", /missing\.json/);
    fails(["validate", "missing", "--reference", "host"], 3, "bad_input", /does not exist/);
    const profiled = succeeds(["profile", project], "microtvm.profile/1");
    for (const o of profiled.operators as { seconds: number; share: number }[]) {
      assertRounded(o.seconds, 9, "operator seconds to 1 ns");
      assertRounded(o.share, 4, "shares to 0.01 %");
    }
    fails(["profile", "missing"], 3, "bad_input", /does not exist/);
    const monitored = succeeds(["monitor", project, "--duration", "1"], "microtvm.monitor/1");
    assertRounded(monitored.seconds as number, 3, "seconds to 1 ms");
  });

  test("every schema in docs/schemas was met by a successful command", (t) => {
    if (!haveCommand("cc") || !haveCommand("make")) {
      t.skip("the project commands were skipped (no cc or make)");
      return;
    }
    for (const name of validators.keys()) {
      if (name === "microtvm.error/1") continue;
      assert.ok(seen.has(name), `no test produced ${name}`);
    }
  });
});
