/**
 * The error conditions of the scale-out layer, raised as `BatchCorrError`s.
 *
 * @module
 */

import { BatchCorrError, type BatchCorrErrorCode } from "../core/errors.ts";

/**
 * The codes the scale-out layer puts on its `BatchCorrError`s, on top of the
 * library's own {@linkcode BatchCorrErrorCode}s:
 * - `"invalid_envelope"`: a batch message that is not a readable batch envelope;
 * - `"commit_refused"`: a commit fenced off because this worker lost its batches;
 * - `"all_reduce_timeout"`: not every rank published its moments for a step in time;
 * - `"all_reduce_conflict"`: a rank published different moments, or another world size, for a step;
 * - `"engine_unavailable"`: the Redis or NATS server could not be reached for too long;
 * - `"peer_missing"`: an optional client package (ioredis, `@nats-io/*`) is not installed.
 */
export type DistributedErrorCode =
  | "invalid_envelope"
  | "commit_refused"
  | "all_reduce_timeout"
  | "all_reduce_conflict"
  | "engine_unavailable"
  | "peer_missing";

/**
 * Builds a `BatchCorrError` with one of the scale-out codes.
 *
 * The library's `BatchCorrErrorCode` union does not list these codes yet; the
 * cast goes away once it does.
 */
export function distributedError(
  code: DistributedErrorCode,
  message: string,
  options: { cause?: unknown; details?: Record<string, unknown> } = {},
): BatchCorrError {
  return new BatchCorrError(code as unknown as BatchCorrErrorCode, message, options);
}

/** Whether `error` is a `BatchCorrError` with the given scale-out code. */
export function hasDistributedCode(error: unknown, code: DistributedErrorCode): boolean {
  return error instanceof BatchCorrError && (error.code as string) === code;
}
