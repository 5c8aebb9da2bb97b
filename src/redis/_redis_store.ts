/**
 * A {@linkcode CheckpointStore} in a Redis hash per worker, committed with
 * the acknowledgement of its entries by one Lua script.
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
import {
  bytes,
  evalScript,
  int,
  type RedisArgument,
  type RedisClientLike,
  text,
} from "./_client.ts";
import type { StreamKeys } from "./_keys.ts";
import { COMMIT, JOIN } from "./_scripts.ts";

/** Settings of {@linkcode RedisCheckpointStore}. */
export interface RedisCheckpointStoreOptions {
  client: RedisClientLike;
  keys: StreamKeys;
  group: string;
  worker: string;
  /** Keep at most about this many per-batch log entries (0: none). */
  logLength: number;
}

/** The store; {@linkcode RedisCheckpointStore.join} must run first. */
export class RedisCheckpointStore implements CheckpointStore {
  #o: RedisCheckpointStoreOptions;
  #checkpoint: string;
  #epoch: string | undefined;

  constructor(options: RedisCheckpointStoreOptions) {
    this.#o = options;
    this.#checkpoint = options.keys.checkpointPrefix + options.worker;
  }

  /** Creates the group if needed, registers the worker and takes a new epoch. */
  async join(): Promise<void> {
    const { client, keys, group, worker } = this.#o;
    this.#epoch = text(
      await evalScript(client, JOIN, [keys.stream, this.#checkpoint, keys.workers], [
        group,
        worker,
      ]),
    );
  }

  async load(): Promise<Checkpoint> {
    if (this.#epoch === undefined) await this.join();
    const reply = await this.#o.client.callBuffer("HGET", this.#checkpoint, "snapshot");
    const snapshot = reply === null || reply === undefined ? undefined : bytes(reply);
    return {
      snapshot: snapshot && snapshot.length > 0 ? snapshot : undefined,
      watermark: undefined,
      fence: this.#epoch!,
    };
  }

  async commit(commit: CheckpointCommit, fence: string): Promise<CommitOutcome> {
    const { client, keys, group, worker, logLength } = this.#o;
    const args: RedisArgument[] = [
      group,
      worker,
      fence,
      commit.snapshot,
      Date.now(),
      logLength,
      commit.samples,
      commit.folded.length,
      commit.deadLetters.length,
      commit.deltas.length,
      ...commit.folded.map((d) => d.id),
    ];
    for (const dead of commit.deadLetters) {
      args.push(dead.id, dead.batchId ?? "", dead.reason, dead.payload);
    }
    for (const delta of commit.deltas) {
      args.push(delta.id, delta.batchId, delta.snapshot, delta.meta ?? "");
    }
    const reply = await evalScript(
      client,
      COMMIT,
      [keys.stream, this.#checkpoint, keys.workers, keys.log, keys.dead],
      args,
    ) as unknown[];
    if (int(reply[0]) === 1) return { committed: true, fence };
    if (text(reply[1]) === "superseded") {
      throw distributedError(
        "commit_refused",
        `Cannot commit for worker ${
          JSON.stringify(worker)
        } as its epoch must be the current one: current epoch is ${
          text(reply[2])
        } and this process holds ${fence}, so another process has started under the same name; this one stops`,
        { details: { worker, epoch: fence, current: text(reply[2]) } },
      );
    }
    return {
      committed: false,
      reason: `entry ${
        text(reply[2])
      } is no longer pending for ${worker} (another worker claimed it)`,
    };
  }
}
