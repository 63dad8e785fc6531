// The cortex-m template's Project API server: firmware cross-compiled for a bare-metal board (or
// its QEMU twin), the board's serial port being the transport. `npm run build` bundles this file
// into microtvm_api_server.js, which the launch script runs with Node; generate_project copies
// both into every project.
import { runTemplateServerIfMain } from "../common/server-entry.js";
import { CortexMProjectHandler } from "./handler.js";

runTemplateServerIfMain(
  import.meta.url,
  "microtvm.cortex-m",
  (dir, log) => new CortexMProjectHandler(dir, log),
);
