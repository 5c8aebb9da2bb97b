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
import { safeDecodeBatchEnvelope } from "../distributed/batch_envelope.ts";
import { distributedError } from "../distributed/distributed_error.ts";
import { isWrongSequence, type OpenedNats } from "./_client.ts";
import type { NatsLayout } from "./_layout.ts";

const MAGIC = [0x42, 0x43, 0x4e, 0x43]; // "BCNC"
const HEADER_V1 = 40;
const HEADER_V2 = 56;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The last batch folded into a checkpoint: its id and envelope metadata, and when. */
export interface LastBatch {
  batchId: string;
  meta?: Record<string, unknown>;
  /** When it was committed (ms since the epoch). */
  committedAt: number;
}

/** A decoded checkpoint value. */
export interface PartitionCheckpoint {
  watermark: number | undefined;
  batches: number;
  commits: number;
  deadLetters: number;
  snapshot: Uint8Array | undefined;
  /** The last batch folded in (version 2; absent in version 1). */
  last?: LastBatch | undefined;
}

/**
 * Encodes a checkpoint: "BCNC", u32 version 2, then f64 watermark (−1: none),
 * batches, commits, dead letters, the last batch's commit time, u32 length of
 * the last batch's JSON `{ batchId, meta }` (0: none), 4 zero bytes, that JSON,
 * the snapshot. Version 1 is the same without the time, the length and the JSON.
 */
export function encodeCheckpoint(value: PartitionCheckpoint): Uint8Array {
  const snapshot = value.snapshot ?? new Uint8Array(0);
  const last = value.last
    ? encoder.encode(JSON.stringify({ batchId: value.last.batchId, meta: value.last.meta }))
    : new Uint8Array(0);
  const out = new Uint8Array(HEADER_V2 + last.length + snapshot.length);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(4, 2, true);
  view.setFloat64(8, value.watermark ?? -1, true);
  view.setFloat64(16, value.batches, true);
  view.setFloat64(24, value.commits, true);
  view.setFloat64(32, value.deadLetters, true);
  view.setFloat64(40, value.last?.committedAt ?? 0, true);
  view.setUint32(48, last.length, true);
  out.set(last, HEADER_V2);
  out.set(snapshot, HEADER_V2 + last.length);
  return out;
}

/** The last batch of a version-2 checkpoint, if it names one (and it reads). */
function lastBatchOf(view: DataView, bytes: Uint8Array): { last?: LastBatch; end: number } {
  const length = view.getUint32(48, true);
  const end = HEADER_V2 + length;
  if (length === 0 || end > bytes.length) return { end: Math.min(end, bytes.length) };
  try {
    const parsed: unknown = JSON.parse(decoder.decode(bytes.subarray(HEADER_V2, end)));
    if (typeof parsed !== "object" || parsed === null) return { end };
    // Its own keys only: a key the JSON lacks is missing, whatever Object.prototype holds.
    const own = (key: string): unknown =>
      Object.hasOwn(parsed, key) ? (parsed as Record<string, unknown>)[key] : undefined;
    const batchId = own("batchId"), meta = own("meta");
    if (typeof batchId !== "string") return { end };
    return {
      last: {
        batchId,
        ...(typeof meta === "object" && meta !== null
          ? { meta: meta as Record<string, unknown> }
          : {}),
        committedAt: view.getFloat64(40, true),
      },
      end,
    };
  } catch {
    // Display only: a checkpoint whose last batch does not read still holds its state.
    return { end };
  }
}

/** Decodes a checkpoint value. @throws {BatchCorrError} "invalid_snapshot" when it is not one. */
export function decodeCheckpoint(bytes: Uint8Array, key: string): PartitionCheckpoint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes.length >= 8 ? view.getUint32(4, true) : 0;
  const header = version === 2 ? HEADER_V2 : HEADER_V1;
  if (
    bytes.length < header || MAGIC.some((b, i) => bytes[i] !== b) ||
    (version !== 1 && version !== 2)
  ) {
    throw distributedError(
      "invalid_envelope",
      `Cannot read checkpoint ${key} as its value must start with "BCNC", version 1 or 2 and its header: current value has ${bytes.length} bytes`,
    );
  }
  const watermark = view.getFloat64(8, true);
  const { last, end } = version === 2 ? lastBatchOf(view, bytes) : { last: undefined, end: header };
  const snapshot = bytes.slice(end);
  return {
    watermark: watermark < 0 ? undefined : watermark,
    batches: view.getFloat64(16, true),
    commits: view.getFloat64(24, true),
    deadLetters: view.getFloat64(32, true),
    snapshot: snapshot.length > 0 ? snapshot : undefined,
    ...(last ? { last } : {}),
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
      last: lastFolded(commit) ?? this.#last.last,
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

/** The id and metadata of the last batch a commit folds in, read from its envelope's header. */
function lastFolded(commit: CheckpointCommit): LastBatch | undefined {
  const delivery = commit.folded.at(-1);
  if (!delivery) return undefined;
  const decoded = safeDecodeBatchEnvelope(delivery.payload, { copy: false });
  if (!decoded.success) return undefined;
  return {
    batchId: decoded.data.id,
    ...(decoded.data.meta ? { meta: { ...decoded.data.meta } } : {}),
    committedAt: Date.now(),
  };
}
