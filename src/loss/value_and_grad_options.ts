/**
 * The options and result of `BatchCorrelationLoss.valueAndGrad`.
 *
 * @module
 */

import { z } from "zod";
import { OPTION_RULES } from "../core/batch_corr_options.ts";
import { parseOptions } from "../core/parse_options.ts";
import type { Tensor } from "../core/tensor.ts";

/** Options of `BatchCorrelationLoss.valueAndGrad`. */
export interface ValueAndGradOptions {
  /**
   * Which gradients to compute: `"X"` (the features only) or `"both"` (also
   * the confounds, for confounds that are themselves learned).
   * @default {"X"}
   */
  wrt?: "X" | "both";
}

/** The loss's value and its gradients on one batch. */
export interface ValueAndGradResult {
  /** The loss's value, as `evaluate` returns it. */
  value: number;
  /** `∂ loss / ∂ X`, with X's shape and row-major layout. */
  grad: Tensor;
  /** `∂ loss / ∂ N`, with N's shape (`(B)` or `(M, B)`); only with `wrt: "both"`. */
  gradN?: Tensor;
}

const valueAndGradOptionsSchema = z.strictObject({
  wrt: z.enum(["X", "both"]).default("X"),
});

const VALUE_AND_GRAD_RULES: Record<string, string> = { ...OPTION_RULES, wrt: '"X" or "both"' };

/**
 * Validates the options of `valueAndGrad` at the public boundary.
 *
 * @param options As given.
 * @param context What was being done.
 * @returns Whether the gradient with respect to N is wanted.
 * @throws {TypeError} For a non-object, an unknown key, or a `wrt` other than "X" or "both".
 */
export function parseValueAndGradOptions(options: unknown, context: string): { wantN: boolean } {
  const parsed = parseOptions(valueAndGradOptionsSchema, options, context, VALUE_AND_GRAD_RULES);
  return { wantN: parsed.wrt === "both" };
}
