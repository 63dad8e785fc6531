import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../helpers/paths.js";
import { runCliSync } from "../helpers/processes.js";

const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };

function cli(...args: string[]) {
  return runCliSync(args, { built: true, timeoutMs: 30_000 });
}

test("--version prints the package version", () => {
  const r = cli("--version");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), pkg.version);
});

test("--help lists the program and exits 0", () => {
  const r = cli("--help");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Usage: microtvm/);
});

test("an unknown command is a usage error (exit 2)", () => {
  const r = cli("no-such-command");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command|too many arguments/);
});

test("every command answers --help with exit 0", () => {
  const help = cli("--help").stdout;
  const names = [...help.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]!).filter((n) => n !== "help");
  for (const name of names) {
    const r = cli(name, "--help");
    assert.equal(r.code, 0, `${name} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`Usage: microtvm ${name}`));
  }
});
