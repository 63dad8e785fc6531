// The README's Node example ("From Node") runs as written: its code block is copied into a file
// that imports the installed package (`microtvm/device` from dist/), run with Node on the host
// template, and again with the template line its comment names (qemu-cortex-m on mps2-an386).
import { after, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertNothingLeft } from "../helpers/processes.js";
import { repoRoot } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";

const work = mkdtempSync(join(tmpdir(), "microtvm-readme-example-"));

after(async () => {
  await assertNothingLeft(work);
  rmSync(work, { recursive: true, force: true });
});

/** The js block after the README's "From Node" heading. */
function readmeExample(): string {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### From Node"));
  const block = /```js\n([\s\S]*?)```/.exec(section);
  assert.ok(block, "README.md has a js block under ### From Node");
  return block[1]!;
}

const TEMPLATE_LINE =
  '  template: "host", // or template: "qemu-cortex-m", options: { board: "mps2-an386" }\n';

/** Runs `code` as a user's script in a fresh directory holding the package and the examples. */
function runExample(t: TestContext, name: string, code: string): number {
  if (!existsSync(join(repoRoot, "dist", "device", "index.js"))) {
    if (process.env.CI) assert.fail("dist/ is missing: npm ci (prepare) must build it");
    t.skip("dist/ is not built; run npm run build");
    return NaN;
  }
  const dir = join(work, name);
  mkdirSync(join(dir, "node_modules"), { recursive: true });
  symlinkSync(repoRoot, join(dir, "node_modules", "microtvm"));
  symlinkSync(join(repoRoot, "examples"), join(dir, "examples"));
  writeFileSync(join(dir, "example.mjs"), code);
  const r = spawnSync(process.execPath, ["example.mjs"], { cwd: dir, encoding: "utf8", timeout: 600_000 });
  assert.equal(r.status, 0, `the example failed:\n${r.stdout}${r.stderr}`);
  const printed = /^\[\s*([-\d.e]+)\s*\]$/m.exec(r.stdout);
  assert.ok(printed, `the example prints the output values; it printed:\n${r.stdout}`);
  return Number(printed[1]);
}

test("the README's Node example runs the sine model on the host template", (t) => {
  if (
    !requireCommand(t, "cc", "a C compiler (Debian: apt-get install gcc libc6-dev)") ||
    !requireCommand(t, "make", "GNU make (Debian: apt-get install make)")
  )
    return;
  const code = readmeExample();
  assert.ok(code.includes(TEMPLATE_LINE), "the example names its template on one line");
  const y = runExample(t, "host", code);
  if (!Number.isNaN(y))
    assert.ok(Math.abs(y - Math.sin(1.5)) < 0.05, `y = ${y}, sin(1.5) = ${Math.sin(1.5)}`);
});

test("the README's Node example runs on qemu-cortex-m (mps2-an386) with the template its comment names", (t) => {
  if (
    !requireCommand(t, "arm-none-eabi-gcc", "Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi") ||
    !requireCommand(t, "qemu-system-arm", "Debian: qemu-system-arm") ||
    !requireCommand(t, "make", "Debian: make")
  )
    return;
  const code = readmeExample().replace(
    TEMPLATE_LINE,
    '  template: "qemu-cortex-m", options: { board: "mps2-an386" },\n',
  );
  const y = runExample(t, "qemu", code);
  if (!Number.isNaN(y))
    assert.ok(Math.abs(y - Math.sin(1.5)) < 0.05, `y = ${y}, sin(1.5) = ${Math.sin(1.5)}`);
});
