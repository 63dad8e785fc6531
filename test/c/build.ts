// Compiles the device runtime's C with the system compiler, for the C tests and for the echo
// device the session integration tests talk to.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../helpers/paths.js";

export const runtimeDir = join(repoRoot, "runtime");

/** The runtime sources every test program links. */
export const runtimeSources = [
  "crc16.c",
  "framing.c",
  "session.c",
  "transport_loop.c",
  "host/platform_host.c",
].map((file) => join(runtimeDir, "src", file));

const sessionFiles = new Set(["crc16.c", "framing.c", "session.c", "transport_loop.c"]);

/** The runtime sources of the RPC side (server, modules, globals, executors), as the host template
 * compiles them: every C file in runtime/src but the session's. */
export const rpcRuntimeSources = readdirSync(join(runtimeDir, "src"))
  .filter((file) => file.endsWith(".c") && !sessionFiles.has(file))
  .sort()
  .map((file) => join(runtimeDir, "src", file));

export const strictFlags = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O1", "-g"];
export const sanitizerFlags = [
  "-fsanitize=address,undefined",
  "-fno-sanitize-recover=all",
  "-fno-omit-frame-pointer",
];

export interface CompileOptions {
  sources: string[];
  output: string;
  includeDirs?: string[];
  flags?: string[];
  defines?: string[];
}

/** Runs `cc`; throws with the compiler's output when it fails. */
export function compileC(options: CompileOptions): void {
  const args = [
    ...strictFlags,
    ...(options.flags ?? []),
    ...(options.defines ?? []).map((d) => `-D${d}`),
    "-I",
    join(runtimeDir, "include"),
    ...(options.includeDirs ?? []).flatMap((dir) => ["-I", dir]),
    ...options.sources,
    "-o",
    options.output,
  ];
  const result = spawnSync("cc", args, { encoding: "utf8", timeout: 120_000 });
  if (result.status !== 0)
    throw new Error(
      `cc failed (status ${result.status}${result.signal ? `, signal ${result.signal}` : ""}):\ncc ${args.join(" ")}\n${result.stdout}${result.stderr}`,
    );
}

/** Builds the echo device program (test/c/echo_device.c) into `output`. */
export function buildEchoDevice(output: string, flags: string[] = []): void {
  compileC({ sources: [join(repoRoot, "test", "c", "echo_device.c"), ...runtimeSources], output, flags });
}
