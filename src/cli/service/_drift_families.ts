/**
 * The metric families of the drift metric set, in their fixed order, built
 * from a snapshot of its state.
 *
 * @module
 */

import { INPUT_STATES, type InputState } from "./_input_state.ts";
import { counter, gauge, single } from "./_metric_families.ts";
import type { MetricFamily } from "./prometheus_text.ts";

/** The latest batch's values, as the gauges show them. */
export interface DriftLatest {
  batchLoss: number;
  runningLoss: number;
  tol: number;
  runningTol: number;
  alert: boolean;
  runningSamples: number;
  window: { loss: number; tol: number; effectiveCount: number } | undefined;
  at: number;
}

/** What {@linkcode driftFamilies} reads: the state of one metric set. */
export interface DriftSnapshot {
  /** The latest batch's values, if any batch was recorded. */
  latest: DriftLatest | undefined;
  /** Where the input stands. */
  state: InputState;
  /** The family `batch_corr_top_abs_correlation`. */
  top: MetricFamily;
  /** The family `batch_corr_top_feature_info`. */
  info: MetricFamily;
  /** The alert level, if set. */
  alertLevel: number | undefined;
  /** Batches recorded. */
  batches: number;
  /** Batches skipped. */
  skipped: number;
  /** Samples folded in. */
  samples: number;
  /** Input rows read and rejected. */
  rows: { read: number; rejected: number };
  /** F (undefined while the names are unknown). */
  featureCount: number | undefined;
  /** M (undefined while the names are unknown). */
  confoundCount: number | undefined;
}

/**
 * The metric families of a snapshot.
 *
 * @param s The metric set's state.
 * @returns The families, in a fixed order.
 */
export function driftFamilies(s: DriftSnapshot): MetricFamily[] {
  const latest = s.latest;
  const window = latest?.window;
  const top = s.top;
  const info = s.info;
  const state = s.state;
  return [
    gauge(
      "batch_corr_batch_loss",
      "Loss of the latest batch alone (NaN when it was skipped).",
      single(latest?.batchLoss),
    ),
    gauge(
      "batch_corr_running_loss",
      "Loss over every sample so far (the running view).",
      single(latest?.runningLoss),
    ),
    gauge(
      "batch_corr_window_loss",
      "Loss of the window or decay view after the latest batch.",
      single(window?.loss),
    ),
    gauge(
      "batch_corr_tol",
      "Tolerance applied to the latest batch's own correlations.",
      single(latest?.tol),
    ),
    gauge(
      "batch_corr_running_tol",
      "Tolerance applied to the running correlations.",
      single(latest?.runningTol),
    ),
    gauge(
      "batch_corr_window_tol",
      "Tolerance applied to the window or decay correlations.",
      single(window?.tol),
    ),
    gauge(
      "batch_corr_alert",
      "1 when the latest batch crossed the alert level, else 0.",
      single(latest === undefined ? undefined : latest.alert ? 1 : 0),
    ),
    gauge(
      "batch_corr_alert_level",
      "The monitor's alert level (--alert).",
      single(s.alertLevel),
    ),
    gauge(
      "batch_corr_running_samples",
      "Samples in the running view.",
      single(latest?.runningSamples),
    ),
    gauge(
      "batch_corr_window_effective_samples",
      "Samples in the window, or the effective sample size with decay.",
      single(window?.effectiveCount),
    ),
    gauge(
      "batch_corr_last_batch_timestamp_seconds",
      "When the latest batch was recorded, in seconds since the epoch.",
      single(latest === undefined ? undefined : latest.at / 1000),
    ),
    counter(
      "batch_corr_batches_total",
      "Batches processed, skipped ones included.",
      s.batches,
    ),
    counter(
      "batch_corr_batches_skipped_total",
      "Batches skipped as invalid (not folded in).",
      s.skipped,
    ),
    counter("batch_corr_samples_total", "Samples folded into the running view.", s.samples),
    counter(
      "batch_corr_rows_read_total",
      "Input data rows read, bad ones included.",
      s.rows.read,
    ),
    counter("batch_corr_rows_rejected_total", "Input rows rejected as bad.", s.rows.rejected),
    top,
    info,
    gauge(
      "batch_corr_input_state",
      "1 for the input's current state (waiting, flowing, idle, ended, failed), else 0.",
      INPUT_STATES.map((s) => ({ labels: { state: s }, value: s === state ? 1 : 0 })),
    ),
    gauge("batch_corr_features", "Number of features (F).", single(s.featureCount)),
    gauge("batch_corr_confounds", "Number of confounds (M).", single(s.confoundCount)),
  ];
}
