/**
 * The `batch-corr` command line: dispatch, error reporting and exit codes.
 *
 * @module
 */

import { BatchCorrError } from "../core/errors.ts";
import { helpText, parseCommandLine } from "./command_line.ts";
import { type CliIo, processIo } from "./cli_io.ts";
import { EXIT, InputError, UsageError } from "./errors.ts";
import { formatRowCounts, rowCountsOf } from "./row_counts.ts";

/**
 * Runs the CLI and returns its exit code; errors are printed on `io.stderr`,
 * never thrown.
 *
 * @param argv The arguments after the script name.
 * @param io The streams (the process's by default).
 * @returns 0 clean, 3 an alert fired, 2 bad usage or bad input, 1 internal error.
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
  const code = printError(error, io);
  const counts = rowCountsOf(error);
  if (counts !== undefined) {
    io.stderr.write(`batch-corr: stopped with ${formatRowCounts(counts)}\n`);
  }
  return code;
}

function printError(error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    io.stderr.write(`batch-corr: ${error.message}\nRun 'batch-corr --help' for usage.\n`);
    return EXIT.usage;
  }
  if (error instanceof InputError || error instanceof SyntaxError) {
    io.stderr.write(`\nbatch-corr: ${error.message}\n`);
    return EXIT.usage;
  }
  // A provider that cannot run here, a package not installed, or a shape over --max-elements, is a
  // matter of the machine and the flags, not a bug.
  if (
    error instanceof BatchCorrError &&
    (error.code === "stream_batch_failed" || error.code === "provider_unavailable" ||
      error.code === "peer_missing" || error.code === "resource_limit")
  ) {
    io.stderr.write(`\nbatch-corr: ${error.message}\n`);
    return EXIT.usage;
  }
  const stack = error instanceof Error ? error.stack ?? error.message : String(error);
  io.stderr.write(`\nbatch-corr: internal error: ${stack}\n`);
  return EXIT.internal;
}
