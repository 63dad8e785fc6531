// The text that goes into data.traceback: the error's class, message and stack, and its causes.
// Clients show it to users; it is not parsed.

const MAX_CAUSES = 5;

function className(e: Error): string {
  if (e.name && e.name !== "Error") return e.name;
  return (e.constructor as { name?: string } | undefined)?.name || "Error";
}

/** Formats any thrown value as a human-readable traceback ending in a newline. */
export function formatTraceback(thrown: unknown, depth = 0): string {
  if (!(thrown instanceof Error)) return `Thrown value (not an Error): ${String(thrown)}\n`;
  const frames = (thrown.stack ?? "")
    .split("\n")
    .filter((l) => /^\s+at /.test(l))
    .join("\n");
  let text = `${className(thrown)}: ${thrown.message}\n${frames ? `${frames}\n` : ""}`;
  if (thrown.cause !== undefined && depth < MAX_CAUSES)
    text += `Caused by: ${formatTraceback(thrown.cause, depth + 1)}`;
  return text;
}
