// Where the package's own directories are, from src/ (tests, tsx) and from dist/ (installed).
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root: src/device/ and dist/device/ both sit two levels below it. */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The built-in templates, one directory each. */
export const builtInTemplatesDir = join(packageRoot, "templates");

/** The package's device runtime (C sources and headers the templates copy into projects). */
export const runtimeDir = join(packageRoot, "runtime");
