// The external tools the templates need, how to tell whether each one works, and which Debian
// packages provide it. `microtvm doctor` reports on them; other commands name them in hints.
import { spawnSync } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, isAbsolute, join } from "node:path";

export interface ToolSpec {
  /** The command looked up on PATH. */
  command: string;
  /** What the project uses it for. */
  purpose: string;
  /** Debian/Ubuntu packages that provide it (apt-get install ...). */
  debianPackages: string[];
  /** False for tools only some workflows need (a missing one is reported but is not a failure). */
  required: boolean;
  /** Arguments that print the version on the first line of stdout or stderr. */
  versionArgs: string[];
  /** How to install it when no Debian package provides it (shown instead of apt-get install). */
  install?: string;
  /** A deeper check once the command is found: returns a problem description, or undefined. */
  check?: (path: string) => string | undefined;
}

export interface ToolReport {
  command: string;
  purpose: string;
  found: boolean;
  /** Found and its check passed. */
  ok: boolean;
  required: boolean;
  path: string | null;
  version: string | null;
  problem: string | null;
  debianPackages: string[];
  install: string;
}

const CHECK_TIMEOUT_MS = 20_000;

/** Compiles and links a tiny program: catches a compiler without C library headers (libc6-dev). */
function checkCCompiles(path: string): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), "microtvm-doctor-"));
  try {
    const r = spawnSync(path, ["-x", "c", "-", "-o", join(dir, "probe")], {
      input: "#include <stdio.h>\n#include <math.h>\nint main(void) { return (int)sqrt(0.0); }\n",
      encoding: "utf8",
      timeout: CHECK_TIMEOUT_MS,
    });
    if (r.error) return `could not run it: ${r.error.message}`;
    if (r.status !== 0) {
      const first = (r.stderr || r.stdout).trim().split("\n")[0] ?? "";
      return `cannot compile a C program (${first}); the C library headers are probably missing`;
    }
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The generated Makefiles need GNU make. */
function checkGnuMake(path: string): string | undefined {
  const r = spawnSync(path, ["--version"], { encoding: "utf8", timeout: CHECK_TIMEOUT_MS });
  if (!/GNU Make/.test(r.stdout ?? "")) return "not GNU make (the generated Makefiles need GNU make)";
  return undefined;
}

/** Generated projects run their server with the `node` found on PATH: it must be Node 20 or later. */
function checkNodeVersion(path: string): string | undefined {
  const r = spawnSync(path, ["--version"], { encoding: "utf8", timeout: CHECK_TIMEOUT_MS });
  const major = Number(/^v(\d+)\./.exec((r.stdout ?? "").trim())?.[1]);
  if (!Number.isFinite(major)) return "cannot tell its version";
  if (major < 20) return `version ${r.stdout.trim()} is too old; Node 20 or later is needed`;
  return undefined;
}

/** Without newlib the cross compiler cannot link a firmware image. */
function checkNewlib(path: string): string | undefined {
  const r = spawnSync(path, ["-print-file-name=libc.a"], { encoding: "utf8", timeout: CHECK_TIMEOUT_MS });
  const file = (r.stdout ?? "").trim();
  if (!isAbsolute(file)) return "its C library (newlib) is missing";
  return undefined;
}

export const TOOLS: readonly ToolSpec[] = [
  {
    command: "cc",
    purpose: "C compiler for the host template's firmware",
    debianPackages: ["gcc", "libc6-dev"],
    required: true,
    versionArgs: ["--version"],
    check: checkCCompiles,
  },
  {
    command: "make",
    purpose: "runs the generated projects' Makefiles",
    debianPackages: ["make"],
    required: true,
    versionArgs: ["--version"],
    check: checkGnuMake,
  },
  {
    command: "node",
    purpose: "runs the Project API server of every generated project (launch script)",
    debianPackages: ["nodejs"],
    required: true,
    versionArgs: ["--version"],
    check: checkNodeVersion,
  },
  {
    command: "python3",
    purpose: "TVM's Python client and Python template servers (optional)",
    debianPackages: ["python3"],
    required: false,
    versionArgs: ["--version"],
  },
  {
    command: "arm-none-eabi-gcc",
    purpose: "cross compiler for the qemu-cortex-m template",
    debianPackages: ["gcc-arm-none-eabi", "libnewlib-arm-none-eabi"],
    required: true,
    versionArgs: ["--version"],
    check: checkNewlib,
  },
  {
    command: "qemu-system-arm",
    purpose: "emulates the Cortex-M board of the qemu-cortex-m template",
    debianPackages: ["qemu-system-arm"],
    required: true,
    versionArgs: ["--version"],
  },
  // The cortex-m template's flash runners: each board needs one of them (optional here: QEMU
  // twins and users with their own flash_command need none).
  {
    command: "openocd",
    purpose: "flash runner for real boards (cortex-m: nucleo boards; optional)",
    debianPackages: ["openocd"],
    required: false,
    versionArgs: ["--version"],
  },
  {
    command: "st-flash",
    purpose: "flash runner for ST-LINK boards (cortex-m: nucleo boards; optional)",
    debianPackages: ["stlink-tools"],
    required: false,
    versionArgs: ["--version"],
  },
  {
    command: "pyocd",
    purpose: "flash runner for CMSIS-DAP, ST-LINK and J-Link probes (cortex-m; optional)",
    debianPackages: [],
    install: "pipx install pyocd",
    required: false,
    versionArgs: ["--version"],
  },
  {
    command: "probe-rs",
    purpose: "flash runner for most probes (cortex-m; optional)",
    debianPackages: [],
    install: "cargo install probe-rs-tools --locked",
    required: false,
    versionArgs: ["--version"],
  },
  {
    command: "nrfjprog",
    purpose: "flash runner for Nordic boards with J-Link (cortex-m: nrf52840dk; optional)",
    debianPackages: [],
    install: "Nordic's nRF Command Line Tools and SEGGER J-Link software",
    required: false,
    versionArgs: ["--version"],
  },
];

/** The tools each built-in template needs to generate, build and run a project. */
export const TEMPLATE_TOOLS: Readonly<Record<string, readonly string[]>> = {
  host: ["cc", "make", "node"],
  "qemu-cortex-m": ["arm-none-eabi-gcc", "qemu-system-arm", "make", "node"],
  // QEMU for the twin boards (netduinoplus2); real boards need only the cross compiler.
  "cortex-m": ["arm-none-eabi-gcc", "qemu-system-arm", "make", "node"],
};

/** The command line that installs `packages` on Debian or Ubuntu. */
export function aptInstall(packages: readonly string[]): string {
  return `apt-get install ${packages.join(" ")}`;
}

/** The first executable named `command` on PATH, or undefined. */
export function findOnPath(command: string, path = process.env.PATH ?? ""): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Looks a tool up, reads its version and runs its check. */
export function inspectTool(spec: ToolSpec): ToolReport {
  const base = {
    command: spec.command,
    purpose: spec.purpose,
    required: spec.required,
    debianPackages: spec.debianPackages,
    install: spec.install ?? aptInstall(spec.debianPackages),
  };
  const path = findOnPath(spec.command);
  if (!path) {
    return { ...base, found: false, ok: false, path: null, version: null, problem: "not found on PATH" };
  }
  const r = spawnSync(path, spec.versionArgs, { encoding: "utf8", timeout: CHECK_TIMEOUT_MS });
  const version = `${r.stdout ?? ""}\n${r.stderr ?? ""}`.trim().split("\n")[0]?.trim() || null;
  const problem = r.error ? `cannot run it: ${r.error.message}` : (spec.check?.(path) ?? null);
  return { ...base, found: true, ok: problem === null, path, version, problem };
}
