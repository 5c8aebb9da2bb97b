/**
 * The `publish` command: a CSV or NDJSON file cut into batches exactly as
 * `monitor <file>` cuts it (the same reading, columns, bad-row policy and
 * batching code), each batch sent once to a Redis stream or a JetStream
 * work queue with its index, first line (and first date) as metadata.
 *
 * @module
 */

import { basename } from "node:path";
import { ruleMessage } from "../../core/errors.ts";
import type { EnvelopeMeta } from "../../distributed/batch_envelope.ts";
import type { PublishableBatch, PublishSummary } from "../../distributed/publishable_batch.ts";
import type { Command } from "../args/command.ts";
import { choiceFlag, type FlagValues, HELP_FLAG, valueFlag } from "../args/flag.ts";
import { positiveInteger, text } from "../args/flag_schemas.ts";
import { checkFlags, readFlags, withDefaults } from "../args/parse_flags.ts";
import type { CliIo } from "../cli_io.ts";
import { EXIT, InputError, UsageError } from "../errors.ts";
import { BadRowLog } from "../input/bad_row_log.ts";
import type { ResolvedColumns } from "../input/column_selection.ts";
import { BadRowWarnings } from "../output/bad_row_warnings.ts";
import { ProgressLine } from "../output/progress_line.ts";
import { formatRowCounts, type RowCounts, withRowCounts } from "../row_counts.ts";
import { listenForShutdown } from "../service/shutdown_signal.ts";
import { BatchedRows, batchesOf } from "./_batched_rows.ts";
import { DEMO_DATA_PATH, openMonitorSource } from "./_monitor_source.ts";
import { checkReachable, type EngineTarget, publishTo, shownUrl } from "./_scaleout_engine.ts";
import { ENGINE_FLAGS, engineOf, SCALE_OUT, WAIT_FLAGS } from "./_scaleout_flags.ts";
import { isColumnar, monitorInputFormat } from "./_monitor_input_format.ts";
import { openTable } from "./monitor.ts";
import { DEMO_SETTINGS, MONITOR_FLAGS, TEXT_INPUT_FORMAT_FLAG } from "./monitor_flags.ts";

/** Column names travel in each batch's metadata up to this size (for the monitor's report). */
const MAX_COLUMNS_META = 16384;

/** The flags of `publish`: monitor's input flags, the server and stream, ids and element type. */
export const PUBLISH_FLAGS = {
  help: HELP_FLAG,
  confounds: MONITOR_FLAGS.confounds,
  features: MONITOR_FLAGS.features,
  "date-column": MONITOR_FLAGS["date-column"],
  "input-format": TEXT_INPUT_FORMAT_FLAG,
  "on-bad-row": MONITOR_FLAGS["on-bad-row"],
  demo: MONITOR_FLAGS.demo,
  "batch-size": MONITOR_FLAGS["batch-size"],
  "min-rows": valueFlag(positiveInteger(), {
    section: MONITOR_FLAGS["batch-size"].section,
    placeholder: "n",
    default: 3,
    help: "a last batch with fewer rows is not published (monitor with tol auto skips such a " +
      "batch, so that the group's running view equals monitor <file>); 1 publishes every row",
  }),
  "max-columns": MONITOR_FLAGS["max-columns"],
  "max-line-bytes": MONITOR_FLAGS["max-line-bytes"],
  "max-elements": MONITOR_FLAGS["max-elements"],
  ...ENGINE_FLAGS,
  "id-prefix": valueFlag(text(), {
    section: SCALE_OUT,
    placeholder: "text",
    defaultText: "the file name and a colon",
    help: "batch ids are prefix + index: publishing the same ids again adds nothing, so a rerun " +
      "after a crash is safe; give each input its own prefix",
  }),
  dtype: choiceFlag(["float64", "float32"], {
    section: SCALE_OUT,
    default: "float64",
    help: "the payload's element type: float32 halves the bytes sent, rounding each value",
  }),
  partitions: valueFlag(positiveInteger(), {
    section: SCALE_OUT,
    placeholder: "n",
    default: 4,
    help: "--nats: partitions of a new stream, the most workers that fold at once",
  }),
  "retry-for": WAIT_FLAGS["retry-for"],
};

/** Options of `publish`, checked, with `--demo`'s settings and the defaults applied. */
export type PublishArgs = Omit<FlagValues<typeof PUBLISH_FLAGS>, "confounds" | "idPrefix"> & {
  /** A path, or "-" for standard input; undefined with --demo. */
  input: string | undefined;
  /** The confound columns. */
  confounds: string[];
  /** The id prefix. */
  idPrefix: string;
  /** The engine, server and stream (undefined with --help). */
  target: EngineTarget | undefined;
};

