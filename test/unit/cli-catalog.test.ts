// The catalog that answers `microtvm --help` without loading the commands must say what the
// commands themselves define; and what `npm run build` recorded of a template's options is used
// only while it matches the template's server files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { COMMANDS, topLevelHelp } from "../../src/cli/catalog.js";
import { exitKind } from "../../src/cli/exit-codes.js";
import {
  TEMPLATE_OPTIONS_FILE,
  recordTemplateDeclaration,
  recordedDeclaration,
} from "../../src/cli/project/template-options.js";
import { repoRoot } from "../helpers/paths.js";

test("each catalog entry matches the command its module defines", async () => {
  for (const entry of COMMANDS) {
    const program = new Command("microtvm");
    (await entry.load())(program);
    assert.equal(program.commands.length, 1, entry.name);
    const command = program.commands[0]!;
    assert.equal(command.name(), entry.name);
    assert.deepEqual(command.aliases(), entry.aliases, entry.name);
    assert.equal(command.usage(), entry.usage, entry.name);
  }
  const help = topLevelHelp();
  for (const entry of COMMANDS) assert.match(help, new RegExp(`^  ${entry.name}\\b.*${entry.summary}$`, "m"));
});

test("exit kinds are the exit codes' names in snake_case", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 130, 77].map(exitKind), [
    "ok",
    "failed",
    "usage",
    "bad_input",
    "busy",
    "interrupted",
    "failed",
  ]);
});

test("a template's recorded declaration is used only while its server files are unchanged", () => {
  const dir = mkdtempSync(join(tmpdir(), "microtvm-template-options-"));
  try {
    cpSync(join(repoRoot, "templates", "host"), dir, { recursive: true });
    rmSync(join(dir, TEMPLATE_OPTIONS_FILE), { force: true });
    assert.equal(recordedDeclaration(dir), undefined, "nothing recorded yet");
    recordTemplateDeclaration(dir);
    const declared = recordedDeclaration(dir);
    assert.equal(declared?.platformName, "host");
    assert.ok(declared?.projectOptions.some((o) => o.name === "cflags"));
    writeFileSync(join(dir, "launch_microtvm_api_server.sh"), "#!/bin/sh\nexit 1\n");
    assert.equal(recordedDeclaration(dir), undefined, "a changed server makes the record stale");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
