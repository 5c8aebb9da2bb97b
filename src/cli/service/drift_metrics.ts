/**
 * The drift monitor's metric set: fed one record per batch (a `BatchResult`
 * of `correlateBatches`, or a record of `monitor --format ndjson`), it keeps
 * the latest losses, tolerances and alert as gauges, counts batches, samples
 * and rows, ranks the top-k running |r| per confound, and writes it all in
 * the Prometheus text format.
 *
 * @module
 */

import { parseOrThrow } from "./_parse.ts";
import { type ColumnNames, columnNames, type NamesOption } from "./_column_names.ts";
import { driftFamilies, type DriftLatest } from "./_drift_families.ts";
import {
  lateNamesOptionsSchema,
  optionsSchema,
  recordOptionsSchema,
  recordSchema,
  rowsSchema,
} from "./_drift_metrics_schemas.ts";
import type { InputState } from "./_input_state.ts";
import { checkRunningTotals } from "./_running_totals.ts";
import { topFeatureFamilies } from "./_top_feature_families.ts";
import { encodePrometheusText, type MetricFamily } from "./prometheus_text.ts";

export { INPUT_STATES, type InputState } from "./_input_state.ts";

/**
 * What the metrics read from one batch: the fields of a `BatchResult` (extra
 * fields are ignored), or of an NDJSON record of `monitor`, where `null`
 * stands for NaN.
 */
export interface DriftBatchRecord {
  /** The batch's 0-based index; increases from one record to the next. */
  index: number;
  /** B of the batch (NaN or null when a skipped batch had no readable size). */
  batchSize: number | null;
  /** Samples in the running view after it. */
  count: number;
  /** The batch's own tolerance (NaN or null when skipped). */
  tol: number | null;
  /** The batch's own loss (NaN or null when skipped). */
  loss: number | null;
  /** The running view. */
  running: { tol: number | null; loss: number | null };
  /** The window or decay view, when the run has one. */
  window?: { tol: number | null; loss: number | null; effectiveCount: number | null } | undefined;
  /** Present when the batch was skipped (it was not folded in). */
  skipped?: { reason: string } | undefined;
}

/** Running totals of input rows, as the monitor counts them. */
export interface RowTotals {
  /** Data rows read so far (bad ones included). */
  read: number;
  /** Bad rows so far. */
  rejected: number;
}

/**
 * Running totals of batches and samples, for an input that counts them
 * itself: an aggregating monitor's record stands for every batch its workers
 * committed since the previous one.
 */
export interface BatchTotals {
  /** Batches so far, skipped ones included (`batch_corr_batches_total`). */
  batches: number;
  /** Batches skipped so far, never folded in (`batch_corr_batches_skipped_total`). */
  skipped: number;
  /** Samples folded into the running view so far (`batch_corr_samples_total`). */
  samples: number;
}

/** Options of {@linkcode DriftMetrics.recordBatch}. */
export interface RecordBatchOptions {
  /** Whether this batch crossed the alert level. */
  alert: boolean;
  /** The row totals after this batch, if known. */
  rows?: RowTotals | undefined;
  /**
   * The batch totals after this record, when the input counts them itself;
   * without them the record counts as one batch (skipped or not) and adds its
   * `batchSize` to the samples.
   */
  totals?: BatchTotals | undefined;
}

