/**
 * The `monitor` command: file → records → numeric rows → mini-batches →
 * `correlateBatches` → table or NDJSON, alerts, progress and the HTML report.
 *
 * @module
 */

import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CorrelationAccumulator } from "../../accumulator.ts";
import type { BatchCorrResult } from "../../batch_corr.ts";
import { createOnnxBackend, type OnnxBackend } from "../../onnx/backend.ts";
import { rowsToBatches } from "../../batcher.ts";
import { checkElementLimit } from "../../limits.ts";
import { type BatchResult, correlateBatches, type StreamOptions } from "../../stream.ts";
import type { Command } from "../args/command.ts";
import { type MonitorArgs, parseMonitorArgs } from "./monitor_args.ts";
import { MONITOR_FLAGS } from "./monitor_flags.ts";
import { parseCsv } from "../input/csv.ts";
import { EXIT, InputError, UsageError } from "../errors.ts";
import { formatRowCounts, type RowCounts, withRowCounts } from "../row_counts.ts";
import type { CliIo } from "../cli_io.ts";
import { openInput } from "../input/open_input.ts";
import { parseNdjson } from "../input/ndjson.ts";
import { ProgressLine } from "../output/progress_line.ts";
import { renderReport } from "../output/report.ts";
import type { ReportPoint } from "../output/report_data.ts";
import { BadRowLog } from "../input/bad_row_log.ts";
import type { NumericRow } from "../input/numeric_row.ts";
import { openNumericTable } from "../input/numeric_table.ts";

/** The bundled real data set used by `--demo`. */
export const DEMO_DATA_PATH: string = fileURLToPath(new URL("../../../data/seattle-weather.csv", import.meta.url));

/** How the per-batch table columns are laid out. */
const TABLE_HEADER = `${"batch".padStart(6)}  ${"from line".padStart(9)}  ${"rows".padStart(5)}  ${"tol".padStart(6)}  ${
  "batch loss".padStart(10)
}  ${"running".padStart(8)}  ${"window".padStart(8)}  alert`;

function fixed(value: number | undefined, digits = 4): string {
  return value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);
}

function tableHeader(withDate: boolean): string {
  return withDate ? TABLE_HEADER.replace("from line", `from line  ${"first date".padEnd(10)}`) : TABLE_HEADER;
}

function tableRow(result: BatchResult, first: BatchStart, alert: boolean, withDate: boolean): string {
  const from = `${String(first.line).padStart(9)}${withDate ? `  ${(first.date ?? "").padEnd(10)}` : ""}`;
  if (result.skipped) {
    return `${String(result.index).padStart(6)}  ${from}  skipped: ${result.skipped.reason}`;
  }
  return `${String(result.index).padStart(6)}  ${from}  ${String(result.batchSize).padStart(5)}  ${
    fixed(result.tol, 3).padStart(6)
  }  ${fixed(result.loss).padStart(10)}  ${fixed(result.running.loss).padStart(8)}  ${fixed(result.window?.loss).padStart(8)}  ${alert ? "ALERT" : ""}`;
}

function tensorJson(result: BatchCorrResult | undefined): unknown {
  return result === undefined ? undefined : { shape: result.shape, tol: result.tol, data: Array.from(result.data) };
}

/** Where a batch starts in the input. */
interface BatchStart {
  line: number;
  date?: string | undefined;
}

/** The NDJSON object of one batch (NaN and ±Infinity become null). */
function ndjsonRecord(result: BatchResult, firstLine: number, alert: boolean, withCorrelations: boolean): string {
  const record: Record<string, unknown> = {
    index: result.index,
    firstLine,
    batchSize: result.batchSize,
    count: result.count,
    tol: result.tol,
    loss: result.loss,
    running: { tol: result.running.tol, loss: result.running.loss },
  };
  if (result.window) {
    record.window = { tol: result.window.tol, loss: result.window.loss, effectiveCount: result.window.effectiveCount };
  }
  record.alert = alert;
  if (result.skipped) record.skipped = { reason: result.skipped.reason };
  if (withCorrelations) {
    record.correlations = {
      batch: tensorJson(result.correlations),
      running: tensorJson(result.running.correlations),
      ...(result.window ? { window: tensorJson(result.window.correlations) } : {}),
    };
  }
  return `${JSON.stringify(record)}\n`;
}

