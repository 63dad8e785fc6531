// The package's entry points: the root export and every subpath in package.json "exports" resolve
// (in dist/, as an installed package sees them) and carry the layer's main API.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "../helpers/paths.js";

const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  exports: Record<string, string | { types: string; default: string }>;
};

/** What each entry must provide (a function or class by name, or a namespace member). */
const expected: Record<string, string[]> = {
  ".": [
    "TemplateProject",
    "GeneratedProject",
    "ServerError",
    "b85encode",
    "server.runServer",
    "mlf.openMlf",
    "session.Session",
    "rpc.AotExecutor",
    "serial.listSerialPorts",
    "device.openDevice",
    "conformance.runConformance",
  ],
  "./server": ["runServer", "serveChannel"],
  "./client": ["TemplateProject", "GeneratedProject", "ProjectApiClient"],
  "./protocol": ["b85encode", "b85decode", "ServerError", "IoTimeoutError", "TransportClosedError"],
  "./mlf": ["openMlf", "extractMlf", "writeMlf"],
  "./session": ["Session"],
  "./rpc": ["RpcClient", "AotExecutor", "GraphExecutor"],
  "./conformance": ["runConformance", "ConformanceRunner", "writeTinyMlf"],
  "./serial": ["listSerialPorts", "selectBoardPort", "probeFor"],
  "./device": ["openDevice", "Device", "createProject", "readFirmwareBuildStamp", "makeBuildStamp"],
};

test("every package entry point resolves in dist/ and exports its layer's API", async (t) => {
  const missing = Object.entries(pkg.exports)
    .filter(([subpath]) => subpath !== "./package.json")
    .map(([, target]) => join(repoRoot, typeof target === "string" ? target : target.default))
    .filter((file) => !existsSync(file));
  if (missing.length > 0) {
    if (process.env.CI) assert.fail(`${missing.join(", ")} missing: npm ci (prepare) must build dist/`);
    t.skip(`dist/ is not built (${missing.length} entry points missing); run npm run build`);
    return;
  }
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    if (subpath === "./package.json") continue;
    const file = join(repoRoot, typeof target === "string" ? target : target.default);
    if (typeof target !== "string") assert.ok(existsSync(join(repoRoot, target.types)), `${subpath} types`);
    const module = (await import(pathToFileURL(file).href)) as Record<string, Record<string, unknown>>;
    for (const name of expected[subpath] ?? assert.fail(`no expectation for ${subpath}`)) {
      const [outer, inner] = name.split(".");
      const value = inner ? module[outer!]?.[inner] : module[outer!];
      assert.equal(typeof value, "function", `${subpath} exports ${name}`);
    }
  }
});
