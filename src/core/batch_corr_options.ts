/**
 * The correlation options shared by `batchCorr`, the accumulator, the losses
 * and the streams: their type, their zod schema and the rule each must meet.
 *
 * @module
 */

import { z } from "zod";
import { MIN_SIGNIFICANCE, MIN_SIGNIFICANCE_RULE } from "./auto_tol.ts";
import type { ZeroVariancePolicy } from "./correlation_view.ts";
import { refinedRule } from "./parse_options.ts";
import { DEFAULT_MAX_ELEMENTS, MAX_ELEMENTS_RULE, maxElementsSchema } from "./limits.ts";

/** Options of `batchCorr`. */
export interface BatchCorrOptions {
  /**
   * Tolerance: correlations with `|r| ≤ tol` count as 0, others shrink by
   * `tol`. `"auto"` uses `autoTol` for the batch size and `tolSig`.
   * @default {0}
   */
  tol?: number | "auto";
  /**
   * Significance level for `tol: "auto"`, in (0, 1), at least 2⁻¹⁰²² (not subnormal).
   * @default {0.1}
   */
  tolSig?: number;
  /**
   * Return `max(|r| − tol, 0)`; when false, keep the sign of `r`.
   * @default {true}
   */
  abs?: boolean;
  /**
   * How a correlation with a zero-variance feature or confound (0/0) is
   * reported: `"zero"` (no evidence of association) or `"nan"` (hypercoil).
   * @default {"zero"}
   */
  zeroVariance?: ZeroVariancePolicy;
  /**
   * The largest F·M (features × confounds) to allocate for; a larger batch is
   * refused with a `BatchCorrError` ("resource_limit") before any F·M buffer
   * exists. Each F·M float64 buffer takes 8·F·M bytes.
   * @default {134217728} (2²⁷, `DEFAULT_MAX_ELEMENTS`: 1 GiB per buffer)
   */
  maxElements?: number;
}

/** Correlation options after validation, defaults applied. */
export interface ResolvedCorrelationOptions {
  /** A numeric tolerance or "auto". */
  tol: number | "auto";
  /** Significance level for "auto". */
  tolSig: number;
  /** Whether the sign is dropped. */
  abs: boolean;
  /** The zero-variance policy. */
  zeroVariance: ZeroVariancePolicy;
  /** The largest F·M allowed (the default when absent). */
  maxElements?: number;
}

/** Numeric or "auto" tolerance. */
export const tolSchema = z.union([z.number().nonnegative().finite(), z.literal("auto")]);

/**
 * The significance level of `tol: "auto"`: in (0, 1), and not subnormal (its
 * own message, as the refinement's issue carries it).
 */
export const tolSigSchema = z.number().gt(0).lt(1).refine(
  (v) => v >= MIN_SIGNIFICANCE,
  refinedRule(MIN_SIGNIFICANCE_RULE),
);

/** The schema of each correlation option, extended by the losses and the streams. */
export const correlationOptionShape = {
  tol: tolSchema.default(0),
  tolSig: tolSigSchema.default(0.1),
  abs: z.boolean().default(true),
  zeroVariance: z.enum(["zero", "nan"]).default("zero"),
  maxElements: maxElementsSchema.default(DEFAULT_MAX_ELEMENTS),
};

/** The rule each correlation (and loss) option must satisfy, in words, for error messages. */
export const OPTION_RULES: Readonly<Record<string, string>> = {
  tol: 'a finite non-negative number or "auto"',
  tolSig: "a number in the open interval (0, 1)",
  abs: "a boolean",
  zeroVariance: '"zero" or "nan"',
  nu: "a finite number",
  name: "a string",
  scalarisation:
    '"sum", "mean", "meansq", "max", "vnorm", a Scalarisation or a function (values) => number',
  maxElements: MAX_ELEMENTS_RULE,
};

/** Schema of {@linkcode BatchCorrOptions}. */
export const batchCorrOptionsSchema = z.strictObject(correlationOptionShape);