function inputOf(positionals: readonly string[], demo: boolean): string | undefined {
  if (positionals.length > 1) {
    throw new UsageError(
      ruleMessage(
        "run publish",
        "the input",
        "one file path or - for standard input",
        positionals.join(" "),
      ),
    );
  }
  const input = positionals[0];
  if (demo && input !== undefined) {
    throw new UsageError(
      ruleMessage(
        "run publish",
        "the input with --demo",
        "omitted (the demo sends the bundled data set)",
        input,
      ),
    );
  }
  if (!demo && input === undefined) {
    throw new UsageError(
      "Cannot run publish as an input must be given (a file path, or - for standard input, or --demo): current value is none",
    );
  }
  return input;
}

/** Publish reads CSV or NDJSON text; a columnar file is refused before any connection is made. */
function refuseColumnarInput(input: string | undefined, format: string | undefined): void {
  if (input === undefined || format !== undefined) return;
  const byExtension = monitorInputFormat(undefined, input);
  if (!isColumnar(byExtension)) return;
  throw new UsageError(
    ruleMessage(
      "run publish",
      "the input",
      "CSV or NDJSON text (publish does not read Arrow IPC or Parquet yet; monitor does, or pass --input-format csv for a text file with this extension)",
      input,
    ),
  );
}

/**
 * Checks the arguments of `publish`.
 *
 * @param args The arguments after `publish`.
 * @returns The options.
 * @throws {UsageError} For an unknown option, a bad value, no input, an Arrow or Parquet input, no
 *   --confounds, or no server or stream.
 *
 * @example
 * ```ts
 * import { parsePublishArgs } from "./publish.ts";
 * import assert from "node:assert/strict";
 *
 * const args = parsePublishArgs(["d.csv", "-c", "age", "--redis", "redis://127.0.0.1:6379", "--stream", "s"]);
 * assert.deepEqual([args.idPrefix, args.batchSize, args.target?.engine], ["d.csv:", 100, "redis"]);
 * ```
 */
export function parsePublishArgs(args: readonly string[]): PublishArgs {
  const raw = readFlags("publish", PUBLISH_FLAGS, args);
  const given = checkFlags("publish", PUBLISH_FLAGS, raw);
  if (given.help) {
    const values = withDefaults(PUBLISH_FLAGS, given);
    return { ...values, input: undefined, confounds: [], idPrefix: "", target: undefined };
  }
  const input = inputOf(raw.positionals, given.demo === true);
  refuseColumnarInput(input, given.inputFormat);
  const demo = given.demo
    ? {
      dateColumn: DEMO_SETTINGS.dateColumn,
      confounds: [...DEMO_SETTINGS.confounds],
      features: [...DEMO_SETTINGS.features],
      batchSize: DEMO_SETTINGS.batchSize,
    }
    : {};
  const values = withDefaults(PUBLISH_FLAGS, given, demo);
  if (values.confounds === undefined) {
    throw new UsageError(
      "Cannot run publish as --confounds must name the confound columns (comma-separated): current value is none",
    );
  }
  const { engine, url } = engineOf("publish", given, false);
  if (engine === "redis" && given.partitions !== undefined) {
    throw new UsageError(
      ruleMessage(
        "run publish",
        "--partitions",
        "absent with --redis (a Redis stream has no partitions)",
        given.partitions,
      ),
    );
  }
  const path = input === undefined ? DEMO_DATA_PATH : input;
  return {
    ...values,
    input,
    confounds: values.confounds,
    idPrefix: values.idPrefix ?? `${path === "-" ? "stdin" : basename(path)}:`,
    target: { engine, url, stream: values.stream!, retryForMs: Math.round(values.retryFor * 1000) },
  };
}

/** The batches of the input with their metadata, and the last short batch held back. */
async function* publishable(
  args: PublishArgs,
  rows: BatchedRows,
  columns: ResolvedColumns,
  held: { index: number; rows: number; line: number }[],
): AsyncGenerator<PublishableBatch> {
  const columnsText = JSON.stringify(columns);
  const withColumns = columnsText.length <= MAX_COLUMNS_META;
  let index = 0;
  for await (const batch of batchesOf(args, { columns, rows })) {
    const start = rows.nextStart();
    const B = batch.x.shape[0];
    // Only a last, partial batch can be short.
    if (B < args.batchSize && B < args.minRows) {
      held.push({ index, rows: B, line: start.line });
      continue;
    }
    const meta: Record<string, string | number> = { index, line: start.line };
    if (start.date !== undefined) meta.date = start.date;
    if (withColumns) meta.columns = columnsText;
    yield { id: `${args.idPrefix}${index}`, x: batch.x, n: batch.n, meta: meta as EnvelopeMeta };
    index++;
  }
}