/** Options of {@linkcode DriftMetrics}. */
export interface DriftMetricsOptions {
  /**
   * Feature names, in the order of the correlation rows; or, when the names
   * are only known once batches arrive, a function that returns them ([] until
   * then), `confounds` being one too.
   */
  features: NamesOption;
  /**
   * Confound names, in the order of the correlation columns (label values;
   * repeats get `#2`, `#3`…); or a function returning them, [] while they are
   * unknown: no top-k series and no `batch_corr_features`/`batch_corr_confounds`
   * sample until then.
   */
  confounds: NamesOption;
  /**
   * How many features to rank per confound (k): at most k × M series of
   * `batch_corr_top_abs_correlation`, whatever F is.
   * @default {5}
   */
  top?: number;
  /** The monitor's `--alert` level, exposed as `batch_corr_alert_level` when given. */
  alertLevel?: number | undefined;
  /**
   * The signed running correlations before the tolerance, `(F, M)` row-major,
   * or undefined before any batch was folded in. Called at most once per
   * recorded batch, when metrics are read.
   */
  correlations?: (() => Float64Array | undefined) | undefined;
  /**
   * Milliseconds without a batch or row after which `flowing` turns `idle`.
   * @default {60000}
   */
  idleAfterMs?: number;
}

/** Where the input stands, for `/healthz`. */
export interface DriftStatus {
  /** The state. */
  state: InputState;
  /** Batches recorded. */
  batches: number;
  /** When the latest batch was recorded (ms since the epoch), if any. */
  lastBatchAt: number | undefined;
  /** The fatal input error's message, in state `failed`. */
  error: string | undefined;
}

function nanIfNull(value: number | null | undefined): number {
  return value === null || value === undefined ? Number.NaN : value;
}

/**
 * The metric set of one drift-monitor run. Gauges hold the latest batch's
 * values (absent before the first batch, NaN where the batch has none, as
 * a skipped batch's own loss); counters only go up. The top-k ranking reuses
 * the HTML report's `topFeatures`, so the metrics and the report's table
 * agree; feature names are labels of `batch_corr_top_feature_info` only,
 * so the number of series stays at most k × M whatever F is.
 *
 * | metric | type | value |
 * | --- | --- | --- |
 * | `batch_corr_batch_loss` | gauge | the latest batch's own loss |
 * | `batch_corr_running_loss` | gauge | the loss over every sample so far |
 * | `batch_corr_window_loss` | gauge | the window or decay loss (runs with one) |
 * | `batch_corr_tol`, `batch_corr_running_tol`, `batch_corr_window_tol` | gauge | the tolerances applied |
 * | `batch_corr_alert` | gauge | 1 if the latest batch crossed the alert level, else 0 |
 * | `batch_corr_alert_level` | gauge | the `--alert` level (when set) |
 * | `batch_corr_running_samples`, `batch_corr_window_effective_samples` | gauge | samples in the views |
 * | `batch_corr_last_batch_timestamp_seconds` | gauge | when the latest batch was recorded |
 * | `batch_corr_batches_total`, `batch_corr_batches_skipped_total` | counter | batches seen, skipped |
 * | `batch_corr_samples_total` | counter | samples folded in |
 * | `batch_corr_rows_read_total`, `batch_corr_rows_rejected_total` | counter | input rows read, rejected |
 * | `batch_corr_top_abs_correlation{confound,rank}` | gauge | the rank-th largest running \|r\| |
 * | `batch_corr_top_feature_info{confound,rank,feature}` | gauge | 1, naming that feature |
 * | `batch_corr_input_state{state}` | gauge | 1 for the current {@linkcode InputState}, else 0 |
 * | `batch_corr_features`, `batch_corr_confounds` | gauge | F and M |
 *
 * @example Two batches, then the text format
 * ```ts
 * import { DriftMetrics } from "./drift_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const metrics = new DriftMetrics({ features: ["f0", "f1"], confounds: ["age"], top: 1,
 *   correlations: () => new Float64Array([0.2, -0.7]) });
 * metrics.recordBatch({ index: 0, batchSize: 50, count: 50, tol: 0.1, loss: 0.3, running: { tol: 0.1, loss: 0.3 } }, { alert: false });
 * metrics.recordBatch({ index: 1, batchSize: 50, count: 100, tol: 0.1, loss: 0.5, running: { tol: 0.08, loss: 0.4 } }, { alert: true });
 * const text = metrics.render();
 * assert.match(text, /^batch_corr_running_loss 0\.4$/m);
 * assert.match(text, /^batch_corr_samples_total 100$/m);
 * assert.match(text, /^batch_corr_top_abs_correlation\{confound="age",rank="1"\} 0\.7$/m);
 * assert.match(text, /^batch_corr_top_feature_info\{confound="age",rank="1",feature="f1"\} 1$/m);
 * ```
 */
