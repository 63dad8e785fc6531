// What the device layer reports as the caller's to fix: a wrong argument (an input name, a module
// that does not exist) or a bad file (a project file that is not JSON, an unreadable archive).
export type DeviceErrorKind = "bad-argument" | "bad-file";

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
