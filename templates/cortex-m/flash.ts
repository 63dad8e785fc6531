// Programming a real board: the runners (OpenOCD, pyOCD, probe-rs, st-flash, nrfjprog) with the
// command lines each board needs, or the user's own `flash_command` with placeholders. Every step
// has a timeout; a failed attempt is retried; a failure names the runner, its exit status and
// its last output lines; a runner that is not installed says how to install it.
import { spawn } from "node:child_process";
import { ServerError } from "microtvm/protocol";
import { shellQuote } from "../common/make.js";

export const FLASH_RUNNERS = ["openocd", "pyocd", "probe-rs", "st-flash", "nrfjprog"] as const;
export type FlashRunner = (typeof FLASH_RUNNERS)[number];

/** How to install each runner (none has a Debian package for every one of them). */
export const RUNNER_INSTALL: Record<FlashRunner, string> = {
  openocd: "Debian/Ubuntu: apt-get install openocd",
  pyocd: "pipx install pyocd (or pip install pyocd)",
  "probe-rs": "cargo install probe-rs-tools --locked (or the installer at probe.rs)",
  "st-flash": "Debian/Ubuntu: apt-get install stlink-tools",
  nrfjprog: "Nordic's nRF Command Line Tools (nordicsemi.com), with SEGGER's J-Link software",
};

/** What a board tells each runner. */
export interface BoardFlashing {
  /** Runners that can program the board; the first is the default. */
  runners: readonly FlashRunner[];
  openocdConfig?: string;
  pyocdTarget?: string;
  probeRsChip?: string;
  /** st-flash: where the image goes (the flash's first address). */
  stFlashAddress?: string;
  /** nrfjprog -f. */
  nrfFamily?: string;
}

export interface FlashFiles {
  elf: string;
  hex: string;
  bin: string;
}

export interface FlashRequest {
  runner: FlashRunner;
  board: string;
  flashing: BoardFlashing;
  files: FlashFiles;
  serialNumber: string;
  /** nrfjprog: erase the chip and clear its read-back protection first. */
  recover: boolean;
}

/** The command lines, in order, that program the board with `runner`. */
export function runnerCommands(request: FlashRequest): string[][] {
  const { runner, flashing: f, files, serialNumber: sn } = request;
  const need = (value: string | undefined, what: string): string => {
    if (!value) {
      throw new ServerError(
        `flash: ${runner} does not know ${request.board} (no ${what}); use one of ${f.runners.join(", ")}, or flash_command`,
      );
    }
    return value;
  };
  switch (runner) {
    case "openocd":
      return [
        [
          "openocd",
          "-f",
          need(f.openocdConfig, "OpenOCD board configuration"),
          ...(sn ? ["-c", `adapter serial ${sn}`] : []),
          "-c",
          `program ${files.elf} verify reset exit`,
        ],
      ];
    case "pyocd":
      return [
        [
          "pyocd",
          "flash",
          "--target",
          need(f.pyocdTarget, "pyOCD target"),
          ...(sn ? ["--uid", sn] : []),
          files.elf,
        ],
      ];
    case "probe-rs": {
      const chip = need(f.probeRsChip, "probe-rs chip");
      const probe = sn ? ["--probe", sn] : [];
      return [
        ["probe-rs", "download", "--chip", chip, ...probe, "--verify", files.elf],
        ["probe-rs", "reset", "--chip", chip, ...probe],
      ];
    }
    case "st-flash":
      return [
        [
          "st-flash",
          ...(sn ? ["--serial", sn] : []),
          "--reset",
          "write",
          files.bin,
          need(f.stFlashAddress, "flash address"),
        ],
      ];
    case "nrfjprog": {
      const family = need(f.nrfFamily, "nRF family");
      const snr = sn ? ["--snr", sn] : [];
      return [
        ...(request.recover ? [["nrfjprog", "-f", family, ...snr, "--recover"]] : []),
        ["nrfjprog", "-f", family, ...snr, "--program", files.hex, "--sectorerase", "--verify"],
        ["nrfjprog", "-f", family, ...snr, "--reset"],
      ];
    }
  }
}

