// The list of commands, cheap to load: names, usage lines and summaries for the top-level help,
// and for each command a loader that imports its module only when that command runs. `microtvm
// --version` and `microtvm --help` are answered from here without loading commander or any
// command (start-up is measured by `npm run bench:cli`).
import type { Command } from "commander";

/** A CLI command: adds itself to the program. One file per command in commands/. */
export type CommandModule = (program: Command) => void;

export interface CommandEntry {
  name: string;
  aliases: readonly string[];
  /** The arguments part of the usage line, as commander prints it for the command. */
  usage: string;
  /** One line for the command list of `microtvm --help` (the command's own help has the full text). */
  summary: string;
  load: () => Promise<CommandModule>;
}

export const PROGRAM_DESCRIPTION =
  "The microTVM Project API toolkit: drive project servers, inspect models, build and run them.";

/** Every command, in the order `--help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "info",
    aliases: [],
    usage: "[options] <dir>",
    summary: "show what a Project API server says about itself",
    load: async () => (await import("./commands/info.js")).infoCommand,
  },
  {
    name: "conformance",
    aliases: [],
    usage: "[options] <template-dir>",
    summary: "check a Project API server against the protocol",
    load: async () => (await import("./commands/conformance.js")).conformanceCommand,
  },
  {
    name: "templates",
    aliases: [],
    usage: "[options]",
    summary: "list the built-in templates and their options",
    load: async () => (await import("./commands/templates.js")).templatesCommand,
  },
  {
    name: "create-project",
    aliases: ["create"],
    usage: "[options] <project-dir> <mlf>",
    summary: "generate a project from a model archive",
    load: async () => (await import("./commands/create-project.js")).createProjectCommand,
  },
  {
    name: "build",
    aliases: [],
    usage: "[options] <project-dir>",
    summary: "build a generated project",
    load: async () => (await import("./commands/build.js")).buildCommand,
  },
  {
    name: "flash",
    aliases: [],
    usage: "[options] <project-dir>",
    summary: "flash a built project onto its device",
    load: async () => (await import("./commands/flash.js")).flashCommand,
  },
  {
    name: "doctor",
    aliases: [],
    usage: "[options]",
    summary: "check the tools the templates need",
    load: async () => (await import("./commands/doctor.js")).doctorCommand,
  },
  {
    name: "devices",
    aliases: [],
    usage: "[options]",
    summary: "list serial ports and the boards they belong to",
    load: async () => (await import("./commands/devices.js")).devicesCommand,
  },
  {
    name: "inspect",
    aliases: [],
    usage: "[options] <archive>",
    summary: "validate and describe a model archive",
    load: async () => (await import("./commands/inspect.js")).inspectCommand,
  },
  {
    name: "pack",
    aliases: [],
    usage: "[options]",
    summary: "write a model archive from C sources",
    load: async () => (await import("./commands/pack.js")).packCommand,
  },
  {
    name: "run",
    aliases: [],
    usage: "[options] <project-or-archive>",
    summary: "run a model on a device: outputs and timing",
    load: async () => (await import("./commands/run.js")).runCommand,
  },
  {
    name: "monitor",
    aliases: [],
    usage: "[options] <project-dir>",
    summary: "show a device's log lines",
    load: async () => (await import("./commands/monitor.js")).monitorCommand,
  },
  {
    name: "profile",
    aliases: [],
    usage: "[options] <project-or-archive>",
    summary: "time each operator of a model on the device",
    load: async () => (await import("./commands/profile.js")).profileCommand,
  },
  {
    name: "validate",
    aliases: [],
    usage: "[options] <project-or-archive>",
    summary: "compare outputs with a reference: error metrics",
    load: async () => (await import("./commands/validate.js")).validateCommand,
  },
];

/** The command named (or aliased) `name`, if any. */
export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases.includes(name));
}

/** `microtvm --help`, laid out as commander lays out a command's help. */
export function topLevelHelp(): string {
  const options: [string, string][] = [
    ["-V, --version", "print the version and exit"],
    ["-h, --help", "display help for command"],
  ];
  const commands: [string, string][] = [
    ...COMMANDS.map((c): [string, string] => [[c.name, ...c.aliases].join("|") + ` ${c.usage}`, c.summary]),
    ["help [command]", "display help for command"],
  ];
  const width = Math.max(...[...options, ...commands].map(([term]) => term.length));
  const rows = (list: [string, string][]) => list.map(([term, text]) => `  ${term.padEnd(width)}  ${text}`);
  return [
    "Usage: microtvm [options] [command]",
    "",
    PROGRAM_DESCRIPTION,
    "",
    "Options:",
    ...rows(options),
    "",
    "Commands:",
    ...rows(commands),
    "",
  ].join("\n");
}
