#!/usr/bin/env node
// Stands in for a host firmware: runs the real one (argv[2]) and passes its stdin and stdout
// through, flipping one bit inside the payload of the first frame that starts after
// MICROTVM_CORRUPT_AFTER bytes of output (a damaged frame on the line, as a noisy UART makes one).
import { spawn } from "node:child_process";

const after = Number(process.env.MICROTVM_CORRUPT_AFTER ?? "200");
const child = spawn(process.argv[2], [], { stdio: ["pipe", "pipe", "inherit"] });
let seen = 0;
let previous = -1;
let target = -1; // stream offset of the byte to flip, once a frame start is found
let done = false;
process.stdin.pipe(child.stdin);
child.stdin.on("error", () => {});
child.stdout.on("data", (chunk) => {
  for (let i = 0; i < chunk.length && !done; i++) {
    const offset = seen + i;
    if (target < 0 && offset >= after && previous === 0xff && chunk[i] === 0xfd) target = offset + 7;
    if (offset === target) {
      // The 6th byte after `ff fd`: past the 4-byte length, inside the payload.
      chunk[i] ^= 0x10;
      done = true;
    }
    previous = chunk[i];
  }
  seen += chunk.length;
  process.stdout.write(chunk);
});
child.on("exit", (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
