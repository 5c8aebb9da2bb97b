/**
 * The CLI's way into the Redis Streams and NATS JetStream adapters: a quick
 * check that the server accepts connections (so that a wrong URL fails at
 * once instead of after minutes of retries), and each role run on the chosen
 * engine. The adapters (and their client packages) are imported only when a
 * scale-out role runs.
 *
 * @module
 */

import { Socket } from "node:net";
import { BatchCorrError } from "../../core/errors.ts";
import type { AggregateRecord } from "../../distributed/aggregate_view.ts";
import type { EnvelopeDtype } from "../../distributed/batch_envelope.ts";
import type {
  PublishableBatch,
  PublishedBatch,
  PublishSummary,
} from "../../distributed/publishable_batch.ts";
import type { WorkerSummary } from "../../distributed/run_checkpointed_worker.ts";
import type { BatchCorrelationLossOptions } from "../../loss/batch_correlation_loss.ts";
import type { Engine } from "./_scaleout_flags.ts";

/** Where a role runs: the engine, its server and the stream. */
export interface EngineTarget {
  /** The engine. */
  engine: Engine;
  /** The server's URL. */
  url: string;
  /** The stream of batches. */
  stream: string;
  /** How long to keep retrying a server that stops answering (ms). */
  retryForMs: number;
}

const DEFAULT_PORTS: Record<Engine, number> = { redis: 6379, nats: 4222 };
const CONNECT_TIMEOUT_MS = 5000;

/** The server's URL without a password, for messages. */
export function shownUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString().replace(/\/$/, "");
}

/**
 * Checks within 5 s that a server of the engine answers at the URL: a Redis
 * server replies to PING (even with an error, such as NOAUTH), a NATS server
 * greets with INFO. Without this a wrong URL would only fail after the
 * roles' retries, and a NATS client dialling a server of another kind can
 * keep the process alive after giving up.
 *
 * @param target The engine and URL.
 * @returns Nothing, once the server answered as the engine does.
 * @throws {BatchCorrError} "engine_unavailable" naming the server and what went wrong.
 */
export function checkReachable(target: EngineTarget): Promise<void> {
  const parsed = new URL(target.url);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = parsed.port === "" ? DEFAULT_PORTS[target.engine] : Number(parsed.port);
  const server = target.engine === "redis" ? "redis-server" : "nats-server -js";
  const tls = parsed.protocol === "rediss:" || parsed.protocol === "tls:";
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let settled = false;
    const settle = (why: string | undefined) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (why === undefined) return resolve();
      reject(
        new BatchCorrError(
          "engine_unavailable",
          `Cannot connect to ${shownUrl(target.url)} as ${server} must answer there within ${
            CONNECT_TIMEOUT_MS / 1000
          } s: current state is ${why}`,
        ),
      );
    };
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => settle("no answer (a timeout)"));
    socket.once("error", (error: Error) => settle(`the error ${JSON.stringify(error.message)}`));
    socket.once("data", (chunk: Uint8Array) => {
      const text = new TextDecoder().decode(chunk.subarray(0, 8));
      const ok = target.engine === "redis" ? /^[+-]/.test(text) : text.startsWith("INFO ");
      settle(
        ok
          ? undefined
          : `an answer that is not ${target.engine === "redis" ? "Redis" : "NATS"}'s (${
            JSON.stringify(text)
          })`,
      );
    });
    socket.connect(port, host, () => {
      // A TLS server cannot be greeted in clear text: accepting the connection is as far as we check.
      if (tls) return settle(undefined);
      if (target.engine === "redis") socket.write("PING\r\n");
    });
  });
}

/** What `publish` passes to the engine's publisher. */
export interface PublishSettings {
  idPrefix: string;
  dtype: EnvelopeDtype;
  /** JetStream only: partitions of a new stream. */
  partitions: number;
  signal: AbortSignal;
  onPublished: (event: PublishedBatch) => void;
}

/**
 * Publishes batches to the target's stream.
 *
 * @param target Where to.
 * @param batches The batches, in order.
 * @param settings Ids, element type, partitions, stop signal and progress callback.
 * @returns The publisher's summary.
 */
