// Writing the --report page: the path is checked before any work starts, and the page is written
// whole (a temporary file renamed into place), so a failed run leaves no half page behind.
import { existsSync, renameSync, rmSync, statSync, writeFileSync, accessSync, constants } from "node:fs";
import { dirname, resolve } from "node:path";
import { CliError, ExitCode } from "../exit-codes.js";
import { fileErrorToCliError } from "../file-errors.js";

/** The absolute path of `--report FILE`, after checking that a page can be written there. */
export function checkReportPath(file: string): string {
  const path = resolve(file);
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new CliError(
      `--report ${path} is a directory; give a file name such as report.html`,
      ExitCode.badInput,
    );
  }
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new CliError(
      `--report ${path}: the directory ${dir} does not exist; create it first`,
      ExitCode.badInput,
    );
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new CliError(`--report ${path}: the directory ${dir} is not writable`, ExitCode.badInput);
  }
  return path;
}

export function writeReport(path: string, html: string): void {
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(temporary, html);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw fileErrorToCliError(error) ?? error;
  }
}
