import type { Command } from "commander";

/** A CLI command: adds itself to the program. One file per command in this folder. */
export type CommandModule = (program: Command) => void;

/** Every command, in the order `--help` lists them. */
export const commands: CommandModule[] = [];
