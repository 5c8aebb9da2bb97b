/**
 * The loss options after validation: the schema shared with the streams and
 * their resolution (defaults, the scalarisation).
 *
 * @module
 */

import { z } from "zod";
import {
  correlationOptionShape,
  OPTION_RULES,
  type ResolvedCorrelationOptions,
} from "../core/batch_corr_options.ts";
import { parseOptions } from "../core/parse_options.ts";
import {
  resolveScalarisation,
  type Scalarisation,
  type ScalarisationLike,
} from "../core/scalarise.ts";

/** Schema of `BatchCorrelationLossOptions`, extended by the stream options. */
export const lossOptionsSchema = z.strictObject({
  ...correlationOptionShape,
  nu: z.number().finite().default(1),
  name: z.string().optional(),
  scalarisation: z.unknown().optional(),
});

/** The validated configuration of a loss, defaults applied. */
export interface ResolvedLossOptions extends ResolvedCorrelationOptions {
  /** The largest F·M allowed. */
  maxElements: number;
  /** Loss strength multiplier. */
  nu: number;
  /** The loss's name. */
  name: string;
  /** The scalarisation in use. */
  scalarisation: Scalarisation;
}

/**
 * Validates loss options at the public boundary.
 *
 * @param options As given.
 * @param defaultName The default name.
 * @param context What was being done.
 * @returns The resolved options.
 * @throws {TypeError} For wrong types or unknown keys.
 * @throws {RangeError} For out-of-range numbers.
 */
export function resolveLossOptions(
  options: unknown,
  defaultName: string,
  context: string,
): ResolvedLossOptions {
  const parsed = parseOptions(lossOptionsSchema, options, context, OPTION_RULES);
  return {
    tol: parsed.tol,
    tolSig: parsed.tolSig,
    abs: parsed.abs,
    zeroVariance: parsed.zeroVariance,
    maxElements: parsed.maxElements,
    nu: parsed.nu,
    name: parsed.name ?? defaultName,
    scalarisation: resolveScalarisation(
      (parsed.scalarisation ?? "mean") as ScalarisationLike,
      context,
      parsed.zeroVariance,
    ),
  };
}
