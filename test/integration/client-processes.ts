// Helpers for tests that start real server processes: liveness checks that treat zombies as dead.
import { readFileSync } from "node:fs";

/** True while `pid` is a running (not zombie) process. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // Field 3 of /proc/<pid>/stat is the state; Z is a zombie waiting for a parent that may never reap it.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Waits (bounded) until none of `pids` is alive; returns those still alive. */
export async function survivors(pids: readonly number[], withinMs = 2000): Promise<number[]> {
  const deadline = Date.now() + withinMs;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 20));
    alive = alive.filter(isAlive);
  }
  return alive;
}
