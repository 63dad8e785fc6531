// A project's device end to end: the firmware's footprint and operator profiling.
export * from "./elf.js";
export * from "./linker-map.js";
export * from "./footprint.js";
export * from "./profile.js";
