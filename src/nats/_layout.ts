/**
 * How a batch stream is laid out on JetStream: a work-queue stream with one
 * subject per partition, one durable pull consumer per partition (at most one
 * unacknowledged message each, so a partition's messages are folded in
 * order), a KV bucket of per-partition checkpoints `{ snapshot, watermark }`,
 * a KV bucket of publish markers and a stream of dead letters.
 *
 * @module
 */

import { ruleMessage } from "../core/errors.ts";
import type { OpenedNats } from "./_client.ts";

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The names derived from a stream and group. */
export interface NatsLayout {
  stream: string;
  /** Subject of partition k: `${subjectPrefix}.${k}`. */
  subjectPrefix: string;
  deadStream: string;
  deadSubject: string;
  /** KV bucket of checkpoints (one key per partition). */
  checkpoints: string;
  /** KV bucket of publish markers (one key per batch id hash). */
  published: string;
  consumer(partition: number): string;
  key(partition: number): string;
}

/**
 * Checks a stream, group or prefix name: 1–64 of `A–Z a–z 0–9 _ -` (JetStream
 * stream, consumer and bucket names).
 *
 * @throws {TypeError} Naming the option and the value.
 */
export function checkNatsName(value: unknown, name: string, context: string): string {
  if (typeof value !== "string" || !NAME.test(value)) {
    throw new TypeError(
      ruleMessage(context, name, "1 to 64 characters from A–Z a–z 0–9 _ -", value),
    );
  }
  return value;
}

/** Derives the names. */
export function natsLayout(stream: string, group = ""): NatsLayout {
  return {
    stream,
    subjectPrefix: `batchcorr.${stream}`,
    deadStream: `${stream}_dead`,
    deadSubject: `batchcorr.${stream}.dead.${group}`,
    checkpoints: `${stream}_${group}_checkpoints`,
    published: `${stream}_published`,
    consumer: (partition) => `${group}-p${partition}`,
    key: (partition) => `p${String(partition).padStart(4, "0")}`,
  };
}

/** Creates the work-queue stream (idempotent) with `partitions` subjects. */
export async function ensureStream(
  nats: OpenedNats,
  layout: NatsLayout,
  partitions: number,
  duplicateWindowMs: number,
): Promise<number> {
  const existing = await partitionCount(nats, layout).catch(() => undefined);
  if (existing !== undefined) return existing;
  const subjects = Array.from({ length: partitions }, (_, k) => `${layout.subjectPrefix}.${k}`);
  try {
    await nats.jsm.streams.add({
      name: layout.stream,
      subjects,
      retention: "workqueue",
      storage: "file",
      duplicate_window: duplicateWindowMs * 1_000_000,
      max_msg_size: -1,
    });
  } catch (error) {
    // Another publisher created it first.
    const count = await partitionCount(nats, layout).catch(() => undefined);
    if (count === undefined) throw error;
    return count;
  }
  return partitions;
}

/** The number of partitions of an existing stream (its subjects). */
export async function partitionCount(nats: OpenedNats, layout: NatsLayout): Promise<number> {
  const info = await nats.jsm.streams.info(layout.stream);
  return (info.config.subjects as string[]).filter((s) => s.startsWith(`${layout.subjectPrefix}.`))
    .length;
}

/** Creates the per-partition consumers and the buckets a group needs (idempotent). */
export async function ensureGroup(
  nats: OpenedNats,
  layout: NatsLayout,
  partitions: number,
  ackWaitMs: number,
): Promise<{ checkpoints: unknown }> {
  for (let k = 0; k < partitions; k++) {
    const config = {
      durable_name: layout.consumer(k),
      filter_subject: `${layout.subjectPrefix}.${k}`,
      ack_policy: "explicit",
      deliver_policy: "all",
      max_ack_pending: 1,
      ack_wait: ackWaitMs * 1_000_000,
      max_deliver: -1,
    };
    try {
      await nats.jsm.consumers.info(layout.stream, layout.consumer(k));
    } catch {
      await nats.jsm.consumers.add(layout.stream, config).catch(async (error: unknown) => {
        await nats.jsm.consumers.info(layout.stream, layout.consumer(k)).catch(() => {
          throw error;
        });
      });
    }
  }
  await ensureDeadStream(nats, layout);
  return { checkpoints: await openBucket(nats, layout.checkpoints) };
}

async function ensureDeadStream(nats: OpenedNats, layout: NatsLayout): Promise<void> {
  try {
    await nats.jsm.streams.info(layout.deadStream);
  } catch {
    await nats.jsm.streams.add({
      name: layout.deadStream,
      subjects: [`batchcorr.${layout.stream}.dead.>`],
      storage: "file",
      max_msg_size: -1,
    }).catch(() => {});
  }
}

/** Opens (creating when missing) a KV bucket that keeps one revision per key. */
// deno-lint-ignore no-explicit-any
export async function openBucket(nats: OpenedNats, name: string): Promise<any> {
  return await nats.kvm.create(name, { history: 1 });
}