function summaryLines(
  args: PublishArgs & { target: EngineTarget },
  label: string,
  summary: PublishSummary,
  counts: RowCounts,
  held: readonly { index: number; rows: number; line: number }[],
  log: BadRowLog,
): string[] {
  const lines = [
    `published ${summary.batches} batches from ${label} to ${
      shownUrl(args.target.url)
    } stream ${args.target.stream}: ` +
    `${summary.added} added, ${summary.duplicates} already there (${
      (summary.bytes / 1e6).toFixed(1)
    } MB, ${args.dtype})`,
    formatRowCounts(counts),
  ];
  for (const batch of held) {
    lines.push(
      `not published: batch ${batch.index} (${batch.rows} row(s) from line ${batch.line}), fewer than --min-rows ${args.minRows}`,
    );
  }
  if (log.count > 0) lines.push(`skipped ${log.count} bad row(s)`);
  return lines;
}

/**
 * Runs `publish`.
 *
 * @param args The checked options.
 * @param io The streams.
 * @returns The exit code: 0 when the input was published (or was already there).
 * @throws {InputError} For unusable input (exit code 2).
 * @throws {BatchCorrError} "engine_unavailable" when the server cannot be reached (exit code 2).
 */
export async function runPublish(args: PublishArgs, io: CliIo): Promise<number> {
  const target = args.target!;
  const counts: RowCounts = { read: 0, used: 0, rejected: 0 };
  const log = new BadRowLog();
  try {
    await checkReachable(target);
    const source = openMonitorSource(args, io, counts);
    const table = await openTable(args, source, log);
    const rows = new BatchedRows(table.rows, args.batchSize, counts);
    const held: { index: number; rows: number; line: number }[] = [];
    const progress = new ProgressLine(io.stderr, false);
    const warnings = new BadRowWarnings(log, io.stderr, progress);
    using shutdown = listenForShutdown();
    const summary = await publishTo(target, publishable(args, rows, table.columns, held), {
      idPrefix: args.idPrefix,
      dtype: args.dtype,
      partitions: args.partitions,
      signal: shutdown.signal,
      onPublished: () => warnings.flush(),
    });
    warnings.flush();
    counts.rejected = log.count;
    if (rows.used === 0) {
      throw new InputError(
        `Cannot publish ${source.label} as it must hold at least one usable data row: current value is ${
          counts.read === 0 ? "no data row" : `${counts.read} data row(s), all rejected`
        }`,
      );
    }
    const lines = summaryLines({ ...args, target }, source.label, summary, counts, held, log);
    if (shutdown.received) {
      lines.push(
        `stopped by ${shutdown.received} after ${summary.batches} batches: run the same command ` +
          "again to send the rest (nothing is added twice)",
      );
    }
    io.stderr.write(lines.map((line) => `${line}\n`).join(""));
    // As the shell reports a command stopped by the signal, though every batch sent was answered.
    return shutdown.received === undefined ? EXIT.ok : shutdown.received === "SIGINT" ? 130 : 143;
  } catch (error) {
    counts.rejected = log.count;
    throw withRowCounts(error, counts);
  }
}

/** The `publish` command. */
export const PUBLISH: Command<PublishArgs> = {
  name: "publish",
  synopses: [
    [
      "batch-corr publish <file|-> -c a,b --redis url --stream s [options]",
      "send a file's batches to a stream for workers",
    ],
  ],
  description: [
    "Reads a CSV or NDJSON file (or standard input, or --demo) exactly as monitor does and sends " +
    "each batch of --batch-size rows once to a Redis stream (--redis) or a JetStream work queue " +
    "(--nats), with its index and first line. Workers ('batch-corr worker') fold the batches; " +
    "'batch-corr monitor --redis … --stream … --group …' reports the group's correlations, which " +
    "over the whole stream equal those of 'monitor <file>'. Publishing the same file again adds " +
    "nothing (batch ids are --id-prefix + index).",
  ],
  flags: PUBLISH_FLAGS,
  exitCodes:
    "Exit codes: 0 published, 2 bad usage, bad input or an unreachable server, 130/143 stopped by " +
    "SIGINT/SIGTERM (the batches sent are in the stream: rerun to send the rest), 1 internal error.",
  parse: parsePublishArgs,
  run: runPublish,
};
