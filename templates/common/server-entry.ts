// Starting a template's Project API server from its bundled server.ts: only when that file is
// the entry point, so tests can import the handler without starting a server.
import { realpathSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createStderrLog, runServer } from "microtvm/server";
import type { ProjectApiHandler } from "microtvm/server";
import type { TemplateLog } from "./handler.js";

export interface TemplateServerHandler extends ProjectApiHandler {
  /** Synchronous last resort for process exit: kills what the handler started. */
  killChildren(): void;
}

function isMainModule(moduleUrl: string): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/**
 * Runs the server when `moduleUrl` (the server.ts's import.meta.url) is the entry point. The
 * handler gets the directory the server lives in: the template directory, or a generated project.
 */
export function runTemplateServerIfMain(
  moduleUrl: string,
  logName: string,
  createHandler: (serverDir: string, log: TemplateLog) => TemplateServerHandler,
): void {
  if (!isMainModule(moduleUrl)) return;
  const handler = createHandler(dirname(fileURLToPath(moduleUrl)), createStderrLog(false, logName));
  // runServer closes the transport when the channel ends or on SIGTERM/SIGINT; this covers any
  // other way out (an uncaught error), so the firmware never outlives its server.
  process.on("exit", () => handler.killChildren());
  void runServer(handler);
}
