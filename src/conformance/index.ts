// Conformance of a Project API server: the lifecycle and the raw protocol cases, as a library.
export { ConformanceRunner, runConformance } from "./runner.js";
export type { ConformanceOptions, ConformanceReport } from "./runner.js";
export type { CheckResult } from "./checks.js";
export { ERROR_CASES, INVALID_REQUEST_CASES, NO_REPLY_CASES, ROUND_TRIP_SIZES } from "./cases.js";
export type { ErrorCase, InvalidRequestCase, NoReplyCase } from "./cases.js";
export { writeTinyMlf } from "./tiny-mlf.js";
