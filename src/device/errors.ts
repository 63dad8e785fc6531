// What the device layer reports plainly: a wrong argument (an input name, a module that does not
// exist), a bad file (a project file that is not JSON, an unreadable archive), or firmware that
// cannot run this model (its C runtime reads the archive's function registry differently).
export type DeviceErrorKind = "bad-argument" | "bad-file" | "incompatible-firmware";

export class DeviceError extends Error {
  constructor(
    message: string,
    readonly kind: DeviceErrorKind,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "DeviceError";
  }
}

/**
 * The device's session could not be started: open_transport failed, the firmware or emulator
 * exited at once, or the handshake got no answer. `cause` is what failed.
 */
export class DeviceStartError extends Error {
  constructor(override readonly cause: unknown) {
    super(`the device did not start: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "DeviceStartError";
  }
}
