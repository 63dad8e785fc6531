// C identifiers made from tensor and parameter names, as TVM's code generator makes them.

/** Replaces every non-alphanumeric character with `_`, as TVM does for C identifiers. */
export function sanitizeName(name: string): string {
  return name.replace(/[^A-Za-z0-9]/g, "_");
}
