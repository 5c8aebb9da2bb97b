/**
 * Live-page data for the service tests, built from the stream's results as
 * the monitor builds its report.
 *
 * @module
 */

import { CorrelationAccumulator } from "../../../src/accumulator/correlation_accumulator.ts";
import type { ReportData, ReportPoint } from "../../../src/cli/output/report_data.ts";
import { driftColumns, generateDriftRows } from "../../../src/cli/input/drift_data.ts";
import type { BatchResult } from "../../../src/stream/batch_result.ts";
import { correlateBatches } from "../../../src/stream/correlate_batches.ts";

/** The settings of a synthetic drift run. */
export interface DriftRun {
  batches: number;
  batchSize: number;
  features: number;
  driftBatch: number;
  strength: number;
  seed: number;
  window: number;
  alert: number;
}

/** A run's state as the monitor holds it, and the report data made from it. */
export class RunState {
  readonly points: ReportPoint[] = [];
  readonly accumulator = new CorrelationAccumulator();
  readonly features: string[];
  readonly confounds = ["c"];

  /**
   * @param run The synthetic run.
   * @param padding Extra bytes of settings text, to make each page heavy.
   */
  constructor(readonly run: DriftRun, readonly padding = 0) {
    this.features = driftColumns(run.features).slice(0, -1);
  }

  /** The stream's results, one per batch, as `monitor` computes them. */
  async *results(): AsyncGenerator<{ result: BatchResult; alert: boolean; firstLine: number }> {
    const F = this.run.features;
    const rows = [...generateDriftRows(this.run)];
    const batches = [];
    for (let b = 0; b < this.run.batches; b++) {
      const slice = rows.slice(b * this.run.batchSize, (b + 1) * this.run.batchSize);
      batches.push({ x: slice.map((r) => r.slice(0, F)), n: slice.map((r) => r[F]!) });
    }
    const stream = correlateBatches(batches, {
      tol: "auto",
      window: this.run.window,
      output: "losses",
      onInvalid: "skip",
      accumulator: this.accumulator,
    });
    for await (const result of stream) {
      const alert = result.window !== undefined && result.window.loss >= this.run.alert;
      const firstLine = 2 + result.index * this.run.batchSize;
      this.points.push({
        index: result.index,
        firstLine,
        loss: result.loss,
        running: result.running.loss,
        window: result.window?.loss,
        alert,
      });
      yield { result, alert, firstLine };
    }
  }

  /** The signed running correlations before the tolerance. */
  correlations(): Float64Array | undefined {
    return this.accumulator.count > 0
      ? this.accumulator.correlations({ tol: 0, abs: false }).data
      : undefined;
  }

  /** What the report (and the live page) shows now. */
  report(): ReportData {
    return {
      source: "synthetic <drift> & co",
      settings: [
        ["window", `${this.run.window} batches`],
        ["alert level", String(this.run.alert)],
        ...(this.padding > 0 ? [["padding", "p".repeat(this.padding)] as [string, string]] : []),
      ],
      points: this.points,
      alertLevel: this.run.alert,
      windowLabel: `last ${this.run.window} batches`,
      features: this.features,
      confounds: this.confounds,
      finalCorrelations: this.correlations(),
      top: 5,
      rows: this.accumulator.count,
      samples: this.accumulator.count,
      badRows: { count: 0, rows: [] },
      skippedBatches: [],
    };
  }
}
