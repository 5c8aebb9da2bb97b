/**
 * The command line of `batch-corr`: which command runs, with which checked
 * options, and the help texts derived from the commands' flag tables.
 *
 * @module
 */

import { ruleMessage } from "../core/errors.ts";
import type { Command } from "./args/command.ts";
import { commandHelp, programHelp } from "./args/help_text.ts";
import type { CliIo } from "./cli_io.ts";
import { EXPORT_ONNX } from "./commands/export_onnx.ts";
import { GENERATE } from "./commands/generate.ts";
import { MONITOR } from "./commands/monitor.ts";
import { PUBLISH } from "./commands/publish.ts";
import { WORKER } from "./commands/worker.ts";
import { UsageError } from "./errors.ts";

/** The commands, in help order. */
export const COMMANDS = {
  monitor: MONITOR,
  generate: GENERATE,
  "export-onnx": EXPORT_ONNX,
  publish: PUBLISH,
  worker: WORKER,
} as const;

/** The name of a command. */
export type CommandName = keyof typeof COMMANDS;

/** A command with its checked options, ready to run. */
export interface Invocation<Args extends { help: boolean } = { help: boolean }> {
  /** The command. */
  command: CommandName;
  /** Its options. */
  args: Args;
  /** Runs it, resolving to the exit code. */
  run(io: CliIo): Promise<number>;
}

/** A parsed command line: a help request, or a command to run. */
export type ParsedCommandLine = { command: "help"; topic: CommandName | undefined } | Invocation;

const TITLE = "batch-corr: watch confound correlation drift in streamed tabular data";
const EXIT_CODES =
  "Exit codes: 0 clean, 3 an alert fired, 2 bad usage, bad input or an unwritable output, 1 internal error, 141 an output closed early (as after SIGPIPE).";

function isCommand(value: string): value is CommandName {
  return Object.hasOwn(COMMANDS, value);
}

function invoke<Args extends { help: boolean }>(
  command: Command<Args>,
  name: CommandName,
  rest: readonly string[],
) {
  const args = command.parse(rest);
  return { command: name, args, run: (io: CliIo) => command.run(args, io) };
}

/**
 * Parses a command line (without the runtime and script) into a help request
 * or a command with validated options.
 *
 * @param argv The arguments, e.g. `["monitor", "data.csv", "--confounds", "age"]`.
 * @returns The command and its options with defaults applied.
 * @throws {UsageError} For an unknown command or option, a missing value, or an invalid value.
 *
 * @example Parsing a monitor command
 * ```ts
 * import { parseCommandLine } from "./command_line.ts";
 * import assert from "node:assert/strict";
 *
 * const parsed = parseCommandLine(["monitor", "data.csv", "--confounds", "age", "--window", "5"]);
 * assert.equal(parsed.command, "monitor");
 * ```
 */
export function parseCommandLine(argv: readonly string[]): ParsedCommandLine {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    const topic = rest[0];
    if (topic === undefined || isCommand(topic)) return { command: "help", topic };
    throw new UsageError(
      ruleMessage(
        "show help",
        "the topic",
        "monitor, generate, export-onnx, publish or worker",
        topic,
      ),
    );
  }
  switch (name) {
    case "monitor":
      return invoke(COMMANDS.monitor, name, rest);
    case "generate":
      return invoke(COMMANDS.generate, name, rest);
    case "export-onnx":
      return invoke(COMMANDS["export-onnx"], name, rest);
    case "publish":
      return invoke(COMMANDS.publish, name, rest);
    case "worker":
      return invoke(COMMANDS.worker, name, rest);
    default:
      throw new UsageError(
        ruleMessage(
          "run batch-corr",
          "the command",
          "monitor, generate, export-onnx, publish or worker (see --help)",
          name,
        ),
      );
  }
}

/**
 * The help of a command, or of the program.
 *
 * @param topic The command, or undefined for the program.
 * @returns The text, ending with a newline.
 *
 * @example
 * ```ts
 * import { helpText } from "./command_line.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(helpText("generate"), /--seed s +seed of the generator \(default 1\)/);
 * ```
 */
export function helpText(topic: CommandName | undefined): string {
  if (topic === undefined) return programHelp(TITLE, Object.values(COMMANDS), EXIT_CODES);
  return commandHelp(COMMANDS[topic]);
}
