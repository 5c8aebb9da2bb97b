/**
 * Reading every partition's committed checkpoint.
 *
 * @module
 */

import type { CommittedPart } from "../distributed/aggregate_view.ts";
import type { OpenedNats } from "./_client.ts";
import { type NatsLayout, partitionCount } from "./_layout.ts";
import { decodeCheckpoint, type LastBatch } from "./_partition_store.ts";

/** Every partition's checkpoint, with the revisions read (for change detection). */
export async function readPartitions(
  nats: OpenedNats,
  layout: NatsLayout,
): Promise<
  { parts: CommittedPart[]; revisions: string; deadLetters: number; last: LastBatch | undefined }
> {
  const partitions = await partitionCount(nats, layout);
  const bucket = await nats.kvm.create(layout.checkpoints, { history: 1 });
  const parts: CommittedPart[] = [];
  const revisions: string[] = [];
  let deadLetters = 0;
  let last: LastBatch | undefined;
  for (let k = 0; k < partitions; k++) {
    const key = layout.key(k);
    const entry = await bucket.get(key);
    revisions.push(String(entry?.revision ?? 0));
    if (!entry || entry.operation !== "PUT" || entry.value.length === 0) {
      parts.push({ name: key, snapshot: undefined, batches: 0, commits: 0, deadLetters: 0 });
      continue;
    }
    const checkpoint = decodeCheckpoint(new Uint8Array(entry.value), key);
    deadLetters += checkpoint.deadLetters;
    if (checkpoint.last && checkpoint.last.committedAt >= (last?.committedAt ?? -Infinity)) {
      last = checkpoint.last;
    }
    parts.push({
      name: key,
      snapshot: checkpoint.snapshot,
      batches: checkpoint.batches,
      commits: checkpoint.commits,
      deadLetters: checkpoint.deadLetters,
    });
  }
  return { parts, revisions: revisions.join(","), deadLetters, last };
}
