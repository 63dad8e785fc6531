export { MlfError, type MlfErrorCode, type MlfWarning } from "./errors.js";
export * from "./model.js";
export { openMlf, buildModel, type OpenOptions } from "./read.js";
export { extractMlf, type ExtractResult } from "./extract.js";
export { writeMlf, type WriteMlfOptions, type WriteTensor } from "./writer.js";
export { repackRegistryCount, widenRegistryCount, type RepackResult } from "./repack.js";
export {
  parseParams,
  serializeParams,
  PARAMS_LIST_MAGIC,
  NDARRAY_MAGIC,
  type MlfParameter,
  type ParamInput,
} from "./params.js";
export {
  parseCInterfaceHeader,
  generateCInterfaceHeader,
  type CInterfaceHeader,
  type HeaderSpec,
} from "./header.js";
export {
  parseGraphJson,
  graphArgs,
  graphOutputs,
  graphStorage,
  graphFunctionNames,
  type GraphJson,
  type GraphTensor,
  type GraphStorage,
} from "./graph.js";
export {
  parseRelayMain,
  parseRelayType,
  isConstantParamName,
  type RelayMain,
  type RelayParam,
  type RelayType,
} from "./relay.js";
export { readElfInfo, type ElfInfo } from "./elf.js";
export {
  scanCSource,
  findFunctionRegistry,
  decodeCStringLiterals,
  type PortabilityFinding,
  type FunctionRegistry,
} from "./portability.js";
export { scanPortability } from "./scan.js";
// Data types are shared with the minRPC client (src/dtype); re-exported so an MLF user needs one import.
export {
  DLDataTypeCode,
  DTypeError,
  parseDType,
  formatDType,
  elementBytes,
  elementCount,
  packedBytes,
  storageBytes,
  typedArrayOver,
  type DLDataType,
  type TensorData,
} from "../dtype/index.js";
export { sanitizeName } from "./c-names.js";
export {
  readTarStream,
  readTarFile,
  buildTar,
  normaliseEntryName,
  defaultTarLimits,
  builtInTarLimits,
  tarLimitsFromEnv,
  TAR_LIMIT_ENV,
  type TarLimits,
  type TarEntry,
  type TarInput,
} from "./tar.js";
export { inspectDocument, INSPECT_SCHEMA, type InspectDocument } from "./inspect.js";
