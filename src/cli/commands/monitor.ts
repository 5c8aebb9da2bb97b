/**
 * The `monitor` command: file → records → numeric rows → mini-batches →
 * `correlateBatches` → table or NDJSON, alerts, progress and the HTML report.
 *
 * @module
 */

import { CorrelationAccumulator } from "../../accumulator/correlation_accumulator.ts";
import { type RowBatch, rowsToBatches } from "../../stream/rows_to_batches.ts";
import { checkElementLimit } from "../../core/limits.ts";
import { createOnnxBackend } from "../../onnx/create_onnx_backend.ts";
import type { OnnxBackend } from "../../onnx/onnx_backend.ts";
import type { BatchResult } from "../../stream/batch_result.ts";
import { correlateBatches, type CorrelateBatchesOptions } from "../../stream/correlate_batches.ts";
import type { Command } from "../args/command.ts";
import type { CliIo } from "../cli_io.ts";
import { EXIT, InputError } from "../errors.ts";
import { BadRowLog } from "../input/bad_row_log.ts";
import type { ResolvedColumns } from "../input/column_selection.ts";
import { type NumericTable, openNumericTable } from "../input/numeric_table.ts";
import { BadRowWarnings } from "../output/bad_row_warnings.ts";
import { batchRecord } from "../output/batch_record.ts";
import { type BatchStart, batchTableHeader, batchTableRow } from "../output/batch_table.ts";
import { ProgressLine, type ProgressState } from "../output/progress_line.ts";
import { runSummary } from "../output/run_summary.ts";
import type { ReportData } from "../output/report_data.ts";
import { type RowCounts, withRowCounts } from "../row_counts.ts";
import { listenForShutdown, type ShutdownListener } from "../service/shutdown_signal.ts";
import { untilAborted } from "../service/until_aborted.ts";
import { type AggregateFeed, isAggregating, openAggregateRun } from "./_aggregate_run.ts";
import { BatchedRows } from "./_batched_rows.ts";
import { type MonitorSource, openMonitorSource } from "./_monitor_source.ts";
import { checkReportPath, monitorReportData, writeMonitorReport } from "./_monitor_report.ts";
import { MonitorServiceHook } from "./_monitor_service.ts";
import { stoppedLine, unlessStopped } from "./_monitor_shutdown.ts";
import { MonitorTally } from "./_monitor_tally.ts";
import { type MonitorArgs, parseMonitorArgs } from "./monitor_args.ts";
import { MONITOR_FLAGS } from "./monitor_flags.ts";

/** Creates the --provider backend and says on stderr which provider runs (stdout stays data only). */
async function openBackend(args: MonitorArgs, io: CliIo): Promise<OnnxBackend | undefined> {
  if (args.provider === undefined) return undefined;
  // zeroVariance "zero" is what the monitor's stream uses (its default); abs follows --abs/--no-abs.
  const backend = await createOnnxBackend({
    provider: args.provider,
    abs: args.abs,
    zeroVariance: "zero",
  });
  const chosen = args.provider === "auto"
    ? `--provider auto took "${backend.provider}"`
    : `provider "${backend.provider}"`;
  const fallback = backend.fallbackReason === undefined
    ? ""
    : ` (skipped: ${backend.fallbackReason})`;
  io.stderr.write(`batch-corr: batch moments on ONNX Runtime, ${chosen}${fallback}\n`);
  return backend;
}

/**
 * Runs `monitor` with parsed arguments.
 *
 * @param args The validated options.
 * @param io The streams to use.
 * @returns The exit code: 0 clean or stopped by SIGINT/SIGTERM, 3 an alert fired (unless
 *   --no-fail-on-alert).
 * @throws {BatchCorrError} `provider_unavailable` for a --provider that cannot run here or
 *   `peer_missing` when its ONNX Runtime package is not installed (exit code 2).
 * @throws {InputError} For unusable input (exit code 2).
 * @throws {ServiceError} For a --metrics address that cannot be listened on (exit code 2).
 */
export async function runMonitor(args: MonitorArgs, io: CliIo): Promise<number> {
  const shutdown = listenForShutdown();
  try {
    const backend = await openBackend(args, io);
    try {
      return await monitorStream(args, io, backend, shutdown);
    } finally {
      await backend?.dispose();
    }
  } finally {
    shutdown.dispose();
    if (shutdown.received !== undefined && args.input === "-") io.stopStdin?.();
  }
}

/** Runs the stream; the error that stops it carries the row counts reached. */
async function monitorStream(
  args: MonitorArgs,
  io: CliIo,
  backend: OnnxBackend | undefined,
  shutdown: ShutdownListener,
): Promise<number> {
  const counts: RowCounts = { read: 0, used: 0, rejected: 0 };
  const log = new BadRowLog();
  try {
    return await monitorRows(args, io, backend, { counts, log, shutdown });
  } catch (error) {
    counts.rejected = log.count;
    throw withRowCounts(error, counts);
  }
}

