/**
 * The two interfaces an engine implements to carry the correlation state
 * across processes exactly once: a {@linkcode BatchSource} hands out batch
 * messages with stable ids, and a {@linkcode CheckpointStore} commits a
 * worker's snapshot together with the acknowledgement of the messages in it,
 * refusing a writer that has been fenced off. The Redis Streams and NATS
 * JetStream adapters implement them; `docs/scale_out.md` maps them onto Kafka.
 *
 * @module
 */

/** One message handed to a worker. */
export interface BatchDelivery {
  /** The engine's stable id of the message (a Redis entry id, a JetStream sequence). */
  id: string;
  /**
   * The message's position for watermark-based engines: strictly increasing in
   * the order the engine delivers a checkpoint's messages (JetStream's stream
   * sequence, a Kafka offset). Absent where acknowledgements are exact (Redis).
   */
  position?: number;
  /** The encoded batch envelope (see `encodeBatchEnvelope`). */
  payload: Uint8Array;
  /** How many times the engine has handed this message out, 1 the first time. */
  deliveries: number;
  /** The batch's id as the engine recorded it beside the payload, when it did. */
  batchId?: string;
}

/** What {@linkcode BatchSource.receive} may wait for. */
export interface ReceiveOptions {
  /** The most messages to return. */
  max: number;
  /** Stops waiting early when aborted (the call then returns what it has, possibly nothing). */
  signal?: AbortSignal;
  /**
   * Whether to wait for messages when there are none. `false` asks for what
   * is there now: the worker reads ahead this way while it folds, without
   * holding up its own commit behind a blocking read.
   * @default {true}
   */
  wait?: boolean;
}

/**
 * Hands out batch messages. A message stays owned by the worker it was handed
 * to until a commit acknowledges it, or until the engine hands it to another
 * worker (a claim, a redelivery); from then on the first worker's commit of it
 * must be refused by the {@linkcode CheckpointStore}.
 */
export interface BatchSource {
  /**
   * The next messages, waiting a short, engine-chosen time when there are none.
   * After {@linkcode BatchSource.rewind} the messages this worker still owns
   * come first.
   */
  receive(options: ReceiveOptions): Promise<BatchDelivery[]>;
  /**
   * Starts again from the messages this worker still owns (after a restart,
   * a refused commit or a failed one).
   */
  rewind(): void;
  /**
   * Called after a commit attempt with its outcome, for engines whose
   * acknowledgement is not part of the commit (JetStream acks after a
   * successful compare-and-set, and asks for redelivery after a refusal).
   */
  settle?(deliveries: readonly BatchDelivery[], committed: boolean): Promise<void>;
  /** Whether every message published so far has been acknowledged by some worker. */
  drained(): Promise<boolean>;
}

/** A committed checkpoint, as loaded. */
export interface Checkpoint {
  /** The committed accumulator snapshot (`CorrelationAccumulator.toBytes`), if any. */
  snapshot: Uint8Array | undefined;
  /** The highest position folded into the snapshot, for watermark-based engines. */
  watermark: number | undefined;
  /** The engine's fencing token at load time: an epoch, a KV revision. */
  fence: string;
}

/** A message that could not be folded in: acknowledged, never retried, kept with its reason. */
export interface DeadLetter {
  /** The message's engine id. */
  id: string;
  /** The batch id, when it could be read. */
  batchId?: string;
  /** Why it was refused, as an error message. */
  reason: string;
  /** The message's bytes, kept for inspection. */
  payload: Uint8Array;
}

/** One batch's own moments, for window views over batch time. */
export interface BatchDelta {
  /** The message's engine id. */
  id: string;
  /** The batch id. */
  batchId: string;
  /** `CorrelationAccumulator.toBytes()` of this batch alone. */
  snapshot: Uint8Array;
  /** The batch's envelope metadata as JSON text, if it had any. */
  meta?: string;
}

/** What one commit writes, atomically. */
export interface CheckpointCommit {
  /** The worker's whole state after folding the messages in (`toBytes`). */
  snapshot: Uint8Array;
  /** Messages folded into `snapshot`. */
  folded: readonly BatchDelivery[];
  /** Messages skipped because an earlier commit already holds them (at or below the watermark). */
  skipped: readonly BatchDelivery[];
  /** Messages refused as poisoned. */
  deadLetters: readonly DeadLetter[];
  /** The highest position folded or skipped so far, for watermark-based engines. */
  watermark: number | undefined;
  /** The folded batches' own moments, in folding order. */
  deltas: readonly BatchDelta[];
  /** Samples folded in by this commit. */
  samples: number;
}

/** The outcome of {@linkcode CheckpointStore.commit}. */
export type CommitOutcome =
  | { committed: true; fence: string }
  | { committed: false; reason: string };

/**
 * Commits a worker's snapshot together with the acknowledgement of the
 * messages it holds, in one atomic step, and refuses the commit of a writer
 * whose fence is stale or that no longer owns one of the messages.
 */
export interface CheckpointStore {
  /** The last committed checkpoint (an empty one the first time). */
  load(): Promise<Checkpoint>;
  /**
   * Commits atomically, or not at all.
   *
   * @param commit What to write.
   * @param fence The fence returned by the last load or commit.
   * @returns `{ committed: true, fence }` with the new fence, or
   * `{ committed: false, reason }` when the writer is fenced off.
   */
  commit(commit: CheckpointCommit, fence: string): Promise<CommitOutcome>;
}
