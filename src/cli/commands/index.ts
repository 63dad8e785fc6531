import type { Command } from "commander";
import { infoCommand } from "./info.js";
import { conformanceCommand } from "./conformance.js";
import { doctorCommand } from "./doctor.js";
import { devicesCommand } from "./devices.js";
import { templatesCommand } from "./templates.js";
import { createProjectCommand } from "./create-project.js";
import { buildCommand } from "./build.js";
import { flashCommand } from "./flash.js";
import { inspectCommand } from "./inspect.js";
import { packCommand } from "./pack.js";
import { inferenceCommands } from "./run.js";
import { profileCommand } from "./profile.js";
import { validateCommand } from "./validate.js";

/** A CLI command: adds itself to the program. One file per command in this folder. */
export type CommandModule = (program: Command) => void;

/** Every command, in the order `--help` lists them. */
export const commands: CommandModule[] = [
  infoCommand,
  conformanceCommand,
  templatesCommand,
  createProjectCommand,
  buildCommand,
  flashCommand,
  doctorCommand,
  devicesCommand,
  inspectCommand,
  packCommand,
  inferenceCommands,
  profileCommand,
  validateCommand,
];
