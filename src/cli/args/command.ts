/**
 * What a CLI command is: its help (usage, description, flag table, exit
 * codes), how it turns its arguments into checked options, and how it runs.
 *
 * @module
 */

import type { CliIo } from "../cli_io.ts";
import type { CommandHelp } from "./help_text.ts";

/** A command of the CLI. */
export interface Command<Args extends { help: boolean }> extends CommandHelp {
  /** The command's name on the command line. */
  readonly name: string;
  /**
   * Checks the arguments after the command name.
   *
   * @throws {UsageError} When they cannot be run.
   */
  parse(args: readonly string[]): Args;
  /** Runs the command, resolving to its exit code. */
  run(args: Args, io: CliIo): Promise<number>;
}