export class DriftMetrics {
  readonly #names: () => ColumnNames;
  readonly #top: number;
  readonly #alertLevel: number | undefined;
  readonly #correlations: (() => Float64Array | undefined) | undefined;
  readonly #idleAfterMs: number;
  #latest: DriftLatest | undefined;
  #lastIndex = -1;
  #recorded = 0;
  #batches = 0;
  #skipped = 0;
  #samples = 0;
  #rows: RowTotals = { read: 0, rejected: 0 };
  #lastActivity: number | undefined;
  #ended = false;
  #failure: string | undefined;
  #ranking:
    | { version: number; names: ColumnNames; families: [MetricFamily, MetricFamily] }
    | undefined;

  /**
   * Creates the metric set.
   *
   * @param options Names, k, the alert level and where correlations come from.
   * @throws {TypeError} If an option has the wrong type or is unknown.
   * @throws {RangeError} If `top` is not an integer in [1, 1000], `confounds`
   * is an empty array or `idleAfterMs` is not a positive integer.
   */
  constructor(options: DriftMetricsOptions) {
    const late = typeof options?.features === "function" ||
      typeof options?.confounds === "function";
    const parsed = parseOrThrow(
      late ? lateNamesOptionsSchema : optionsSchema,
      options,
      "create DriftMetrics",
      "options",
    );
    this.#names = columnNames(parsed.features, parsed.confounds);
    this.#top = parsed.top;
    this.#alertLevel = parsed.alertLevel;
    this.#correlations = parsed.correlations;
    this.#idleAfterMs = parsed.idleAfterMs;
  }

