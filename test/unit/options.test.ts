import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ProjectOptionError,
  checkOptionNames,
  checkRequiredOptions,
  convertOptionValue,
  parseOptionAssignments,
  withDefaults,
} from "../../src/client/index.js";
import type { ProjectOption } from "../../src/protocol/index.js";

function option(name: string, type: string, extra: Partial<ProjectOption> = {}): ProjectOption {
  return {
    name,
    choices: null,
    default: null,
    type,
    required: null,
    optional: ["build"],
    help: `${name} help`,
    ...extra,
  };
}

const verbose = option("verbose", "bool", { default: false, optional: ["generate_project", "build"] });
const size = option("workspace_size_bytes", "int", { default: 2097152, optional: ["generate_project"] });
const board = option("board", "str", {
  choices: ["qemu_x86", "due"],
  required: ["generate_project"],
  optional: null,
});
const defs = option("compile_definitions", "str", { optional: ["generate_project"] });
const all = [verbose, size, board, defs];

test("bool accepts true/false, 1/0, yes/no, on/off in any case", () => {
  for (const w of ["true", "TRUE", "1", "yes", "On"]) assert.equal(convertOptionValue(verbose, w), true, w);
  for (const w of ["false", "False", "0", "no", "OFF"])
    assert.equal(convertOptionValue(verbose, w), false, w);
});

test("bool refuses anything else, naming the option, the value and what is allowed", () => {
  for (const w of ["", "2", "truthy", "t"]) {
    assert.throws(
      () => convertOptionValue(verbose, w),
      (e: unknown) =>
        e instanceof ProjectOptionError &&
        e.option === "verbose" &&
        e.message.includes(JSON.stringify(w)) &&
        /use true or false/.test(e.message),
    );
  }
});

test("int is base 10 with an optional sign", () => {
  assert.equal(convertOptionValue(size, "4096"), 4096);
  assert.equal(convertOptionValue(size, "-12"), -12);
  assert.equal(convertOptionValue(size, "+7"), 7);
  assert.equal(convertOptionValue(size, "0010"), 10);
});

test("int refuses fractions, trailing text, hex, empty and unsafe values", () => {
  for (const w of ["1.5", "12abc", "0x10", "", " ", "1e3", "9007199254740993"]) {
    assert.throws(
      () => convertOptionValue(size, w),
      (e: unknown) =>
        e instanceof ProjectOptionError &&
        e.message.includes("workspace_size_bytes") &&
        e.message.includes(JSON.stringify(w)),
      w,
    );
  }
});

test("str passes text through; choices are enforced and listed", () => {
  assert.equal(convertOptionValue(defs, " -DX=1 "), " -DX=1 ");
  assert.equal(convertOptionValue(board, "due"), "due");
  assert.throws(
    () => convertOptionValue(board, "Due"),
    /invalid value "Due" for option board: choose one of qemu_x86, due/,
  );
});

test("an unknown type keeps the text (types are advisory)", () => {
  assert.equal(convertOptionValue(option("x", "path"), "a/b"), "a/b");
});

test("assignments split at the first = and convert by type; the last one wins", () => {
  const parsed = parseOptionAssignments(
    ["compile_definitions=-DX=1", "verbose=true", "workspace_size_bytes=10", "verbose=0", "board=due"],
    all,
  );
  assert.deepEqual(parsed, {
    compile_definitions: "-DX=1",
    verbose: false,
    workspace_size_bytes: 10,
    board: "due",
  });
  assert.deepEqual(parseOptionAssignments(["compile_definitions="], all), { compile_definitions: "" });
});

test("assignments without a name or '=' are refused", () => {
  assert.throws(() => parseOptionAssignments(["verbose"], all), /invalid option "verbose": use name=value/);
  assert.throws(() => parseOptionAssignments(["=1"], all), /name before "=" is empty/);
});

test("unknown names are refused with the list of valid ones", () => {
  assert.throws(
    () => parseOptionAssignments(["verbos=true"], all),
    (e: unknown) =>
      e instanceof ProjectOptionError &&
      e.option === "verbos" &&
      e.message.includes("verbose, workspace_size_bytes, board, compile_definitions"),
  );
});

test("with a method, only options for that method are accepted", () => {
  assert.deepEqual(parseOptionAssignments(["verbose=1"], all, "build"), { verbose: true });
  assert.throws(
    () => parseOptionAssignments(["board=due"], all, "build"),
    /option "board" does not apply to build; options for build: verbose/,
  );
});

test("withDefaults fills every declared option and leaves the caller's object alone", () => {
  const given = { verbose: true };
  const filled = withDefaults(given, all);
  assert.deepEqual(filled, {
    verbose: true,
    workspace_size_bytes: 2097152,
    board: null,
    compile_definitions: null,
  });
  assert.deepEqual(given, { verbose: true });
  assert.deepEqual(withDefaults(undefined, [verbose]), { verbose: false });
});

test("checkOptionNames refuses unknown names before any call", () => {
  assert.doesNotThrow(() => checkOptionNames({ verbose: 1 }, all));
  assert.throws(
    () => checkOptionNames({ nope: 1 }, all),
    /unknown option "nope"; the server declares: verbose/,
  );
});

test("checkRequiredOptions names the missing options and how to pass them", () => {
  assert.throws(
    () => checkRequiredOptions(withDefaults({}, all), all, "generate_project"),
    /option board is required for generate_project but not given; pass -o board=VALUE/,
  );
  assert.doesNotThrow(() =>
    checkRequiredOptions(withDefaults({ board: "due" }, all), all, "generate_project"),
  );
  assert.doesNotThrow(() => checkRequiredOptions({}, all, "build"));
});
