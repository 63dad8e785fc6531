// Host-driven inference: the minRPC client, remote objects, executors, timing and tensor I/O.
// The wire codec (request and reply encoders, byte readers and writers) stays inside this folder.
export {
  MissingKernelError,
  RpcChannelError,
  RpcDeviceError,
  RpcError,
  RpcProtocolError,
  RpcUsageError,
  TensorIoError,
} from "./errors.js";
export { CPU_DEVICE, checkShape, formatShape, parseDevice } from "./device.js";
export type { Device } from "./device.js";
// Data types are shared with Model Library Format (src/dtype); re-exported so a minRPC user needs one import.
export {
  DLDataTypeCode,
  DTypeError,
  dtypeEquals,
  elementBytes,
  elementCount,
  formatDType,
  packedBytes,
  parseDType,
  storageBytes,
  toDType,
  typedArrayOver,
} from "../dtype/index.js";
export type { DLDataType, TensorData } from "../dtype/index.js";
export type { DLTensor, RpcValue } from "./codec.js";
export { RpcClient, packetChannelOverMessages } from "./client.js";
export type {
  MessageEndpoint,
  PacketChannel,
  PipelinedRequest,
  RpcClientOptions,
  RpcReturn,
  RpcTraceEvent,
} from "./client.js";
export { RemoteFunction, RemoteModule, RemoteNDArray, RemoteObject, RemoteRuntime } from "./remote.js";
export type { NDArrayOwnership, RemoteArg, RemoteResult } from "./remote.js";
export { AotExecutor } from "./aot.js";
export type { AotExecutorOptions, TensorInfo } from "./aot.js";
export { GraphExecutor, GraphJsonError, planGraph } from "./graph.js";
export type { GraphEntry, GraphExecutorOptions, GraphNode, GraphPlan, StorageEntry } from "./graph.js";
export { TimeEvaluator, measureRoundTrip, timeEvaluator, timingStats } from "./timing.js";
export type { TimeEvaluatorOptions, TimingResult, TimingStats } from "./timing.js";
export {
  decodeTensor,
  encodeNpy,
  encodeTensorJson,
  fillTensor,
  float16ToNumber,
  numberToFloat16,
  parseNpy,
  parseTensorJson,
  readTensorFile,
  tensorFromValues,
  tensorValues,
  typedView,
  writeTensorFile,
} from "./tensors.js";
export type { FillMode, HostTensor, TensorFileFormat } from "./tensors.js";
