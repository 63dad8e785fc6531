/**
 * Errors of the session layer. Transports throw the protocol's IoTimeoutError and
 * TransportClosedError (the names the Project API uses for the same conditions); they are
 * recognised by name, so a transport from another layer that throws its own works here too.
 */

/** Base class of errors raised by a Session. */
export class SessionError extends Error {
  override name = "SessionError";
}

/** The handshake or a reply did not arrive in time. */
export class SessionTimeoutError extends SessionError {
  override name = "SessionTimeoutError";
}

/** The device ended the session (it reset, and sent its boot TerminateSession). */
export class SessionTerminatedError extends SessionError {
  override name = "SessionTerminatedError";
}

/**
 * A frame was damaged (CRC mismatch, cut off, oversized) after the session was established: the
 * message it carried is lost and minRPC has no retransmission, so the call fails at once.
 */
export class SessionFrameError extends SessionError {
  override name = "SessionFrameError";
}

/** The transport under the session closed or failed. */
export class SessionTransportError extends SessionError {
  override name = "SessionTransportError";
}

export function isIoTimeoutError(error: unknown): boolean {
  return error instanceof Error && error.name === "IoTimeoutError";
}

export function isTransportClosedError(error: unknown): boolean {
  return error instanceof Error && error.name === "TransportClosedError";
}
