/**
 * The validation of moments given to `CorrelationAccumulator.updateMoments`.
 *
 * @module
 */

import type { BatchMoments } from "../core/batch_moments.ts";
import { ruleMessage, shapeText } from "../core/errors.ts";

/**
 * Throws unless `moments` is a well-formed BatchMoments: positive integer F
 * and M, a finite non-negative count, arrays of the right lengths, finite
 * elements and non-negative sums of squares.
 *
 * @param moments The moments as given.
 * @param context What was being done, for messages.
 * @throws {TypeError} For a malformed object or arrays of the wrong type or length.
 * @throws {RangeError} For a non-finite value, or a negative count or sum of squares.
 */
export function checkMoments(moments: BatchMoments, context: string): void {
  if (typeof moments !== "object" || moments === null) {
    throw new TypeError(ruleMessage(context, "moments", "a BatchMoments object", moments));
  }
  const { count, features, confounds } = moments;
  if (typeof features !== "number" || !Number.isInteger(features) || features < 1) {
    throw new TypeError(ruleMessage(context, "moments.features", "a positive integer", features));
  }
  if (typeof confounds !== "number" || !Number.isInteger(confounds) || confounds < 1) {
    throw new TypeError(ruleMessage(context, "moments.confounds", "a positive integer", confounds));
  }
  if (typeof count !== "number") {
    throw new TypeError(ruleMessage(context, "moments.count", "a number", count));
  }
  if (!(count >= 0 && Number.isFinite(count))) {
    throw new RangeError(
      ruleMessage(context, "moments.count", "a finite non-negative number", count),
    );
  }
  const lengths = {
    meanX: features,
    meanN: confounds,
    m2X: features,
    m2N: confounds,
    comoment: features * confounds,
  };
  for (const [key, length] of Object.entries(lengths)) {
    const values: unknown = moments[key as keyof typeof lengths];
    if (
      !(values instanceof Float64Array || values instanceof Float32Array) ||
      values.length !== length
    ) {
      throw new TypeError(
        ruleMessage(context, `moments.${key}`, `a Float64Array of length ${length}`, values),
      );
    }
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v) || ((key === "m2X" || key === "m2N") && v < 0)) {
        throw new RangeError(
          ruleMessage(
            context,
            `every element of moments.${key}`,
            key.startsWith("m2") ? "finite and non-negative" : "finite",
            v,
          ) +
            ` at index ${i}`,
        );
      }
    }
  }
}

/**
 * Throws unless `shape` is a feature shape that holds the moments' F features.
 *
 * @param shape The feature shape given (or defaulted).
 * @param moments The checked moments.
 * @param context What was being done, for messages.
 * @returns The shape.
 * @throws {TypeError} For a shape that is not positive integers, or of another F.
 */
export function checkMomentsShape(
  shape: unknown,
  moments: BatchMoments,
  context: string,
): number[] {
  if (!Array.isArray(shape) || !shape.every((e) => Number.isInteger(e) && e > 0)) {
    throw new TypeError(
      ruleMessage(context, "featureShape", "an array of positive integers", shape),
    );
  }
  if (shape.reduce((a, b) => a * b, 1) !== moments.features) {
    throw new TypeError(
      `Cannot ${context} as featureShape must hold moments.features (${moments.features}) features: current value is ${
        shapeText(shape)
      }`,
    );
  }
  return shape;
}
