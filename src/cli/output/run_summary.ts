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
import { safeText } from "./safe_text.ts";
import type { SkippedBatch } from "./skipped_batches.ts";

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
  /** The batches the stream skipped: the total, and the first ones with their reason. */
  skippedBatches: { count: number; batches: readonly SkippedBatch[] };
}

function alertLine(alert: NonNullable<RunFacts["alert"]>): string {
  const view = alertViewName(alert.on);
  if (alert.count === 0) return `no alert: no ${view} loss reached ${alert.level}`;
  return `ALERT: ${alert.count} batch(es) reached ${view} loss ${alert.level}, first at batch ${
    alert.first!.index
  } ` +
    `(from line ${alert.first!.firstLine})`;
}

/** Skipped batches listed in the summary; the rest are counted. */
const LISTED_BATCHES = 20;

function skippedLine(skipped: RunFacts["skippedBatches"]): string {
  const listed = skipped.batches.slice(0, LISTED_BATCHES).map((batch) =>
    `batch ${batch.index}: ${safeText(batch.reason, 1000)}`
  );
  const rest = skipped.count - listed.length;
  return `skipped ${skipped.count} batch(es): ${listed.join("; ")}${
    rest > 0 ? `; … and ${rest} more` : ""
  }`;
}

function badRowsLine(log: BadRowLog): string {
  const kinds = Object.entries(log.byKind).map(([kind, count]) =>
    `${count} ${kind.replace(/_/g, " ")}`
  ).join(", ");
  const lines = log.rows.slice(0, 20).map((row) => row.line).join(", ");
  return `skipped ${log.count} bad row(s) (${kinds}); lines ${lines}${log.count > 20 ? ", …" : ""}`;
}

/**
 * The summary lines of a monitor run: text from the input (the source's name,
 * the reasons) escaped as by `safeText`, and at most 20 bad rows and 20
 * skipped batches listed (all counted), so that its size does not grow with
 * the input.
 *
 * @param facts What happened.
 * @returns The lines, without newlines.
 */
export function runSummary(facts: RunFacts): string[] {
  const { last } = facts;
  const lines = [
    `${facts.batches} batches, ${facts.rows} rows from ${
      safeText(facts.source, 300)
    }; final running loss ${fixed(last?.running.loss)}` +
    (last?.window ? `, window loss ${fixed(last.window.loss)}` : ""),
    formatRowCounts(facts.counts),
  ];
  if (facts.alert !== undefined) lines.push(alertLine(facts.alert));
  if (facts.badRows.count > 0) lines.push(badRowsLine(facts.badRows));
  if (facts.skippedBatches.count > 0) lines.push(skippedLine(facts.skippedBatches));
  return lines;
}
