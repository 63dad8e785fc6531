// Typed project options. The reference's tvmc sends every option as a string (so `verbose=false`
// is truthy inside a Python template); we convert each value by the option's declared `type`
// before it goes on the wire, and say exactly what was wrong when a value does not fit.
import type { ProjectOption } from "../protocol/index.js";
import { ProjectOptionError } from "./errors.js";

/** Option values as they go on the wire, keyed by option name. */
export type ProjectOptions = Record<string, unknown>;

const TRUE_WORDS = ["true", "1", "yes", "on"];
const FALSE_WORDS = ["false", "0", "no", "off"];

/**
 * Converts the text of one `key=value` assignment to the option's declared type:
 * - `bool`: `true`, `1`, `yes`, `on` → true; `false`, `0`, `no`, `off` → false (case-insensitive).
 * - `int`: a base-10 integer with an optional sign (`-12`, `+7`); not `1.5`, `12abc`, `0x10`,
 *   an empty value, or one beyond ±2^53−1.
 * - `str`, or any type this client does not know: the text unchanged (types are advisory metadata).
 * When the option declares `choices`, the value must be one of them (compared as text, exactly).
 */
export function convertOptionValue(option: ProjectOption, raw: string): unknown {
  const name = option.name;
  let value: unknown = raw;
  switch (option.type) {
    case "bool": {
      const word = raw.trim().toLowerCase();
      if (TRUE_WORDS.includes(word)) value = true;
      else if (FALSE_WORDS.includes(word)) value = false;
      else
        throw new ProjectOptionError(
          `invalid value ${JSON.stringify(raw)} for option ${name} (bool): use true or false ` +
            `(also accepted: ${[...TRUE_WORDS.slice(1), ...FALSE_WORDS.slice(1)].join(", ")})`,
          name,
        );
      break;
    }
    case "int": {
      const text = raw.trim();
      if (!/^[+-]?\d+$/.test(text))
        throw new ProjectOptionError(
          `invalid value ${JSON.stringify(raw)} for option ${name} (int): use a base-10 integer such as 4096`,
          name,
        );
      const n = Number(text);
      if (!Number.isSafeInteger(n))
        throw new ProjectOptionError(
          `invalid value ${JSON.stringify(raw)} for option ${name} (int): out of range ` +
            `(±${Number.MAX_SAFE_INTEGER})`,
          name,
        );
      value = n;
      break;
    }
    default:
      break;
  }
  const choices = option.choices;
  if (choices && choices.length > 0) {
    const asText = typeof value === "string" ? value : String(value);
    if (!choices.includes(raw) && !choices.includes(asText)) {
      throw new ProjectOptionError(
        `invalid value ${JSON.stringify(raw)} for option ${name}: choose one of ${choices.join(", ")}`,
        name,
      );
    }
  }
  return value;
}

/** Whether `option` applies to `method` (it lists the method as required or optional). */
export function optionAppliesTo(option: ProjectOption, method: string): boolean {
  return (option.required ?? []).includes(method) || (option.optional ?? []).includes(method);
}

/**
 * Parses `key=value` assignments (as given to `-o`) into typed option values. Each assignment is
 * split at its first `=` (so `compile_definitions=-DX=1` works); a later assignment of the same
 * key wins. The key must be an option the server declares — for `method` when given — and the
 * value must fit its type (see convertOptionValue). Required options are not checked here:
 * defaults may still fill them (see checkRequiredOptions).
 */
export function parseOptionAssignments(
  assignments: readonly string[],
  projectOptions: readonly ProjectOption[],
  method?: string,
): ProjectOptions {
  const result: ProjectOptions = {};
  for (const assignment of assignments) {
    const eq = assignment.indexOf("=");
    if (eq <= 0) {
      throw new ProjectOptionError(
        eq === 0
          ? `invalid option ${JSON.stringify(assignment)}: the name before "=" is empty; use name=value`
          : `invalid option ${JSON.stringify(assignment)}: use name=value`,
      );
    }
    const name = assignment.slice(0, eq);
    const option = findOption(projectOptions, name, method);
    result[name] = convertOptionValue(option, assignment.slice(eq + 1));
  }
  return result;
}

/**
 * Refuses names the server does not declare, before any call is made. With `method`, the name
 * must also apply to that method.
 */
export function checkOptionNames(
  options: ProjectOptions,
  projectOptions: readonly ProjectOption[],
  method?: string,
): void {
  for (const name of Object.keys(options)) findOption(projectOptions, name, method);
}

/**
 * A new object with every declared option the caller did not give set to its default (`null`
 * when it has none), as the reference client does so Python templates can index any option.
 * The caller's object is not changed.
 */
export function withDefaults(
  options: ProjectOptions | undefined,
  projectOptions: readonly ProjectOption[],
): ProjectOptions {
  const filled: ProjectOptions = { ...(options ?? {}) };
  for (const option of projectOptions) {
    if (!Object.hasOwn(filled, option.name)) filled[option.name] = option.default ?? null;
  }
  return filled;
}

/** Refuses a call when an option required for `method` has no value (given or default). */
export function checkRequiredOptions(
  options: ProjectOptions,
  projectOptions: readonly ProjectOption[],
  method: string,
): void {
  const missing = projectOptions.filter(
    (o) => (o.required ?? []).includes(method) && (options[o.name] === undefined || options[o.name] === null),
  );
  if (missing.length > 0) {
    const names = missing.map((o) => o.name);
    throw new ProjectOptionError(
      `option${names.length > 1 ? "s" : ""} ${names.join(", ")} ${names.length > 1 ? "are" : "is"} required ` +
        `for ${method} but not given; pass ${names.map((n) => `-o ${n}=VALUE`).join(" ")}`,
      names[0],
    );
  }
}

function findOption(projectOptions: readonly ProjectOption[], name: string, method?: string): ProjectOption {
  const option = projectOptions.find((o) => o.name === name);
  if (!option) {
    throw new ProjectOptionError(
      `unknown option ${JSON.stringify(name)}; the server declares: ${listNames(projectOptions)}`,
      name,
    );
  }
  if (method !== undefined && !optionAppliesTo(option, method)) {
    const valid = projectOptions.filter((o) => optionAppliesTo(o, method));
    throw new ProjectOptionError(
      `option ${JSON.stringify(name)} does not apply to ${method}; options for ${method}: ${listNames(valid)}`,
      name,
    );
  }
  return option;
}

function listNames(options: readonly ProjectOption[]): string {
  return options.length === 0 ? "(none)" : options.map((o) => o.name).join(", ");
}
