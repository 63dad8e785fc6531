/**
 * A small reader for the Relay text TVM stores in an MLF (`src/<mod>.relay`, `src/relay.txt`). It reads
 * the `@main` signature and infers the dtype and shape of the result through common operators, which is
 * how tensors are described for old archives whose metadata does not list them.
 */

/** A Relay tensor type; a `null` dimension is unknown. */
export interface RelayType {
  readonly dtype?: string;
  readonly shape?: readonly (number | null)[];
}

export interface RelayParam extends RelayType {
  readonly name: string;
}

export interface RelayMain {
  readonly params: readonly RelayParam[];
  /** Function attributes such as `output_tensor_names`. */
  readonly attrs: ReadonlyMap<string, string>;
  /** `output_tensor_names`, when the function carries it. */
  readonly outputTensorNames?: readonly string[];
  /** The declared return type(s) (`-> Tensor[...]`), if printed. */
  readonly returnTypes?: readonly RelayType[];
  /** Result type(s) inferred from the body; one per output. */
  readonly resultTypes: readonly RelayType[];
}

/** Splits at top-level commas (outside (), [], {} and strings). */
function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let inString = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if (c === "," && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = text.slice(start).trim();
  if (last) out.push(last);
  return out;
}

/** Index of the bracket closing the one at `open`. */
function matching(text: string, open: number): number {
  const pairs: Record<string, string> = { "(": ")", "[": "]", "{": "}" };
  const stack: string[] = [];
  let inString = false;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (pairs[c]) stack.push(pairs[c]!);
    else if (c === stack[stack.length - 1]) {
      stack.pop();
      if (stack.length === 0) return i;
    }
  }
  return -1;
}

/** Parses `Tensor[(1, 4), int8]` (or a bare dtype) into a type. */
export function parseRelayType(text: string): RelayType | undefined {
  const t = text.trim();
  const m = /^Tensor\[\s*\(([^)]*)\)\s*,\s*([A-Za-z0-9]+)\s*\]$/.exec(t);
  if (m) {
    const dims = m[1]!
      .split(",")
      .map((d) => d.trim())
      .filter((d) => d !== "");
    return { dtype: m[2], shape: dims.map((d) => (/^\d+$/.test(d) ? Number(d) : null)) };
  }
  if (/^(u?int|float|bfloat)\d+$|^bool$/.test(t)) return { dtype: t, shape: [] };
  return undefined;
}

function parseTypeList(text: string): RelayType[] | undefined {
  const t = text.trim();
  if (t.startsWith("(")) {
    const items = splitTopLevel(t.slice(1, matching(t, 0)));
    const types = items.map(parseRelayType);
    return types.every((x) => x) ? (types as RelayType[]) : undefined;
  }
  const one = parseRelayType(t);
  return one ? [one] : undefined;
}

const SHAPE_PRESERVING = new Set([
  "nn.bias_add",
  "nn.relu",
  "nn.leaky_relu",
  "nn.prelu",
  "clip",
  "qnn.requantize",
  "qnn.quantize",
  "qnn.dequantize",
  "nn.softmax",
  "nn.log_softmax",
  "qnn.softmax",
  "sigmoid",
  "tanh",
  "exp",
  "round",
  "cast",
  "fixed_point_multiply",
  "right_shift",
  "add",
  "subtract",
  "multiply",
  "divide",
  "qnn.add",
  "qnn.mul",
  "nn.dropout",
  "copy",
  "negative",
  "abs",
  "sqrt",
  "erf",
]);

function kwargs(args: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of args) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([\s\S]*)$/.exec(a);
    if (m) out.set(m[1]!, m[2]!.trim());
  }
  return out;
}

function unquote(v: string | undefined): string | undefined {
  return v === undefined ? undefined : v.replace(/^"|"$/g, "");
}

function intList(v: string | undefined): number[] | undefined {
  if (!v) return undefined;
  const m = /^\[([^\]]*)\]$/.exec(v.trim());
  if (!m) return undefined;
  const items = m[1]!
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const nums = items.map((s) => Number(s.replace(/i64$/, "")));
  return nums.every((n) => Number.isInteger(n)) ? nums : undefined;
}

