// The public API of the `microtvm` package. Each layer also has its own entry (see package.json "exports").
export {};
