// Firmware identity: before anything runs, the digest the firmware reports
// (`microtvm.build_stamp`) is compared with the build stamp the project expects, so a stale or
// foreign firmware is refused instead of producing outputs nobody can trust.
import { DeviceError } from "./errors.js";

/** What the firmware said about itself. */
export type FirmwareIdentity =
  | { readonly status: "current"; readonly digest: string }
  /** Firmware without the function (TVM's CRT) or built without the stamp header: unknown. */
  | { readonly status: "unstamped"; readonly why: string };

/** The firmware on the device is not the build the project expects. */
export class FirmwareMismatchError extends DeviceError {
  constructor(
    message: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(message, "incompatible-firmware");
    this.name = "FirmwareMismatchError";
  }
}

/** The first 12 hex digits: enough to tell builds apart in a message. */
export function shortDigest(digest: string): string {
  return digest.slice(0, 12);
}

/**
 * Compares the digest the firmware reported (undefined: it has no `microtvm.build_stamp`; "": it
 * was built without the stamp header) with the digest the project expects now. Throws
 * FirmwareMismatchError naming both, `why` they differ when known, and how to rebuild; returns
 * what is known otherwise.
 */
export function checkFirmwareIdentity(
  reported: string | undefined,
  expected: string,
  projectDir: string,
  why?: string,
): FirmwareIdentity {
  if (reported === undefined) {
    return {
      status: "unstamped",
      why: "the firmware has no microtvm.build_stamp function (TVM's CRT firmware, for example), so it cannot be checked against the project's build",
    };
  }
  if (reported === "") {
    return {
      status: "unstamped",
      why: "the firmware was built without a build stamp, so it cannot be checked against the project's build",
    };
  }
  if (reported !== expected) {
    throw new FirmwareMismatchError(
      `the firmware on the device is not the current build of ${projectDir}: the project expects build stamp ${shortDigest(expected)}, the device reports ${shortDigest(reported)}${why ? ` (${why})` : ""}; rebuild and flash it (microtvm build ${projectDir} && microtvm flash ${projectDir}, or run without --no-build)`,
      expected,
      reported,
    );
  }
  return { status: "current", digest: reported };
}
