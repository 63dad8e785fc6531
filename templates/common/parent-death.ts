// Emulators do not exit when their stdin closes or their parent dies. On Linux a template starts
// them through `setpriv --pdeathsig KILL` (util-linux): the kernel kills the emulator when the
// process that spawned it exits, however that happens. The spawner still ends it on close.
import { spawnSync } from "node:child_process";

let setprivAvailable: boolean | undefined;

function haveSetpriv(): boolean {
  if (process.platform !== "linux") return false;
  setprivAvailable ??=
    spawnSync("setpriv", ["--pdeathsig", "KILL", "--", "true"], { stdio: "ignore", timeout: 5000 }).status ===
    0;
  return setprivAvailable;
}

/** `command args` run so that it dies with its parent where the system allows. */
export function killedWithParent(command: string, args: string[]): { command: string; args: string[] } {
  if (haveSetpriv()) return { command: "setpriv", args: ["--pdeathsig", "KILL", "--", command, ...args] };
  return { command, args };
}
