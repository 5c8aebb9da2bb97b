/**
 * The contract between the streaming layer and a per-batch compute backend
 * (the ONNX Runtime providers implement it; the default is the TypeScript
 * kernel).
 *
 * @module
 */

import type { BatchMoments } from "../core/batch_moments.ts";

/** A validated batch as a backend receives it, in kernel layout. */
export interface BackendBatch {
  /** Features, row-major `(B, F)`, F in the natural order of X's trailing axes. */
  readonly x: Float64Array | Float32Array;
  /** Confounds, row-major `(M, B)`. */
  readonly n: Float64Array | Float32Array;
  /** B. */
  readonly count: number;
  /** F. */
  readonly features: number;
  /** M. */
  readonly confounds: number;
  /** X's shape without the batch axis (for messages naming an element). */
  readonly featureShape: readonly number[];
  /** N's shape as given: `[B]` or `[M, B]`. */
  readonly nShape: readonly number[];
}

/**
 * Computes the centred moments of one batch. The running accumulator stays in
 * float64 TypeScript whatever the backend; only the per-batch work moves.
 */
export interface CorrelationBackend {
  /** Which provider runs the work ("typescript", "wasm", "webgpu", "cpu", "cuda"). */
  readonly provider: string;
  /** Why the requested provider was not used, when `"auto"` fell back. */
  readonly fallbackReason?: string | undefined;
  /**
   * Computes the batch's moments (features in the natural column order of
   * `batch.x`, as the TypeScript kernel does).
   *
   * @param batch A validated batch.
   * @returns Its moments in float64 storage.
   */
  computeMoments(batch: BackendBatch): Promise<BatchMoments>;
  /** Releases sessions and device memory. */
  dispose(): Promise<void>;
}
