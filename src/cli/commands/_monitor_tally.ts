/**
 * What a monitor run has seen so far: every batch's losses and alert, the
 * skipped batches and the last result.
 *
 * @module
 */

import type { BatchResult } from "../../stream/batch_result.ts";
import type { ReportPoint } from "../output/report_data.ts";
import type { AlertOn } from "./monitor_args.ts";

/** Whether a batch crossed the alert level on the view `on`. */
function isAlert(result: BatchResult, level: number | undefined, on: AlertOn): boolean {
  if (level === undefined || result.skipped) return false;
  const running = result.running.loss >= level;
  const window = result.window !== undefined && result.window.loss >= level;
  return on === "running" ? running : on === "window" ? window : running || window;
}

/** The batches of a monitor run, tallied as they come out. */
export class MonitorTally {
  /** Every batch, for the plot. */
  readonly points: ReportPoint[] = [];
  /** The batches the stream skipped, with the reason. */
  readonly skippedBatches: { index: number; reason: string }[] = [];
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
      this.skippedBatches.push({ index: result.index, reason: result.skipped.reason });
    }
    this.points.push({
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
    return this.points.find((point) => point.alert);
  }
}
