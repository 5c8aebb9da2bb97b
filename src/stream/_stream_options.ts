/**
 * The options of the streams: their schema, their rules, and their
 * resolution into what the shared step reads.
 *
 * @module
 */

import { z } from "zod";
import { OPTION_RULES } from "../core/batch_corr_options.ts";
import { parseOptions } from "../core/parse_options.ts";
import { windowAndDecayError } from "../core/errors.ts";
import { CorrelationAccumulator } from "../accumulator/correlation_accumulator.ts";
import {
  lossOptionsSchema,
  type ResolvedLossOptions,
  resolveLossOptions,
} from "../loss/loss_options.ts";
import type { CorrelationBackend } from "./correlation_backend.ts";
import { resolveThreads, THREADS_RULE, threadsSchema } from "../core/threads_option.ts";

const streamOptionsShape = {
  window: z.number().int().positive().optional(),
  decay: z.number().gt(0).lte(1).optional(),
  onInvalid: z.enum(["error", "skip"]).default("error"),
  output: z.enum(["full", "losses"]).default("full"),
  gradient: z.union([z.boolean(), z.enum(["X", "both"])]).default(false),
  accumulator: z.instanceof(CorrelationAccumulator).optional(),
  backend: z.custom<CorrelationBackend>((value) =>
    typeof value === "object" && value !== null &&
    typeof (value as CorrelationBackend).computeMoments === "function"
  ).optional(),
  threads: threadsSchema,
};

const streamOptionsSchema = lossOptionsSchema.extend(streamOptionsShape);
const transformOptionsSchema = streamOptionsSchema.extend({
  highWaterMark: z.number().int().nonnegative().optional(),
});

/** The rule of each stream option, in words, for messages. */
const STREAM_RULES: Readonly<Record<string, string>> = {
  ...OPTION_RULES,
  window: "a positive integer",
  decay: "a number in (0, 1]",
  onInvalid: '"error" or "skip"',
  output: '"full" or "losses"',
  gradient: 'a boolean, "X" or "both"',
  accumulator: "a CorrelationAccumulator",
  backend: "a CorrelationBackend (an object with computeMoments)",
  highWaterMark: "a non-negative integer",
  threads: THREADS_RULE,
};

/** The stream options after validation, defaults applied. */
export interface ResolvedStreamOptions extends ResolvedLossOptions {
  window: number | undefined;
  decay: number | undefined;
  onInvalid: "error" | "skip";
  output: "full" | "losses";
  gradient: "none" | "X" | "both";
  accumulator: CorrelationAccumulator;
  backend: CorrelationBackend | undefined;
  /** The most threads one batch's kernel may use (1: the calling thread only). */
  threads: number;
}

type Parsed = z.output<typeof streamOptionsSchema>;

function resolveStreamOptions(parsed: Parsed, context: string): ResolvedStreamOptions {
  if (parsed.window !== undefined && parsed.decay !== undefined) {
    throw windowAndDecayError(context, parsed.window, parsed.decay);
  }
  const { tol, tolSig, abs, zeroVariance, maxElements, nu, name, scalarisation } = parsed;
  if (parsed.gradient !== false && typeof scalarisation === "function") {
    throw new TypeError(
      `Cannot ${context} as options.scalarisation must have a gradient when options.gradient is set (a built-in or a Scalarisation with gradient()): current value is a plain function, which has no gradient`,
    );
  }
  const lossOptions = {
    tol,
    tolSig,
    abs,
    zeroVariance,
    maxElements,
    nu,
    ...(name === undefined ? {} : { name }),
    ...(scalarisation === undefined ? {} : { scalarisation }),
  };
  return {
    ...resolveLossOptions(lossOptions, "BatchCorrelation", context),
    window: parsed.window,
    decay: parsed.decay,
    onInvalid: parsed.onInvalid,
    output: parsed.output,
    gradient: parsed.gradient === true ? "X" : parsed.gradient === false ? "none" : parsed.gradient,
    accumulator: parsed.accumulator ?? new CorrelationAccumulator({ maxElements }),
    backend: parsed.backend,
    threads: resolveThreads(parsed.threads),
  };
}

/**
 * Validates the options of `correlateBatches`.
 *
 * @param options As given.
 * @param context What was being done, for messages.
 * @returns The resolved options.
 * @throws {TypeError} For a wrong type, an unknown key, or window and decay both set.
 * @throws {RangeError} For an out-of-range number.
 */
export function parseStreamOptions(options: unknown, context: string): ResolvedStreamOptions {
  return resolveStreamOptions(
    parseOptions(streamOptionsSchema, options, context, STREAM_RULES),
    context,
  );
}

/**
 * Validates the options of `BatchCorrStream`: the stream options and its queue size.
 *
 * @param options As given.
 * @param context What was being done, for messages.
 * @returns The resolved options and the readable side's high-water mark.
 * @throws {TypeError} As {@linkcode parseStreamOptions}.
 * @throws {RangeError} As {@linkcode parseStreamOptions}.
 */
export function parseTransformOptions(
  options: unknown,
  context: string,
): { resolved: ResolvedStreamOptions; highWaterMark: number } {
  // Read from the parsed options themselves: an object rest (`{ highWaterMark, ...rest }`) is
  // a new object with Object.prototype, whose absent keys (accumulator, window, backend…)
  // would read what a polluted Object.prototype holds.
  const parsed = parseOptions(transformOptionsSchema, options, context, STREAM_RULES);
  return {
    resolved: resolveStreamOptions(parsed, context),
    highWaterMark: parsed.highWaterMark ?? 1,
  };
}
