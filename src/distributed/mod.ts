/**
 * Engine-free pieces for running the correlation state across processes and
 * machines exactly once (SPEC section 7): the binary batch envelope, the
 * {@linkcode BatchSource} and {@linkcode CheckpointStore} interfaces an
 * engine implements, the worker loop and the aggregator's views over them,
 * and the all-reduce of batch moments for data-parallel training with the
 * gradient of the global-batch loss. The Redis Streams and NATS JetStream
 * adapters live in `@streamcorr/batch-corr/redis` and `…/nats`.
 *
 * @example The gradient of the global batch, slice by slice
 * ```ts
 * import { BatchCorrelationLoss, CorrelationAccumulator } from "@streamcorr/batch-corr";
 * import { globalValueAndGrad } from "@streamcorr/batch-corr/distributed";
 * import assert from "node:assert/strict";
 *
 * const loss = new BatchCorrelationLoss();
 * const slices = [
 *   { x: [[1.0, 0.3], [1.6, 0.1], [1.2, 0.9]], n: [0.1, 0.4, 0.2] },
 *   { x: [[2.1, 0.4], [1.7, 0.2], [1.4, 0.6]], n: [0.8, 0.5, 0.3] },
 * ];
 * const global = new CorrelationAccumulator();
 * for (const s of slices) global.merge(new CorrelationAccumulator().update(s.x, s.n));
 * const parts = slices.map((s) => globalValueAndGrad(loss, s.x, s.n, global));
 * assert.equal(parts[0]!.value, parts[1]!.value);
 * ```
 *
 * @module
 */

export { type DistributedErrorCode } from "./distributed_error.ts";
export {
  BATCH_ENVELOPE_VERSION,
  decodeBatchEnvelope,
  type DecodeBatchEnvelopeOptions,
  type DecodedBatch,
  encodeBatchEnvelope,
  type EncodeBatchEnvelopeOptions,
  type EnvelopeBatch,
  type EnvelopeDtype,
  type EnvelopeMeta,
  safeDecodeBatchEnvelope,
  type SafeDecodeResult,
} from "./batch_envelope.ts";
export {
  type EncodedBatch,
  encodedBatches,
  type PublishableBatch,
  type PublishedBatch,
  type PublishSummary,
} from "./publishable_batch.ts";
export type {
  BatchDelivery,
  BatchDelta,
  BatchSource,
  Checkpoint,
  CheckpointCommit,
  CheckpointStore,
  CommitOutcome,
  DeadLetter,
  ReceiveOptions,
} from "./batch_source.ts";
export {
  CheckpointedFold,
  type CheckpointedFoldOptions,
  type FoldStep,
} from "./checkpointed_fold.ts";
export {
  runCheckpointedWorker,
  type RunCheckpointedWorkerOptions,
  type WorkerSummary,
} from "./run_checkpointed_worker.ts";
export {
  type AggregatePartSummary,
  type AggregateRecord,
  AggregateView,
  type AggregateViewOptions,
  type CommittedPart,
  mergeCommitted,
} from "./aggregate_view.ts";
export {
  allReduceMoments,
  type AllReduceMomentsOptions,
  type LocalMoments,
  type MomentExchange,
} from "./all_reduce_moments.ts";
export { globalValueAndGrad } from "./global_value_and_grad.ts";
