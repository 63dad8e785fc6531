// The metadata.json schema: every field of every version the reader uses, set to every wrong JSON
// type, is refused as bad-metadata naming the field by its path, and never escapes as a TypeError
// or RangeError. The tolerances docs/mlf.md lists are tested here too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildModel, MlfError, openMlf, serializeParams } from "../../src/mlf/index.js";
import { sharedFixture } from "../helpers/paths.js";

type Files = Map<string, Buffer>;
type Json = unknown;

const WRONG: Json[] = [null, "x", 1.5, -1, true, [], {}, [null], { a: 1 }];

function v7Files(meta: Json): Files {
  return new Map<string, Buffer>([
    ["metadata.json", Buffer.from(JSON.stringify(meta))],
    [
      "codegen/host/src/default_lib0.c",
      Buffer.from("int32_t tvmgen_default___tvm_main__(void* a, void* b);\n"),
    ],
    ["parameters/default.params", Buffer.from(serializeParams([]))],
    [
      "src/default.relay",
      Buffer.from("def @main(%a: Tensor[(1), float32]) -> Tensor[(1), float32] { nn.relu(%a) }\n"),
    ],
  ]);
}

const v7Meta = () => ({
  version: 7,
  modules: {
    default: {
      executors: ["aot"],
      export_datetime: "2023-04-01 10:00:00Z",
      external_dependencies: [
        { short_name: "crt", url: "./runtime", url_type: "mlf_path", version_spec: "0.18" },
      ],
      memory: {
        functions: {
          main: [
            {
              constants_size_bytes: 0,
              device: 1,
              io_size_bytes: 8,
              workspace_size_bytes: 16,
              inputs: { a: { dtype: "float32", size: 4 } },
              outputs: { output: { dtype: "float32", size: 4 } },
            },
          ],
          operator_functions: [
            { function_name: "tvmgen_default_relu", workspace: [{ device: 1, workspace_size_bytes: 16 }] },
          ],
        },
        sids: [{ storage_id: 0, size_bytes: 4, input_binding: "a" }],
      },
      model_name: "default",
      style: "full-model",
      target: ["c -keys=cpu"],
    },
  },
});

/** Every path to a value in a JSON document (objects by key, lists by index), leaves and inner nodes. */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = prefix.length > 0 ? [prefix] : [];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value && typeof value === "object")
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function setAt(doc: Json, path: (string | number)[], value: Json): Json {
  const copy = structuredClone(doc) as Record<string | number, Json>;
  let node = copy as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  node[path[path.length - 1]!] = value;
  return copy;
}

