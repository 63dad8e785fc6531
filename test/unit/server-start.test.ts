import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startupFailureHint } from "../../src/cli/server-start.js";

test("a launch script taking Python from `which west` without west on PATH: west is named", () => {
  const dir = mkdtempSync(join(tmpdir(), "microtvm-hint-"));
  try {
    const script = join(dir, "launch_microtvm_api_server.sh");
    writeFileSync(script, "PYTHON_CMD=$(sed 's/#!//; q' $(which west-not-installed-here))\n$PYTHON_CMD $1\n");
    const hint = startupFailureHint(
      `${script}: line 2: ${join(dir, "microtvm_api_server.py")}: Permission denied`,
    );
    assert.equal(
      hint,
      `the template in ${dir} needs \`west-not-installed-here\` on PATH: its launch script ${script} runs the Python of \`which west-not-installed-here\``,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a missing Python module is named, with pip's failure when the launch script's install failed", () => {
  assert.equal(
    startupFailureHint("ModuleNotFoundError: No module named 'serial'"),
    "the Project API server could not start: No module named 'serial' (its Python lacks the module; install it for the Python the server runs with)",
  );
  assert.match(
    startupFailureHint(
      "ERROR: No matching distribution found for pyusb\nModuleNotFoundError: No module named 'packaging'",
    )!,
    /No module named 'packaging' .*pip install failed: No matching distribution found for pyusb/,
  );
  assert.equal(startupFailureHint("Traceback: something else"), undefined);
});
