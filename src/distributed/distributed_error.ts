/**
 * The error conditions of the scale-out layer, raised as `BatchCorrError`s.
 *
 * @module
 */

import { BatchCorrError, type BatchCorrErrorCode } from "../core/errors.ts";

/** The codes the scale-out layer puts on its `BatchCorrError`s (see {@linkcode BatchCorrErrorCode}). */
export type DistributedErrorCode = Extract<
  BatchCorrErrorCode,
  | "invalid_envelope"
  | "commit_refused"
  | "all_reduce_timeout"
  | "all_reduce_conflict"
  | "engine_unavailable"
  | "peer_missing"
>;

/**
 * Builds a `BatchCorrError` with one of the scale-out codes.
 *
 * @param code The condition.
 * @param message The message, in the library's "Cannot X as Y must be Z" form.
 * @param options The cause and structured details.
 * @returns The error, to throw.
 */
export function distributedError(
  code: DistributedErrorCode,
  message: string,
  options: { cause?: unknown; details?: Record<string, unknown> } = {},
): BatchCorrError {
  return new BatchCorrError(code, message, options);
}

/**
 * Whether `error` is a `BatchCorrError` with the given scale-out code.
 *
 * @param error What was thrown.
 * @param code The condition to look for.
 * @returns `true` for a `BatchCorrError` carrying `code`.
 */
export function hasDistributedCode(error: unknown, code: DistributedErrorCode): boolean {
  return error instanceof BatchCorrError && error.code === code;
}
