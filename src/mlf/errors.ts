/**
 * Stable error codes of the MLF layer. Scripts and the CLI match on `code`, never on the message.
 */
export type MlfErrorCode =
  /** The input is not a readable tar (or gzip-compressed tar) nor a directory. */
  | "not-tar"
  /** The path does not exist or cannot be read. */
  | "not-found"
  /** A tar without `metadata.json` at its root. */
  | "not-mlf"
  /** `metadata.json` is not valid JSON or lacks required fields. */
  | "bad-metadata"
  /** A `version` this reader does not read (it reads 4 to 7). */
  | "unsupported-version"
  /** An operator-style archive (`tvm.build` output), not a full model. */
  | "operator-style"
  /** A file the metadata implies is absent from the archive. */
  | "missing-file"
  /** A file in the archive is malformed (params, graph JSON, header). */
  | "bad-file"
  /** An entry that extraction refuses: links, devices, absolute or `..` paths, duplicates. */
  | "unsafe-entry"
  /** An entry or the whole archive is larger than the configured limit. */
  | "too-large"
  /** The extraction target already exists. */
  | "target-exists"
  /** Invalid arguments to the writer. */
  | "bad-input";

/** An error from reading, validating, extracting or writing a Model Library Format archive. */
export class MlfError extends Error {
  constructor(
    readonly code: MlfErrorCode,
    message: string,
    /** The archive entry the error is about, when there is one. */
    readonly entry?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "MlfError";
  }
}

/** A problem that does not stop the archive from being used (reported, never thrown). */
export interface MlfWarning {
  /** A stable code, e.g. `size-mismatch`, `missing-dependency`, `missing-relay`. */
  readonly code: string;
  readonly message: string;
}
