// Python-compatible JSON: a parser that accepts what `json.loads` accepts (NaN, Infinity, big
// integers, duplicate keys) and can keep the int/float distinction of number lexemes, a
// serializer that produces exactly what `json.dumps` produces, and Python's `repr`. The
// reference's error messages embed Python reprs and type names, so these are wire data.

/** A JSON number written as a float lexeme (`1.0`, `1e2`, `NaN`): Python decodes it as `float`. */
export class PyFloat {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
}

/**
 * A decoded value that keeps what Python would see: integers as `number` (or `bigint` beyond
 * 2^53−1), float lexemes as `PyFloat`, objects as `Map` (key order exactly as sent, including
 * integer-like keys that a plain JS object would move to the front).
 */
export type PyValue = null | boolean | string | number | bigint | PyFloat | PyValue[] | Map<string, PyValue>;

/** Plain JSON as our TypeScript API uses it. Integers beyond 2^53−1 stay exact as `bigint`. */
export type JsonValue =
  null | boolean | string | number | bigint | JsonValue[] | { [key: string]: JsonValue };

/** A JSON text Python's `json.loads` would reject; `position` is the character offset. */
export class JsonSyntaxError extends SyntaxError {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} (char ${position})`);
    this.name = "JsonSyntaxError";
  }
}

// Characters a JSON string holds as they are (no quote, backslash or control character).
const PLAIN_RUN = /[\x20\x21\x23-\x5b\x5d-\uffff]*/y;

// Python's recursion limit stops its decoder near this depth too (RecursionError).
const MAX_DEPTH = 1000;

class Parser {
  private pos = 0;
  constructor(private readonly text: string) {}

  parseDocument(): PyValue {
    this.skipWs();
    const value = this.parseValue(0);
    this.skipWs();
    if (this.pos < this.text.length) throw new JsonSyntaxError("Extra data", this.pos);
    return value;
  }

  private skipWs(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.pos++;
      else break;
    }
  }

  private parseValue(depth: number): PyValue {
    if (depth > MAX_DEPTH) throw new JsonSyntaxError("Nesting too deep", this.pos);
    const t = this.text;
    const c = t[this.pos];
    switch (c) {
      case "{":
        return this.parseObject(depth);
      case "[":
        return this.parseArray(depth);
      case '"':
        return this.parseString();
      case "n":
        return this.literal("null", null);
      case "t":
        return this.literal("true", true);
      case "f":
        return this.literal("false", false);
      case "N":
        return this.literal("NaN", new PyFloat(NaN));
      case "I":
        return this.literal("Infinity", new PyFloat(Infinity));
      default:
        if (c === "-" && t.startsWith("-Infinity", this.pos)) {
          this.pos += 9;
          return new PyFloat(-Infinity);
        }
        return this.parseNumber();
    }
  }

  private literal<T extends PyValue>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) throw new JsonSyntaxError("Expecting value", this.pos);
    this.pos += word.length;
    return value;
  }

  private parseNumber(): PyValue {
    const re = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (!m) throw new JsonSyntaxError("Expecting value", this.pos);
    this.pos += m[0].length;
    if (m[1] !== undefined || m[2] !== undefined) return new PyFloat(Number(m[0]));
    const n = Number(m[0]);
    if (Number.isSafeInteger(n)) return Object.is(n, -0) ? 0 : n;
    return BigInt(m[0]);
  }

  private parseString(): string {
    const t = this.text;
    const start = this.pos;
    this.pos++; // opening quote
    let out = "";
    let runStart = this.pos;
    for (;;) {
      // Skip the run of ordinary characters natively: long base85 payloads are one run.
      PLAIN_RUN.lastIndex = this.pos;
      PLAIN_RUN.test(t);
      this.pos = PLAIN_RUN.lastIndex;
      if (this.pos >= t.length) throw new JsonSyntaxError("Unterminated string starting at", start);
      const c = t.charCodeAt(this.pos);
      if (c === 0x22) {
        out += t.slice(runStart, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) throw new JsonSyntaxError("Invalid control character at", this.pos);
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += t.slice(runStart, this.pos);
      const esc = t[this.pos + 1];
      switch (esc) {
        case '"':
          out += '"';
          break;
        case "\\":
          out += "\\";
          break;
        case "/":
          out += "/";
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "u": {
          const hex = t.slice(this.pos + 2, this.pos + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex))
            throw new JsonSyntaxError("Invalid \\uXXXX escape", this.pos + 1);
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 4;
          break;
        }
        default:
          throw new JsonSyntaxError("Invalid \\escape", this.pos);
      }
      this.pos += 2;
      runStart = this.pos;
    }
  }

  private parseArray(depth: number): PyValue[] {
    const out: PyValue[] = [];
    this.pos++;
    this.skipWs();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      out.push(this.parseValue(depth + 1));
      this.skipWs();
      const c = this.text[this.pos];
      if (c === "]") {
        this.pos++;
        return out;
      }
      if (c !== ",") throw new JsonSyntaxError("Expecting ',' delimiter", this.pos);
      this.pos++;
    }
  }

  private parseObject(depth: number): Map<string, PyValue> {
    const out = new Map<string, PyValue>();
    this.pos++;
    this.skipWs();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      if (this.text[this.pos] !== '"')
        throw new JsonSyntaxError("Expecting property name enclosed in double quotes", this.pos);
      const key = this.parseString();
      this.skipWs();
      if (this.text[this.pos] !== ":") throw new JsonSyntaxError("Expecting ':' delimiter", this.pos);
      this.pos++;
      this.skipWs();
      // Duplicate keys: the last value wins and the key keeps its first position, as in a dict.
      out.set(key, this.parseValue(depth + 1));
      this.skipWs();
      const c = this.text[this.pos];
      if (c === "}") {
        this.pos++;
        return out;
      }
      if (c !== ",") throw new JsonSyntaxError("Expecting ',' delimiter", this.pos);
      this.pos++;
    }
  }
}

/** Parses like Python's `json.loads`, keeping int/float lexemes and key order (see `PyValue`). */
export function parseJsonExact(text: string): PyValue {
  return new Parser(text).parseDocument();
}

/**
 * Parses like Python's `json.loads` into plain values: floats become numbers, integers beyond
 * 2^53−1 become `bigint`, objects become plain objects. Throws `JsonSyntaxError`.
 */
export function parseJson(text: string): JsonValue {
  return toPlain(parseJsonExact(text));
}

/** Converts a `PyValue` tree to plain JSON values (`PyFloat` → number, `Map` → object). */
export function toPlain(value: PyValue): JsonValue {
  if (value instanceof PyFloat) return value.value;
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Map) {
    const out: { [key: string]: JsonValue } = {};
    for (const [k, v] of value) setOwn(out, k, toPlain(v));
    return out;
  }
  return value;
}

/** Assigns even a `__proto__` key as an own data property. */
function setOwn(target: { [key: string]: JsonValue }, key: string, value: JsonValue): void {
  if (key === "__proto__")
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** Python's `repr(float)`: shortest round-trip digits, `1.0`, `1e-05`, `1e+16`, `nan`, `inf`. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mantissa, expText] = x.toExponential().split("e") as [string, string];
  const exp = Number(expText);
  const sign = mantissa.startsWith("-") ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  if (exp < -4 || exp >= 16) {
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : "";
    const expSign = exp < 0 ? "-" : "+";
    return `${sign}${digits[0]}${frac}e${expSign}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
  return `${sign}${intPart}.${digits.slice(exp + 1) || "0"}`;
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function typeNameOfObject(value: object): string {
  return (value as { constructor?: { name?: string } }).constructor?.name ?? "object";
}

