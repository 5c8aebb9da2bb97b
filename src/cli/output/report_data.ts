/**
 * What the HTML report shows: the batches with their losses, the settings,
 * the final correlations and the bad input.
 *
 * @module
 */

import type { BadRow } from "../input/bad_row_log.ts";

/** One plotted batch. */
export interface ReportPoint {
  /** The batch index. */
  index: number;
  /** The first input line of the batch. */
  firstLine: number;
  /** The batch's own loss (NaN when it was skipped). */
  loss: number;
  /** The running loss after it. */
  running: number;
  /** The window loss after it, when a window or decay is used. */
  window: number | undefined;
  /** Whether it crossed the alert level. */
  alert: boolean;
}

/** Everything the report shows. */
export interface ReportData {
  /** What was read (a path or "standard input"). */
  source: string;
  /** Settings to list, in order. */
  settings: [string, string][];
  /** The batches, in order. */
  points: ReportPoint[];
  /** The alert level, if any. */
  alertLevel: number | undefined;
  /** Label of the window series ("window (3 batches)", "decay 0.9"). */
  windowLabel: string | undefined;
  /** Feature names. */
  features: string[];
  /** Confound names. */
  confounds: string[];
  /** Signed running correlations at the end, `(F, M)` row-major; undefined when no batch was folded in. */
  finalCorrelations: Float64Array | undefined;
  /** How many features to list per confound. */
  top: number;
  /** Rows processed and samples folded in. */
  rows: number;
  /** Samples in the running view at the end. */
  samples: number;
  /** Bad rows: the total, and the first ones with their lines. */
  badRows: { count: number; rows: BadRow[] };
  /** Skipped batches with their reason. */
  skippedBatches: { index: number; reason: string }[];
}
