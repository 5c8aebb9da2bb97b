/**
 * What the HTML report shows: the batches with their losses, the settings,
 * the final correlations and the bad input.
 *
 * @module
 */

import type { BadRow } from "../input/bad_row_log.ts";
import type { ReportPoint, ReportPoints } from "./report_points.ts";

export type { ReportPoint } from "./report_points.ts";
import type { SkippedBatch } from "./skipped_batches.ts";

/** Everything the report shows. */
export interface ReportData {
  /** What was read (a path or "standard input"). */
  source: string;
  /** Settings to list, in order. */
  settings: [string, string][];
  /** The batches, in order: every point, or a bounded {@linkcode ReportPoints} record of them. */
  points: readonly ReportPoint[] | ReportPoints;
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
  /**
   * Skipped batches: every one with its reason, or the total and the first
   * ones (what `SkippedBatches` keeps).
   */
  skippedBatches: readonly SkippedBatch[] | { count: number; batches: readonly SkippedBatch[] };
}
