/**
 * The report's per-batch points in bounded memory: every point while there
 * are few, then buckets of consecutive batches that keep, per series, the
 * first, last, smallest and largest value (so the plot's extremes stay exact)
 * and, per bucket, how many batches alerted.
 *
 * @module
 */

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

/** The series a point carries. */
export type SeriesKey = "loss" | "running" | "window";

/** A value of a series at a batch. */
export interface SeriesValue {
  /** The batch index. */
  index: number;
  /** The value (finite). */
  value: number;
}

/** A series over a bucket: its first, last, smallest and largest finite value, and whether it broke. */
export interface SeriesSummary {
  /** The first finite value. */
  first: SeriesValue | undefined;
  /** The last finite value. */
  last: SeriesValue | undefined;
  /** The smallest finite value (the first of equals). */
  min: SeriesValue | undefined;
  /** The largest finite value (the first of equals). */
  max: SeriesValue | undefined;
  /** Whether some batch of the bucket had no finite value (a skipped batch breaks the line). */
  gap: boolean;
}

/** Consecutive batches summarised. */
export interface PointBucket {
  /** The first batch's index. */
  firstIndex: number;
  /** The last batch's index. */
  lastIndex: number;
  /** The first input line of the first batch. */
  firstLine: number;
  /** How many batches. */
  count: number;
  /** How many of them alerted. */
  alerts: number;
  /** The first alerted batch, if any. */
  firstAlert: ReportPoint | undefined;
  /** Each series over the bucket. */
  series: Record<SeriesKey, SeriesSummary>;
}

/** Points kept one by one; past this the points become buckets. */
export const EXACT_POINTS = 2048;
/** The most buckets kept: about one per pixel of the plot's width, so nothing visible is lost. */
export const MAX_BUCKETS = 1024;

const KEYS: readonly SeriesKey[] = ["loss", "running", "window"];

function emptySeries(): SeriesSummary {
  return { first: undefined, last: undefined, min: undefined, max: undefined, gap: false };
}

function addValue(summary: SeriesSummary, index: number, value: number | undefined): void {
  if (value === undefined || !Number.isFinite(value)) {
    summary.gap = true;
    return;
  }
  const point = { index, value };
  summary.first ??= point;
  summary.last = point;
  if (summary.min === undefined || value < summary.min.value) summary.min = point;
  if (summary.max === undefined || value > summary.max.value) summary.max = point;
}

function mergeSeries(a: SeriesSummary, b: SeriesSummary): SeriesSummary {
  const pick = (x: SeriesValue | undefined, y: SeriesValue | undefined, smaller: boolean) =>
    x === undefined
      ? y
      : y === undefined
      ? x
      : (smaller ? y.value < x.value : y.value > x.value)
      ? y
      : x;
  return {
    first: a.first ?? b.first,
    last: b.last ?? a.last,
    min: pick(a.min, b.min, true),
    max: pick(a.max, b.max, false),
    gap: a.gap || b.gap,
  };
}

function bucketOf(point: ReportPoint): PointBucket {
  const bucket: PointBucket = {
    firstIndex: point.index,
    lastIndex: point.index,
    firstLine: point.firstLine,
    count: 0,
    alerts: 0,
    firstAlert: undefined,
    series: { loss: emptySeries(), running: emptySeries(), window: emptySeries() },
  };
  addToBucket(bucket, point);
  return bucket;
}

function addToBucket(bucket: PointBucket, point: ReportPoint): void {
  bucket.lastIndex = point.index;
  bucket.count++;
  if (point.alert) {
    bucket.alerts++;
    bucket.firstAlert ??= point;
  }
  for (const key of KEYS) addValue(bucket.series[key], point.index, point[key]);
}

function mergeBuckets(a: PointBucket, b: PointBucket): PointBucket {
  return {
    firstIndex: a.firstIndex,
    lastIndex: b.lastIndex,
    firstLine: a.firstLine,
    count: a.count + b.count,
    alerts: a.alerts + b.alerts,
    firstAlert: a.firstAlert ?? b.firstAlert,
    series: {
      loss: mergeSeries(a.series.loss, b.series.loss),
      running: mergeSeries(a.series.running, b.series.running),
      window: mergeSeries(a.series.window, b.series.window),
    },
  };
}

