// The firmware's identity as `run --json` and `validate --json` give it.
import type { FirmwareIdentity } from "../../device/index.js";

/** `{status: "current", build_stamp}` or `{status: "unstamped", build_stamp: null, note}`. */
export function firmwareJson(identity: FirmwareIdentity): Record<string, unknown> {
  return identity.status === "current"
    ? { status: "current", build_stamp: identity.digest }
    : { status: "unstamped", build_stamp: null, note: identity.why };
}