/** `json.dumps` float/int text for a JS number: integral values as ints, others as floats. */
function dumpNumber(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  if (Number.isInteger(x))
    return Object.is(x, -0) ? "0" : Number.isSafeInteger(x) ? String(x) : BigInt(x).toString();
  return pyFloatRepr(x);
}

// Printable ASCII without `"` or `\\`: what json.dumps writes unchanged (every base85 payload).
const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** `json.dumps` string escaping with `ensure_ascii=True`. */
export function pyJsonString(s: string): string {
  if (PLAIN_ASCII.test(s)) return `"${s}"`;
  let out = '"';
  let runStart = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(runStart, i);
    runStart = i + 1;
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x08) out += "\\b";
    else if (c === 0x0c) out += "\\f";
    else out += `\\u${c.toString(16).padStart(4, "0")}`;
  }
  return out + s.slice(runStart) + '"';
}

/**
 * Exactly Python's `json.dumps(value)`: `", "` and `": "` separators, ASCII-only output, Python
 * float repr, `NaN`/`Infinity`. Accepts plain values and `PyValue` trees. Object keys whose value
 * is `undefined` are left out (as `JSON.stringify` does); anything else that is not JSON data
 * (functions, byte arrays, class instances, cycles) throws a `TypeError`.
 */
export function pyJsonDumps(value: unknown): string {
  const seen = new Set<object>();
  const dump = (v: unknown): string => {
    if (v === null || v === undefined) return "null";
    switch (typeof v) {
      case "boolean":
        return v ? "true" : "false";
      case "number":
        return dumpNumber(v);
      case "bigint":
        return v.toString();
      case "string":
        return pyJsonString(v);
      case "object":
        break;
      default:
        throw new TypeError(`Object of type ${typeof v} is not JSON serializable`);
    }
    const obj = v as object;
    if (obj instanceof PyFloat) {
      const x = obj.value;
      if (Number.isNaN(x) || !Number.isFinite(x)) return dumpNumber(x);
      return pyFloatRepr(x);
    }
    if (seen.has(obj)) throw new TypeError("Circular reference detected");
    seen.add(obj);
    try {
      if (Array.isArray(obj)) return `[${obj.map(dump).join(", ")}]`;
      const parts: string[] = [];
      if (obj instanceof Map) {
        for (const [k, item] of obj) {
          if (typeof k !== "string")
            throw new TypeError(`keys must be str, int, float, bool or None, not ${typeof k}`);
          parts.push(`${pyJsonString(k)}: ${dump(item)}`);
        }
      } else if (isPlainObject(obj)) {
        for (const k of Object.keys(obj)) {
          const item = obj[k];
          if (item === undefined) continue;
          parts.push(`${pyJsonString(k)}: ${dump(item)}`);
        }
      } else {
        throw new TypeError(`Object of type ${typeNameOfObject(obj)} is not JSON serializable`);
      }
      return `{${parts.join(", ")}}`;
    } finally {
      seen.delete(obj);
    }
  };
  return dump(value);
}

