/**
 * What both snapshot codecs share: the format's constants, the state they
 * decode to, and the rules a restored state must meet (counts, expected
 * shape, the element cap, finite elements, low parts, the Cauchy–Schwarz
 * bound), each with its message, added to a zod refinement context.
 *
 * @module
 */

import type { z } from "zod";
import type { BatchMoments } from "../core/batch_moments.ts";
import {
  BatchCorrError,
  type BatchCorrErrorCode,
  describeValue,
  shapeText,
} from "../core/errors.ts";
import { elementLimitError } from "../core/limits.ts";
import {
  CAUCHY_SCHWARZ_RULE,
  cauchySchwarzViolation,
  FLOAT64_BOUND_SLACK,
  MAX_COUNT,
  violationText,
} from "../core/moment_bounds.ts";
import type { MeanLowParts, PreciseMoments } from "../core/precise_means.ts";

/** The identifier in every JSON snapshot. */
export const SNAPSHOT_FORMAT = "batch-corr/accumulator" as const;
/**
 * The snapshot version written by this library. Version 2 added the low parts
 * of the means (`meanXLo`, `meanNLo`); version 1 snapshots are still read,
 * with low parts of 0 (the precision they were taken with).
 */
export const SNAPSHOT_VERSION = 2 as const;
/** Every version the decoders read. */
export const READABLE_VERSIONS: readonly number[] = [1, 2];
/** The rule of the version field, in words. */
export const VERSION_RULE = "version must be 1 or 2";
/** Written as the rank when the feature shape is not known yet; extents and M stay below it. */
export const UNKNOWN = 0xffffffff;

/**
 * A low part far beyond a mean's rounding error (which is below 2⁻⁵² of the
 * mean) can only be corruption: it would shift the mean silently.
 */
const LOW_PART_BOUND = 2 ** -40;

const RESTORE_CONTEXT = "restore the CorrelationAccumulator snapshot";
const RESTORE_OPTION = "expected.maxElements (the second argument of fromJSON / fromBytes)";

/** The accumulator's state as the snapshot codecs see it. */
export interface SnapshotState {
  /** X's shape without the batch axis, while known. */
  featureShape: number[] | undefined;
  /** M, while known. */
  confounds: number | undefined;
  /** Σw². */
  weightSquares: number;
  /** The moments, when the shape is known. */
  moments: PreciseMoments | undefined;
}

/** The shape a restored snapshot must have, when the caller says so. */
export interface SnapshotExpectations {
  /** The feature shape it must have, if any. */
  featureShape: number[] | undefined;
  /** The number of confounds it must have, if any. */
  confounds: number | undefined;
  /** The largest F·M the snapshot may declare. */
  maxElements: number;
}

/** A decoder's answer: the state, or the error that says why there is none. */
export type DecodeResult =
  | { success: true; data: SnapshotState }
  | { success: false; error: BatchCorrError };

/**
 * The library's message for a refused snapshot.
 *
 * @param rule What the snapshot must satisfy.
 * @param value What it holds instead, already shown.
 * @returns The message.
 */
export function snapshotMessage(rule: string, value: string): string {
  return `Cannot ${RESTORE_CONTEXT} as ${rule}: current value is ${value}`;
}

/**
 * The error of a refused snapshot.
 *
 * @param rule What the snapshot must satisfy.
 * @param value What it holds instead, already shown.
 * @returns A `BatchCorrError` with code "invalid_snapshot".
 */
export function invalidSnapshot(rule: string, value: string): BatchCorrError {
  return new BatchCorrError("invalid_snapshot", snapshotMessage(rule, value));
}

/**
 * A failed decode.
 *
 * @param error Why.
 * @returns The result.
 */
export function refused(error: BatchCorrError): { success: false; error: BatchCorrError } {
  return { success: false, error };
}

/**
 * Shows an untrusted value in a message without ever throwing: `String()` of
 * a null-prototype object and `JSON.stringify` of a BigInt or a cycle would.
 *
 * @param value The value.
 * @returns Its text.
 */
export function shown(value: unknown): string {
  if (Array.isArray(value) && value.length <= 8 && value.every((e) => typeof e === "number")) {
    return shapeText(value as number[]);
  }
  return describeValue(value);
}