function isAlert(result: BatchResult, level: number | undefined, on: MonitorArgs["alertOn"]): boolean {
  if (level === undefined || result.skipped) return false;
  const running = result.running.loss >= level;
  const window = result.window !== undefined && result.window.loss >= level;
  return on === "running" ? running : on === "window" ? window : running || window;
}

function inputFormat(args: MonitorArgs, path: string): "csv" | "ndjson" {
  if (args.inputFormat) return args.inputFormat;
  return /\.(ndjson|jsonl)$/i.test(path) ? "ndjson" : "csv";
}

function kernelLabel(backend: OnnxBackend | undefined): string {
  return backend === undefined ? "TypeScript (float64)" : `ONNX Runtime ${backend.provider} (float32 batch moments)`;
}

function settingsList(args: MonitorArgs, features: string[], confounds: string[], backend: OnnxBackend | undefined): [string, string][] {
  return [
    ["kernel", kernelLabel(backend)],
    ["features", features.join(", ")],
    ["confounds", confounds.join(", ")],
    ["batch size", String(args.batchSize)],
    ["tol", args.tol === "auto" ? `auto (tolSig ${args.tolSig})` : String(args.tol)],
    ["abs", String(args.abs)],
    ["scalarisation", args.scalarisation],
    ["nu", String(args.nu)],
    ["window", args.window !== undefined ? `${args.window} batches` : args.decay !== undefined ? `decay ${args.decay}` : "none"],
    ["alert level", args.alert === undefined ? "none" : `${args.alert} on the ${args.alertOn === "any" ? "running or window" : args.alertOn} loss`],
    ["on bad row", args.onBadRow],
  ];
}

/** Creates the --provider backend and says on stderr which provider runs (stdout stays data only). */
async function openBackend(args: MonitorArgs, io: CliIo): Promise<OnnxBackend | undefined> {
  if (args.provider === undefined) return undefined;
  // zeroVariance "zero" is what the monitor's stream uses (its default); abs follows --abs/--no-abs.
  const backend = await createOnnxBackend({ provider: args.provider, abs: args.abs, zeroVariance: "zero" });
  const chosen = args.provider === "auto" ? `--provider auto took "${backend.provider}"` : `provider "${backend.provider}"`;
  const fallback = backend.fallbackReason === undefined ? "" : ` (skipped: ${backend.fallbackReason})`;
  io.stderr.write(`batch-corr: batch moments on ONNX Runtime, ${chosen}${fallback}\n`);
  return backend;
}

/**
 * Runs `monitor` with parsed arguments.
 *
 * @param args The validated options.
 * @param io The streams to use.
 * @returns The exit code: 0 clean, 3 an alert fired (unless --no-fail-on-alert).
 * @throws {BatchCorrError} `provider_unavailable` for a --provider that cannot run here (exit code 2).
 * @throws {InputError} For unusable input (exit code 2).
 */
export async function runMonitor(args: MonitorArgs, io: CliIo): Promise<number> {
  const backend = await openBackend(args, io);
  try {
    return await monitorStream(args, io, backend);
  } finally {
    await backend?.dispose();
  }
}

/** Counts the records passing through, for the rows-read figure. */
async function* counting<T>(records: AsyncIterable<T>, count: () => void): AsyncGenerator<T> {
  for await (const record of records) {
    count();
    yield record;
  }
}

async function monitorStream(args: MonitorArgs, io: CliIo, backend: OnnxBackend | undefined): Promise<number> {
  const counts: RowCounts = { read: 0, used: 0, rejected: 0 };
  const log = new BadRowLog();
  try {
    return await monitorRows(args, io, backend, counts, log);
  } catch (error) {
    counts.rejected = log.count;
    throw withRowCounts(error, counts);
  }
}

