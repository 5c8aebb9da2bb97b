/**
 * The `monitor` command: file → records → numeric rows → mini-batches →
 * `correlateBatches` → table or NDJSON, alerts, progress and the HTML report.
 *
 * @module
 */

import { CorrelationAccumulator } from "../../accumulator/correlation_accumulator.ts";
import { checkElementLimit } from "../../core/limits.ts";
import type { OnnxBackend } from "../../onnx/onnx_backend.ts";
import type { Command } from "../args/command.ts";
import type { CliIo } from "../cli_io.ts";
import { EXIT } from "../errors.ts";
import { BadRowLog } from "../input/bad_row_log.ts";
import { type NumericTable, openNumericTable } from "../input/numeric_table.ts";
import { runSummary } from "../output/run_summary.ts";
import type { ReportData } from "../output/report_data.ts";
import { type RowCounts, withRowCounts } from "../row_counts.ts";
import { listenForShutdown, type ShutdownListener } from "../service/shutdown_signal.ts";
import { untilAborted } from "../service/until_aborted.ts";
import { isAggregating } from "./_scaleout_flags.ts";
import { BatchedRows } from "./_batched_rows.ts";
import { ArrowOutput } from "./_monitor_arrow_output.ts";
import { openMonitorBackend } from "./_monitor_backend.ts";
import {
  type MonitorRunState,
  printSummary,
  reportBatches,
  requireUsableRows,
} from "./_monitor_batches.ts";
import { openColumnarRun } from "./_monitor_columnar.ts";
import { isColumnar, monitorInputFormat } from "./_monitor_input_format.ts";
import { type MonitorSource, openMonitorSource } from "./_monitor_source.ts";
import {
  checkReportPath,
  checkWrittenPath,
  monitorReportData,
  writeMonitorReport,
} from "./_monitor_report.ts";
import { MonitorServiceHook } from "./_monitor_service.ts";
import { stoppedLine, unlessStopped } from "./_monitor_shutdown.ts";
import { MonitorTally } from "./_monitor_tally.ts";
import { type MonitorArgs, parseMonitorArgs } from "./monitor_args.ts";
import { MONITOR_FLAGS } from "./monitor_flags.ts";

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
    const backend = await openMonitorBackend(args, io);
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

/** Checks the files the run writes, opens --format arrow's stream, and runs; a failed run leaves the stream unended. */
async function monitorRows(
  args: MonitorArgs,
  io: CliIo,
  backend: OnnxBackend | undefined,
  context: MonitorRunContext,
): Promise<number> {
  if (args.report !== undefined) checkReportPath(args.report, args.input);
  if (args.output !== undefined && args.output !== "-") {
    checkWrittenPath(
      { name: args.output, flag: "--output", what: "the Arrow IPC stream" },
      args.input,
    );
  }
  const arrow = args.format === "arrow" ? ArrowOutput.open(args, io) : undefined;
  try {
    return await monitorInto(args, io, { backend, arrow }, context);
  } catch (error) {
    await arrow?.abort();
    throw error;
  }
}

async function monitorInto(
  args: MonitorArgs,
  io: CliIo,
  { backend, arrow }: Pick<MonitorRunState, "backend" | "arrow">,
  { counts, log, shutdown }: MonitorRunContext,
): Promise<number> {
  // The aggregating run, and the engines behind it, load only with --redis or --nats.
  const opened = isAggregating(args)
    ? await (await import("./_aggregate_run.ts")).openAggregateRun(
      args,
      counts,
      log,
      shutdown.signal,
    )
    : await openFileRun(args, io, { counts, log, shutdown });
  if (opened === undefined) {
    io.stderr.write(`batch-corr: stopped by ${shutdown.received} before the first rows\n`);
    return EXIT.ok;
  }
  const tally = new MonitorTally(args.alert, args.alertOn);
  let run: MonitorRunState | undefined;
  const service = await MonitorServiceHook.open(args, io, {
    // An aggregating run learns the names from the first batch its group commits.
    ...("feed" in opened
      ? { features: () => opened.columns.features, confounds: () => opened.columns.confounds }
      : opened.columns),
    correlations: () =>
      opened.accumulator.count > 0
        ? opened.accumulator.correlations({ tol: 0, abs: false }).data
        : undefined,
    report: () => reportData(args, run!),
  });
  try {
    if ("feed" in opened) {
      // The same object: the aggregate run updates its columns and final state in place.
      run = Object.assign(opened, { counts, tally, service, arrow });
    } else if ("batches" in opened) {
      run = { ...opened, log, backend, counts, tally, service, arrow };
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
        arrow,
      };
    }
    return await finishRun(args, io, run, shutdown);
  } finally {
    await service.close();
  }
}

/** The run over the input (its rows, or an Arrow/Parquet input's batches), or undefined when a signal came first. */
async function openFileRun(
  args: MonitorArgs,
  io: CliIo,
  { counts, log, shutdown }: MonitorRunContext,
) {
  const format = args.demo ? "csv" : monitorInputFormat(args.inputFormat, args.input!);
  if (isColumnar(format)) {
    const columnar = await openColumnarRun(args, format, io, {
      counts,
      log,
      signal: shutdown.signal,
    });
    if (columnar === undefined) return undefined;
    return {
      ...columnar,
      accumulator: new CorrelationAccumulator({ maxElements: args.maxElements }),
    };
  }
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
    await run.arrow?.close();
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

/** The `monitor` command. */
export const MONITOR: Command<MonitorArgs> = {
  name: "monitor",
  synopses: [
    [
      "batch-corr monitor <file|-> --confounds a,b [options]",
      "stream a CSV/NDJSON, Arrow IPC or Parquet file, report per batch",
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
    "Arrow IPC (.arrow file or .arrows stream, also from a pipe or -) and Parquet (.parquet) inputs are " +
    "read column by column (apache-arrow or hyparquet, optional packages): the same batches and " +
    "results as the CSV of the same values, lines being the file's 1-based rows; a null is a bad " +
    "row (--on-bad-row), a non-numeric selected column or a truncated file exits 2.",
    "With --redis or --nats it reads no file: it reports what the workers of --group committed " +
    "('batch-corr worker'), one line per read with new batches: the last batch's index and first " +
    "line in the published file, the rows committed since the previous line, their loss, and the " +
    "running loss over every committed batch (over a whole stream, equal to 'monitor <file>'). " +
    "--metrics serves that view as it serves a file's, its counters counting the batches and " +
    "samples the group committed (docs/alerts.md).",
  ],
  flags: MONITOR_FLAGS,
  exitCodes: "Exit codes: 0 clean (or stopped by SIGINT/SIGTERM), 3 an alert fired, 2 bad usage, " +
    "bad input, an unwritable output or a --metrics address that cannot be listened on, " +
    "1 internal error, 141 an output closed early (as after SIGPIPE).",
  parse: parseMonitorArgs,
  run: runMonitor,
};
