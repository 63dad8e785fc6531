// TVM itself as a peer: its Python package, C++ runtime, standalone CRT and template projects in
// `../shared/peers/tvm` beside the clone. The environment its env.sh sets is rebuilt here, so
// tests run TVM's code exactly as a user who sourced that script would.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { repoRoot } from "./paths.js";

export interface TvmPeer {
  dir: string;
  standaloneCrt: string;
  templates: string;
  /** PYTHONPATH, TVM_LIBRARY_PATH, TVM_USE_RUNTIME_LIB, TVM_STANDALONE_CRT_DIR, TVM_TEMPLATE_PROJECTS_DIR. */
  env: NodeJS.ProcessEnv;
}

export const tvmPeerDir = join(repoRoot, "..", "shared", "peers", "tvm");

/** The peer, or undefined after skipping the test (failing under MICROTVM_REQUIRE_SHARED=1). */
export function tvmPeer(t: TestContext): TvmPeer | undefined {
  const dir = tvmPeerDir;
  if (!existsSync(join(dir, "python", "tvm")) || !existsSync(join(dir, "lib", "libtvm_runtime.so"))) {
    const reason = "TVM peer not found beside the clone (../shared/peers/tvm with python/tvm and lib/)";
    if (process.env.MICROTVM_REQUIRE_SHARED === "1")
      throw new Error(`${reason}; MICROTVM_REQUIRE_SHARED=1 requires it`);
    t.skip(reason);
    return undefined;
  }
  const pythonPath = [join(dir, "shim"), join(dir, "python"), process.env.PYTHONPATH]
    .filter((p) => p)
    .join(":");
  return {
    dir,
    standaloneCrt: join(dir, "standalone_crt"),
    templates: join(dir, "template_projects"),
    env: {
      PYTHONPATH: pythonPath,
      TVM_LIBRARY_PATH: join(dir, "lib"),
      TVM_USE_RUNTIME_LIB: "1",
      TVM_STANDALONE_CRT_DIR: join(dir, "standalone_crt"),
      TVM_TEMPLATE_PROJECTS_DIR: join(dir, "template_projects"),
    },
  };
}

export interface PythonRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `python3 <script> ...args` with TVM's environment; killed (with its process group) after
 * `timeoutMs`, so a hang fails the test instead of stalling the suite.
 */
export function runTvmPython(
  peer: TvmPeer,
  script: string,
  args: string[],
  timeoutMs = 180_000,
  env: NodeJS.ProcessEnv = {},
): Promise<PythonRun> {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", [script, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...peer.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
      reject(new Error(`python3 ${script} did not finish in ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