export async function publishTo(
  target: EngineTarget,
  batches: AsyncIterable<PublishableBatch>,
  settings: PublishSettings,
): Promise<PublishSummary> {
  const common = {
    stream: target.stream,
    idPrefix: settings.idPrefix,
    dtype: settings.dtype,
    signal: settings.signal,
    retryForMs: target.retryForMs,
    onPublished: settings.onPublished,
  };
  if (target.engine === "redis") {
    const { publishRedisBatches } = await import("../../redis/mod.ts");
    return await publishRedisBatches(batches, { redis: target.url, ...common });
  }
  const { publishNatsBatches } = await import("../../nats/mod.ts");
  return await publishNatsBatches(batches, {
    nats: target.url,
    partitions: settings.partitions,
    ...common,
  });
}

/** What `worker` passes to the engine's worker. */
export interface WorkerSettings {
  group: string;
  /** Redis only. */
  name: string | undefined;
  /** Redis only. */
  batchesPerCommit: number;
  /** Redis only. */
  readAhead: boolean;
  /** Redis only. */
  logLength: number;
  /** Redis XAUTOCLAIM idle time; JetStream ack wait (ms). */
  claimIdleMs: number;
  untilIdleMs: number | undefined;
  maxElements: number;
  signal: AbortSignal;
}

/** A worker's summary with its name (Redis) and the entries it claimed. */
export type CliWorkerSummary = WorkerSummary & { name?: string; claimed?: number };

/**
 * Runs a worker of the target's group until idle or stopped.
 *
 * @param target Where.
 * @param settings The group and the loop's settings.
 * @returns What the worker did.
 */
export async function runWorkerOn(
  target: EngineTarget,
  settings: WorkerSettings,
): Promise<CliWorkerSummary> {
  const idle = settings.untilIdleMs === undefined ? {} : { untilIdleMs: settings.untilIdleMs };
  if (target.engine === "redis") {
    const { runRedisWorker } = await import("../../redis/mod.ts");
    return await runRedisWorker({
      redis: target.url,
      stream: target.stream,
      group: settings.group,
      ...(settings.name === undefined ? {} : { name: settings.name }),
      batchesPerCommit: settings.batchesPerCommit,
      readAhead: settings.readAhead,
      logLength: settings.logLength,
      claimIdleMs: settings.claimIdleMs,
      maxElements: settings.maxElements,
      retryForMs: target.retryForMs,
      signal: settings.signal,
      ...idle,
    });
  }
  const { runNatsWorker } = await import("../../nats/mod.ts");
  return await runNatsWorker({
    nats: target.url,
    stream: target.stream,
    group: settings.group,
    ackWaitMs: Math.max(100, settings.claimIdleMs),
    maxElements: settings.maxElements,
    retryForMs: target.retryForMs,
    signal: settings.signal,
    ...idle,
  });
}

/** What the aggregating `monitor` passes to the engine's aggregator. */
export interface AggregateSettings {
  group: string;
  loss: BatchCorrelationLossOptions;
  /** Redis only. */
  window: number | undefined;
  /** Redis only. */
  decay: number | undefined;
  output: "full" | "losses";
  intervalMs: number;
  untilIdleMs: number | undefined;
  signal: AbortSignal;
}

/**
 * The aggregator's records over the target's group, each with the merged
 * running state (`state`).
 *
 * @param target Where.
 * @param settings The group, the views and the timing.
 * @returns The records, until idle or stopped.
 */
export async function* aggregateFrom(
  target: EngineTarget,
  settings: AggregateSettings,
): AsyncGenerator<AggregateRecord, void, undefined> {
  const common = {
    stream: target.stream,
    group: settings.group,
    loss: settings.loss,
    output: settings.output,
    intervalMs: settings.intervalMs,
    retryForMs: target.retryForMs,
    signal: settings.signal,
    // The monitor's report, live page and top-k series read the merged state itself.
    includeState: true,
    ...(settings.untilIdleMs === undefined ? {} : { untilIdleMs: settings.untilIdleMs }),
  };
  if (target.engine === "redis") {
    const { runRedisAggregator } = await import("../../redis/mod.ts");
    yield* runRedisAggregator({
      redis: target.url,
      ...common,
      ...(settings.window === undefined ? {} : { window: settings.window }),
      ...(settings.decay === undefined ? {} : { decay: settings.decay }),
    });
    return;
  }
  const { runNatsAggregator } = await import("../../nats/mod.ts");
  yield* runNatsAggregator({ nats: target.url, ...common });
}
