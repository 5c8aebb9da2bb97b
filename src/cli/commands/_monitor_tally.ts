/**
 * What a monitor run has seen so far: every batch's losses and alert (in
 * bounded memory), the skipped batches and the last result.
 *
 * @module
 */

import type { BatchResult } from "../../stream/batch_result.ts";
import { InputError } from "../errors.ts";
import type { ReportPoint } from "../output/report_data.ts";
import { ReportPoints } from "../output/report_points.ts";
import { SkippedBatches } from "../output/skipped_batches.ts";
import type { AlertOn } from "./monitor_args.ts";

/** Whether a batch crossed the alert level on the view `on`. */
function isAlert(result: BatchResult, level: number | undefined, on: AlertOn): boolean {
  if (level === undefined || result.skipped) return false;
  const running = result.running.loss >= level;
  const window = result.window !== undefined && result.window.loss >= level;
  return on === "running" ? running : on === "window" ? window : running || window;
}

/** The batches of a monitor run, tallied as they come out, in memory that does not grow with their number. */
export class MonitorTally {
  /** Every batch, for the plot: exact while few, then bounded buckets. */
  readonly points: ReportPoints = new ReportPoints();
  /** The batches the stream skipped: all counted, the first ones with their reason. */
  readonly skippedBatches: SkippedBatches = new SkippedBatches();
  /** How many batches crossed the alert level. */
  alerts = 0;
  /** The last batch's result. */
  last: BatchResult | undefined;
  #level: number | undefined;
  #on: AlertOn;

  /**
   * Starts a tally.
   *
   * @param level The alert level, if any.
   * @param on Which view's loss is compared with it.
   */
  constructor(level: number | undefined, on: AlertOn) {
    this.#level = level;
    this.#on = on;
  }

  /** How many batches came out. */
  get batches(): number {
    return this.points.count;
  }

  /**
   * Adds a batch.
   *
   * @param result The batch's result.
   * @param firstLine The 1-based line of its first row.
   * @returns Whether it crossed the alert level.
   */
  add(result: BatchResult, firstLine: number): boolean {
    const alert = isAlert(result, this.#level, this.#on);
    if (alert) this.alerts++;
    if (result.skipped) {
      this.skippedBatches.add({ index: result.index, reason: result.skipped.reason });
    }
    this.points.add({
      index: result.index,
      firstLine,
      loss: result.loss,
      running: result.running.loss,
      window: result.window?.loss,
      alert,
    });
    this.last = result;
    return alert;
  }

  /** The first batch that crossed the alert level. */
  firstAlert(): ReportPoint | undefined {
    return this.points.firstAlert;
  }

  /**
   * Refuses a run in which every batch was skipped: nothing was folded in, so
   * its losses say nothing.
   *
   * @param source How the input is named.
   * @throws {InputError} Naming the count and the first batch's reason.
   */
  requireFoldedBatch(source: string): void {
    if (this.batches === 0 || this.skippedBatches.count < this.batches) return;
    const first = this.skippedBatches.batches[0];
    throw new InputError(
      `Cannot monitor ${source} as at least one batch must be folded in: current value is ${this.batches} batch(es), all skipped${
        first === undefined ? "" : ` (batch ${first.index}: ${first.reason})`
      }`,
    );
  }
}
