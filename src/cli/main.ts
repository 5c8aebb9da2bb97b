/**
 * The `batch-corr` command line: dispatch, error reporting and exit codes.
 *
 * @module
 */

import { createWriteStream } from "node:fs";
import process from "node:process";
import { BatchCorrError } from "../errors.ts";
import { HELP, parseCommandLine, type GenerateArgs } from "./args.ts";
import { EXIT, InputError, UsageError } from "./errors.ts";
import { type CliIo, drainingSink, type OutputSink } from "./io.ts";
import { runMonitor } from "./monitor.ts";
import { driftDataLines } from "./synthetic.ts";

async function runGenerate(args: GenerateArgs, io: CliIo): Promise<number> {
  let sink: OutputSink = io.stdout;
  let file: ReturnType<typeof createWriteStream> | undefined;
  if (args.output !== undefined) {
    file = createWriteStream(args.output);
    sink = drainingSink(file);
  }
  let pending = "";
  for (const line of driftDataLines(args, args.format)) {
    pending += line;
    if (pending.length >= 1 << 16) {
      await sink.write(pending);
      pending = "";
    }
  }
  if (pending.length > 0) await sink.write(pending);
  if (file) {
    await new Promise<void>((resolve, reject) => file!.end((error?: Error | null) => (error ? reject(error) : resolve())));
    io.stderr.write(
      `wrote ${args.batches * args.batchSize} rows (${args.batches} batches of ${args.batchSize}, drift from batch ${args.driftBatch}) to ${args.output}\n`,
    );
  }
  return EXIT.ok;
}

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
    if (parsed.command === "help") {
      await io.stdout.write(HELP[parsed.topic ?? "main"]);
      return EXIT.ok;
    }
    if (parsed.help) {
      await io.stdout.write(HELP[parsed.command]);
      return EXIT.ok;
    }
    switch (parsed.command) {
      case "monitor":
        return await runMonitor(parsed, io);
      case "generate":
        return await runGenerate(parsed, io);
      case "export-onnx":
        throw new UsageError(
          "Cannot run export-onnx as the ONNX graph export must be part of the build: current build has none (the ONNX issue has not landed)",
        );
    }
  } catch (error) {
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    io.stderr.write(`batch-corr: ${error.message}\nRun 'batch-corr --help' for usage.\n`);
    return EXIT.usage;
  }
  if (error instanceof InputError || error instanceof SyntaxError) {
    io.stderr.write(`\nbatch-corr: ${error.message}\n`);
    return EXIT.usage;
  }
  if (error instanceof BatchCorrError && error.code === "stream_batch_failed") {
    io.stderr.write(`\nbatch-corr: ${error.message}\n`);
    return EXIT.usage;
  }
  const stack = error instanceof Error ? error.stack ?? error.message : String(error);
  io.stderr.write(`\nbatch-corr: internal error: ${stack}\n`);
  return EXIT.internal;
}

/** The process's own streams. */
export function processIo(): CliIo {
  return {
    stdout: drainingSink(process.stdout),
    stderr: process.stderr,
    stdin: () => process.stdin as unknown as AsyncIterable<Uint8Array>,
    stderrIsTty: process.stderr.isTTY === true,
  };
}
