/**
 * The batch loop of a monitor run: batches into `correlateBatches`, each
 * result tallied, fed to the service and printed (table, NDJSON or Arrow),
 * with the bad-row warnings and the progress line.
 *
 * @module
 */

import type { CorrelationAccumulator } from "../../accumulator/correlation_accumulator.ts";
import type { OnnxBackend } from "../../onnx/onnx_backend.ts";
import type { Batch } from "../../stream/batch.ts";
import type { BatchResult } from "../../stream/batch_result.ts";
import { correlateBatches, type CorrelateBatchesOptions } from "../../stream/correlate_batches.ts";
import type { CliIo } from "../cli_io.ts";
import { InputError } from "../errors.ts";
import type { BadRowLog } from "../input/bad_row_log.ts";
import type { ResolvedColumns } from "../input/column_selection.ts";
import { BadRowWarnings } from "../output/bad_row_warnings.ts";
import { batchRecord } from "../output/batch_record.ts";
import { type BatchStart, batchTableHeader, batchTableRow } from "../output/batch_table.ts";
import { ProgressLine, type ProgressState } from "../output/progress_line.ts";
import type { RowCounts } from "../row_counts.ts";
import type { AggregateFeed, FeedResult } from "./_aggregate_run.ts";
import type { ArrowOutput } from "./_monitor_arrow_output.ts";
import { type BatchedRows, batchesOf } from "./_batched_rows.ts";
import type { MonitorServiceHook } from "./_monitor_service.ts";
import type { MonitorTally } from "./_monitor_tally.ts";
import type { MonitorArgs } from "./monitor_args.ts";

/** Everything one run of the batch loop works with. */
export interface MonitorRunState {
  /** The input's name, size and bytes read. */
  source: { input: { bytesRead(): number; totalBytes: number | undefined }; label: string };
  columns: ResolvedColumns;
  /** The rows passed on and where each batch starts; a text input's rows also give the batches. */
  rows: { readonly used: number; nextStart(): BatchStart } & Partial<Pick<BatchedRows, "values">>;
  /** A columnar input's batches (read straight into batches, not row by row). */
  batches?: AsyncIterable<Batch>;
  log: BadRowLog;
  accumulator: CorrelationAccumulator;
  backend: OnnxBackend | undefined;
  counts: RowCounts;
  tally: MonitorTally;
  service: MonitorServiceHook;
  /** With --format arrow, the stream the rows go to. */
  arrow?: ArrowOutput | undefined;
  /** With --redis/--nats: the results come from the group's aggregator instead of the rows. */
  feed?: AggregateFeed;
}

/** The options of the stream, from the flags. */
function streamOptions(args: MonitorArgs, run: MonitorRunState): CorrelateBatchesOptions {
  return {
    tol: args.tol,
    tolSig: args.tolSig,
    abs: args.abs,
    nu: args.nu,
    scalarisation: args.scalarisation,
    onInvalid: "skip",
    maxElements: args.maxElements,
    output: args.correlations ? "full" : "losses",
    accumulator: run.accumulator,
    ...(run.backend !== undefined ? { backend: run.backend } : {}),
    ...(args.window !== undefined ? { window: args.window } : {}),
    ...(args.decay !== undefined ? { decay: args.decay } : {}),
  };
}

/** The progress line's state now. */
function progressOf(run: MonitorRunState, tally: MonitorTally, started: number): ProgressState {
  return {
    bytesRead: run.source.input.bytesRead(),
    totalBytes: run.source.input.totalBytes,
    batches: tally.batches,
    rows: run.rows.used + run.log.count,
    elapsedMs: performance.now() - started,
  };
}

/** Each batch's result with where it starts in the input. */
async function* fileResults(args: MonitorArgs, run: MonitorRunState) {
  const batches = run.batches ??
    batchesOf(args, { columns: run.columns, rows: run.rows as Pick<BatchedRows, "values"> });
  for await (const result of correlateBatches(batches, streamOptions(args, run))) {
    yield { result, start: run.rows.nextStart() };
  }
}

/** Prints one batch: its NDJSON record or Arrow row, or its table line (every --print-every-th, alerts and skips always). */
async function printBatch(
  args: MonitorArgs,
  io: CliIo,
  progress: ProgressLine,
  batch: { result: BatchResult; start: BatchStart; alert: boolean; arrow: ArrowOutput | undefined },
): Promise<void> {
  const { result, start, alert } = batch;
  if (batch.arrow !== undefined) {
    await batch.arrow.write(result, start.line, alert);
  } else if (args.format === "ndjson") {
    await io.stdout.write(batchRecord(result, start.line, alert, args.correlations));
  } else if (alert || result.skipped || result.index % args.printEvery === 0) {
    progress.clear();
    await io.stdout.write(
      `${batchTableRow(result, start, alert, args.dateColumn !== undefined)}\n`,
    );
  }
}

/**
 * Streams the batches, printing each (table, NDJSON or Arrow) with the
 * warnings and the progress line.
 *
 * @param args The flags.
 * @param io The streams.
 * @param run The run.
 * @returns When the input is done.
 */
export async function reportBatches(
  args: MonitorArgs,
  io: CliIo,
  run: MonitorRunState,
): Promise<void> {
  const { tally, service, counts } = run;
  const started = performance.now();
  const progress = new ProgressLine(
    io.stderr,
    args.progress === "always" || (args.progress === "auto" && io.stderrIsTty),
  );
  const warnings = new BadRowWarnings(run.log, io.stderr, progress);
  if (args.format === "table") {
    await io.stdout.write(`${batchTableHeader(args.dateColumn !== undefined)}\n`);
  }
  const results: AsyncIterable<FeedResult> = run.feed?.results ?? fileResults(args, run);
  for await (const { result, start, totals } of results) {
    const alert = tally.add(result, start.line);
    warnings.flush();
    service.recordBatch(result, alert, { read: counts.read, rejected: run.log.count }, totals);
    await printBatch(args, io, progress, { result, start, alert, arrow: run.arrow });
    progress.update(progressOf(run, tally, started));
  }
  warnings.flush();
  service.recordRows({ read: counts.read, rejected: run.log.count });
  progress.finish(progressOf(run, tally, started));
}

/**
 * Refuses a run in which no row was usable.
 *
 * @param source The input's name.
 * @param used Rows passed on to the batches.
 * @param counts The row counts.
 * @throws {InputError} When no row was usable.
 */
export function requireUsableRows(source: string, used: number, counts: RowCounts): void {
  if (used > 0) return;
  throw new InputError(
    `Cannot monitor ${source} as it must hold at least one usable data row: current value is ${
      counts.read === 0 ? "no data row" : `${counts.read} data row(s), all rejected`
    }`,
  );
}

/**
 * Prints summary lines: with the table on stdout, or on stderr so that NDJSON and Arrow stay data only.
 *
 * @param args The flags (--format).
 * @param io The streams.
 * @param summary The lines.
 * @returns When written.
 */
export async function printSummary(
  args: MonitorArgs,
  io: CliIo,
  summary: readonly string[],
): Promise<void> {
  const text = summary.map((line) => `${line}\n`).join("");
  if (args.format === "table") await io.stdout.write(text);
  else io.stderr.write(text);
}
