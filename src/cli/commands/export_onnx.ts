/**
 * The `export-onnx` command: the one-batch correlation graph
 * (`exportBatchCorrOnnx`) as an ONNX model, to a file or a binary pipe.
 *
 * @module
 */

import { ruleMessage } from "../../core/errors.ts";
import {
  exportBatchCorrOnnx,
  ONNX_IO,
  ONNX_IR_VERSION,
  ONNX_OPSET,
} from "../../onnx/export_batch_corr_onnx.ts";
import type { Command } from "../args/command.ts";
import { booleanFlag, choiceFlag, type FlagValues, HELP_FLAG, valueFlag } from "../args/flag.ts";
import { positiveInteger, text } from "../args/flag_schemas.ts";
import { checkFlags, readFlags, withDefaults } from "../args/parse_flags.ts";
import type { CliIo } from "../cli_io.ts";
import { binaryStdout } from "./_binary_stdout.ts";
import { EXIT, UsageError } from "../errors.ts";
import { writeOutputFile } from "../output/output_file.ts";
import { safeText } from "../output/safe_text.ts";

/** The flags of `export-onnx`. */
export const EXPORT_ONNX_FLAGS = {
  help: HELP_FLAG,
  output: valueFlag(text(), {
    short: "o",
    placeholder: "file.onnx",
    defaultText: "standard output, also as -, refused on a terminal",
    help: "where to write the model",
  }),
  features: valueFlag(positiveInteger("the number of feature columns"), {
    short: "f",
    placeholder: "F",
    help: "number of feature columns (required)",
  }),
  confounds: valueFlag(positiveInteger("the number of confounds"), {
    short: "c",
    placeholder: "M",
    help: "number of confounds (required)",
  }),
  abs: booleanFlag({
    negatable: true,
    default: true,
    help: "the thresholded output drops the sign of r, or keeps it",
  }),
  "zero-variance": choiceFlag(["zero", "nan"], {
    default: "zero",
    help: "a correlation with a constant column is 0, or NaN",
  }),
};

/** Options of `export-onnx`, checked, with the defaults applied. */
export type ExportOnnxArgs =
  & Omit<FlagValues<typeof EXPORT_ONNX_FLAGS>, "features" | "confounds">
  & {
    /** F, the number of feature columns fixed in the model (1 with --help alone). */
    features: number;
    /** M, the number of confounds fixed in the model (1 with --help alone). */
    confounds: number;
  };

/**
 * Checks the arguments of `export-onnx`.
 *
 * @param args The arguments after `export-onnx`.
 * @returns The options with the defaults applied.
 * @throws {UsageError} For a positional argument, a bad value, or a missing --features or --confounds.
 *
 * @example
 * ```ts
 * import { parseExportOnnxArgs } from "./export_onnx.ts";
 * import assert from "node:assert/strict";
 *
 * const args = parseExportOnnxArgs(["-f", "3", "-c", "2", "--no-abs"]);
 * assert.deepEqual([args.features, args.confounds, args.abs, args.zeroVariance], [3, 2, false, "zero"]);
 * ```
 */
export function parseExportOnnxArgs(args: readonly string[]): ExportOnnxArgs {
  const raw = readFlags("export-onnx", EXPORT_ONNX_FLAGS, args);
  const positionals = raw.positionals;
  if (positionals.length > 0) {
    throw new UsageError(
      ruleMessage(
        "run export-onnx",
        "its arguments",
        "options only (name the file with --output)",
        positionals.join(" "),
      ),
    );
  }
  const values = withDefaults(EXPORT_ONNX_FLAGS, checkFlags("export-onnx", EXPORT_ONNX_FLAGS, raw));
  if (!values.help && (values.features === undefined || values.confounds === undefined)) {
    const missing = [
      values.features === undefined ? "--features" : "",
      values.confounds === undefined ? "--confounds" : "",
    ]
      .filter(Boolean).join(" and ");
    throw new UsageError(
      `Cannot run export-onnx as --features and --confounds must give F and M (the model's fixed shape): current value of ${missing} is none`,
    );
  }
  return { ...values, features: values.features ?? 1, confounds: values.confounds ?? 1 };
}

/** One line describing an exported model, for stderr. */
function exportSummary(args: ExportOnnxArgs, bytes: number, where: string): string {
  const { features: F, confounds: M } = args;
  return `wrote the batchCorr ONNX model (${bytes} bytes) to ${where}: inputs ${ONNX_IO.x} float32 (batch, ${F}), ` +
    `${ONNX_IO.n} float32 (${M}, batch), ${ONNX_IO.tol} float32 scalar; outputs ${ONNX_IO.raw}, ${ONNX_IO.thresholded} (${F}, ${M}), ` +
    `${ONNX_IO.meanX}, ${ONNX_IO.meanN}, ${ONNX_IO.m2X}, ${ONNX_IO.m2N}, ${ONNX_IO.comoment}; abs ${args.abs}, zero variance ${args.zeroVariance}; ` +
    `opset ${ONNX_OPSET}, IR version ${ONNX_IR_VERSION}\n`;
}

/**
 * Runs `export-onnx`.
 *
 * @param args The checked options.
 * @param io The streams.
 * @returns The exit code, 0.
 * @throws {UsageError} When the model would go to a terminal or a text-only standard output.
 * @throws {OutputError} If --output cannot be written (a directory, a missing folder, a full disk).
 */
export async function runExportOnnx(args: ExportOnnxArgs, io: CliIo): Promise<number> {
  const toStdout = args.output === undefined || args.output === "-";
  if (toStdout) binaryStdout(io, "export-onnx as its binary output", "graph.onnx");
  const model = exportBatchCorrOnnx({
    features: args.features,
    confounds: args.confounds,
    abs: args.abs,
    zeroVariance: args.zeroVariance,
  });
  if (toStdout) {
    await io.stdoutBytes!(model);
  } else {
    writeOutputFile({ name: args.output!, flag: "--output", what: "the model" }, model);
  }
  io.stderr.write(
    exportSummary(
      args,
      model.byteLength,
      toStdout ? "standard output" : safeText(args.output!, 300),
    ),
  );
  return EXIT.ok;
}

/** The `export-onnx` command. */
export const EXPORT_ONNX: Command<ExportOnnxArgs> = {
  name: "export-onnx",
  synopses: [[
    "batch-corr export-onnx -f F -c M [options]",
    "the correlation graph as .onnx (F features, M confounds)",
  ]],
  description: [
    "Writes the one-batch correlation graph (exportBatchCorrOnnx) as an ONNX model: inputs x float32 " +
    "(batch, F), n float32 (M, batch) and tol, a float32 scalar fed on every run (so the tolerance is " +
    "not an export option); outputs raw and thresholded (F, M), mean_x, mean_n, m2_x, m2_n, comoment. " +
    "A summary goes to stderr.",
  ],
  flags: EXPORT_ONNX_FLAGS,
  exitCodes:
    "Exit codes: 0 written, 2 bad usage or an unwritable output, 1 internal error, 141 an output closed early.",
  parse: parseExportOnnxArgs,
  run: runExportOnnx,
};
