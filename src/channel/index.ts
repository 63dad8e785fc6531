// Moving JSON-RPC lines over streams, file descriptors and in-memory pairs.
export type { Channel, ChannelOptions } from "./channel.js";
export { LineQueue } from "./channel.js";
export { createMemoryChannelPair } from "./memory.js";
export { createStreamChannel, createFdChannel } from "./stream.js";