/** How the failing field is spelled in messages: `modules.default.memory.functions.main[0].device`. */
function spelled(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

/** Builds the model; returns the MlfError, or undefined when accepted. Anything else fails the test. */
function attempt(files: Files): MlfError | undefined {
  try {
    buildModel("model.tar", "tar", files);
    return undefined;
  } catch (error) {
    assert.ok(error instanceof MlfError, `not an MlfError: ${(error as Error).stack}`);
    return error;
  }
}

// Fields whose wrong values are deliberately tolerated, with the reason (docs/mlf.md).
const TOLERATED: { path: RegExp; why: string }[] = [
  // A list of strings and a map of strings are both read as targets in every version.
  { path: /\.target$/, why: "target may be a list or a map" },
];

test("v7: every field set to every wrong type is refused naming its path (or is a documented tolerance)", () => {
  const base = v7Meta();
  assert.equal(attempt(v7Files(base)), undefined, "the base archive is valid");
  let refused = 0;
  for (const path of paths(base)) {
    if (path[0] === "version") continue; // versions have their own errors
    const original = JSON.stringify(
      path.reduce<Json>((n, k) => (n as Record<string | number, Json>)[k], base),
    );
    for (const wrong of WRONG) {
      if (JSON.stringify(wrong) === original) continue;
      const error = attempt(v7Files(setAt(base, path, wrong)));
      const where = `${spelled(path)} = ${JSON.stringify(wrong)}`;
      if (error === undefined) {
        // Accepted: only where the value is still of the right type, or a listed tolerance.
        const sameShape =
          (typeof wrong === typeof JSON.parse(original) &&
            Array.isArray(wrong) === Array.isArray(JSON.parse(original))) ||
          TOLERATED.some((t) => t.path.test(spelled(path)));
        assert.ok(sameShape, `${where} was accepted without a word`);
        continue;
      }
      refused++;
      if (
        error.code === "bad-metadata" &&
        !/operator|executors|differs from its model_name/.test(error.message)
      ) {
        // The message names the field (or its parent, for a key that is part of a map).
        const parent = spelled(path.slice(0, -1));
        assert.ok(
          error.message.includes(spelled(path)) || (parent !== "" && error.message.includes(parent)),
          `${where}: "${error.message}" does not name the field`,
        );
      }
    }
  }
  assert.ok(refused > 150, `${refused} wrong values refused`);
});

test("operator_functions[].workspace: null, a non-list, a null entry are refused naming the field", () => {
  const cases: [Json, RegExp][] = [
    [null, /operator_functions\[0\]\.workspace must be a list, found null/],
    [{ workspace_size_bytes: 1 }, /operator_functions\[0\]\.workspace must be a list, found an object/],
    [[null], /operator_functions\[0\]\.workspace\[0\] must be an object, found null/],
    [
      [{ workspace_size_bytes: "7" }],
      /workspace\[0\]\.workspace_size_bytes must be a non-negative integer, found string "7"/,
    ],
  ];
  for (const [value, message] of cases) {
    const meta = setAt(
      v7Meta(),
      ["modules", "default", "memory", "functions", "operator_functions", 0, "workspace"],
      value,
    );
    const error = attempt(v7Files(meta));
    assert.equal(error?.code, "bad-metadata");
    assert.match(error!.message, message);
  }
});

test("a workspace list of 300,000 entries is read (no spread into Math.max); the largest wins", () => {
  const workspace = Array.from({ length: 300_000 }, (_, i) => ({
    device: 1,
    workspace_size_bytes: i % 1000,
  }));
  workspace[123_456] = { device: 1, workspace_size_bytes: 5_000_000 };
  const meta = setAt(
    v7Meta(),
    ["modules", "default", "memory", "functions", "operator_functions", 0, "workspace"],
    workspace,
  );
  const model = buildModel("model.tar", "tar", v7Files(meta));
  assert.equal(model.modules[0]!.operatorFunctions[0]!.workspaceBytes, 5_000_000);
});

test("tolerances: unknown keys are ignored; optional fields may be missing; a workspace-less operator counts 0", () => {
  const meta = v7Meta() as Record<string, Json>;
  const mod = (meta.modules as Record<string, Record<string, Json>>).default!;
  mod.some_future_key = { anything: [1, 2] };
  delete mod.export_datetime;
  delete mod.external_dependencies;
  const fns = (mod.memory as Record<string, Record<string, Json[]>>).functions!;
  delete (fns.operator_functions![0] as Record<string, Json>).workspace;
  const m = buildModel("model.tar", "tar", v7Files(meta)).modules[0]!;
  assert.equal(m.exportDatetime, undefined);
  assert.deepEqual(m.externalDependencies, []);
  assert.equal(m.operatorFunctions[0]!.workspaceBytes, 0);
});

test("real v4 and v5 archives: every field of their metadata set to null is refused naming it", async (t) => {
  for (const fixture of [
    ["yes-no-kws-graph-v4", "model.tar"],
    ["sine-aot-v5-crt", "sine.tar"],
  ]) {
    const path = sharedFixture(t, ...fixture);
    if (!path) return;
    const model = await openMlf(path);
    const files: Files = new Map(model.files.map((f) => [f, model.read(f)]));
    const base = JSON.parse(files.get("metadata.json")!.toString("utf8")) as Json;
    for (const p of paths(base)) {
      if (p[0] === "version") continue;
      files.set("metadata.json", Buffer.from(JSON.stringify(setAt(base, p, null))));
      const error = attempt(files);
      assert.ok(error, `${fixture[0]}: ${spelled(p)} = null was accepted`);
      if (error.code === "bad-metadata" && !/executors|runtimes/.test(error.message))
        assert.ok(
          error.message.includes(spelled(p)) || error.message.includes(spelled(p.slice(0, -1))),
          `${fixture[0]}: ${error.message}`,
        );
    }
  }
});
