// `microtvm flash <project-dir>`: put a built project onto its device through its server.
import type { Command } from "commander";
import { addProjectOptionFlag, addServerFlags, type ServerFlags } from "../options.js";
import { cancellable } from "../cancel.js";
import { printJson } from "../output.js";
import { builtInOptionsHelp } from "../project/describe.js";
import { projectCallError } from "../project/errors.js";
import { lockProject } from "../project/lock.js";
import { openGeneratedProject, type OpenedProject } from "../project/generated.js";
import { saveOptions } from "../../device/index.js";
import { Progress } from "../project/progress.js";

interface FlashFlags extends ServerFlags {
  projectOption?: string[];
  json?: boolean;
}

export function flashCommand(program: Command): void {
  const command = program
    .command("flash")
    .description("flash a built project onto its device (the host template has nothing to flash)")
    .argument("<project-dir>", "the generated project");
  addProjectOptionFlag(command, true);
  addServerFlags(command)
    .option("--json", "print one JSON document (schema microtvm.flash/2)")
    .addHelpText("after", () => builtInOptionsHelp(["flash"]))
    .action(async (dirArg: string, flags: FlashFlags) => {
      // Ctrl-C aborts the signal: the server, and what it started (the flasher), stop.
      await cancellable(async (signal) => {
        const progress = new Progress();
        let opened: OpenedProject | undefined;
        try {
          // The server says what flashing did (the host template: that there is nothing to do).
          await lockProject(dirArg, `flash ${dirArg}`);
          opened = await openGeneratedProject(dirArg, flags.projectOption, "flash", flags, progress, {
            showOutput: true,
            signal,
          });
          const { dir, project, given, options } = opened;
          await progress.step(`flashing ${dir}`, () => project.flash(options));
          saveOptions(dir, given);
          const platform = project.info().platformName;
          if (flags.json) {
            printJson("microtvm.flash/2", { project_dir: dir, platform_name: platform, options });
          } else {
            process.stdout.write(`flashed ${dir} (platform ${platform})\n`);
          }
        } catch (error) {
          throw projectCallError(error, "flash");
        } finally {
          await opened?.project.close();
        }
      });
    });
}
