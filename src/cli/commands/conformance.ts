import type { Command } from "commander";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { ConformanceRunner, type CheckResult } from "../../conformance/index.js";
import { cancellable } from "../cancel.js";
import { CliError, ExitCode } from "../exit-codes.js";
import {
  addProjectOptionFlag,
  addServerFlags,
  cliErrorFrom,
  launchOptionsFrom,
  parseProjectOptions,
  type ServerFlags,
} from "../options.js";
import { printJson } from "../output.js";
import { checkModelArchive } from "../project/archive.js";
import { serverDirArgument } from "../project/templates.js";

interface Flags extends ServerFlags {
  mlf?: string;
  json?: boolean;
  projectOption?: string[];
}

/** `microtvm conformance <template-dir>`: drives any Project API server through the protocol (src/conformance). */
export function conformanceCommand(program: Command): void {
  const command = program
    .command("conformance")
    .description(
      "check a Project API server against the protocol: the project lifecycle (info, generate, build, flash, " +
        "transport) and the reference's answers to malformed requests; prints PASS/FAIL per check",
    )
    .argument(
      "<template-dir>",
      "a template project directory, or a built-in template's name (its server must report is_template: true)",
    )
    .option(
      "--mlf <file>",
      "Model Library Format archive to generate with (default: the package's example model, examples/sine-model/sine.tar)",
    );
  addServerFlags(addProjectOptionFlag(command))
    .option(
      "--json",
      "print the PASS/FAIL lines on stderr and one JSON document (schema microtvm.conformance/1) on stdout",
    )
    .action(async (templateArg: string, flags: Flags) => {
      const templateDir = serverDirArgument(templateArg);
      // Bad inputs end the command before the first check is printed.
      if (!existsSync(templateDir))
        throw new CliError(`template directory ${templateDir} does not exist`, ExitCode.badInput);
      if (flags.mlf) await checkModelArchive(resolve(flags.mlf));
      // With --json the lines go to stderr, keeping stdout for the one document.
      const out = flags.json ? process.stderr : process.stdout;
      // Ctrl-C aborts the signal: every server started so far stops, the temporary directories go.
      const report = await cancellable(async (signal) => {
        const runner = new ConformanceRunner(templateDir, {
          launch: { ...launchOptionsFrom(flags), signal },
          mlf: flags.mlf,
          projectOptions: (declared) => parseProjectOptions(flags.projectOption, declared as never),
          onResult: (result) => out.write(`${resultLine(result)}\n`),
        });
        // A reader that goes away (`| head`) ends the process from the EPIPE handler: the
        // temporary directories still go.
        const cleanUpOnExit = () => runner.killAndCleanUp();
        process.on("exit", cleanUpOnExit);
        try {
          return await runner.run();
        } catch (error) {
          throw cliErrorFrom(error, "template");
        } finally {
          process.removeListener("exit", cleanUpOnExit);
        }
      });
      if (flags.json) {
        printJson("microtvm.conformance/1", {
          template_dir: report.templateDir,
          passed: report.passed,
          failed: report.failed,
          skipped: report.skipped,
          checks: report.checks,
        });
      } else {
        process.stdout.write(`${report.passed} passed, ${report.failed} failed\n`);
      }
      if (report.failed > 0) process.exitCode = ExitCode.failed;
    });
}

function resultLine(result: CheckResult): string {
  if (result.status === "pass") return `PASS ${result.name}`;
  return `${result.status === "fail" ? "FAIL" : "SKIP"} ${result.name}: ${result.message ?? ""}`;
}
