// The `serialport` npm package (v13), which the server uses for device paths (/dev/ttyACM0, COM3):
// loaded only when a device path is opened, and copied into every generated project with the
// packages it needs (and its prebuilt native binding), so a project works with Node alone.
import { cpSync, existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, sep } from "node:path";
import { ServerError } from "microtvm/protocol";

export const SERIAL_PACKAGE = "serialport";
export const SERIAL_PACKAGE_RANGE = "13";

/** Where `name` resolves from `fromDir` as Node would look for it: the nearest node_modules/<name>. */
function findPackageDir(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Copies serialport and every package it depends on (transitively) from where Node finds them for
 * the template into `projectDir/node_modules`, keeping nested node_modules where they were.
 * Returns how many packages were copied, or undefined when serialport is not installed.
 */
export function copySerialPortPackages(templateDir: string, projectDir: string): number | undefined {
  const root = findPackageDir(SERIAL_PACKAGE, templateDir);
  if (root === undefined) return undefined;
  const modulesRoot = dirname(root);
  const seen = new Set<string>();
  const visit = (dir: string, name: string) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    // Nested under the root's node_modules: same place in the project; hoisted higher: top level.
    const rel = relative(modulesRoot, dir);
    const target = rel.startsWith("..")
      ? join(projectDir, "node_modules", name)
      : join(projectDir, "node_modules", rel);
    cpSync(dir, target, { recursive: true, dereference: true });
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
    };
    for (const dep of Object.keys(manifest.dependencies ?? {})) {
      const found = findPackageDir(dep, dir);
      if (found === undefined) {
        throw new ServerError(
          `cannot copy the serial port library: ${dep} (needed by ${name}) is not installed beside ${dir.split(sep).slice(-2).join("/")}; run npm install in the microtvm package`,
        );
      }
      visit(found, dep);
    }
  };
  visit(root, SERIAL_PACKAGE);
  return seen.size;
}

/** The part of serialport's API the serial transport uses. */
export interface SerialPortLike {
  readonly isOpen: boolean;
  open(callback: (error: Error | null) => void): void;
  write(data: Buffer, callback?: (error: Error | null | undefined) => void): boolean;
  drain(callback: (error: Error | null) => void): void;
  flush(callback: (error: Error | null) => void): void;
  close(callback?: (error: Error | null) => void): void;
  on(event: "data", listener: (chunk: Buffer) => void): this;
  on(event: "close", listener: (error?: Error | null) => void): this;
  on(event: "error", listener: (error: Error) => void): this;
}
export type SerialPortConstructor = new (options: {
  path: string;
  baudRate: number;
  autoOpen: false;
  dataBits: 8;
  parity: "none";
  stopBits: 1;
  rtscts: false;
}) => SerialPortLike;

/** Loads serialport as Node finds it from `serverDir` (a project's node_modules, or the package's). */
export function loadSerialPort(serverDir: string): SerialPortConstructor {
  const require = createRequire(join(serverDir, "microtvm_api_server.js"));
  try {
    return (require(SERIAL_PACKAGE) as { SerialPort: SerialPortConstructor }).SerialPort;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "MODULE_NOT_FOUND"
        ? "it is not installed"
        : `it failed to load (${(error as Error).message.split("\n")[0]})`;
    throw new ServerError(
      `device paths need the ${SERIAL_PACKAGE} npm package (v${SERIAL_PACKAGE_RANGE}), but ${why}: run ` +
        `\`npm install ${SERIAL_PACKAGE}@${SERIAL_PACKAGE_RANGE}\` in ${serverDir}, or generate the project again ` +
        "from a microtvm install that has it; socket:// and rfc2217:// ports work without it",
    );
  }
}
