// Host-driven inference: the minRPC client, remote objects, executors, timing and tensor I/O.
export * from "./errors.js";
export * from "./dtype.js";
export * from "./codec.js";
export * from "./client.js";
export * from "./remote.js";
export * from "./aot.js";
export * from "./graph.js";
export * from "./timing.js";
export * from "./tensors.js";
