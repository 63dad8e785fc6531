import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestContext } from "node:test";

/** The repository root. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** `../shared/fixtures` beside the clone: real TVM archives that may not be committed. */
export const sharedFixtures = join(repoRoot, "..", "shared", "fixtures");

/**
 * The path of a shared fixture, or undefined after marking the test skipped with the reason.
 * Under MICROTVM_REQUIRE_SHARED=1 (set by .ci/run) a missing fixture fails the test instead.
 */
export function sharedFixture(t: TestContext, ...parts: string[]): string | undefined {
  const path = join(sharedFixtures, ...parts);
  if (existsSync(path)) return path;
  const reason = `shared fixture ${join(...parts)} not found beside the clone (../shared/fixtures)`;
  if (process.env.MICROTVM_REQUIRE_SHARED === "1")
    throw new Error(`${reason}; MICROTVM_REQUIRE_SHARED=1 requires it`);
  t.skip(reason);
  return undefined;
}
