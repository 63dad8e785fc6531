// `--fill-mode`: how inputs without `--input` are filled (the samples themselves are read by the
// device layer's loadSamples, before the device is touched).
import type { FillMode } from "../../rpc/index.js";

export const FILL_MODES: readonly FillMode[] = ["zeros", "ones", "random"];
