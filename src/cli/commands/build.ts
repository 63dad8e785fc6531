// `microtvm build <project-dir>`: build a generated project through its Project API server.
import type { Command } from "commander";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { addProjectOptionFlag, addServerFlags, type ServerFlags } from "../options.js";
import { cancellable } from "../cancel.js";
import { printJson, roundSeconds } from "../output.js";
import { builtInOptionsHelp } from "../project/describe.js";
import { projectCallError } from "../project/errors.js";
import { lockProject } from "../project/lock.js";
import { openGeneratedProject, type OpenedProject } from "../project/generated.js";
import { buildProject, saveOptions } from "../../device/index.js";
import { Progress } from "../project/progress.js";
import { footprintJson, formatFootprint, readProjectFootprint } from "../project/footprint.js";
import { renderReport } from "../report/html.js";
import { checkReportPath, writeReport } from "../report/file.js";

interface BuildFlags extends ServerFlags {
  projectOption?: string[];
  force?: boolean;
  json?: boolean;
  report?: string;
}

export function buildCommand(program: Command): void {
  const command = program
    .command("build")
    .description("build a generated project (options given once are saved in the project for later builds)")
    .argument("<project-dir>", "the generated project")
    .option("-f, --force", "delete the project's build/ directory first (a clean build)");
  addProjectOptionFlag(command, true);
  addServerFlags(command)
    .option("--json", "print one JSON document (schema microtvm.build/2)")
    .option("--report <file.html>", "also write the memory breakdown as a self-contained HTML page")
    .addHelpText("after", () => builtInOptionsHelp(["build"]))
    .action(async (dirArg: string, flags: BuildFlags) => {
      // Ctrl-C aborts the signal: the server, and what it started (make, the compiler), stop.
      await cancellable(async (signal) => {
        const progress = new Progress();
        const started = Date.now();
        let opened: OpenedProject | undefined;
        try {
          const reportPath = flags.report === undefined ? undefined : checkReportPath(flags.report);
          await lockProject(dirArg, `build ${dirArg}`);
          opened = await openGeneratedProject(dirArg, flags.projectOption, "build", flags, progress, {
            signal,
          });
          const { dir, project, given, options } = opened;
          if (flags.force) rmSync(join(dir, "build"), { recursive: true, force: true });
          // The build stamp is written here for templates whose server does not write it.
          await progress.step(`building ${dir}`, () => buildProject(project, options));
          saveOptions(dir, given);
          // Templates that are not ours record no firmware: no footprint then.
          const footprint = await readProjectFootprint(dir);
          if (reportPath) {
            writeReport(
              reportPath,
              renderReport({
                title: `Build footprint: ${dir}`,
                facts: [
                  ["project", dir],
                  ["target", footprint?.target ?? "unknown"],
                  ["built", new Date().toISOString()],
                  ...(footprint
                    ? []
                    : ([
                        ["footprint", "unavailable: the project's template does not record its firmware"],
                      ] as const)),
                ],
                ...(footprint ? { footprint } : {}),
              }),
            );
          }
          if (flags.json) {
            printJson("microtvm.build/2", {
              project_dir: dir,
              options,
              clean: flags.force === true,
              duration_s: roundSeconds((Date.now() - started) / 1000),
              footprint: footprint ? footprintJson(footprint) : null,
              ...(reportPath ? { report: reportPath } : {}),
            });
          } else {
            process.stdout.write(`built ${dir}\n`);
            process.stdout.write(
              footprint
                ? `${formatFootprint(footprint)}\n`
                : "footprint: unavailable (the project's template does not record its firmware)\n",
            );
            if (reportPath) process.stdout.write(`wrote ${reportPath}\n`);
          }
        } catch (error) {
          throw projectCallError(error, "build");
        } finally {
          await opened?.project.close();
        }
      });
    });
}