  /**
   * Records one batch: sets the gauges to its values and adds it to the
   * counters (a skipped batch counts in `batch_corr_batches_skipped_total`
   * and adds no samples), or sets the counters to `options.totals`.
   *
   * @param record The batch's result (a `BatchResult` or an NDJSON record).
   * @param options Whether it alerted, and the row and batch totals after it.
   * @throws {TypeError} If a field has the wrong type.
   * @throws {RangeError} If `index` does not increase, or a row or batch total decreases.
   */
  recordBatch(record: DriftBatchRecord, options: RecordBatchOptions): void {
    const context = "record the batch in the metrics";
    const r = parseOrThrow(recordSchema, record, context, "record");
    const o = parseOrThrow(recordOptionsSchema, options, context, "options");
    if (r.index <= this.#lastIndex) {
      throw new RangeError(
        `Cannot ${context} as record.index must increase from one batch to the next (above ${this.#lastIndex}): current value is ${r.index}`,
      );
    }
    if (o.rows) checkRunningTotals(this.#rows, o.rows, context, "options.rows");
    if (o.totals) checkRunningTotals(this.#totals(), o.totals, context, "options.totals");
    const now = Date.now();
    this.#lastIndex = r.index;
    this.#recorded++;
    if (o.totals) {
      ({ batches: this.#batches, skipped: this.#skipped, samples: this.#samples } = o.totals);
    } else {
      this.#batches++;
      const batchSize = nanIfNull(r.batchSize);
      if (r.skipped) this.#skipped++;
      else if (Number.isFinite(batchSize)) this.#samples += batchSize;
    }
    if (o.rows) this.#rows = { ...o.rows };
    this.#latest = {
      batchLoss: nanIfNull(r.loss),
      runningLoss: nanIfNull(r.running.loss),
      tol: nanIfNull(r.tol),
      runningTol: nanIfNull(r.running.tol),
      alert: o.alert,
      runningSamples: r.count,
      window: r.window
        ? {
          loss: nanIfNull(r.window.loss),
          tol: nanIfNull(r.window.tol),
          effectiveCount: nanIfNull(r.window.effectiveCount),
        }
        : this.#latest?.window,
      at: now,
    };
    this.#lastActivity = now;
  }

  /**
   * Records the input's row totals between batches (rows that complete no
   * batch yet, bad rows).
   *
   * @param rows Rows read and rejected so far.
   * @throws {TypeError} If a total is not a number.
   * @throws {RangeError} If a total is not a non-negative integer or decreases.
   */
  recordRows(rows: RowTotals): void {
    const context = "record the row totals in the metrics";
    const parsed = parseOrThrow(rowsSchema, rows, context, "rows");
    checkRunningTotals(this.#rows, parsed, context, "rows");
    if (parsed.read !== this.#rows.read || parsed.rejected !== this.#rows.rejected) {
      this.#lastActivity = Date.now();
    }
    this.#rows = { ...parsed };
  }

  /** Marks the input as finished (state `ended`, unless it failed). */
  endInput(): void {
    this.#ended = true;
  }

  /**
   * Marks the input as failed (state `failed`: `/healthz` answers 503).
   *
   * @param error The fatal error; its message is shown by `/healthz`.
   */
  failInput(error: unknown): void {
    this.#failure = error instanceof Error ? error.message : String(error);
  }

  /**
   * Where the input stands now.
   *
   * @returns The state, the batch count, the latest batch's time and any error.
   */
  status(): DriftStatus {
    return {
      state: this.#state(Date.now()),
      batches: this.#batches,
      lastBatchAt: this.#latest?.at,
      error: this.#failure,
    };
  }

  /**
   * The metric families as they stand.
   *
   * @returns The families, in a fixed order.
   * @throws {TypeError} If `options.correlations` returned something other
   * than a Float64Array of F × M values.
   */
  families(): MetricFamily[] {
    const state = this.#state(Date.now());
    const names = this.#names();
    const [top, info] = this.#ranked(names);
    return driftFamilies({
      latest: this.#latest,
      state,
      top,
      info,
      alertLevel: this.#alertLevel,
      batches: this.#batches,
      skipped: this.#skipped,
      samples: this.#samples,
      rows: this.#rows,
      featureCount: names.known ? names.features.length : undefined,
      confoundCount: names.known ? names.confounds.length : undefined,
    });
  }

  /**
   * The metrics in the Prometheus text format.
   *
   * @param extra More families to write after these (the service's own).
   * @returns The exposition text.
   * @throws {TypeError} As {@linkcode DriftMetrics.families}.
   */
  render(extra: readonly MetricFamily[] = []): string {
    return encodePrometheusText([...this.families(), ...extra]);
  }

  #totals(): BatchTotals {
    return { batches: this.#batches, skipped: this.#skipped, samples: this.#samples };
  }

  #state(now: number): InputState {
    if (this.#failure !== undefined) return "failed";
    if (this.#ended) return "ended";
    if (this.#lastActivity === undefined) return "waiting";
    return now - this.#lastActivity > this.#idleAfterMs ? "idle" : "flowing";
  }

  /** The top-k families, recomputed once per recorded batch (and when the names arrive). */
  #ranked(names: ColumnNames): [MetricFamily, MetricFamily] {
    const ranking = this.#ranking;
    if (ranking?.version === this.#recorded && ranking.names === names) return ranking.families;
    const ranked = this.#recorded > 0 && names.known && names.features.length > 0;
    const correlations = ranked ? this.#correlations?.() : undefined;
    const families = topFeatureFamilies(correlations, {
      features: names.features,
      confounds: names.confounds,
      confoundLabels: names.confoundLabels,
      top: Math.min(this.#top, names.features.length),
    });
    this.#ranking = { version: this.#recorded, names, families };
    return families;
  }
}
