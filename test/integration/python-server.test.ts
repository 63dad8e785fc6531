// Our client driving a Project API server written in Python (standard library only, no TVM):
// typed options reach it as JSON types, errors keep their classes, nothing is left running.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  GeneratedProject,
  NotATemplateProjectError,
  ProjectOptionError,
  TemplateProject,
  parseOptionAssignments,
} from "../../src/client/index.js";
import { IoTimeoutError, JsonRpcError, TransportClosedError } from "../../src/protocol/index.js";
import { repoRoot } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";
import { processesMentioning, survivors } from "../helpers/processes.js";
import { copyServer } from "../helpers/servers.js";

const fixture = join(repoRoot, "test", "fixtures", "servers", "python-loopback");

test("template → generated project → build, flash, transport with the Python server", async (t) => {
  if (!requireCommand(t, "python3", "Python 3 (e.g. apt-get install python3)")) return;
  const templateDir = copyServer(fixture, "py");
  const work = join(templateDir, "..");
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const mlf = join(work, "model.tar");
  writeFileSync(mlf, "not really a tar; this server only copies it\n");

  const template = await TemplateProject.open(templateDir);
  const pids = [template.apiClient.process!.pid];
  try {
    assert.equal(template.info().platformName, "python-loopback");
    const typed = parseOptionAssignments(
      ["verbose=yes", "buffer_size=3", "greeting=a=b"],
      template.info().projectOptions,
    );
    const given = { ...typed };
    await assert.rejects(
      template.generateProject(mlf, join(work, "never"), { nope: 1 }),
      (e: unknown) =>
        e instanceof ProjectOptionError &&
        /unknown option "nope"; the server declares: verbose, greeting, mode, buffer_size/.test(e.message),
    );
    const project = await template.generateProject(mlf, join(work, "project"), given);
    pids.push(project.apiClient.process!.pid);
    try {
      assert.deepEqual(given, typed, "the caller's options were not changed");
      // Typed values, and defaults for the rest, reached the server as JSON types.
      assert.deepEqual(JSON.parse(readFileSync(join(work, "project", "options.json"), "utf8")), {
        verbose: true,
        buffer_size: 3,
        greeting: "a=b",
        mode: "fast",
      });
      assert.equal(project.info().isTemplate, false);
      assert.equal(project.info().modelLibraryFormatPath, join(work, "project", "model.tar"));
      await project.build();
      await project.flash();
      const transport = project.transport();
      await assert.rejects(transport.read(1, 0), TransportClosedError);
      assert.deepEqual(await transport.open(), {
        sessionStartRetryTimeoutSec: 2,
        sessionStartTimeoutSec: 5,
        sessionEstablishedTimeoutSec: 5,
      });
      await transport.write(new Uint8Array([1, 2, 3, 4, 5]), 1);
      // buffer_size=3 limits each read: read_transport returns 1..n bytes.
      assert.deepEqual(await transport.read(5, 1), new Uint8Array([1, 2, 3]));
      assert.deepEqual(await transport.read(5, 1), new Uint8Array([4, 5]));
      await assert.rejects(transport.read(5, 0), IoTimeoutError);
      await transport.close();
      await assert.rejects(
        project.apiClient.call("bogus", {}),
        (e: unknown) => e instanceof JsonRpcError && e.code === -32601,
      );
    } finally {
      await project.close();
    }
    await assert.rejects(TemplateProject.open(join(work, "project")), NotATemplateProjectError);
    const reopened = await GeneratedProject.open(join(work, "project"), {
      projectOptions: { mode: "small" },
    });
    pids.push(reopened.apiClient.process!.pid);
    assert.equal(reopened.options.mode, "small");
    assert.equal(reopened.options.verbose, false);
    await reopened.close();
  } finally {
    await template.close();
  }
  assert.deepEqual(await survivors(pids), []);
  assert.deepEqual(processesMentioning(work), []);
});
