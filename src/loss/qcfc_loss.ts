/**
 * hypercoil's `QCFCLoss`.
 *
 * @module
 */

import {
  BatchCorrelationLoss,
  type BatchCorrelationLossOptions,
} from "./batch_correlation_loss.ts";

/**
 * QC-FC loss, as hypercoil's `QCFCLoss`: {@linkcode BatchCorrelationLoss} with
 * the arguments named `(fc, qc)` and the default name "QCFC".
 *
 * @example Penalising motion correlation of connectivity
 * ```ts
 * import { QCFCLoss } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * const loss = new QCFCLoss();
 * const fc = [[0.1, 0.4], [0.3, 0.2], [0.5, 0.1]];
 * assert.ok(loss.evaluate(fc, [0.2, 0.3, 0.6]) > 0.9);
 * assert.equal(loss.name, "QCFC");
 * ```
 */
export class QCFCLoss extends BatchCorrelationLoss {
  /** Argument names used in error messages. */
  protected override readonly argumentNames: readonly [string, string] = ["fc", "qc"];

  /**
   * Creates the loss.
   *
   * @param options As {@linkcode BatchCorrelationLoss}; the name defaults to "QCFC".
   * @throws {TypeError} As {@linkcode BatchCorrelationLoss}.
   * @throws {RangeError} As {@linkcode BatchCorrelationLoss}.
   */
  constructor(options?: BatchCorrelationLossOptions) {
    super(options);
  }

  /** The name used when none is given. */
  protected override defaultName(): string {
    return "QCFC";
  }
}