/** Everything one run of the batch loop works with. */
interface MonitorRunState {
  source: MonitorSource;
  columns: ResolvedColumns;
  rows: Pick<BatchedRows, "used" | "values" | "nextStart">;
  log: BadRowLog;
  accumulator: CorrelationAccumulator;
  backend: OnnxBackend | undefined;
  counts: RowCounts;
  tally: MonitorTally;
  service: MonitorServiceHook;
  /** With --redis/--nats: the results come from the group's aggregator instead of the rows. */
  feed?: AggregateFeed;
}

/** Opens the numeric table of the input and checks its shape against --max-elements (`publish` too). */
export async function openTable(
  args: Pick<MonitorArgs, "confounds" | "features" | "dateColumn" | "onBadRow" | "maxElements">,
  source: MonitorSource,
  log: BadRowLog,
): Promise<NumericTable> {
  const selection = {
    confounds: args.confounds,
    features: args.features,
    dateColumn: args.dateColumn,
  };
  const table = await openNumericTable(source.records, selection, args.onBadRow, log);
  const { features, confounds } = table.columns;
  // Checked once here rather than per batch: every batch has the same shape.
  checkElementLimit(
    features.length,
    confounds.length,
    args.maxElements,
    "monitor the input",
    "--max-elements",
  );
  return table;
}

/** The row counts, the bad rows and the shutdown signal of a run. */
interface MonitorRunContext {
  counts: RowCounts;
  log: BadRowLog;
  shutdown: ShutdownListener;
}

async function monitorRows(
  args: MonitorArgs,
  io: CliIo,
  backend: OnnxBackend | undefined,
  { counts, log, shutdown }: MonitorRunContext,
): Promise<number> {
  if (args.report !== undefined) checkReportPath(args.report, args.input);
  const opened = isAggregating(args)
    ? await openAggregateRun(args, counts, log, shutdown.signal)
    : await openFileRun(args, io, { counts, log, shutdown });
  if (opened === undefined) {
    io.stderr.write(`batch-corr: stopped by ${shutdown.received} before the first rows\n`);
    return EXIT.ok;
  }
  const tally = new MonitorTally(args.alert, args.alertOn);
  let run: MonitorRunState | undefined;
  const service = await MonitorServiceHook.open(args, io, {
    ...opened.columns,
    correlations: () =>
      opened.accumulator.count > 0
        ? opened.accumulator.correlations({ tol: 0, abs: false }).data
        : undefined,
    report: () => reportData(args, run!),
  });
  try {
    if ("feed" in opened) {
      // The same object: the aggregate run updates its columns and final state in place.
      run = Object.assign(opened, { counts, tally, service });
    } else {
      const watched = service.watchRows(
        opened.table.rows,
        () => ({ read: counts.read, rejected: log.count }),
      );
      const rows = new BatchedRows(untilAborted(watched, shutdown.signal), args.batchSize, counts);
      const { source, table, accumulator } = opened;
      run = {
        source,
        columns: table.columns,
        rows,
        log,
        accumulator,
        backend,
        counts,
        tally,
        service,
      };
    }
    return await finishRun(args, io, run, shutdown);
  } finally {
    await service.close();
  }
}

/** The run over the rows of the input, or undefined when a signal came before the first rows. */
async function openFileRun(
  args: MonitorArgs,
  io: CliIo,
  { counts, log, shutdown }: MonitorRunContext,
) {
  const source = openMonitorSource(args, io, counts);
  const table = await unlessStopped(openTable(args, source, log), shutdown.signal);
  if (table === undefined) return undefined;
  const accumulator = new CorrelationAccumulator({ maxElements: args.maxElements });
  return { source, columns: table.columns, table, accumulator };
}

/** Streams the batches, then ends the input, writes the summary and report, and serves --serve-after. */
async function finishRun(
  args: MonitorArgs,
  io: CliIo,
  run: MonitorRunState,
  shutdown: ShutdownListener,
): Promise<number> {
  const { counts, tally, service } = run;
  try {
    await reportBatches(args, io, run);
    counts.rejected = run.log.count;
    if (!shutdown.signal.aborted) requireUsableRows(run.source.label, run.rows.used, counts);
  } catch (error) {
    await service.fail(error, shutdown.signal);
    throw error;
  }
  service.endInput();
  const summary = summaryOf(args, run, tally, counts);
  if (shutdown.received) summary.push(stoppedLine(shutdown.received, counts.read));
  // The summary is printed before the report is written, so that a report that fails keeps it.
  await printSummary(args, io, summary);
  if (!shutdown.received) tally.requireFoldedBatch(run.source.label);
  if (args.report !== undefined) {
    await printSummary(args, io, [writeMonitorReport(args.report, reportData(args, run))]);
  }
  await service.serveAfterInput(shutdown.signal);
  if (shutdown.received) return EXIT.ok;
  return tally.alerts > 0 && args.failOnAlert ? EXIT.alert : EXIT.ok;
}

