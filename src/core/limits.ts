/**
 * The cap on the size of the `(F, M)` state, checked before anything of that
 * size is allocated, so that an absurd shape (from a bug, a corrupted file or a
 * hostile snapshot) fails with a clear error instead of exhausting memory.
 *
 * @module
 */

import { z } from "zod";
import { BatchCorrError } from "./errors.ts";

/**
 * The default largest F·M (features × confounds) the library will allocate
 * for: 2²⁷ = 134,217,728 entries, 1 GiB per float64 buffer of that size.
 * Raise it with the `maxElements` option.
 *
 * @example Reading the default cap
 * ```ts
 * import { DEFAULT_MAX_ELEMENTS } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_MAX_ELEMENTS, 2 ** 27);
 * ```
 */
export const DEFAULT_MAX_ELEMENTS = 2 ** 27;

/** The rule text of the `maxElements` option, for messages. */
export const MAX_ELEMENTS_RULE =
  `a positive integer (the largest F·M allowed; default ${DEFAULT_MAX_ELEMENTS})`;

/** The `maxElements` option: the largest F·M allowed ({@linkcode MAX_ELEMENTS_RULE}). */
export const maxElementsSchema = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/**
 * Throws if F·M exceeds the cap. F and M may be huge or not exactly
 * representable products; the comparison is still right, since any product
 * beyond 2⁵³ is far above every cap.
 *
 * @param features F.
 * @param confounds M.
 * @param maxElements The cap.
 * @param context What was being done, for the message.
 * @param option How the caller raises the cap, e.g. "options.maxElements".
 * @throws {BatchCorrError} With code "resource_limit", naming F, M, F·M and the cap.
 */
export function checkElementLimit(
  features: number,
  confounds: number,
  maxElements: number,
  context: string,
  option = "options.maxElements",
): void {
  const error = elementLimitError(features, confounds, maxElements, context, option);
  if (error) throw error;
}

/**
 * The error {@linkcode checkElementLimit} throws, returned instead, for
 * callers that report failures as values (the snapshot decoders).
 *
 * @param features F.
 * @param confounds M.
 * @param maxElements The cap.
 * @param context What was being done, for the message.
 * @param option How the caller raises the cap.
 * @returns The "resource_limit" error, or undefined within the cap.
 */
export function elementLimitError(
  features: number,
  confounds: number,
  maxElements: number,
  context: string,
  option = "options.maxElements",
): BatchCorrError | undefined {
  const elements = features * confounds;
  if (elements <= maxElements) return undefined;
  return new BatchCorrError(
    "resource_limit",
    `Cannot ${context} as F·M (features × confounds, the size of the correlation state) must be at most ${maxElements}: current value is F = ${features} × M = ${confounds} = ${elements}; pass a larger ${option} to allow it (each F·M buffer takes 8·F·M bytes)`,
    { details: { features, confounds, elements, maxElements } },
  );
}
