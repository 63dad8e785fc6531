// Request validation with the reference's codes, order of checks and messages (server.py
// `_validate_request` and `_dispatch_request`), plus the documented deviations: only the eight
// methods exist, and every parameter is type-checked with the reference's -32602 message shape.

import { ErrorCode, JsonRpcError } from "./errors.js";
import type { PyValue } from "./json.js";
import { PyFloat, pyRepr, pyTypeName } from "./json.js";
import type { MethodName, ParamType } from "./methods.js";
import { METHODS, isMethodName } from "./methods.js";

/** A request whose envelope passed validation. `id` is undefined when the key was absent. */
export interface ValidatedRequest {
  method: string;
  params: Map<string, PyValue>;
  id: PyValue | undefined;
}

// Python's re.match("^[a-zA-Z0-9_]+$"): `$` also matches before one trailing newline.
const METHOD_RE = /^[a-zA-Z0-9_]+\n?$/;

function invalidRequest(message: string): JsonRpcError {
  return new JsonRpcError(ErrorCode.invalidRequest, message, null);
}

/**
 * Checks the envelope in the reference's order; throws a -32600 JsonRpcError (the server
 * replies with id null and stops) on the first failure.
 */
export function validateRequest(request: PyValue): ValidatedRequest {
  if (!(request instanceof Map)) throw invalidRequest(`request: want dict; got ${pyRepr(request)}`);
  const jsonrpc = request.get("jsonrpc") ?? null;
  if (jsonrpc !== "2.0") throw invalidRequest(`request["jsonrpc"]: want "2.0"; got ${pyRepr(jsonrpc)}`);
  const method = request.get("method") ?? null;
  if (typeof method !== "string") throw invalidRequest(`request["method"]: want str; got ${pyRepr(method)}`);
  if (!METHOD_RE.test(method))
    throw invalidRequest(`request["method"]: should match regex ^[a-zA-Z0-9_]+$; got ${pyRepr(method)}`);
  const params = request.get("params") ?? null;
  if (!(params instanceof Map))
    throw invalidRequest(`request["params"]: want dict; got ${pyTypeName(params)}`);
  const id = request.has("id") ? request.get("id")! : undefined;
  // Python accepts str, int (which includes bool) and None; floats, lists and dicts are refused.
  if (
    id !== undefined &&
    id !== null &&
    typeof id !== "string" &&
    typeof id !== "number" &&
    typeof id !== "bigint" &&
    typeof id !== "boolean"
  )
    throw invalidRequest(`request["id"]: want str, number, null; got ${pyRepr(id)}`);
  return { method, params, id };
}

const WANT: Record<ParamType, string> = {
  dict: "<class 'dict'>",
  str: "<class 'str'>",
  int: "<class 'int'>",
  timeout: "typing.Optional[float]",
};

function hasType(value: PyValue, type: ParamType): boolean {
  switch (type) {
    case "dict":
      return value instanceof Map;
    case "str":
      return typeof value === "string";
    case "int":
      return typeof value === "number" || typeof value === "bigint";
    case "timeout":
      return (
        value === null || typeof value === "number" || typeof value === "bigint" || value instanceof PyFloat
      );
  }
}

/** Params bound to a known method, in declaration order (values still as `PyValue`). */
export interface BoundParams {
  method: MethodName;
  params: Record<string, PyValue>;
}

/**
 * Looks the method up among the eight (-32601 otherwise) and binds its params: the first
 * missing one in declaration order, then the first of the wrong type, then all extra names in
 * request order (-32602).
 */
export function bindParams(method: string, params: Map<string, PyValue>): BoundParams {
  if (!isMethodName(method))
    throw new JsonRpcError(ErrorCode.methodNotFound, `${method}: no such method`, null);
  const descriptor = METHODS[method];
  const types: Readonly<Record<string, ParamType>> = descriptor.paramTypes;
  const bound: Record<string, PyValue> = {};
  for (const name of descriptor.params) {
    if (!params.has(name))
      throw new JsonRpcError(ErrorCode.invalidParams, `method ${method}: parameter ${name} not given`, null);
    const value = params.get(name)!;
    const type = types[name]!;
    if (!hasType(value, type))
      throw new JsonRpcError(
        ErrorCode.invalidParams,
        `method ${method}: parameter ${name}: want ${WANT[type]}, got ${pyTypeName(value)}`,
        null,
      );
    bound[name] = value;
  }
  const extra = [...params.keys()].filter((k) => !(descriptor.params as readonly string[]).includes(k));
  if (extra.length > 0)
    throw new JsonRpcError(ErrorCode.invalidParams, `${method}: extra parameters: ${extra.join(", ")}`, null);
  return { method, params: bound };
}