/** The summary lines of the run. */
function summaryOf(
  args: MonitorArgs,
  run: MonitorRunState,
  tally: MonitorTally,
  counts: RowCounts,
): string[] {
  const alert = args.alert === undefined ? {} : {
    alert: {
      level: args.alert,
      on: args.alertOn,
      count: tally.alerts,
      first: tally.firstAlert(),
    },
  };
  return runSummary({
    source: run.source.label,
    batches: run.feed?.batches() ?? tally.batches,
    rows: run.rows.used,
    last: tally.last,
    counts,
    ...alert,
    badRows: run.log,
    skippedBatches: tally.skippedBatches,
  });
}

/** What the --report file and the live page show now. */
function reportData(args: MonitorArgs, run: MonitorRunState): ReportData {
  const { source, columns, backend, accumulator, rows, log, tally } = run;
  return monitorReportData(args, {
    source: source.label,
    columns,
    backend,
    accumulator,
    tally,
    rows: rows.used,
    badRows: log,
  });
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

/** The rows in batches: features are the first F values of a row, confounds the rest (`publish` too). */
export function batchesOf(
  args: Pick<MonitorArgs, "batchSize">,
  run: Pick<MonitorRunState, "columns" | "rows">,
): AsyncGenerator<RowBatch, void, undefined> {
  const F = run.columns.features.length;
  return rowsToBatches(run.rows.values(), {
    batchSize: args.batchSize,
    features: Array.from({ length: F }, (_, i) => i),
    confounds: run.columns.confounds.map((_, m) => F + m),
  });
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

/** Streams the batches, printing each (table or NDJSON) with the warnings and the progress line. */
async function reportBatches(
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
  for await (const { result, start } of run.feed?.results ?? fileResults(args, run)) {
    const alert = tally.add(result, start.line);
    warnings.flush();
    service.recordBatch(result, alert, { read: counts.read, rejected: run.log.count });
    await printBatch(args, io, progress, { result, start, alert });
    progress.update(progressOf(run, tally, started));
  }
  warnings.flush();
  service.recordRows({ read: counts.read, rejected: run.log.count });
  progress.finish(progressOf(run, tally, started));
}

/** Each batch's result with where it starts in the input. */
async function* fileResults(args: MonitorArgs, run: MonitorRunState) {
  for await (const result of correlateBatches(batchesOf(args, run), streamOptions(args, run))) {
    yield { result, start: run.rows.nextStart() };
  }
}

/** Prints one batch: its NDJSON record, or its table line (every --print-every-th, alerts and skips always). */
async function printBatch(
  args: MonitorArgs,
  io: CliIo,
  progress: ProgressLine,
  batch: { result: BatchResult; start: BatchStart; alert: boolean },
): Promise<void> {
  const { result, start, alert } = batch;
  if (args.format === "ndjson") {
    await io.stdout.write(batchRecord(result, start.line, alert, args.correlations));
  } else if (alert || result.skipped || result.index % args.printEvery === 0) {
    progress.clear();
    await io.stdout.write(
      `${batchTableRow(result, start, alert, args.dateColumn !== undefined)}\n`,
    );
  }
}

/** Refuses a run in which no row was usable. */
function requireUsableRows(source: string, used: number, counts: RowCounts): void {
  if (used > 0) return;
  throw new InputError(
    `Cannot monitor ${source} as it must hold at least one usable data row: current value is ${
      counts.read === 0 ? "no data row" : `${counts.read} data row(s), all rejected`
    }`,
  );
}

/** The summary goes with the table on stdout, or to stderr so that NDJSON stays data only. */
async function printSummary(
  args: MonitorArgs,
  io: CliIo,
  summary: readonly string[],
): Promise<void> {
  const text = summary.map((line) => `${line}\n`).join("");
  if (args.format === "table") await io.stdout.write(text);
  else io.stderr.write(text);
}

/** The `monitor` command. */
export const MONITOR: Command<MonitorArgs> = {
  name: "monitor",
  synopses: [
    [
      "batch-corr monitor <file|-> --confounds a,b [options]",
      "stream a CSV/NDJSON file, report per batch",
    ],
    ["batch-corr monitor --demo [options]", "the bundled Seattle weather data set"],
    [
      "batch-corr monitor --redis url --stream s --group g [options]",
      "report a group of workers' correlations (or --nats url)",
    ],
  ],
  description: [
    "Streams a CSV (header row) or NDJSON file, or standard input (-), in mini-batches and prints, for " +
    "every batch, the batch loss, the running loss over everything so far and, with --window/--decay, " +
    "the recent loss. The file is never loaded whole.",
    "With --redis or --nats it reads no file: it reports what the workers of --group committed " +
    "('batch-corr worker'), one line per read with new batches: the last batch's index and first " +
    "line in the published file, the rows committed since the previous line, their loss, and the " +
    "running loss over every committed batch (over a whole stream, equal to 'monitor <file>').",
  ],
  flags: MONITOR_FLAGS,
  exitCodes: "Exit codes: 0 clean (or stopped by SIGINT/SIGTERM), 3 an alert fired, 2 bad usage, " +
    "bad input, an unwritable output or a --metrics address that cannot be listened on, " +
    "1 internal error, 141 an output closed early (as after SIGPIPE).",
  parse: parseMonitorArgs,
  run: runMonitor,
};
