/**
 * Validation of one batch `(X, N)` into kernel layout: shapes, batch sizes,
 * the element cap and finiteness.
 *
 * @module
 */

import type { BatchMoments, KernelArray } from "./batch_moments.ts";
import { ruleMessage, shapeText } from "./errors.ts";
import { featureOrder } from "./feature_order.ts";
import { checkElementLimit, DEFAULT_MAX_ELEMENTS } from "./limits.ts";
import { type DenseTensor, toDenseTensor } from "./tensor.ts";

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
    throw new TypeError(
      ruleMessage(
        context,
        `${xName}`,
        "a tensor of rank at least 1 with the batch on its first axis",
        "a scalar",
      ),
    );
  }
  const count = x.shape[0]!;
  if (count === 0) {
    throw new RangeError(
      ruleMessage(context, `the batch size of ${xName} (its first axis)`, "at least 1", 0),
    );
  }
  const featureShape = x.shape.slice(1);
  const features = featureShape.reduce((a, b) => a * b, 1);
  if (features === 0) {
    throw new RangeError(
      ruleMessage(
        context,
        `${xName}`,
        "at least one feature (no zero-size axis)",
        `a tensor of shape ${shapeText(x.shape)}`,
      ),
    );
  }
  let confounds: number;
  if (n.shape.length === 1) {
    confounds = 1;
    if (n.shape[0] !== count) {
      throw new TypeError(
        `Cannot ${context} as ${nName} must have one value per sample of ${xName} (B = ${count}): current shape is ${
          shapeText(n.shape)
        }`,
      );
    }
  } else if (n.shape.length === 2) {
    const [rows, cols] = n.shape as [number, number];
    if (cols !== count) {
      if (rows === count) {
        throw new TypeError(
          `Cannot ${context} as ${nName} must be (M, B) with confounds on the first axis and the batch (B = ${count}) on the last: current shape is ${
            shapeText(n.shape)
          }, which looks like (B, M); pass its transpose, of shape [${cols}, ${rows}]`,
        );
      }
      throw new TypeError(
        `Cannot ${context} as ${nName} must be (M, B) with the batch size of ${xName} (B = ${count}) on its last axis: current shape is ${
          shapeText(n.shape)
        }`,
      );
    }
    confounds = rows;
    if (confounds === 0) {
      throw new RangeError(
        ruleMessage(context, `the number of confounds in ${nName}`, "at least 1", 0),
      );
    }
  } else {
    throw new TypeError(
      `Cannot ${context} as ${nName} must be a vector (B) or a matrix (M, B): current shape is ${
        shapeText(n.shape)
      }`,
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

/**
 * A batch already in kernel layout: x `(B, F)` row-major and n `(M, B)`, with
 * features in their natural order (no feature-order permutation, as for a
 * matrix X). The caller vouches for the lengths; nothing is checked or copied.
 *
 * @param x Features, `B·F` values.
 * @param n Confounds, `M·B` values.
 * @param shape B, F and M.
 * @returns The batch.
 */
export function matrixBatch(
  x: KernelArray,
  n: KernelArray,
  shape: { count: number; features: number; confounds: number },
): PreparedBatch {
  const { count, features, confounds } = shape;
  return {
    x,
    n,
    count,
    features,
    confounds,
    featureShape: [features],
    nShape: [confounds, count],
    order: undefined,
  };
}

/** What {@linkcode assertFiniteBatch} reads of a batch: its data and shapes. */
export type BatchData =
  & Pick<Readonly<PreparedBatch>, "x" | "n" | "count" | "features" | "confounds">
  & {
    readonly featureShape: readonly number[];
    readonly nShape: readonly number[];
  };

/** Index into the original tensor of a flat kernel element, for messages. */
function indexText(flat: number, shape: readonly number[]): string {
  const index: number[] = [];
  let rest = flat;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const extent = shape[axis]!;
    index.unshift(rest % extent);
    rest = Math.floor(rest / extent);
  }
  return shapeText(index);
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
 * @param flagged The features to look at, when the kernel listed them (every
 * column with a non-finite mean or sum of squares is among them); all F otherwise.
 * @returns `"finite"`, or `"overflow"` when every element is finite but a sum
 * of squares left float64's range (values beyond about 1e154).
 * @throws {RangeError} Naming the argument, the element's index and its value.
 */
export function assertFiniteBatch(
  batch: BatchData,
  moments: BatchMoments,
  context: string,
  names: readonly [string, string] = ["X", "N"],
  flagged?: Int32Array,
): "finite" | "overflow" {
  const { count: B, features: F, confounds: M } = batch;
  const xShape = [B, ...batch.featureShape];
  let overflow = false;
  const columns = flagged ? flagged.length : F;
  for (let i = 0; i < columns; i++) {
    const f = flagged ? flagged[i]! : i;
    if (Number.isFinite(moments.meanX[f]!) && Number.isFinite(moments.m2X[f]!)) continue;
    for (let b = 0; b < B; b++) {
      const v = batch.x[b * F + f]!;
      if (!Number.isFinite(v)) {
        throw new RangeError(
          ruleMessage(context, `every element of ${names[0]}`, "finite (no NaN or ±Infinity)", v) +
            ` at index ${indexText(b * F + f, xShape)}`,
        );
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
        throw new RangeError(
          ruleMessage(context, `every element of ${names[1]}`, "finite (no NaN or ±Infinity)", v) +
            ` at index ${indexText(m * B + b, nShape)}`,
        );
      }
    }
    overflow = true;
  }
  return overflow ? "overflow" : "finite";
}
