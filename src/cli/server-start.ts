// Why a Project API server died before its first reply, in one line, from what it wrote to stderr.
// Foreign templates fail at start-up for reasons of their environment: TVM's zephyr launch script
// runs the Python of `which west`, and TVM's arduino launch script pip-installs its modules into a
// virtual environment (which fails offline).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname } from "node:path";

function onPath(command: string): boolean {
  return spawnSync("sh", ["-c", 'command -v "$1"', "sh", command], { stdio: "ignore" }).status === 0;
}

/** The one-line cause of a server's start-up failure, when its stderr shows a known one. */
export function startupFailureHint(stderrTail: string): string | undefined {
  // A launch script that could not run the server: it took the interpreter from `which X`.
  const denied =
    /(\S*launch_microtvm_api_server\.sh): line \d+: (\S*microtvm_api_server\.py): Permission denied/.exec(
      stderrTail,
    );
  if (denied && existsSync(denied[1]!)) {
    const script = readFileSync(denied[1]!, "utf8");
    const which = /\$\(which ([\w.-]+)\)/.exec(script);
    if (which && !onPath(which[1]!)) {
      const tool = which[1]!;
      const who = tool === "west" ? "TVM's zephyr template" : `the template in ${dirname(denied[1]!)}`;
      return (
        `${who} needs \`${tool}\` on PATH: its launch script ${denied[1]} runs the Python of \`which ${tool}\`` +
        (tool === "west"
          ? " (install Zephyr's west, e.g. pip install west, where TVM's Python packages are)"
          : "")
      );
    }
  }
  const missing = /No module named '([^']+)'/.exec(stderrTail);
  if (missing) {
    const pip = /No matching distribution found for (\S+)/.exec(stderrTail);
    return (
      `the Project API server could not start: No module named '${missing[1]}' (its Python lacks the module` +
      (pip
        ? `; the launch script's pip install failed: No matching distribution found for ${pip[1]}, is the network reachable?)`
        : "; install it for the Python the server runs with)")
    );
  }
  return undefined;
}
