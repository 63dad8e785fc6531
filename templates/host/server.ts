// The host template's Project API server: firmware compiled with the system C compiler and run
// as a child process of this server, its stdin/stdout being the transport. `npm run build`
// bundles this file (with the package code it uses) into microtvm_api_server.js, which the
// launch script runs with Node; generate_project copies both into every generated project.
import { runTemplateServerIfMain } from "../common/server-entry.js";
import { HostProjectHandler } from "./handler.js";

runTemplateServerIfMain(import.meta.url, "microtvm.host", (dir, log) => new HostProjectHandler(dir, log));
