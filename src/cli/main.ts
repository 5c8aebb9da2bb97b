/**
 * The `batch-corr` command line: dispatch, error reporting and exit codes.
 *
 * @module
 */

import { BatchCorrError } from "../core/errors.ts";
import { helpText, parseCommandLine } from "./command_line.ts";
import { type CliIo, processIo } from "./cli_io.ts";
import { EXIT, InputError, OutputError, UsageError } from "./errors.ts";
import { isClosedOutput } from "./output/output_sink.ts";
import { safeText } from "./output/safe_text.ts";
import { formatRowCounts, rowCountsOf } from "./row_counts.ts";
import { ServiceError } from "./service/service_error.ts";

/**
 * Runs the CLI and returns its exit code; errors are printed on `io.stderr`,
 * never thrown.
 *
 * @param argv The arguments after the script name.
 * @param io The streams (the process's by default).
 * @returns 0 clean, 3 an alert fired, 2 bad usage, bad input or an unwritable output, 1 internal
 *   error, 141 an output's reader went away (as a shell reports SIGPIPE; nothing is printed).
 *
 * @example Showing the help
 * ```ts
 * import { main } from "./main.ts";
 * import assert from "node:assert/strict";
 *
 * let text = "";
 * const io = { stdout: { write: (t: string) => { text += t; } }, stderr: { write: () => {} }, stdin: () => [], stderrIsTty: false };
 * assert.equal(await main(["--help"], io), 0);
 * assert.match(text, /monitor/);
 * ```
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.command === "help" || parsed.args.help) {
      await io.stdout.write(helpText(parsed.command === "help" ? parsed.topic : parsed.command));
      return EXIT.ok;
    }
    return await parsed.run(io);
  } catch (error) {
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: CliIo): number {
  // A reader that went away wants nothing more: no message, the status of a SIGPIPE.
  if (isClosedOutput(error)) return EXIT.closedOutput;
  try {
    const code = printError(error, io);
    const counts = rowCountsOf(error);
    if (counts !== undefined) {
      io.stderr.write(`batch-corr: stopped with ${formatRowCounts(counts)}\n`);
    }
    return code;
  } catch (failure) {
    if (isClosedOutput(failure)) return EXIT.closedOutput;
    throw failure;
  }
}

/**
 * A message for the terminal: whatever input text it quotes (a cell, a file
 * name, an option), its control and bidirectional characters are escaped,
 * line by line, by the one function the cells use.
 */
function terminalText(text: string): string {
  return text.split("\n").map((line) => safeText(line, MESSAGE_CHARACTERS)).join("\n");
}

/** The most characters of one message line shown (a stack line, a message quoting input). */
const MESSAGE_CHARACTERS = 4000;

/**
 * A scale-out server that cannot be reached, a missing client package, a worker name taken over,
 * or a committed state on the server that cannot be read (the aggregating monitor's input).
 */
const SCALE_OUT_CONDITIONS = new Set([
  "engine_unavailable",
  "peer_missing",
  "commit_refused",
  "invalid_snapshot",
  "invalid_envelope",
]);

function printError(error: unknown, io: CliIo): number {
  const message = terminalText(error instanceof Error ? error.message : String(error));
  if (error instanceof UsageError) {
    io.stderr.write(`batch-corr: ${message}\nRun 'batch-corr --help' for usage.\n`);
    return EXIT.usage;
  }
  if (error instanceof InputError || error instanceof OutputError || error instanceof SyntaxError) {
    io.stderr.write(`\nbatch-corr: ${message}\n`);
    return EXIT.usage;
  }
  // A --metrics port in use or a host that is not an address here: the flags, not a bug.
  if (error instanceof ServiceError) {
    io.stderr.write(`\nbatch-corr: ${error.message}\n`);
    return EXIT.usage;
  }
  // A provider that cannot run here, a package not installed, or a shape over --max-elements, is a
  // matter of the machine and the flags, not a bug.
  if (
    error instanceof BatchCorrError &&
    (error.code === "stream_batch_failed" || error.code === "provider_unavailable" ||
      error.code === "peer_missing" || error.code === "resource_limit" ||
      SCALE_OUT_CONDITIONS.has(error.code))
  ) {
    io.stderr.write(`\nbatch-corr: ${message}\n`);
    return EXIT.usage;
  }
  const stack = error instanceof Error ? error.stack ?? error.message : String(error);
  io.stderr.write(`\nbatch-corr: internal error: ${terminalText(stack)}\n`);
  return EXIT.internal;
}