/** A rule a snapshot breaks: the message, and the error code it is reported with. */
export interface SnapshotIssue {
  /** The full message. */
  message: string;
  /** "invalid_snapshot", or "resource_limit" for the element cap. */
  code: BatchCorrErrorCode;
  /** Facts for the error's `details`. */
  details?: Record<string, unknown>;
}

function issue(rule: string, value: string): SnapshotIssue {
  return { message: snapshotMessage(rule, value), code: "invalid_snapshot" };
}

/**
 * The first issue of a sequence of rules, each run only if those before it hold.
 *
 * @param rules The rules, in the order they are reported.
 * @returns The first issue found, or undefined.
 */
export function firstIssue(
  ...rules: (() => SnapshotIssue | undefined)[]
): SnapshotIssue | undefined {
  for (const rule of rules) {
    const found = rule();
    if (found) return found;
  }
  return undefined;
}

/**
 * Adds an issue to a zod refinement context, its code and details as params.
 *
 * @param ctx The refinement context.
 * @param found The issue.
 */
export function addIssue(ctx: z.core.$RefinementCtx, found: SnapshotIssue): void {
  ctx.addIssue({
    code: "custom",
    message: found.message,
    params: { code: found.code, details: found.details },
  });
}

/**
 * The error of an issue.
 *
 * @param found The issue.
 * @returns The `BatchCorrError`.
 */
export function errorOf(found: SnapshotIssue): BatchCorrError {
  return new BatchCorrError(
    found.code,
    found.message,
    found.details ? { details: found.details } : {},
  );
}

/**
 * The error a failed parse reports: its first issue, with the code and
 * details the issue carries (those added by {@linkcode addIssue}; any other is
 * an "invalid_snapshot").
 *
 * @param issues The issues of a failed `safeParse`.
 * @returns The error.
 */
export function errorOfIssues(issues: readonly z.core.$ZodIssue[]): BatchCorrError {
  const first = issues[0]!;
  const params = (first as { params?: Partial<SnapshotIssue> }).params;
  const details = params?.details;
  return errorOf({
    message: first.message,
    code: params?.code ?? "invalid_snapshot",
    ...(details ? { details } : {}),
  });
}

/**
 * The shape the caller expects, if any, must be the snapshot's.
 *
 * @param featureShape The snapshot's feature shape.
 * @param confounds Its number of confounds.
 * @param expected What the caller expects.
 * @returns The issue, if the rule is broken.
 */
export function expectationsIssue(
  featureShape: readonly number[] | undefined,
  confounds: number | undefined,
  expected: SnapshotExpectations,
): SnapshotIssue | undefined {
  const shape = expected.featureShape;
  if (shape) {
    const same = featureShape !== undefined && featureShape.length === shape.length &&
      featureShape.every((e, i) => e === shape[i]);
    if (!same) {
      return issue(
        `its featureShape must be ${shapeText(shape)}`,
        featureShape ? shapeText(featureShape) : "unknown",
      );
    }
  }
  if (expected.confounds !== undefined && confounds !== expected.confounds) {
    return issue(
      `its number of confounds must be ${expected.confounds}`,
      String(confounds ?? "unknown"),
    );
  }
  return undefined;
}

/**
 * The declared F·M must be within the caller's cap (checked before anything
 * of that size is allocated); the issue has code "resource_limit".
 *
 * @param features F, or 0 while unknown.
 * @param confounds M.
 * @param expected The cap.
 * @returns The issue, if the rule is broken.
 */
export function limitIssue(
  features: number,
  confounds: number,
  expected: SnapshotExpectations,
): SnapshotIssue | undefined {
  if (features === 0) return undefined;
  const error = elementLimitError(
    features,
    confounds,
    expected.maxElements,
    RESTORE_CONTEXT,
    RESTORE_OPTION,
  );
  return error
    ? { message: error.message, code: error.code, details: { ...error.details } }
    : undefined;
}

/**
 * Count and Σw² must be finite and non-negative, 0 together, the count at
 * most 2⁵³ − 1, `Σw² ≤ (Σw)²` (weights are non-negative), `Σw² ≤ Σw` (every
 * weight is at most 1) and `(Σw)² / Σw² ≤ 2⁵³ − 1` (no more effective samples
 * than samples); rounding allowed.
 *
 * @param count Σw.
 * @param weightSquares Σw².
 * @returns The issue, if a rule is broken.
 */
