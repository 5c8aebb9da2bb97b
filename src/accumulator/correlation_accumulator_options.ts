/**
 * The options of `CorrelationAccumulator`, which are also what `fromJSON` and
 * `fromBytes` expect of a snapshot: their type, their schema and their rules.
 *
 * @module
 */

import { z } from "zod";
import { DEFAULT_MAX_ELEMENTS, MAX_ELEMENTS_RULE, maxElementsSchema } from "../core/limits.ts";
import { parseOptions } from "../core/parse_options.ts";

/** Options of `CorrelationAccumulator`, and the expectations of its `fromJSON` / `fromBytes`. */
export interface CorrelationAccumulatorOptions {
  /**
   * The shape of one sample's features (X's shape without the batch axis).
   * @default {undefined} (fixed by the first update)
   */
  featureShape?: number[];
  /**
   * The number of confounds M.
   * @default {undefined} (fixed by the first update)
   */
  confounds?: number;
  /**
   * The largest F·M (features × confounds) this accumulator will allocate
   * for: a larger shape (from the options, a batch, a merge or a snapshot
   * being restored) is refused with a `BatchCorrError` ("resource_limit")
   * before any F·M buffer exists. The state holds two F·M float64 buffers.
   * @default {134217728} (2²⁷, `DEFAULT_MAX_ELEMENTS`)
   */
  maxElements?: number;
}

const accumulatorOptionsSchema = z.strictObject({
  featureShape: z.array(z.number().int().positive()).optional(),
  confounds: z.number().int().positive().optional(),
  maxElements: maxElementsSchema.default(DEFAULT_MAX_ELEMENTS),
});

const ACCUMULATOR_RULES: Readonly<Record<string, string>> = {
  featureShape: "an array of positive integers",
  confounds: "a positive integer",
  maxElements: MAX_ELEMENTS_RULE,
};

/** The options after validation, the cap defaulted. */
export interface ResolvedAccumulatorOptions {
  /** The feature shape, if given. */
  featureShape: number[] | undefined;
  /** M, if given. */
  confounds: number | undefined;
  /** The cap on F·M. */
  maxElements: number;
}

/**
 * Validates accumulator options at the public boundary.
 *
 * @param options As given.
 * @param context What was being done, for messages.
 * @returns The options, the cap defaulted.
 * @throws {TypeError} For a wrong type or an unknown key.
 * @throws {RangeError} For an extent, M or cap that is not a positive integer.
 */
export function parseAccumulatorOptions(
  options: unknown,
  context: string,
): ResolvedAccumulatorOptions {
  const parsed = parseOptions(accumulatorOptionsSchema, options, context, ACCUMULATOR_RULES);
  return {
    featureShape: parsed.featureShape,
    confounds: parsed.confounds,
    maxElements: parsed.maxElements,
  };
}

/** Options of `CorrelationAccumulator.merge`. */
export interface MergeOptions {
  /**
   * Multiplies this accumulator's sample weights by `decay` before the other
   * state is added, as one step of a decay view: `decay` 1 is the plain
   * merge, and merging batch states one by one with `decay` λ weights each
   * batch's samples by λ per batch merged after it (the `decay` view of
   * `correlateBatches`). The other state's weights are kept as they are.
   * @default {1}
   */
  decay?: number;
}

const mergeOptionsSchema = z.strictObject({
  decay: z.number().gt(0).lte(1).default(1),
});

const MERGE_RULES: Readonly<Record<string, string>> = { decay: "a number in (0, 1]" };

/**
 * Validates merge options at the public boundary.
 *
 * @param options As given.
 * @param context What was being done, for messages.
 * @returns The decay, defaulted to 1.
 * @throws {TypeError} For a wrong type or an unknown key.
 * @throws {RangeError} For a decay outside (0, 1].
 */
export function parseMergeOptions(options: unknown, context: string): { decay: number } {
  return { decay: parseOptions(mergeOptionsSchema, options, context, MERGE_RULES).decay };
}