/**
 * The per-batch points of a run in memory that does not grow with the number
 * of batches: up to `exact` points are kept as they are; past that they are
 * summarised in at most `maxBuckets` buckets of consecutive batches, whose
 * width doubles whenever they would be too many. The count, the alerts and
 * the first alert stay exact, as do each series' extremes.
 *
 * @example Ten thousand batches in at most 1024 buckets
 * ```ts
 * import { ReportPoints } from "./report_points.ts";
 * import assert from "node:assert/strict";
 *
 * const points = new ReportPoints();
 * for (let i = 0; i < 10_000; i++) {
 *   points.add({ index: i, firstLine: 2 + i, loss: i === 7777 ? 9 : 0.1, running: 0.1, window: undefined, alert: i === 4242 });
 * }
 * assert.equal(points.exact, undefined);
 * assert.ok(points.buckets().length <= 1024);
 * assert.deepEqual([points.count, points.alerts, points.firstAlert?.index], [10_000, 1, 4242]);
 * assert.equal(Math.max(...points.buckets().map((b) => b.series.loss.max!.value)), 9);
 * ```
 */
export class ReportPoints {
  readonly #exactLimit: number;
  readonly #maxBuckets: number;
  #exact: ReportPoint[] | undefined = [];
  #buckets: PointBucket[] = [];
  #width = 1;
  #count = 0;
  #alerts = 0;
  #firstAlert: ReportPoint | undefined;
  #last: ReportPoint | undefined;

  /**
   * Starts an empty record.
   *
   * @param options How many points to keep exactly, and the most buckets after that.
   */
  constructor(options: { exact?: number; maxBuckets?: number } = {}) {
    this.#exactLimit = options.exact ?? EXACT_POINTS;
    this.#maxBuckets = Math.max(2, options.maxBuckets ?? MAX_BUCKETS);
  }

  /**
   * A record of the given points.
   *
   * @param points The points, in batch order.
   * @param options As for the constructor.
   * @returns The record.
   */
  static of(
    points: Iterable<ReportPoint>,
    options: { exact?: number; maxBuckets?: number } = {},
  ): ReportPoints {
    const record = new ReportPoints(options);
    for (const point of points) record.add(point);
    return record;
  }

  /** How many batches were added. */
  get count(): number {
    return this.#count;
  }

  /** How many of them alerted. */
  get alerts(): number {
    return this.#alerts;
  }

  /** The first batch that alerted. */
  get firstAlert(): ReportPoint | undefined {
    return this.#firstAlert;
  }

  /** The last batch added. */
  get last(): ReportPoint | undefined {
    return this.#last;
  }

  /** Every point, while there are at most `exact` of them; undefined once summarised. */
  get exact(): readonly ReportPoint[] | undefined {
    return this.#exact;
  }

  /** How many batches a bucket summarises (the last one may hold fewer). */
  get bucketWidth(): number {
    return this.#width;
  }

  /**
   * The buckets, in batch order: one per point while the points are exact.
   *
   * @returns The buckets.
   */
  buckets(): readonly PointBucket[] {
    return this.#exact === undefined ? this.#buckets : this.#exact.map(bucketOf);
  }

  /**
   * Adds the next batch's point.
   *
   * @param point The point.
   */
  add(point: ReportPoint): void {
    this.#count++;
    this.#last = point;
    if (point.alert) {
      this.#alerts++;
      this.#firstAlert ??= point;
    }
    if (this.#exact !== undefined) {
      this.#exact.push(point);
      if (this.#exact.length > this.#exactLimit) this.#summarise(this.#exact);
      return;
    }
    this.#addToBuckets(point);
  }

  /** Turns the exact points into buckets of the width that fits them. */
  #summarise(points: ReportPoint[]): void {
    this.#exact = undefined;
    while (points.length > this.#width * this.#maxBuckets) this.#width *= 2;
    for (const point of points) this.#addToBuckets(point);
  }

  #addToBuckets(point: ReportPoint): void {
    const last = this.#buckets[this.#buckets.length - 1];
    if (last !== undefined && last.count < this.#width) {
      addToBucket(last, point);
      return;
    }
    if (this.#buckets.length === this.#maxBuckets) this.#halve();
    const open = this.#buckets[this.#buckets.length - 1];
    if (open !== undefined && open.count < this.#width) addToBucket(open, point);
    else this.#buckets.push(bucketOf(point));
  }

  /** Merges neighbouring buckets in pairs: half as many, twice as wide. */
  #halve(): void {
    const merged: PointBucket[] = [];
    for (let i = 0; i < this.#buckets.length; i += 2) {
      const a = this.#buckets[i]!, b = this.#buckets[i + 1];
      merged.push(b === undefined ? a : mergeBuckets(a, b));
    }
    this.#buckets = merged;
    this.#width *= 2;
  }
}