export function countsIssue(count: number, weightSquares: number): SnapshotIssue | undefined {
  if (!(Number.isFinite(count) && count >= 0)) {
    return issue("count must be a finite non-negative number", String(count));
  }
  if (count > MAX_COUNT) {
    return issue(
      "count must be at most 2^53 − 1 (beyond it adding a sample no longer changes the count)",
      String(count),
    );
  }
  if (!(Number.isFinite(weightSquares) && weightSquares >= 0)) {
    return issue("weightSquares must be a finite non-negative number", String(weightSquares));
  }
  if ((count === 0) !== (weightSquares === 0)) {
    return issue(
      "weightSquares must be 0 exactly when count is 0",
      `count ${count} with weightSquares ${weightSquares}`,
    );
  }
  if (weightSquares > count * count * (1 + 1e-12)) {
    return issue("weightSquares (Σw²) must not exceed count² ((Σw)²)", String(weightSquares));
  }
  // Every weight is at most 1 (unit samples, scaled by decays in (0, 1]), so w² ≤ w.
  if (weightSquares > count * (1 + 1e-12)) {
    return issue(
      "weightSquares (Σw²) must not exceed count (Σw), as every sample's weight is at most 1",
      `${weightSquares} with count ${count}`,
    );
  }
  // The effective sample size (Σw)²/Σw² is at most the number of samples, itself below 2^53.
  if (weightSquares < (count * count / MAX_COUNT) * (1 - 1e-12)) {
    return issue(
      "weightSquares (Σw²) must be at least count² / (2^53 − 1): the effective sample size (Σw)² / Σw² cannot exceed the number of samples",
      `${weightSquares} with count ${count}`,
    );
  }
  return undefined;
}

/**
 * A snapshot whose shape is not known yet holds no sample.
 *
 * @param count Σw.
 * @returns The issue, if the rule is broken.
 */
export function emptyIssue(count: number): SnapshotIssue | undefined {
  return count === 0
    ? undefined
    : issue("count must be 0 while featureShape or confounds is unknown", String(count));
}

/**
 * Every element of a state vector must be a finite (and for sums of squares
 * non-negative) number.
 *
 * @param key The field's name.
 * @param values Its elements.
 * @param nonNegative Whether negative values are refused.
 * @returns The issue, if the rule is broken.
 */
export function elementsIssue(
  key: string,
  values: ArrayLike<unknown>,
  nonNegative: boolean,
): SnapshotIssue | undefined {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== "number" || !Number.isFinite(v) || (nonNegative && v < 0)) {
      const rule = `every element of ${key} must be a finite${
        nonNegative ? " non-negative" : ""
      } number`;
      return issue(rule, `${shown(v)} at index ${i}`);
    }
  }
  return undefined;
}

/**
 * A low part must be a mean's rounding error: at most 2⁻⁴⁰ of the mean.
 *
 * @param moments The restored moments.
 * @returns The issue, if the rule is broken.
 */
export function lowPartsIssue(moments: BatchMoments & MeanLowParts): SnapshotIssue | undefined {
  const pairs: [string, Float64Array, Float64Array][] = [
    ["meanXLo", moments.meanX, moments.meanXLo],
    ["meanNLo", moments.meanN, moments.meanNLo],
  ];
  for (const [key, hi, lo] of pairs) {
    for (let i = 0; i < lo.length; i++) {
      if (Math.abs(lo[i]!) > Math.abs(hi[i]!) * LOW_PART_BOUND) {
        return issue(
          `every element of ${key} must be at most 2^-40 times its mean in magnitude (it holds the mean's rounding error)`,
          `${lo[i]} at index ${i}, with mean ${hi[i]}`,
        );
      }
    }
  }
  return undefined;
}

/**
 * A co-moment no data could produce is refused: by Cauchy–Schwarz
 * `|C| ≤ √M2x·√M2n`, so |r| ≤ 1, and a zero sum of squares allows only a
 * (nearly) zero co-moment (see `cauchySchwarzViolation`). A corrupted number
 * that is still finite would otherwise restore as a correlation such as 37,
 * or lie dormant beside a zero variance until the next update made it one.
 *
 * @param moments The restored moments.
 * @returns The issue, if the rule is broken.
 */
export function cauchySchwarzIssue(moments: BatchMoments): SnapshotIssue | undefined {
  const violation = cauchySchwarzViolation(moments, FLOAT64_BOUND_SLACK);
  return violation
    ? issue(`every comoment must satisfy ${CAUCHY_SCHWARZ_RULE}`, violationText(violation))
    : undefined;
}
