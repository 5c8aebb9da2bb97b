/**
 * The one restore step behind `fromJSON`, `fromBytes` and their `safe…`
 * twins: the caller's expectations parsed once, the snapshot decoded against
 * them, and a state built only from a snapshot that passed every rule.
 *
 * @module
 */

import type { BatchCorrError } from "../core/errors.ts";
import {
  type CorrelationAccumulatorOptions,
  parseAccumulatorOptions,
} from "./correlation_accumulator_options.ts";
import { AccumulatorState } from "./_accumulator_state.ts";
import type { DecodeResult, SnapshotExpectations } from "./_snapshot_rules.ts";

/** A restore's answer: the value, or the error that says why there is none. */
export type Restored<T> = { success: true; data: T } | { success: false; error: BatchCorrError };

/**
 * Decodes a snapshot against the caller's expectations and builds its state.
 *
 * @param decode The codec, JSON or bytes, applied to the parsed expectations.
 * @param expected The caller's expectations, as given.
 * @returns The state, or the decoder's error.
 * @throws {TypeError} If `expected` is not valid options (the snapshot never throws).
 */
export function restoreState(
  decode: (expectations: SnapshotExpectations) => DecodeResult,
  expected: CorrelationAccumulatorOptions | undefined,
): Restored<AccumulatorState> {
  const expectations = parseAccumulatorOptions(expected, "restore CorrelationAccumulator");
  const decoded = decode(expectations);
  if (!decoded.success) return decoded;
  return {
    success: true,
    data: AccumulatorState.fromSnapshot(decoded.data, expectations.maxElements),
  };
}

/**
 * The throwing form of a restore.
 *
 * @param result A restore's answer.
 * @returns Its value.
 * @throws {BatchCorrError} The restore's error.
 */
export function orThrow<T>(result: Restored<T>): T {
  if (!result.success) throw result.error;
  return result.data;
}
