import { spawnSync } from "node:child_process";
import type { TestContext } from "node:test";

/** True when `command` can be run (found on PATH). */
export function haveCommand(command: string): boolean {
  const r = spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
  return r.status === 0;
}

/**
 * Skips the test (with a reason naming what to install) when a tool is missing. Under
 * MICROTVM_REQUIRE_TOOLCHAINS=1 (set by .ci/run) a missing tool fails the test instead.
 */
export function requireCommand(t: TestContext, command: string, install: string): boolean {
  if (haveCommand(command)) return true;
  const reason = `${command} not found; install ${install}`;
  if (process.env.MICROTVM_REQUIRE_TOOLCHAINS === "1")
    throw new Error(`${reason} (MICROTVM_REQUIRE_TOOLCHAINS=1)`);
  t.skip(reason);
  return false;
}
