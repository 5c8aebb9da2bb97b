/**
 * A {@linkcode CheckpointStore} for one JetStream partition: the checkpoint
 * `{ snapshot, watermark }` in a KV key, written by compare-and-set on the
 * revision read last, so a stalled owner's late write is refused.
 *
 * @module
 */

import type {
  Checkpoint,
  CheckpointCommit,
  CheckpointStore,
  CommitOutcome,
} from "../distributed/batch_source.ts";
import { distributedError } from "../distributed/distributed_error.ts";
import { isWrongSequence, type OpenedNats } from "./_client.ts";
import type { NatsLayout } from "./_layout.ts";

const MAGIC = [0x42, 0x43, 0x4e, 0x43]; // "BCNC"
const HEADER = 40;

/** A decoded checkpoint value. */
export interface PartitionCheckpoint {
  watermark: number | undefined;
  batches: number;
  commits: number;
  deadLetters: number;
  snapshot: Uint8Array | undefined;
}

/** Encodes a checkpoint: "BCNC", u32 version 1, then f64 watermark (−1: none), batches, commits, dead letters, snapshot. */
export function encodeCheckpoint(value: PartitionCheckpoint): Uint8Array {
  const snapshot = value.snapshot ?? new Uint8Array(0);
  const out = new Uint8Array(HEADER + snapshot.length);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(4, 1, true);
  view.setFloat64(8, value.watermark ?? -1, true);
  view.setFloat64(16, value.batches, true);
  view.setFloat64(24, value.commits, true);
  view.setFloat64(32, value.deadLetters, true);
  out.set(snapshot, HEADER);
  return out;
}

/** Decodes a checkpoint value. @throws {BatchCorrError} "invalid_snapshot" when it is not one. */
export function decodeCheckpoint(bytes: Uint8Array, key: string): PartitionCheckpoint {
  if (bytes.length < HEADER || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw distributedError(
      "invalid_envelope",
      `Cannot read checkpoint ${key} as its value must start with "BCNC" and a 40-byte header: current value has ${bytes.length} bytes`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const watermark = view.getFloat64(8, true);
  const snapshot = bytes.slice(HEADER);
  return {
    watermark: watermark < 0 ? undefined : watermark,
    batches: view.getFloat64(16, true),
    commits: view.getFloat64(24, true),
    deadLetters: view.getFloat64(32, true),
    snapshot: snapshot.length > 0 ? snapshot : undefined,
  };
}

/** The store of one partition. */
export class PartitionStore implements CheckpointStore {
  #nats: OpenedNats;
  #layout: NatsLayout;
  // deno-lint-ignore no-explicit-any
  #bucket: any;
  #key: string;
  #last: PartitionCheckpoint = {
    watermark: undefined,
    batches: 0,
    commits: 0,
    deadLetters: 0,
    snapshot: undefined,
  };

  // deno-lint-ignore no-explicit-any
  constructor(nats: OpenedNats, layout: NatsLayout, bucket: any, partition: number) {
    this.#nats = nats;
    this.#layout = layout;
    this.#bucket = bucket;
    this.#key = layout.key(partition);
  }

  async load(): Promise<Checkpoint> {
    const entry = await this.#bucket.get(this.#key);
    if (!entry || entry.operation !== "PUT" || entry.value.length === 0) {
      this.#last = {
        watermark: undefined,
        batches: 0,
        commits: 0,
        deadLetters: 0,
        snapshot: undefined,
      };
      return {
        snapshot: undefined,
        watermark: undefined,
        fence: entry ? String(entry.revision) : "0",
      };
    }
    this.#last = decodeCheckpoint(new Uint8Array(entry.value), this.#key);
    return {
      snapshot: this.#last.snapshot,
      watermark: this.#last.watermark,
      fence: String(entry.revision),
    };
  }

  async commit(commit: CheckpointCommit, fence: string): Promise<CommitOutcome> {
    // Dead letters first, de-duplicated by sequence: a refused commit's copies are dropped by JetStream.
    for (const dead of commit.deadLetters) {
      const headers = this.#nats.modules.transport.headers();
      headers.set("Batch-Corr-Sequence", dead.id);
      headers.set("Batch-Corr-Batch", dead.batchId ?? "");
      headers.set("Batch-Corr-Reason", dead.reason.replace(/[\r\n]+/g, " ").slice(0, 2000));
      await this.#nats.js.publish(this.#layout.deadSubject, dead.payload, {
        msgID: `dead-${dead.id}`,
        headers,
      });
    }
    const value = encodeCheckpoint({
      watermark: commit.watermark,
      batches: this.#last.batches + commit.folded.length,
      commits: this.#last.commits + 1,
      deadLetters: this.#last.deadLetters + commit.deadLetters.length,
      snapshot: commit.snapshot,
    });
    let revision: number;
    try {
      revision = fence === "0"
        ? await this.#bucket.create(this.#key, value)
        : await this.#bucket.update(this.#key, value, Number(fence));
    } catch (error) {
      if (!isWrongSequence(error)) throw error;
      return {
        committed: false,
        reason:
          `checkpoint ${this.#key} has moved past revision ${fence} (another worker committed this partition)`,
      };
    }
    return { committed: true, fence: String(revision) };
  }
}
