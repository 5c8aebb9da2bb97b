/**
 * The NDJSON output of `monitor --format ndjson`: one JSON object per batch.
 *
 * @module
 */

import type { BatchCorrResult } from "../../core/correlation_view.ts";
import type { BatchResult } from "../../stream/batch_result.ts";

function tensorJson(result: BatchCorrResult | undefined): unknown {
  return result === undefined
    ? undefined
    : { shape: result.shape, tol: result.tol, data: Array.from(result.data) };
}

/**
 * The NDJSON line of one batch: index, first line, size, sample count, tol,
 * losses of the batch, running and window views, the alert, the skip reason,
 * and with `withCorrelations` each view's correlations. NaN and ±Infinity
 * become null.
 *
 * @param result The batch's result.
 * @param firstLine The 1-based line of its first row.
 * @param alert Whether it crossed the alert level.
 * @param withCorrelations Whether to include the correlations.
 * @returns The line, with its newline.
 */
export function batchRecord(
  result: BatchResult,
  firstLine: number,
  alert: boolean,
  withCorrelations: boolean,
): string {
  const record: Record<string, unknown> = {
    index: result.index,
    firstLine,
    batchSize: result.batchSize,
    count: result.count,
    tol: result.tol,
    loss: result.loss,
    running: { tol: result.running.tol, loss: result.running.loss },
  };
  if (result.window) {
    record.window = {
      tol: result.window.tol,
      loss: result.window.loss,
      effectiveCount: result.window.effectiveCount,
    };
  }
  record.alert = alert;
  if (result.skipped) record.skipped = { reason: result.skipped.reason };
  if (withCorrelations) {
    record.correlations = {
      batch: tensorJson(result.correlations),
      running: tensorJson(result.running.correlations),
      ...(result.window ? { window: tensorJson(result.window.correlations) } : {}),
    };
  }
  return `${JSON.stringify(record)}\n`;
}