/** `flash_command` with {elf}, {hex}, {bin} and {serial_number} replaced (shell-quoted), for sh -c. */
export function expandFlashCommand(template: string, files: FlashFiles, serialNumber: string): string {
  const unknown = [...template.matchAll(/\{([^{}]*)\}/g)]
    .map((m) => m[1]!)
    .filter((name) => !["elf", "hex", "bin", "serial_number"].includes(name));
  if (unknown.length > 0) {
    throw new ServerError(
      `option flash_command: unknown placeholder(s) ${unknown.map((n) => `{${n}}`).join(", ")}; use {elf}, {hex}, {bin}, {serial_number}`,
    );
  }
  if (template.includes("{serial_number}") && !serialNumber) {
    throw new ServerError("option flash_command uses {serial_number}: give -o serial_number=...");
  }
  const values: Record<string, string> = { ...files, serial_number: serialNumber };
  return template.replace(/\{(elf|hex|bin|serial_number)\}/g, (_, name: string) => shellQuote(values[name]!));
}

export interface RunOptions {
  cwd: string;
  timeoutSec: number;
  /** Attempts after the first one. */
  retries: number;
  log: (line: string) => void;
  /** For messages: "openocd", or "flash_command". */
  runnerName: string;
  /** How to install the runner, for a missing one. */
  install?: string;
}

const TAIL_LINES = 15;

interface StepResult {
  ok: boolean;
  missing?: boolean;
  how?: string;
  tail: string;
}

function runStep(argv: string[], options: RunOptions): Promise<StepResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: options.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const lines: string[] = [];
    let partial = "";
    const collect = (text: string) => {
      const parts = (partial + text).split(/\r?\n/);
      partial = parts.pop() ?? "";
      for (const line of parts) {
        lines.push(line);
        if (lines.length > TAIL_LINES * 4) lines.splice(0, lines.length - TAIL_LINES);
      }
    };
    child.stdout!.setEncoding("utf8").on("data", collect);
    child.stderr!.setEncoding("utf8").on("data", collect);
    let timedOut = false;
    const kill = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // gone already
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill("SIGTERM");
      setTimeout(() => kill("SIGKILL"), 2000).unref();
    }, options.timeoutSec * 1000);
    child.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, missing: error.code === "ENOENT", how: error.message, tail: "" });
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (partial) lines.push(partial);
      const tail = lines
        .filter((l) => l.trim())
        .slice(-TAIL_LINES)
        .join("\n");
      if (code === 0 && !timedOut) return resolve({ ok: true, tail });
      const how = timedOut
        ? `did not finish within ${options.timeoutSec} s and was stopped`
        : signal
          ? `was killed by ${signal}`
          : `exited with status ${code}`;
      resolve({ ok: false, how, tail });
    });
  });
}

/** Runs the steps (every one must succeed), the whole sequence retried on failure. */
export async function runFlashSteps(steps: string[][], options: RunOptions): Promise<void> {
  const attempts = options.retries + 1;
  let last = "";
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let failed: { argv: string[]; result: StepResult } | undefined;
    for (const argv of steps) {
      options.log(`flash: ${argv.map(shellQuote).join(" ")}`);
      const result = await runStep(argv, options);
      if (result.missing) {
        throw new ServerError(
          `flash: ${argv[0]} was not found on PATH` +
            (options.install ? `; install it (${options.install})` : "") +
            `, or choose another runner with -o flash_runner=..., or give -o flash_command=...`,
        );
      }
      if (!result.ok) {
        failed = { argv, result };
        break;
      }
    }
    if (!failed) return;
    last =
      `${options.runnerName}: \`${failed.argv.map(shellQuote).join(" ")}\` ${failed.result.how}` +
      (failed.result.tail ? `. Its last lines:\n${failed.result.tail}` : " and printed nothing");
    if (attempt < attempts)
      options.log(`flash: attempt ${attempt} of ${attempts} failed (${failed.result.how}); retrying`);
  }
  throw new ServerError(`flash failed after ${attempts} attempt(s): ${last}`);
}
