// Checking a model archive before a server sees it: a bad archive is the user's input to fix
// (exit 3, the reader's own one-line reason), not a server failure with a traceback.
import { statSync } from "node:fs";
import { MlfError, openMlf } from "../../mlf/index.js";
import { CliError, ExitCode } from "../exit-codes.js";

/** Throws a CliError (exit 3) unless `path` is a readable, valid Model Library Format archive file. */
export async function checkModelArchive(path: string): Promise<void> {
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new CliError(`model archive ${path} does not exist`, ExitCode.badInput);
  }
  if (!isFile) {
    throw new CliError(
      `model archive ${path} is not a file; give a Model Library Format archive (.tar or .tar.gz)`,
      ExitCode.badInput,
    );
  }
  try {
    await openMlf(path);
  } catch (error) {
    if (!(error instanceof MlfError)) throw error;
    const reason = error.message.startsWith(path)
      ? error.message.slice(path.length).replace(/^[:\s]+/, "")
      : error.message;
    throw new CliError(
      `model archive ${path} cannot be used: ${reason}; give a Model Library Format archive ` +
        "(TVM's export_model_library_format, or microtvm pack)",
      ExitCode.badInput,
      { cause: error },
    );
  }
}
