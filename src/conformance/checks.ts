// What one conformance check reports, and the assertion the checks are written with.

/** The outcome of one check, as the report lists it. */
export interface CheckResult {
  name: string;
  status: "pass" | "fail" | "skip";
  /** Why it failed or was skipped. */
  message?: string;
}

/** A check failed: the message says what was expected and what came instead. */
export class CheckFailure extends Error {
  override name = "CheckFailure";
}

export function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailure(message);
}

/** A value as JSON, cut to one readable line. */
export function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 160 ? `${text.slice(0, 160)}…` : text;
}
