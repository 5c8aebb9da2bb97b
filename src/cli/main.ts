/**
 * The `batch-corr` command line: dispatch, error reporting and exit codes.
 *
 * @module
 */

import { createWriteStream, writeFileSync } from "node:fs";
import { BatchCorrError } from "../errors.ts";
import { exportBatchCorrOnnx, ONNX_IO, ONNX_IR_VERSION, ONNX_OPSET } from "../onnx/export.ts";
import { type ExportOnnxArgs, type GenerateArgs, HELP, parseCommandLine } from "./args.ts";
import { EXIT, InputError, UsageError } from "./errors.ts";
import { formatRowCounts, rowCountsOf } from "./row_counts.ts";
import { type CliIo, processIo } from "./cli_io.ts";
import { drainingSink, type OutputSink } from "./output/output_sink.ts";
import { runMonitor } from "./commands/monitor.ts";
import { driftDataLines } from "./input/drift_data.ts";

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

/** One line describing an exported model, for stderr. */
function exportSummary(args: ExportOnnxArgs, bytes: number, where: string): string {
  const { features: F, confounds: M } = args;
  return `wrote the batchCorr ONNX model (${bytes} bytes) to ${where}: inputs ${ONNX_IO.x} float32 (batch, ${F}), ` +
    `${ONNX_IO.n} float32 (${M}, batch), ${ONNX_IO.tol} float32 scalar; outputs ${ONNX_IO.raw}, ${ONNX_IO.thresholded} (${F}, ${M}), ` +
    `${ONNX_IO.meanX}, ${ONNX_IO.meanN}, ${ONNX_IO.m2X}, ${ONNX_IO.m2N}, ${ONNX_IO.comoment}; abs ${args.abs}, zero variance ${args.zeroVariance}; ` +
    `opset ${ONNX_OPSET}, IR version ${ONNX_IR_VERSION}\n`;
}

async function runExportOnnx(args: ExportOnnxArgs, io: CliIo): Promise<number> {
  const toStdout = args.output === undefined || args.output === "-";
  // Checked before exporting: a terminal would show garbage and could misread control bytes.
  if (toStdout && io.stdoutIsTty === true) {
    throw new UsageError(
      "Cannot run export-onnx as its binary output must go to a file (--output graph.onnx) or a pipe: current standard output is a terminal",
    );
  }
  if (toStdout && io.stdoutBytes === undefined) {
    throw new UsageError("Cannot run export-onnx as standard output must accept binary data here: current one takes text only (use --output)");
  }
  const model = exportBatchCorrOnnx({
    features: args.features,
    confounds: args.confounds,
    abs: args.abs,
    zeroVariance: args.zeroVariance,
  });
  if (toStdout) {
    await io.stdoutBytes!(model);
  } else {
    writeFileSync(args.output!, model);
  }
  io.stderr.write(exportSummary(args, model.byteLength, toStdout ? "standard output" : args.output!));
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
        return await runExportOnnx(parsed, io);
    }
  } catch (error) {
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: CliIo): number {
  const code = printError(error, io);
  const counts = rowCountsOf(error);
  if (counts !== undefined) io.stderr.write(`batch-corr: stopped with ${formatRowCounts(counts)}\n`);
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
  // A provider that cannot run here, or a shape over --max-elements, is a matter of the machine and the flags, not a bug.
  if (error instanceof BatchCorrError && (error.code === "stream_batch_failed" || error.code === "provider_unavailable" || error.code === "resource_limit")) {
    io.stderr.write(`\nbatch-corr: ${error.message}\n`);
    return EXIT.usage;
  }
  const stack = error instanceof Error ? error.stack ?? error.message : String(error);
  io.stderr.write(`\nbatch-corr: internal error: ${stack}\n`);
  return EXIT.internal;
}
