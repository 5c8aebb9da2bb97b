/**
 * Host data to float32 tensors without losing the digits that carry the
 * correlations (SPEC section 6).
 *
 * @module
 */

import { ruleMessage } from "../core/errors.ts";
import { DEFAULT_MAX_ELEMENTS, MAX_ELEMENTS_RULE, maxElementsSchema } from "../core/limits.ts";
import { parseOptions } from "../core/parse_options.ts";
import { prepareBatch } from "../core/prepare_batch.ts";
import { tf } from "./_tfjs.ts";
import type { HostTensor, TfTensor } from "./tf_types.ts";
import { z } from "zod";

/** Options of {@linkcode toTfBatch}. */
export interface ToTfBatchOptions {
  /**
   * The largest F·M (features × confounds) allowed.
   * @default {134217728} (`DEFAULT_MAX_ELEMENTS`)
   */
  maxElements?: number;
}

/** The tensors {@linkcode toTfBatch} returns, which the caller disposes. */
export interface TfBatch {
  /** Features, float32, X's shape, each column shifted by its first value. */
  x: TfTensor;
  /** Confounds, float32, N's shape, each confound shifted by its first value. */
  n: TfTensor;
}

/**
 * The largest magnitude of a column's deviations from its first value that
 * float32 tensors hold safely: `B` squares of 2⁵⁰ sum to at most 2¹⁰⁰·B, far
 * below float32's maximum of 2¹²⁸ for any batch below 2²⁶ samples.
 */
export const FLOAT32_LARGEST_DEVIATION = 2 ** 50;
/** The smallest: squares of 2⁻⁵⁰ (2⁻¹⁰⁰) stay far above float32's smallest normal, 2⁻¹²⁶. */
export const FLOAT32_SMALLEST_DEVIATION = 2 ** -50;

const optionsSchema = z.strictObject({
  maxElements: maxElementsSchema.default(DEFAULT_MAX_ELEMENTS),
});

function indexText(flat: number, shape: readonly number[]): string {
  const index: number[] = [];
  let rest = flat;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const extent = shape[axis]!;
    index.unshift(rest % extent);
    rest = Math.floor(rest / extent);
  }
  return `[${index.join(", ")}]`;
}

interface Column {
  /** Flat index of the column's element at sample b. */
  at(b: number): number;
  /** What the column is, for messages ("feature column 3 of X (X[:, 3])"). */
  label: string;
}

/** Writes the column minus its first value, in float64, into `out` (float32). */
function shiftColumn(
  data: ArrayLike<number>,
  out: Float32Array,
  column: Column,
  count: number,
  name: string,
  shape: readonly number[],
  context: string,
): void {
  const first = data[column.at(0)]!;
  let largest = 0;
  for (let b = 0; b < count; b++) {
    const i = column.at(b);
    const v = data[i]!;
    if (!Number.isFinite(v)) {
      throw new RangeError(
        ruleMessage(context, `every element of ${name}`, "finite (no NaN or ±Infinity)", v) +
          ` at index ${indexText(i, shape)}`,
      );
    }
    const deviation = v - first;
    largest = Math.max(largest, Math.abs(deviation));
    out[i] = deviation;
  }
  if (largest === 0) return;
  if (!(largest <= FLOAT32_LARGEST_DEVIATION) || largest < FLOAT32_SMALLEST_DEVIATION) {
    throw new RangeError(
      `Cannot ${context} as ${column.label} must deviate from its first value by at most ${FLOAT32_LARGEST_DEVIATION} and at least ${FLOAT32_SMALLEST_DEVIATION} (or not at all) to be correlated in float32: current largest deviation is ${largest}; rescale it (correlations do not change with scale) or use the float64 batchCorr`,
    );
  }
}

/**
 * Converts a float64 host batch into float32 tensors for
 * {@linkcode batchCorrTf} and {@linkcode BatchCorrelationLossTf}, as SPEC
 * section 6 asks of every float32 path: each feature column of X and each
 * confound of N is shifted by its own first value in float64 *before* the
 * conversion, so `1e9 + noise` keeps the noise that `tf.tensor` alone would
 * round away. The shift leaves the correlations and their gradient unchanged.
 * A column that float32 still cannot carry (deviations beyond 2⁵⁰ or below
 * 2⁻⁵⁰, whose squares would leave float32's range) is refused by name.
 *
 * @param X Features, batch first, as `batchCorr` accepts them.
 * @param N Confounds, `(B)` or `(M, B)`.
 * @param options `maxElements`.
 * @returns New float32 tensors with X's and N's shapes; dispose them.
 * @throws {TypeError} As `batchCorr`: not a tensor, shapes that disagree.
 * @throws {RangeError} For NaN or ±Infinity (naming the element), a column
 * float32 cannot carry (naming it), or an empty batch.
 * @throws {BatchCorrError} "resource_limit" if F·M exceeds `maxElements`.
 *
 * @example Timestamps far from zero keep their digits
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batchCorr } from "@streamcorr/batch-corr";
 * import { batchCorrTf, toTfBatch } from "@streamcorr/batch-corr/tfjs";
 * import assert from "node:assert/strict";
 *
 * await tf.setBackend("cpu");
 * const X = [[1.7e9 + 0.1], [1.7e9 + 0.4], [1.7e9 + 0.2], [1.7e9 + 0.9]];
 * const N = [1, 3, 2, 4];
 * const { x, n } = toTfBatch(X, N);
 * const r = batchCorrTf(x, n);
 * assert.ok(Math.abs(r.dataSync()[0]! - batchCorr(X, N).data[0]!) < 1e-6);
 * tf.dispose([x, n, r]);
 * ```
 */
export function toTfBatch(X: HostTensor, N: HostTensor, options?: ToTfBatchOptions): TfBatch {
  const context = "convert a batch with toTfBatch";
  const { maxElements } = parseOptions(optionsSchema, options, context, {
    maxElements: MAX_ELEMENTS_RULE,
  });
  const batch = prepareBatch(X, N, context, ["X", "N"], maxElements);
  const { count: B, features: F, confounds: M } = batch;
  const xShape = [B, ...batch.featureShape];
  const x = new Float32Array(B * F);
  for (let f = 0; f < F; f++) {
    const label = `feature ${f} of X (X[:, ${indexText(f, batch.featureShape).slice(1, -1)}])`;
    shiftColumn(batch.x, x, { at: (b) => b * F + f, label }, B, "X", xShape, context);
  }
  const n = new Float32Array(M * B);
  for (let m = 0; m < M; m++) {
    const label = batch.nShape.length === 1 ? "the confound N" : `confound ${m} of N (N[${m}, :])`;
    shiftColumn(batch.n, n, { at: (b) => m * B + b, label }, B, "N", batch.nShape, context);
  }
  return { x: tf.tensor(x, xShape, "float32"), n: tf.tensor(n, [...batch.nShape], "float32") };
}
