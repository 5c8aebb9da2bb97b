/**
 * The `generate` command: synthetic rows with a known injected drift, as CSV
 * or NDJSON, to standard output or a file.
 *
 * @module
 */

import { ruleMessage } from "../../core/errors.ts";
import type { Command } from "../args/command.ts";
import { choiceFlag, type FlagValues, HELP_FLAG, valueFlag } from "../args/flag.ts";
import { nonNegativeInteger, numberWhere, positiveInteger, text } from "../args/flag_schemas.ts";
import { checkFlags, readFlags, withDefaults } from "../args/parse_flags.ts";
import type { CliIo } from "../cli_io.ts";
import { EXIT, UsageError } from "../errors.ts";
import { driftDataLines } from "../input/drift_data.ts";
import { DEFAULT_INPUT_LIMITS } from "../input/input_limits.ts";
import { openOutputFile } from "../output/output_file.ts";
import type { OutputSink } from "../output/output_sink.ts";
import { safeText } from "../output/safe_text.ts";

/** The most feature columns: with the confound, a row has as many fields as monitor reads by default. */
const MAX_FEATURES = DEFAULT_INPUT_LIMITS.maxColumns - 1;

/** The flags of `generate`. */
export const GENERATE_FLAGS = {
  help: HELP_FLAG,
  output: valueFlag(text(), {
    short: "o",
    placeholder: "file",
    defaultText: "standard output",
    help: "where to write the rows",
  }),
  format: choiceFlag(["csv", "ndjson"], { default: "csv", help: "the output format" }),
  batches: valueFlag(positiveInteger(), {
    placeholder: "n",
    default: 40,
    help: "number of batches",
  }),
  "batch-size": valueFlag(
    numberWhere("an integer of at least 3", (v) => Number.isSafeInteger(v) && v >= 3),
    {
      short: "b",
      placeholder: "n",
      default: 50,
      help: "rows per batch (at least 3)",
    },
  ),
  features: valueFlag(
    numberWhere(
      `a positive integer of at most ${MAX_FEATURES} (with c, monitor's default --max-columns)`,
      (v) => Number.isSafeInteger(v) && v > 0 && v <= MAX_FEATURES,
    ),
    {
      placeholder: "k",
      default: 8,
      help: `number of feature columns (at most ${MAX_FEATURES})`,
    },
  ),
  "drift-batch": valueFlag(nonNegativeInteger(), {
    placeholder: "i",
    defaultText: "batches / 2",
    help: "the first drifted batch, below --batches",
  }),
  strength: valueFlag(
    numberWhere("a number in [0, 1] (the correlation injected)", (v) => v >= 0 && v <= 1),
    {
      placeholder: "r",
      default: 0.8,
      help: "the correlation injected, in [0, 1]",
    },
  ),
  seed: valueFlag(nonNegativeInteger(), {
    placeholder: "s",
    default: 1,
    help: "seed of the generator",
  }),
};

/** Options of `generate`, checked, with the defaults applied. */
export type GenerateArgs = Omit<FlagValues<typeof GENERATE_FLAGS>, "driftBatch"> & {
  /** The first drifted batch (default half the batches). */
  driftBatch: number;
};

/**
 * Checks the arguments of `generate`.
 *
 * @param args The arguments after `generate`.
 * @returns The options with the defaults applied.
 * @throws {UsageError} For a positional argument, a bad value, or a drift batch not below the batch count.
 *
 * @example
 * ```ts
 * import { parseGenerateArgs } from "./generate.ts";
 * import assert from "node:assert/strict";
 *
 * const args = parseGenerateArgs(["--batches", "10"]);
 * assert.equal(args.driftBatch, 5);
 * assert.equal(args.batchSize, 50);
 * ```
 */
export function parseGenerateArgs(args: readonly string[]): GenerateArgs {
  const raw = readFlags("generate", GENERATE_FLAGS, args);
  const positionals = raw.positionals;
  if (positionals.length > 0) {
    throw new UsageError(
      ruleMessage(
        "run generate",
        "its arguments",
        "options only (write to a file with --output)",
        positionals.join(" "),
      ),
    );
  }
  const values = withDefaults(GENERATE_FLAGS, checkFlags("generate", GENERATE_FLAGS, raw));
  const driftBatch = values.driftBatch ?? Math.floor(values.batches / 2);
  if (driftBatch >= values.batches) {
    throw new UsageError(
      ruleMessage(
        "run generate",
        "--drift-batch",
        `below --batches (${values.batches})`,
        driftBatch,
      ),
    );
  }
  return { ...values, driftBatch };
}

/** Gathers lines into writes of about 64 KiB. */
async function writeLines(lines: Iterable<string>, sink: OutputSink): Promise<void> {
  let pending = "";
  for (const line of lines) {
    pending += line;
    if (pending.length >= 1 << 16) {
      await sink.write(pending);
      pending = "";
    }
  }
  if (pending.length > 0) await sink.write(pending);
}

/**
 * Runs `generate`.
 *
 * @param args The checked options.
 * @param io The streams.
 * @returns The exit code, 0.
 * @throws {OutputError} If --output cannot be written (a directory, a missing folder, a full disk).
 * @throws {ClosedOutputError} If the reader of standard output goes away.
 */
export async function runGenerate(args: GenerateArgs, io: CliIo): Promise<number> {
  const lines = driftDataLines(args, args.format);
  if (args.output === undefined) {
    await writeLines(lines, io.stdout);
    return EXIT.ok;
  }
  const file = openOutputFile({ name: args.output, flag: "--output", what: "the rows" });
  await writeLines(lines, file.sink);
  await file.close();
  io.stderr.write(
    `wrote ${args.batches * args.batchSize} rows (${args.batches} batches of ${args.batchSize}, ` +
      `drift from batch ${args.driftBatch}) to ${safeText(args.output, 300)}\n`,
  );
  return EXIT.ok;
}

/** The `generate` command. */
export const GENERATE: Command<GenerateArgs> = {
  name: "generate",
  synopses: [["batch-corr generate [options]", "synthetic data with a known injected drift"]],
  description: [
    'Writes synthetic rows with a known drift: features f0..f(k-1) are independent of the confound "c" ' +
    "until --drift-batch, after which half of them correlate with it at about --strength. Rows are " +
    "written in order, so batch i of 'monitor --batch-size <same>' holds exactly the rows of generated batch i.",
  ],
  flags: GENERATE_FLAGS,
  exitCodes:
    "Exit codes: 0 written, 2 bad usage or an unwritable output, 1 internal error, 141 an output closed early.",
  parse: parseGenerateArgs,
  run: runGenerate,
};
