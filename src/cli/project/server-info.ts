// server_info_query in one synchronous round trip, for `npm run build`, which records each
// built-in template's declaration: the request goes in on the server's stdin (--read-fd 0), the
// reply comes back on its stdout (--write-fd 1), then stdin closes and the server exits.
import { spawnSync } from "node:child_process";
import { findServer } from "../../client/index.js";
import { serverInfoFromWire, type ServerInfo } from "../../protocol/index.js";

const QUERY_TIMEOUT_MS = 15_000;

/** server_info_query of the server in `dir`, synchronously; throws with the reason on failure. */
export function queryServerInfoSync(dir: string): ServerInfo {
  const command = findServer(dir);
  const args = command.args.map((arg, i, all) =>
    all[i - 1] === "--read-fd" ? "0" : all[i - 1] === "--write-fd" ? "1" : arg,
  );
  const request = `${JSON.stringify({ jsonrpc: "2.0", method: "server_info_query", params: { tvm_version: "0.19.dev0" }, id: 1 })}\n`;
  const r = spawnSync(command.command, args, {
    cwd: dir,
    input: request,
    encoding: "utf8",
    timeout: QUERY_TIMEOUT_MS,
  });
  if (r.error) throw new Error(`cannot run ${command.file}: ${r.error.message}`);
  for (const line of r.stdout.split("\n")) {
    let reply: unknown;
    try {
      reply = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof reply !== "object" || reply === null || (reply as { id?: unknown }).id !== 1) continue;
    const { result, error } = reply as { result?: unknown; error?: { message?: string } };
    if (error) throw new Error(`server_info_query failed: ${error.message ?? JSON.stringify(error)}`);
    return serverInfoFromWire(result);
  }
  const why = r.stderr.trim().split("\n").slice(-3).join(" / ");
  throw new Error(`no reply from ${command.file}${why ? `: ${why}` : ""}`);
}
