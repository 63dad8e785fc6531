// The client facades and `microtvm info` against the loopback example through its launch script.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  GeneratedProject,
  NotATemplateProjectError,
  ProjectOptionError,
  TemplateProject,
  TemplateProjectError,
  generateProjectFromMlf,
} from "../../src/client/index.js";
import { IoTimeoutError, TransportClosedError } from "../../src/protocol/index.js";
import { writeTinyMlf } from "../../src/conformance/index.js";
import { repoRoot } from "../helpers/paths.js";
import { processesMentioning, runCli, survivors } from "../helpers/processes.js";
import { copyServer } from "../helpers/servers.js";

const example = join(repoRoot, "examples", "loopback-server");

function loopbackCopy(t: { after: (fn: () => void) => void }): { dir: string; work: string } {
  assert.ok(
    existsSync(join(example, "microtvm_api_server.js")),
    "run `npm run build` to bundle the loopback example",
  );
  const dir = copyServer(example, "loop");
  const work = join(dir, "..");
  t.after(() => rmSync(work, { recursive: true, force: true }));
  return { dir, work };
}

test("generate, build, flash and a transport round trip through the launch script", async (t) => {
  const { dir, work } = loopbackCopy(t);
  const mlf = await writeTinyMlf(join(work, "model.tar"));
  const template = await TemplateProject.open(dir);
  const pids = [template.apiClient.process!.pid];
  assert.equal(template.apiClient.process!.command.kind, "launch-script");
  assert.equal(template.info().isTemplate, true);
  await assert.rejects(
    template.generateProject(mlf, join(work, "p0"), { max_read_bytes: 1, bogus: true }),
    (e: unknown) =>
      e instanceof ProjectOptionError && e.option === "bogus" && /verbose, max_read_bytes/.test(e.message),
  );
  assert.equal(existsSync(join(work, "p0")), false, "nothing was generated for a refused option");
  const project = await template.generateProject(mlf, join(work, "p1"), { max_read_bytes: 100 });
  pids.push(project.apiClient.process!.pid);
  await template.close();
  assert.equal(project.info().isTemplate, false);
  await project.build();
  await project.flash();
  const transport = project.transport();
  await transport.open();
  const data = new Uint8Array(250).map((_, i) => i);
  await transport.write(data, 5);
  const back: number[] = [];
  while (back.length < data.length) {
    const chunk = await transport.read(data.length - back.length, 5);
    assert.ok(
      chunk.length >= 1 && chunk.length <= 100,
      `max_read_bytes reached the server (${chunk.length})`,
    );
    back.push(...chunk);
  }
  assert.deepEqual(new Uint8Array(back), data);
  // write_transport and read_transport sent together: the read sees the written bytes.
  const pair = await transport.writeThenRead(Uint8Array.of(7, 8, 9), 5, 3, 5);
  assert.deepEqual(pair, Uint8Array.of(7, 8, 9));
  // A read that times out comes back as the read's error, the write having gone through.
  const timedOut = await transport.writeThenRead(new Uint8Array(0), 5, 1, 0);
  assert.ok(
    !(timedOut instanceof Uint8Array) && timedOut.readError instanceof IoTimeoutError,
    String(timedOut),
  );
  await transport.close();
  await assert.rejects(transport.read(1, 0), TransportClosedError);
  // A failed write is thrown; the read's reply is taken off the channel all the same.
  await assert.rejects(transport.writeThenRead(Uint8Array.of(1), 5, 1, 0), TransportClosedError);
  await assert.rejects(transport.read(1, 0), TransportClosedError);
  await project.close();
  assert.deepEqual(await survivors(pids), []);
  assert.deepEqual(processesMentioning(work), []);
});

test("template/generated mix-ups are refused with errors that say what to do", async (t) => {
  const { dir, work } = loopbackCopy(t);
  const mlf = await writeTinyMlf(join(work, "model.tar"));
  await assert.rejects(
    GeneratedProject.open(dir),
    (e: unknown) => e instanceof TemplateProjectError && /generate a project from it first/.test(e.message),
  );
  const project = await generateProjectFromMlf(dir, join(work, "gen"), mlf);
  await project.close();
  await assert.rejects(
    TemplateProject.open(join(work, "gen")),
    (e: unknown) => e instanceof NotATemplateProjectError && /not a template/.test(e.message),
  );
  await assert.rejects(generateProjectFromMlf(dir, join(work, "gen"), mlf), /already exists/);
  assert.deepEqual(processesMentioning(work), []);
});

test("microtvm info prints a table, or one JSON document with --json", async (t) => {
  const { dir, work } = loopbackCopy(t);
  const table = await runCli(["info", dir]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^platform: +loopback$/m);
  assert.match(table.stdout, /^kind: +template project$/m);
  assert.match(table.stdout, /^max_read_bytes +int +4096 +- +open_transport /m);

  const json = await runCli(["info", "--json", dir]);
  assert.equal(json.code, 0, json.stderr);
  const doc = JSON.parse(json.stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(doc), [
    "schema",
    "platform_name",
    "is_template",
    "model_library_format_path",
    "project_options",
    "protocol_version",
  ]);
  assert.equal(doc.schema, "microtvm.info/2");
  assert.equal(doc.protocol_version, 1);

  const missing = await runCli(["info", join(work, "nothing-here")]);
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /nothing-here does not exist; give a template or project directory/);
  assert.deepEqual(processesMentioning(work), []);
});
