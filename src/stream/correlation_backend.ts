/**
 * The contract between the streaming layer and a per-batch compute backend
 * (the ONNX Runtime providers implement it; the default is the TypeScript
 * kernel).
 *
 * @module
 */

import type { BatchMoments } from "../kernels/compute_batch_moments.ts";
import type { PreparedBatch } from "../core/prepare_batch.ts";

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
   * `batch.x`, as {@linkcode computeBatchMoments}).
   *
   * @param batch A validated batch.
   * @returns Its moments in float64 storage.
   */
  computeMoments(batch: PreparedBatch): Promise<BatchMoments>;
  /** Releases sessions and device memory. */
  dispose(): Promise<void>;
}
