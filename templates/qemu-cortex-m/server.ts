// The qemu-cortex-m template's Project API server: firmware cross-compiled for an Arm MPS2 board
// and run under qemu-system-arm, its UART being the transport. `npm run build` bundles this file
// (with the package code and the host template modules it uses) into microtvm_api_server.js,
// which the launch script runs with Node; generate_project copies both into every project.
import { realpathSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createStderrLog, runServer } from "microtvm/server";
import { QemuProjectHandler } from "./handler.js";

/** Where this server lives: the template directory, or a generated project. */
const SERVER_DIR = dirname(fileURLToPath(import.meta.url));

export function main(): void {
  const handler = new QemuProjectHandler(SERVER_DIR, createStderrLog(false, "microtvm.qemu-cortex-m"));
  // runServer closes the transport when the channel ends or on SIGTERM/SIGINT; this covers any
  // other way out (an uncaught error), so QEMU never outlives its server.
  process.on("exit", () => handler.killChildren());
  void runServer(handler);
}

// Run only as the entry point, so tests can import the handler without starting a server.
function isMainModule(): boolean {
  try {
    return (
      !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
    );
  } catch {
    return false;
  }
}
if (isMainModule()) main();