async function monitorRows(args: MonitorArgs, io: CliIo, backend: OnnxBackend | undefined, counts: RowCounts, log: BadRowLog): Promise<number> {
  const path = args.demo ? DEMO_DATA_PATH : args.input!;
  const input = openInput(path, io);
  const format = inputFormat(args, path);
  const sourceLabel = args.demo ? "data/seattle-weather.csv (bundled demo)" : input.label;
  const limits = { maxColumns: args.maxColumns, maxLineBytes: args.maxLineBytes };
  let records: Parameters<typeof openNumericTable>[0];
  if (format === "csv") {
    let header = true;
    const countRow = () => (header ? (header = false) : counts.read++);
    records = { format: "csv", records: counting(parseCsv(input.bytes, limits), countRow) };
  } else {
    records = { format: "ndjson", records: counting(parseNdjson(input.bytes, limits), () => counts.read++) };
  }
  const table = await openNumericTable(records, {
    confounds: args.confounds,
    features: args.features,
    dateColumn: args.dateColumn,
  }, args.onBadRow, log);
  const { features, confounds } = table.columns;
  const F = features.length;
  // Checked once here rather than per batch: every batch has the same shape.
  checkElementLimit(F, confounds.length, args.maxElements, "monitor the input", "--max-elements");

  const points: ReportPoint[] = [];
  // The first line of each batch, queued as rows are batched and taken as results come out.
  const batchStarts: BatchStart[] = [];
  let rowsRead = 0;
  let lastReportedBad = 0;
  const progress = new ProgressLine(
    io.stderr,
    args.progress === "always" || (args.progress === "auto" && io.stderrIsTty),
  );
  const started = performance.now();
  const progressState = () => ({
    bytesRead: input.bytesRead(),
    totalBytes: input.totalBytes,
    batches: points.length,
    rows: rowsRead + log.count,
    elapsedMs: performance.now() - started,
  });
  const warnBadRows = () => {
    // Each skipped row is named on stderr (the first 10), so none is silently lost.
    while (lastReportedBad < log.count) {
      const row = log.rows[lastReportedBad];
      if (lastReportedBad < 10 && row) {
        progress.clear();
        io.stderr.write(`batch-corr: skipped line ${row.line}: ${row.reason}\n`);
      }
      lastReportedBad++;
    }
  };
  async function* rows(): AsyncGenerator<number[]> {
    for await (const row of table.rows as AsyncIterable<NumericRow>) {
      if (rowsRead % args.batchSize === 0) batchStarts.push({ line: row.line, date: row.date });
      rowsRead++;
      counts.used = rowsRead;
      yield row.values;
    }
  }

  const accumulator = new CorrelationAccumulator({ maxElements: args.maxElements });
  const streamOptions: StreamOptions = {
    tol: args.tol,
    tolSig: args.tolSig,
    abs: args.abs,
    nu: args.nu,
    scalarisation: args.scalarisation,
    onInvalid: "skip",
    maxElements: args.maxElements,
    output: args.correlations ? "full" : "losses",
    accumulator,
    ...(backend !== undefined ? { backend } : {}),
    ...(args.window !== undefined ? { window: args.window } : {}),
    ...(args.decay !== undefined ? { decay: args.decay } : {}),
  };
  const batches = rowsToBatches(rows(), {
    batchSize: args.batchSize,
    features: Array.from({ length: F }, (_, i) => i),
    confounds: confounds.map((_, m) => F + m),
  });

  const skippedBatches: { index: number; reason: string }[] = [];
  let alerts = 0;
  let lastResult: BatchResult | undefined;
  const withDate = args.dateColumn !== undefined;
  if (args.format === "table") await io.stdout.write(`${tableHeader(withDate)}\n`);
  for await (const result of correlateBatches(batches, streamOptions)) {
    const start = batchStarts.shift() ?? { line: 0 };
    const firstLine = start.line;
    const alert = isAlert(result, args.alert, args.alertOn);
    if (alert) alerts++;
    if (result.skipped) skippedBatches.push({ index: result.index, reason: result.skipped.reason });
    points.push({
      index: result.index,
      firstLine,
      loss: result.loss,
      running: result.running.loss,
      window: result.window?.loss,
      alert,
    });
    lastResult = result;
    warnBadRows();
    if (args.format === "ndjson") {
      await io.stdout.write(ndjsonRecord(result, firstLine, alert, args.correlations));
    } else if (alert || result.skipped || result.index % args.printEvery === 0) {
      progress.clear();
      await io.stdout.write(`${tableRow(result, start, alert, withDate)}\n`);
    }
    progress.update(progressState());
  }
  warnBadRows();
  progress.finish(progressState());
  counts.rejected = log.count;
  if (rowsRead === 0) {
    throw new InputError(
      `Cannot monitor ${sourceLabel} as it must hold at least one usable data row: current value is ${
        counts.read === 0 ? "no data row" : `${counts.read} data row(s), all rejected`
      }`,
    );
  }

  const summary: string[] = [];
  summary.push(
    `${points.length} batches, ${rowsRead} rows from ${sourceLabel}; final running loss ${fixed(lastResult?.running.loss)}` +
      (lastResult?.window ? `, window loss ${fixed(lastResult.window.loss)}` : ""),
    formatRowCounts(counts),
  );
  if (args.alert !== undefined) {
    const first = points.find((p) => p.alert);
    summary.push(
      alerts === 0
        ? `no alert: no ${args.alertOn === "any" ? "running or window" : args.alertOn} loss reached ${args.alert}`
        : `ALERT: ${alerts} batch(es) reached ${args.alertOn === "any" ? "running or window" : args.alertOn} loss ${args.alert}, first at batch ${first!.index} (from line ${first!.firstLine})`,
    );
  }
  if (log.count > 0) {
    const kinds = Object.entries(log.byKind).map(([kind, count]) => `${count} ${kind.replace(/_/g, " ")}`).join(", ");
    summary.push(`skipped ${log.count} bad row(s) (${kinds}); lines ${log.rows.slice(0, 20).map((r) => r.line).join(", ")}${log.count > 20 ? ", …" : ""}`);
  }
  if (skippedBatches.length > 0) {
    summary.push(`skipped ${skippedBatches.length} batch(es): ${skippedBatches.map((b) => `batch ${b.index}: ${b.reason}`).join("; ")}`);
  }

  if (args.report !== undefined) {
    const finalCorrelations = accumulator.count > 0 && accumulator.count === lastResult?.count
      ? accumulator.correlations({ tol: 0, abs: false }).data
      : undefined;
    const html = renderReport({
      source: sourceLabel,
      settings: settingsList(args, features, confounds, backend),
      points,
      alertLevel: args.alert,
      windowLabel: args.window !== undefined ? `last ${args.window} batches` : args.decay !== undefined ? `decay ${args.decay}` : undefined,
      features,
      confounds,
      finalCorrelations,
      top: args.top,
      rows: rowsRead + log.count,
      samples: accumulator.count,
      badRows: { count: log.count, rows: log.rows },
      skippedBatches,
    });
    try {
      writeFileSync(args.report, html);
    } catch (error) {
      throw new UsageError(`Cannot write the report as --report must name a writable file: current value is "${args.report}" (${(error as Error).message})`);
    }
    summary.push(`report written to ${args.report}`);
  }
  const summaryText = summary.map((line) => `${line}\n`).join("");
  if (args.format === "table") await io.stdout.write(summaryText);
  else io.stderr.write(summaryText);
  return alerts > 0 && args.failOnAlert ? EXIT.alert : EXIT.ok;
}

/** The `monitor` command. */
export const MONITOR: Command<MonitorArgs> = {
  name: "monitor",
  synopses: [
    ["batch-corr monitor <file|-> --confounds a,b [options]", "stream a CSV/NDJSON file, report per batch"],
    ["batch-corr monitor --demo [options]", "the bundled Seattle weather data set"],
  ],
  description: [
    "Streams a CSV (header row) or NDJSON file, or standard input (-), in mini-batches and prints, for " +
    "every batch, the batch loss, the running loss over everything so far and, with --window/--decay, " +
    "the recent loss. The file is never loaded whole.",
  ],
  flags: MONITOR_FLAGS,
  exitCodes: "Exit codes: 0 clean, 3 an alert fired, 2 bad usage or bad input, 1 internal error.",
  parse: parseMonitorArgs,
  run: runMonitor,
};