/** Parses the `@main` function of a Relay text module; undefined when there is none. */
export function parseRelayMain(text: string): RelayMain | undefined {
  const start = text.indexOf("def @main(");
  if (start === -1) return undefined;
  const open = start + "def @main".length;
  const close = matching(text, open);
  if (close === -1) return undefined;
  const params: RelayParam[] = [];
  const attrs = new Map<string, string>();
  for (const item of splitTopLevel(text.slice(open + 1, close))) {
    // Names may contain ':' (`%serving_default_input:0: Tensor[...]`): the type follows ": ".
    // Printers from TVM v0.9 on follow each parameter with `/* ty=... span=... */`.
    const param = item.replace(/\/\*[\s\S]*?\*\//g, "").trim();
    const p = /^%(\S+?):\s+([\s\S]+)$/.exec(param) ?? /^%(\S+)$/.exec(param);
    if (p) {
      const type = p[2] ? parseRelayType(p[2]) : undefined;
      params.push({ name: p[1]!, ...type });
      continue;
    }
    const a = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([\s\S]+)$/.exec(item);
    if (a) attrs.set(a[1]!, a[2]!.trim());
  }
  const bodyOpen = text.indexOf("{", close);
  const between = text.slice(close + 1, bodyOpen).trim();
  const returnTypes = between.startsWith("->") ? parseTypeList(between.slice(2)) : undefined;
  const bodyClose = bodyOpen === -1 ? -1 : matching(text, bodyOpen);
  const body = bodyOpen === -1 || bodyClose === -1 ? "" : text.slice(bodyOpen + 1, bodyClose);

  const bindings = new Map<string, string>();
  const statements = body
    .split(/;\s*\n/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
  let final = "";
  for (const s of statements) {
    const m = /^%([0-9A-Za-z_.]+)\s*=\s*([\s\S]+)$/.exec(s);
    if (m) bindings.set(m[1]!, m[2]!);
    else final = s;
  }
  const paramTypes = new Map(params.map((p) => [p.name, p as RelayType]));
  const memo = new Map<string, RelayType>();

  const infer = (expr: string, depth: number): RelayType => {
    const e = expr.trim();
    if (depth > 2000) return {};
    const annotated = /\/\*\s*ty=([\s\S]*?)\s*\*\/\s*$/.exec(e);
    if (annotated) {
      const t = parseRelayType(annotated[1]!);
      if (t) return t;
    }
    const ref = /^%(\S+)$/.exec(e);
    if (ref) {
      const name = ref[1]!;
      if (memo.has(name)) return memo.get(name)!;
      const bound = bindings.get(name);
      const t = bound !== undefined ? infer(bound, depth + 1) : (paramTypes.get(name) ?? {});
      memo.set(name, t);
      return t;
    }
    const call = /^([A-Za-z_][A-Za-z0-9_.]*)\(/.exec(e);
    if (!call) return {};
    const op = call[1]!;
    const argsEnd = matching(e, op.length);
    if (argsEnd === -1) return {};
    const args = splitTopLevel(e.slice(op.length + 1, argsEnd));
    const kw = kwargs(args);
    const first = args[0] !== undefined && !kw.has(args[0]) ? infer(args[0], depth + 1) : {};
    let dtype = unquote(kw.get("out_dtype")) ?? first.dtype;
    if (op === "cast") dtype = unquote(kw.get("dtype")) ?? dtype;
    if (op === "qnn.dequantize" && !kw.has("out_dtype")) dtype = "float32";
    if (op === "qnn.quantize" && !kw.has("out_dtype")) dtype = "int8";
    if (SHAPE_PRESERVING.has(op)) return { dtype, shape: first.shape };
    if (op === "reshape") {
      const newshape = intList(kw.get("newshape"));
      if (!newshape) return { dtype };
      let shape: (number | null)[] = newshape.map((d, i) =>
        d === -1 ? null : d === 0 ? (first.shape?.[i] ?? null) : d,
      );
      const inShape = first.shape;
      if (inShape && inShape.every((d) => d !== null) && shape.filter((d) => d === null).length === 1) {
        const total = (inShape as number[]).reduce((a, b) => a * b, 1);
        const known = shape.reduce<number>((a, b) => a * (b ?? 1), 1);
        if (known > 0 && total % known === 0) shape = shape.map((d) => d ?? total / known);
      }
      return { dtype, shape };
    }
    if (op === "nn.dense" || op === "qnn.dense" || op === "nn.matmul") {
      const unitsText = kw.get("units");
      const units = unitsText !== undefined && /^\d+$/.test(unitsText) ? Number(unitsText) : undefined;
      const weight = args[1] && !kw.has(args[1]) ? infer(args[1], depth + 1) : {};
      const u = units ?? weight.shape?.[0] ?? null;
      return { dtype, shape: first.shape ? [...first.shape.slice(0, -1), u] : undefined };
    }
    if (op === "nn.batch_flatten" && first.shape) {
      const rest = first.shape.slice(1);
      const n = rest.every((d) => d !== null) ? (rest as number[]).reduce((a, b) => a * b, 1) : null;
      return { dtype, shape: [first.shape[0] ?? null, n] };
    }
    return { dtype };
  };

  let resultTypes: RelayType[];
  const finalTrim = final.trim();
  if (finalTrim.startsWith("(") && matching(finalTrim, 0) === finalTrim.length - 1) {
    resultTypes = splitTopLevel(finalTrim.slice(1, -1)).map((x) => infer(x, 0));
  } else {
    resultTypes = finalTrim ? [infer(finalTrim, 0)] : [];
  }
  const names = attrs.get("output_tensor_names");
  const outputTensorNames = names ? [...names.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!) : undefined;
  return { params, attrs, outputTensorNames, returnTypes, resultTypes };
}

/** Names TVM's frontends give bound constants: `v_param_<N>` (TFLite) and `p<N>` (graph bindings). */
export function isConstantParamName(name: string): boolean {
  return /^v_param_\d+$/.test(name) || /^p\d+$/.test(name);
}
