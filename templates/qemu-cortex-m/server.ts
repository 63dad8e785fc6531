// The qemu-cortex-m template's Project API server: firmware cross-compiled for an Arm MPS2 board
// and run under qemu-system-arm, its UART being the transport. `npm run build` bundles this file
// (with the package code and the shared template modules it uses) into microtvm_api_server.js,
// which the launch script runs with Node; generate_project copies both into every project.
import { runTemplateServerIfMain } from "../common/server-entry.js";
import { QemuProjectHandler } from "./handler.js";

runTemplateServerIfMain(
  import.meta.url,
  "microtvm.qemu-cortex-m",
  (dir, log) => new QemuProjectHandler(dir, log),
);
