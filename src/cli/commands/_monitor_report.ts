/**
 * The HTML report of a monitor run (--report): its settings, plot data and
 * final correlations, written to the named file.
 *
 * @module
 */

import { statSync } from "node:fs";
import type { CorrelationAccumulator } from "../../accumulator/correlation_accumulator.ts";
import {
  defaultMomentsKernel,
  lastMomentsKernel,
  type MomentsKernelRun,
} from "../../kernels/compute_batch_moments.ts";
import type { OnnxBackend } from "../../onnx/onnx_backend.ts";
import { OutputError } from "../errors.ts";
import { checkOutputPath, type FileTarget, writeOutputFile } from "../output/output_file.ts";
import { unwritableMessage } from "../output/output_sink.ts";
import { safeText } from "../output/safe_text.ts";
import type { BadRowLog } from "../input/bad_row_log.ts";
import type { ResolvedColumns } from "../input/column_selection.ts";
import { renderReport } from "../output/report.ts";
import type { ReportData } from "../output/report_data.ts";
import { alertViewName } from "../output/run_summary.ts";
import type { MonitorArgs } from "./monitor_args.ts";
import type { MonitorTally } from "./_monitor_tally.ts";

/** What the report is made of. */
export interface ReportedRun {
  /** How the input is named. */
  source: string;
  /** The monitored columns. */
  columns: ResolvedColumns;
  /** The ONNX backend, when --provider is given. */
  backend: OnnxBackend | undefined;
  /** The running view's state. */
  accumulator: CorrelationAccumulator;
  /** The batches. */
  tally: MonitorTally;
  /** Rows passed on to the batches. */
  rows: number;
  /** The bad rows. */
  badRows: BadRowLog;
}

/** How the report names the batch kernel that ran. */
const KERNEL_LABELS: Record<MomentsKernelRun, string> = {
  "wasm-simd": "WebAssembly SIMD (float64)",
  "wasm-simd-float32": "WebAssembly SIMD (float32)",
  typescript: "TypeScript (float64)",
};

function kernelLabel(backend: OnnxBackend | undefined): string {
  return backend === undefined
    ? KERNEL_LABELS[lastMomentsKernel() ?? defaultMomentsKernel()]
    : `ONNX Runtime ${backend.provider} (float32 batch moments)`;
}

function windowSetting(args: MonitorArgs): string {
  return args.window !== undefined
    ? `${args.window} batches`
    : args.decay !== undefined
    ? `decay ${args.decay}`
    : "none";
}

function settingsList(args: MonitorArgs, run: ReportedRun): [string, string][] {
  return [
    ["kernel", kernelLabel(run.backend)],
    ["features", run.columns.features.join(", ")],
    ["confounds", run.columns.confounds.join(", ")],
    // A group's batches were cut by the publisher.
    ["batch size", args.redis ?? args.nats ? "as published" : String(args.batchSize)],
    ["tol", args.tol === "auto" ? `auto (tolSig ${args.tolSig})` : String(args.tol)],
    ["abs", String(args.abs)],
    ["scalarisation", args.scalarisation],
    ["nu", String(args.nu)],
    ["window", windowSetting(args)],
    [
      "alert level",
      args.alert === undefined
        ? "none"
        : `${args.alert} on the ${alertViewName(args.alertOn)} loss`,
    ],
    ["on bad row", args.onBadRow],
  ];
}

/** The signed running correlations at the end, when the running view holds every batch. */
function finalCorrelations(run: ReportedRun): Float64Array | undefined {
  const { accumulator } = run;
  return accumulator.count > 0 && accumulator.count === run.tally.last?.count
    ? accumulator.correlations({ tol: 0, abs: false }).data
    : undefined;
}

/**
 * What the report of a run shows now: the `--report` file and the live page
 * of `--metrics` are both made from it.
 *
 * @param args The monitor options.
 * @param run What the run saw so far.
 * @returns The report data.
 */
export function monitorReportData(args: MonitorArgs, run: ReportedRun): ReportData {
  return {
    source: run.source,
    settings: settingsList(args, run),
    points: run.tally.points,
    alertLevel: args.alert,
    windowLabel: args.window !== undefined
      ? `last ${args.window} batches`
      : args.decay !== undefined
      ? `decay ${args.decay}`
      : undefined,
    features: run.columns.features,
    confounds: run.columns.confounds,
    finalCorrelations: finalCorrelations(run),
    top: args.top,
    rows: run.rows + run.badRows.count,
    samples: run.accumulator.count,
    badRows: { count: run.badRows.count, rows: run.badRows.rows },
    skippedBatches: run.tally.skippedBatches,
  };
}

/**
 * Renders the report of a run and writes it to `file`.
 *
 * @param file The --report path.
 * @param report The report data ({@linkcode monitorReportData}).
 * @returns The summary line saying where it went.
 * @throws {OutputError} If the file cannot be written.
 */
export function writeMonitorReport(file: string, report: ReportData): string {
  const html = renderReport(report);
  writeOutputFile(reportTarget(file), html);
  return `report written to ${safeText(file, 300)}`;
}

function reportTarget(file: string): FileTarget {
  return { name: file, flag: "--report", what: "the report" };
}

/** The same file on disk, told by device and inode (a link or another spelling of the path included). */
function sameFile(a: string, b: string): boolean {
  try {
    const [x, y] = [statSync(a), statSync(b)];
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/**
 * Refuses a --report path before the run that would fill it: a directory, a
 * file in a missing folder, or the input itself (the report would overwrite
 * the data).
 *
 * @param file The --report path.
 * @param input The input path, if the input is a file.
 * @throws {OutputError} Naming the path and the reason.
 */
export function checkReportPath(file: string, input: string | undefined): void {
  checkWrittenPath(reportTarget(file), input);
}

/**
 * Refuses a path the run would write (--report, --output) before the run: a
 * directory, a file in a missing folder, or the input itself.
 *
 * @param target The path, its flag and what goes in it.
 * @param input The input path, if the input is a file.
 * @throws {OutputError} Naming the path and the reason.
 */
export function checkWrittenPath(target: FileTarget, input: string | undefined): void {
  checkOutputPath(target);
  if (input !== undefined && input !== "-" && sameFile(target.name, input)) {
    throw new OutputError(
      unwritableMessage(
        target,
        `the input file itself, which ${target.what ?? "the output"} would overwrite`,
      ),
    );
  }
}