// Python's str.isprintable(): false for categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs (but not " ").
const NON_PRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;

/** Python's `repr(str)`. */
export function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === "\\") out += `\\${ch}`;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    else if (cp < 0x7f) out += ch;
    else if (cp !== 0x20 && NON_PRINTABLE.test(ch)) {
      if (cp <= 0xff) out += `\\x${cp.toString(16).padStart(2, "0")}`;
      else if (cp <= 0xffff) out += `\\u${cp.toString(16).padStart(4, "0")}`;
      else out += `\\U${cp.toString(16).padStart(8, "0")}`;
    } else out += ch;
  }
  return out + quote;
}

/**
 * Python's `repr()` of a decoded JSON value (Appendix A): `None`, `True`, `1`, `1.0`, `'s'`,
 * `[1, 2]`, `{'k': v}`. Plain numbers print as ints when integral; use `PyFloat` for `1.0`.
 */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return "None";
  switch (typeof value) {
    case "boolean":
      return value ? "True" : "False";
    case "number":
      return Number.isInteger(value) ? dumpNumber(value) : pyFloatRepr(value);
    case "bigint":
      return value.toString();
    case "string":
      return pyStrRepr(value);
    case "object":
      break;
    default:
      return String(value);
  }
  if (value instanceof PyFloat) return pyFloatRepr(value.value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(", ")}]`;
  if (value instanceof Map) return `{${[...value].map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(", ")}}`;
  if (isPlainObject(value))
    return `{${Object.entries(value)
      .map(([k, v]) => `${pyStrRepr(k)}: ${pyRepr(v)}`)
      .join(", ")}}`;
  return String(value);
}

/** Python's type name of a decoded JSON value, as `<class 'dict'>` etc. */
export function pyTypeName(value: unknown): string {
  return `<class '${pyTypeShortName(value)}'>`;
}

function pyTypeShortName(value: unknown): string {
  if (value === null || value === undefined) return "NoneType";
  switch (typeof value) {
    case "boolean":
      return "bool";
    case "number":
      return Number.isInteger(value) ? "int" : "float";
    case "bigint":
      return "int";
    case "string":
      return "str";
  }
  if (value instanceof PyFloat) return "float";
  if (Array.isArray(value)) return "list";
  return "dict";
}

/** Python truthiness of a decoded JSON value (`None`, `False`, `0`, `""`, `[]`, `{}` are false). */
export function pyTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === "") return false;
  if (typeof value === "number") return value !== 0; // NaN is truthy in Python too
  if (typeof value === "bigint") return value !== 0n;
  if (value instanceof PyFloat) return value.value !== 0;
  if (Array.isArray(value)) return value.length > 0;
  if (value instanceof Map) return value.size > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return true;
}
