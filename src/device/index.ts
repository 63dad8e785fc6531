// A project's device end to end: the firmware's footprint and operator profiling; many samples
// per session and validation against a reference.
export * from "./elf.js";
export * from "./linker-map.js";
export * from "./footprint.js";
export * from "./profile.js";
export { DeviceError } from "./errors.js";
export type { DeviceErrorKind } from "./errors.js";
export {
  TENSOR_FILE_EXTENSIONS,
  describeTensors,
  expandInputPath,
  fileStem,
  findTensor,
  loadSamples,
  parseInputAssignments,
} from "./samples.js";
export type {
  ExpandedInputPath,
  InputAssignment,
  InputEntry,
  InputPathKind,
  Sample,
  SampleInput,
  SampleSource,
  TensorSpec,
} from "./samples.js";
export { compareNames, npzMemberTensor, readNpzFile, readNpzMembers } from "./npz.js";
export type { NpzMember } from "./npz.js";
export { loadReferenceFile, referenceFromOutputs, tensorNumbers } from "./reference.js";
export type { Reference, ReferenceKind, ReferenceOutput } from "./reference.js";
export {
  DEFAULT_FLOAT_RELATIVE_TOLERANCE,
  METRICS,
  argmax,
  checkLimits,
  compareSamples,
  defaultLimits,
  metricValue,
  parseToleranceLimit,
} from "./metrics.js";
export type {
  ComparisonInput,
  ErrorMetrics,
  LimitCheck,
  MetricName,
  SampleComparison,
  SampleOutputComparison,
  ToleranceLimit,
  ValidationMetrics,
} from "./metrics.js";
export { checkReferenceCovers, judgeOutputs } from "./validate.js";
export type { ValidationVerdict } from "./validate.js";
export { outputsByName, runSamples } from "./run-samples.js";
export type { InferenceRunner, SampleResult, SamplesRun } from "./run-samples.js";
export { FirmwareMismatchError, checkFirmwareIdentity, shortDigest } from "./identity.js";
export type { FirmwareIdentity } from "./identity.js";
