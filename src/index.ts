// The public API of the `microtvm` package. The protocol (errors, base85, wire types) and the
// client (driving any Project API server) are exported flat; the other layers as namespaces, since
// some of their names overlap (each layer also has its own entry: `microtvm/server`,
// `microtvm/client`, `microtvm/protocol`, `microtvm/mlf`, `microtvm/session`, `microtvm/rpc`,
// `microtvm/serial`, `microtvm/device`, `microtvm/conformance`).
export * from "./protocol/index.js";
export * from "./client/index.js";
export * as server from "./server/index.js";
export * as mlf from "./mlf/index.js";
export * as session from "./session/index.js";
export * as rpc from "./rpc/index.js";
export * as serial from "./serial/index.js";
export * as device from "./device/index.js";
export * as conformance from "./conformance/index.js";
