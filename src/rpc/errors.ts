// Error classes of the minRPC client. Each says what failed and what the user can do about it.

/** Base class of every error raised by src/rpc. */
export class RpcError extends Error {
  override name = "RpcError";
}

/**
 * The device answered a request with kException. `deviceMessage` is the device's text as sent; on the CRT it
 * comes from a single last-error buffer and may be empty or stale, so match on the class, not on the text.
 */
export class RpcDeviceError extends RpcError {
  override name = "RpcDeviceError";
  constructor(
    /** What the client was doing, e.g. `CallFunc tvmgen_default_run`. */
    readonly operation: string,
    /** The exception text from the device, verbatim. */
    readonly deviceMessage: string,
  ) {
    super(
      `the device raised an exception during ${operation}: ${deviceMessage === "" ? "(no message; the device sets none on many failure paths)" : deviceMessage}`,
    );
  }
}

/** A reply did not follow the minRPC wire format (bad length, unknown code, truncated value). */
export class RpcProtocolError extends RpcError {
  override name = "RpcProtocolError";
  constructor(
    message: string,
    /** The offending packet, when there is one. */
    readonly packet?: Uint8Array,
  ) {
    super(message);
  }
}

/**
 * The packet channel failed (timeout, closed session). The device may be hung and need a reset; the client
 * refuses further requests because a late reply could be mistaken for the answer to the next request.
 */
export class RpcChannelError extends RpcError {
  override name = "RpcChannelError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A request was refused before it was sent, because the device would hang or abort on it (wrong index,
 * unknown input name, wrong byte size, unsupported argument), or an argument of the API was invalid.
 */
export class RpcUsageError extends RpcError {
  override name = "RpcUsageError";
}

/** A graph's operator is not in the device's system lib (firmware built from another model, or a registry it cannot read). */
export class MissingKernelError extends RpcUsageError {
  override name = "MissingKernelError";
  constructor(
    message: string,
    readonly kernel: string,
  ) {
    super(message);
  }
}

/** Reading or writing a tensor file failed; the message names the file, what was expected and what was found. */
export class TensorIoError extends RpcError {
  override name = "TensorIoError";
  constructor(
    message: string,
    readonly file?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
