/**
 * Validation of one batch `(X, N)`: shapes, batch sizes, finiteness.
 *
 * @module
 */

import { ruleMessage } from "./errors.ts";
import { checkElementLimit, DEFAULT_MAX_ELEMENTS } from "./limits.ts";
import type { BatchMoments, KernelArray } from "../kernels/compute_batch_moments.ts";
import { type DenseTensor, featureOrder, toDenseTensor } from "./tensor.ts";

/** One validated batch in kernel layout. */
export interface PreparedBatch {
  /** Features, row-major `(B, F)`, F in natural order of X's trailing axes. */
  x: KernelArray;
  /** Confounds, row-major `(M, B)`. */
  n: KernelArray;
  /** B. */
  count: number;
  /** F. */
  features: number;
  /** M. */
  confounds: number;
  /** X's shape without the batch axis. */
  featureShape: number[];
  /** N's shape as given: `[B]` or `[M, B]`. */
  nShape: number[];
  /** Natural column of each output feature, or undefined when they agree. */
  order: Int32Array | undefined;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/**
 * Checks the shapes of `X` and `N` against SPEC section 1.
 *
 * @param x X as dense storage.
 * @param n N as dense storage.
 * @param context What was being done, for messages.
 * @param names The argument names used in messages.
 * @param maxElements The largest F·M allowed (checked before anything of that size is allocated).
 * @returns The batch in kernel layout.
 * @throws {TypeError} For a scalar X, an N of rank other than 1 or 2, an N given
 * as `(B, M)`, or a batch-size mismatch.
 * @throws {RangeError} For an empty batch or a zero-size feature axis.
 * @throws {BatchCorrError} With code "resource_limit" if F·M exceeds `maxElements`.
 */
export function checkBatchShapes(
  x: DenseTensor,
  n: DenseTensor,
  context: string,
  names: readonly [string, string] = ["X", "N"],
  maxElements: number = DEFAULT_MAX_ELEMENTS,
): PreparedBatch {
  const [xName, nName] = names;
  if (x.shape.length === 0) {
    throw new TypeError(ruleMessage(context, `${xName}`, "a tensor of rank at least 1 with the batch on its first axis", "a scalar"));
  }
  const count = x.shape[0]!;
  if (count === 0) {
    throw new RangeError(ruleMessage(context, `the batch size of ${xName} (its first axis)`, "at least 1", 0));
  }
  const featureShape = x.shape.slice(1);
  const features = featureShape.reduce((a, b) => a * b, 1);
  if (features === 0) {
    throw new RangeError(
      ruleMessage(context, `${xName}`, "at least one feature (no zero-size axis)", `a tensor of shape ${shapeText(x.shape)}`),
    );
  }
  let confounds: number;
  if (n.shape.length === 1) {
    confounds = 1;
    if (n.shape[0] !== count) {
      throw new TypeError(
        `Cannot ${context} as ${nName} must have one value per sample of ${xName} (B = ${count}): current shape is ${shapeText(n.shape)}`,
      );
    }
  } else if (n.shape.length === 2) {
    const [rows, cols] = n.shape as [number, number];
    if (cols !== count) {
      if (rows === count) {
        throw new TypeError(
          `Cannot ${context} as ${nName} must be (M, B) with confounds on the first axis and the batch (B = ${count}) on the last: current shape is ${shapeText(n.shape)}, which looks like (B, M); pass its transpose, of shape [${cols}, ${rows}]`,
        );
      }
      throw new TypeError(
        `Cannot ${context} as ${nName} must be (M, B) with the batch size of ${xName} (B = ${count}) on its last axis: current shape is ${shapeText(n.shape)}`,
      );
    }
    confounds = rows;
    if (confounds === 0) {
      throw new RangeError(ruleMessage(context, `the number of confounds in ${nName}`, "at least 1", 0));
    }
  } else {
    throw new TypeError(
      `Cannot ${context} as ${nName} must be a vector (B) or a matrix (M, B): current shape is ${shapeText(n.shape)}`,
    );
  }
  checkElementLimit(features, confounds, maxElements, context);
  return {
    x: x.data,
    n: n.data,
    count,
    features,
    confounds,
    featureShape,
    nShape: n.shape,
    order: featureOrder(x.shape),
  };
}

/**
 * Converts and validates a batch given in any accepted tensor form.
 *
 * @param X Features, batch first.
 * @param N Confounds, `(B)` or `(M, B)`.
 * @param context What was being done, for messages.
 * @param names The argument names used in messages.
 * @param maxElements The largest F·M allowed.
 * @returns The batch in kernel layout.
 * @throws {TypeError} See {@linkcode checkBatchShapes} and `toDenseTensor`.
 * @throws {RangeError} See {@linkcode checkBatchShapes}.
 * @throws {BatchCorrError} See {@linkcode checkBatchShapes}.
 */
export function prepareBatch(
  X: unknown,
  N: unknown,
  context: string,
  names: readonly [string, string] = ["X", "N"],
  maxElements: number = DEFAULT_MAX_ELEMENTS,
): PreparedBatch {
  return checkBatchShapes(
    toDenseTensor(X, names[0], context),
    toDenseTensor(N, names[1], context),
    context,
    names,
    maxElements,
  );
}

/** Index into the original tensor of a flat kernel element, for messages. */
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

/**
 * Throws if the batch held NaN or ±Infinity, using the batch means the kernel
 * already computed: a non-finite element always makes its column's mean or sum
 * of squares non-finite, so only such columns are scanned.
 *
 * @param batch The batch.
 * @param moments Its moments.
 * @param context What was being done.
 * @param names Argument names.
 * @returns `"finite"`, or `"overflow"` when every element is finite but a sum
 * of squares left float64's range (values beyond about 1e154).
 * @throws {RangeError} Naming the argument, the element's index and its value.
 */
export function assertFiniteBatch(
  batch: PreparedBatch,
  moments: BatchMoments,
  context: string,
  names: readonly [string, string] = ["X", "N"],
): "finite" | "overflow" {
  const { count: B, features: F, confounds: M } = batch;
  const xShape = [B, ...batch.featureShape];
  let overflow = false;
  for (let f = 0; f < F; f++) {
    if (Number.isFinite(moments.meanX[f]!) && Number.isFinite(moments.m2X[f]!)) continue;
    for (let b = 0; b < B; b++) {
      const v = batch.x[b * F + f]!;
      if (!Number.isFinite(v)) {
        throw new RangeError(ruleMessage(context, `every element of ${names[0]}`, "finite (no NaN or ±Infinity)", v) +
          ` at index ${indexText(b * F + f, xShape)}`);
      }
    }
    overflow = true;
  }
  const nShape = batch.nShape;
  for (let m = 0; m < M; m++) {
    if (Number.isFinite(moments.meanN[m]!) && Number.isFinite(moments.m2N[m]!)) continue;
    for (let b = 0; b < B; b++) {
      const v = batch.n[m * B + b]!;
      if (!Number.isFinite(v)) {
        throw new RangeError(ruleMessage(context, `every element of ${names[1]}`, "finite (no NaN or ±Infinity)", v) +
          ` at index ${indexText(m * B + b, nShape)}`);
      }
    }
    overflow = true;
  }
  return overflow ? "overflow" : "finite";
}

/** Sums of squares below this have lost digits to subnormal underflow. */
export const UNDERFLOW_RISK = 1e-250;

function isConstantRun(data: KernelArray, start: number, stride: number, count: number): boolean {
  const first = data[start];
  for (let i = 1; i < count; i++) if (data[start + i * stride] !== first) return false;
  return true;
}

/**
 * Whether some column varies but its squared deviations underflowed (values
 * below about 1e-125), which would report it as zero-variance or imprecise.
 *
 * @param batch The batch.
 * @param moments Its moments.
 * @returns True when {@linkcode rescaleBatch} should be used.
 */
export function hasUnderflow(batch: PreparedBatch, moments: BatchMoments): boolean {
  const { count: B, features: F, confounds: M } = batch;
  for (let f = 0; f < F; f++) {
    if (moments.m2X[f]! < UNDERFLOW_RISK && !isConstantRun(batch.x, f, F, B)) return true;
  }
  for (let m = 0; m < M; m++) {
    if (moments.m2N[m]! < UNDERFLOW_RISK && !isConstantRun(batch.n, m * B, 1, B)) return true;
  }
  return false;
}

/** A column whose sum of squares left float64's usable range. */
export interface UnrepresentableColumn {
  /** Whether it is a feature column of X or a confound row of N. */
  side: "features" | "confounds";
  /** Its index (natural column order for features). */
  index: number;
  /** Its sum of squares overflowed (Infinity) or underflowed (below 1e-250 though it varies). */
  kind: "overflow" | "underflow";
}

/**
 * The first column whose squared deviations overflow or underflow float64,
 * for callers that cannot rescale (a running state must keep one scale).
 *
 * @param batch The batch (every element finite).
 * @param moments Its moments.
 * @returns The column, or undefined when every sum of squares is usable.
 */
export function findUnrepresentableColumn(batch: PreparedBatch, moments: BatchMoments): UnrepresentableColumn | undefined {
  const { count: B, features: F, confounds: M } = batch;
  for (let f = 0; f < F; f++) {
    const m2 = moments.m2X[f]!;
    if (!Number.isFinite(m2) || !Number.isFinite(moments.meanX[f]!)) return { side: "features", index: f, kind: "overflow" };
    if (m2 < UNDERFLOW_RISK && !isConstantRun(batch.x, f, F, B)) return { side: "features", index: f, kind: "underflow" };
  }
  for (let m = 0; m < M; m++) {
    const m2 = moments.m2N[m]!;
    if (!Number.isFinite(m2) || !Number.isFinite(moments.meanN[m]!)) return { side: "confounds", index: m, kind: "overflow" };
    if (m2 < UNDERFLOW_RISK && !isConstantRun(batch.n, m * B, 1, B)) return { side: "confounds", index: m, kind: "underflow" };
  }
  return undefined;
}

/** The power of two at or above `value`, so that dividing by it is exact. */
function powerOfTwoAbove(value: number): number {
  return value === 0 ? 1 : 2 ** Math.ceil(Math.log2(value));
}

/** A batch whose columns were divided by powers of two, and those divisors. */
export interface RescaledBatch extends PreparedBatch {
  /** The divisor of each feature column, length F (natural order). */
  scaleX: Float64Array;
  /** The divisor of each confound row, length M. */
  scaleN: Float64Array;
}

/**
 * A copy of the batch with every feature column and confound row divided by a
 * power of two near its largest magnitude. Correlations are scale-invariant and
 * power-of-two division is exact, so this recovers the correlations of values
 * whose squares overflow or underflow float64.
 *
 * @param batch A batch whose moments overflowed or underflowed.
 * @returns The rescaled batch (float64 copies) and the divisors, which a
 * gradient taken on it needs to map back (`∂/∂x = ∂/∂x' / scale`).
 */
export function rescaleBatch(batch: PreparedBatch): RescaledBatch {
  const { count: B, features: F, confounds: M } = batch;
  const x = Float64Array.from(batch.x);
  const n = Float64Array.from(batch.n);
  const scaleX = new Float64Array(F);
  const scaleN = new Float64Array(M);
  for (let f = 0; f < F; f++) {
    let largest = 0;
    for (let b = 0; b < B; b++) largest = Math.max(largest, Math.abs(x[b * F + f]!));
    const scale = scaleX[f] = powerOfTwoAbove(largest);
    for (let b = 0; b < B; b++) x[b * F + f]! /= scale;
  }
  for (let m = 0; m < M; m++) {
    let largest = 0;
    for (let b = 0; b < B; b++) largest = Math.max(largest, Math.abs(n[m * B + b]!));
    const scale = scaleN[m] = powerOfTwoAbove(largest);
    for (let b = 0; b < B; b++) n[m * B + b]! /= scale;
  }
  return { ...batch, x, n, scaleX, scaleN };
}
