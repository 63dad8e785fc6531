// A project's device from the host: open a generated project's transport, session and RPC runtime
// and run its model (AOT or graph) in a few calls; the build stamp that says whether a project's
// firmware is current; the project file (microtvm-project.json).
export { Device, openDevice, createProject, templateDirectory } from "./device.js";
export type { OpenDeviceOptions, CreateProjectOptions } from "./device.js";
export { DeviceModel, median } from "./inference.js";
export type { InferenceOutcome, InferenceTiming, ModelInputs } from "./inference.js";
export { DeviceConnection } from "./connection.js";
export type { DeviceConnectionOptions } from "./connection.js";
export { createExecutor } from "./executor.js";
export type { ModelExecutor, DeviceTiming } from "./executor.js";
export { loadInferenceModel, loadProjectModel } from "./model.js";
export type { InferenceModel, ModelTensor } from "./model.js";
export { monitorDevice } from "./monitor.js";
export type { MonitorOptions, MonitorSummary } from "./monitor.js";
export { ProjectByteTransport, TappedTransport, hexLines } from "./transport.js";
export type { TapDirection } from "./transport.js";
export { DeviceError, DeviceStartError } from "./errors.js";
export type { DeviceErrorKind } from "./errors.js";
export { buildProject, buildStampStatus, buildWhenNeeded, expectedBuildStamp } from "./build.js";
export type { BuildDecision } from "./build.js";
export {
  BUILD_STAMP_FILE,
  BUILD_STAMP_FUNCTION,
  BUILD_STAMP_HEADER,
  BUILD_STAMP_SCHEMA,
  buildStampHeader,
  canonicalJson,
  checkBuildStamp,
  effectiveBuildOptions,
  makeBuildStamp,
  projectBuildStamp,
  projectRuntimeFingerprint,
  projectTemplateFingerprint,
  readBuildStamp,
  readFirmwareBuildStamp,
  removeBuildStamp,
  writeBuildStamp,
  writeBuildStampHeader,
} from "./stamp.js";
export type { BuildStamp, BuildStampCheck, BuildStampFields, ProjectStampInputs } from "./stamp.js";
export {
  PROJECT_FILE_NAME,
  PROJECT_FILE_SCHEMA,
  deviceTimer,
  hasProjectFile,
  readProjectFile,
  savedOptions,
  saveOptions,
  writeProjectFile,
} from "./project-file.js";
export type { DeviceTimer, ProjectFile } from "./project-file.js";
export { cacheRoot, cachedProject, sha256File, templateFingerprint } from "./project-cache.js";
export type { CacheTemplate, CachedProject, CachedProjectOptions } from "./project-cache.js";
export { builtInTemplatesDir, packageRoot, runtimeDir } from "./paths.js";
// Tensors in and out, so that running a model needs this entry only.
export { fillTensor, readTensorFile, tensorFromValues, tensorValues, writeTensorFile } from "../rpc/index.js";
export type { HostTensor } from "../rpc/index.js";
// The firmware's footprint (ELF and linker map by component) and per-operator profiling.
export { FirmwareFileError, parseElf, sectionClass, sizeTotals } from "./elf.js";
export type { ElfFile, ElfSection, ElfSymbol, SizeTotals } from "./elf.js";
export { parseLinkerMap } from "./linker-map.js";
export type { MapPiece } from "./linker-map.js";
export {
  COMPONENT_LABELS,
  FOOTPRINT_COMPONENTS,
  computeFootprint,
  ownerOf,
  projectFootprint,
} from "./footprint.js";
export type {
  ComponentUse,
  FirmwareDescription,
  Footprint,
  FootprintComponentName,
  MemoryRange,
} from "./footprint.js";
export { decodeProfileTable, functionNamer, profileAot, profileGraph, summariseAot } from "./profile.js";
export type { OperatorProfile, OperatorTime, ProfileTable } from "./profile.js";

// Footprint and operator profiling; many samples per session and validation against a reference.
export * from "./elf.js";
export * from "./linker-map.js";
export * from "./footprint.js";
export * from "./profile.js";
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
