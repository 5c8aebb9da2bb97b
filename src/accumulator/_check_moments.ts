/**
 * The validation of moments given to `CorrelationAccumulator.updateMoments`.
 *
 * @module
 */

import type { BatchMoments } from "../core/batch_moments.ts";
import { ruleMessage, shapeText } from "../core/errors.ts";
import { readProperty } from "../core/own_properties.ts";
import { isFloatArray } from "../core/tensor.ts";
import {
  CAUCHY_SCHWARZ_RULE,
  cauchySchwarzViolation,
  FLOAT64_BOUND_SLACK,
  MAX_COUNT,
  violationText,
} from "../core/moment_bounds.ts";

/**
 * Throws unless `moments` is a well-formed BatchMoments: positive integer F
 * and M, a whole count of at most 2⁵³ − 1, arrays of the right lengths,
 * finite elements, non-negative sums of squares, and co-moments within the
 * Cauchy–Schwarz bound (0 where a sum of squares is 0).
 *
 * @param given The moments as given.
 * @param context What was being done, for messages.
 * @returns The moments as read (each field once) and checked.
 * @throws {TypeError} For a malformed object or arrays of the wrong type or length.
 * @throws {RangeError} For a non-finite value, a negative or fractional count or one above
 * 2⁵³ − 1, a negative sum of squares, or a co-moment beyond its bound.
 */
export function checkMoments(given: BatchMoments, context: string): BatchMoments {
  if (typeof given !== "object" || given === null) {
    throw new TypeError(ruleMessage(context, "moments", "a BatchMoments object", given));
  }
  // Each field read once, never from Object.prototype: the checked copy is what gets merged.
  const field = (key: keyof BatchMoments): unknown => readProperty(given, key);
  const count = field("count"), features = field("features"), confounds = field("confounds");
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
  if (!Number.isInteger(count) || count > MAX_COUNT) {
    throw new RangeError(
      ruleMessage(
        context,
        "moments.count",
        "a whole number of samples, at most 2^53 − 1 (the moments of one batch of unit-weight samples)",
        count,
      ),
    );
  }
  const lengths = {
    meanX: features,
    meanN: confounds,
    m2X: features,
    m2N: confounds,
    comoment: features * confounds,
  };
  const arrays: Record<string, Float64Array | Float32Array> = {};
  for (const [key, length] of Object.entries(lengths)) {
    const values: unknown = field(key as keyof typeof lengths);
    if (!isFloatArray(values) || values.length !== length) {
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
    arrays[key] = values;
  }
  const moments = { count, features, confounds, ...arrays } as unknown as BatchMoments;
  const violation = cauchySchwarzViolation(moments, FLOAT64_BOUND_SLACK);
  if (violation) {
    throw new RangeError(
      `Cannot ${context} as every element of moments.comoment must satisfy ${CAUCHY_SCHWARZ_RULE}: current value is ${
        violationText(violation)
      }`,
    );
  }
  return moments;
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
  // A copy, validated and kept: the caller's array is never read again.
  const copy: unknown[] | undefined = Array.isArray(shape) ? Array.from(shape) : undefined;
  if (!copy || !copy.every((e) => Number.isInteger(e) && (e as number) > 0)) {
    throw new TypeError(
      ruleMessage(context, "featureShape", "an array of positive integers", copy ?? shape),
    );
  }
  const checked = copy as number[];
  if (checked.reduce((a, b) => a * b, 1) !== moments.features) {
    throw new TypeError(
      `Cannot ${context} as featureShape must hold moments.features (${moments.features}) features: current value is ${
        shapeText(checked)
      }`,
    );
  }
  return checked;
}
