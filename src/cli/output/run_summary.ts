/**
 * The summary `monitor` prints when the stream ends: batches and rows, the
 * final losses, the row counts, the alerts, the bad rows and skipped batches.
 *
 * @module
 */

import type { BatchResult } from "../../stream/batch_result.ts";
import type { BadRowLog } from "../input/bad_row_log.ts";
import { formatRowCounts, type RowCounts } from "../row_counts.ts";
import { fixed } from "./batch_table.ts";
import type { ReportPoint } from "./report_data.ts";

/** The view whose loss an alert compares, in words. */
export function alertViewName(on: "window" | "running" | "any"): string {
  return on === "any" ? "running or window" : on;
}

/** What the summary reports. */
export interface RunFacts {
  /** How the input is named. */
  source: string;
  /** Batches that came out. */
  batches: number;
  /** Rows passed on to the batches. */
  rows: number;
  /** The last batch's result. */
  last: BatchResult | undefined;
  /** The run's row counts. */
  counts: RowCounts;
  /** The alert level and what crossed it, when --alert was given. */
  alert?: {
    level: number;
    on: "window" | "running" | "any";
    count: number;
    first: ReportPoint | undefined;
  };
  /** The bad rows. */
  badRows: BadRowLog;
  /** The batches the stream skipped. */
  skippedBatches: readonly { index: number; reason: string }[];
}

function alertLine(alert: NonNullable<RunFacts["alert"]>): string {
  const view = alertViewName(alert.on);
  if (alert.count === 0) return `no alert: no ${view} loss reached ${alert.level}`;
  return `ALERT: ${alert.count} batch(es) reached ${view} loss ${alert.level}, first at batch ${
    alert.first!.index
  } ` +
    `(from line ${alert.first!.firstLine})`;
}

function badRowsLine(log: BadRowLog): string {
  const kinds = Object.entries(log.byKind).map(([kind, count]) =>
    `${count} ${kind.replace(/_/g, " ")}`
  ).join(", ");
  const lines = log.rows.slice(0, 20).map((row) => row.line).join(", ");
  return `skipped ${log.count} bad row(s) (${kinds}); lines ${lines}${log.count > 20 ? ", …" : ""}`;
}

/**
 * The summary lines of a monitor run.
 *
 * @param facts What happened.
 * @returns The lines, without newlines.
 */
export function runSummary(facts: RunFacts): string[] {
  const { last } = facts;
  const lines = [
    `${facts.batches} batches, ${facts.rows} rows from ${facts.source}; final running loss ${
      fixed(last?.running.loss)
    }` +
    (last?.window ? `, window loss ${fixed(last.window.loss)}` : ""),
    formatRowCounts(facts.counts),
  ];
  if (facts.alert !== undefined) lines.push(alertLine(facts.alert));
  if (facts.badRows.count > 0) lines.push(badRowsLine(facts.badRows));
  if (facts.skippedBatches.length > 0) {
    const batches = facts.skippedBatches.map((batch) => `batch ${batch.index}: ${batch.reason}`)
      .join("; ");
    lines.push(`skipped ${facts.skippedBatches.length} batch(es): ${batches}`);
  }
  return lines;
}
