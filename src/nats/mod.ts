/**
 * Scale-out on NATS JetStream, behind the same interfaces as the Redis
 * adapter: a work-queue stream with one subject and one durable pull consumer
 * per partition, each partition's checkpoint `{ snapshot, watermark }` in a
 * KV bucket written by compare-and-set, dead letters in a stream of their
 * own, and a KV meeting point for data-parallel all-reduce.
 *
 * Needs the optional peer dependencies `@nats-io/transport-node`,
 * `@nats-io/jetstream` and `@nats-io/kv` (3.x): `deno add
 * npm:@nats-io/transport-node@3 npm:@nats-io/jetstream@3 npm:@nats-io/kv@3`
 * or `bun add @nats-io/transport-node @nats-io/jetstream @nats-io/kv`. A
 * nats-server with JetStream (`-js`), 2.9 or later.
 *
 * @example Publish, two workers, read the result
 * ```ts ignore
 * import { publishNatsBatches, readNatsCommitted, runNatsWorker } from "@streamcorr/batch-corr/nats";
 *
 * const nats = "nats://127.0.0.1:4222";
 * await publishNatsBatches([{ x: [[1], [2], [4]], n: [1, 3, 2] }, { x: [[3], [5]], n: [5, 4] }], { nats, stream: "demo" });
 * await Promise.all([1, 2].map(() => runNatsWorker({ nats, stream: "demo", group: "g", untilIdleMs: 1000 })));
 * console.log((await readNatsCommitted({ nats, stream: "demo", group: "g" })).accumulator.count); // 5
 * ```
 *
 * @module
 */

export { publishNatsBatches, type PublishNatsBatchesOptions } from "./publish_nats_batches.ts";
export { runNatsWorker, type RunNatsWorkerOptions } from "./run_nats_worker.ts";
export { runNatsAggregator, type RunNatsAggregatorOptions } from "./run_nats_aggregator.ts";
export {
  type NatsCommittedState,
  readNatsCommitted,
  type ReadNatsCommittedOptions,
} from "./read_nats_committed.ts";
export {
  type NatsMomentExchange,
  openNatsMomentExchange,
  type OpenNatsMomentExchangeOptions,
} from "./open_nats_moment_exchange.ts";
export type {
  PublishableBatch,
  PublishedBatch,
  PublishSummary,
} from "../distributed/publishable_batch.ts";
export type { WorkerSummary } from "../distributed/run_checkpointed_worker.ts";
export type { AggregateRecord } from "../distributed/aggregate_view.ts";
