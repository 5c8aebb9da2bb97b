/**
 * A {@linkcode BatchSource} over a Redis stream and consumer group: this
 * worker's own pending entries first (after a restart or a refused commit),
 * then entries idle too long at other workers (`XAUTOCLAIM`), then new ones.
 *
 * @module
 */

import type { BatchDelivery, BatchSource, ReceiveOptions } from "../distributed/batch_source.ts";
import { bytesView, evalScript, int, type RedisClientLike, text } from "./_client.ts";
import type { StreamKeys } from "./_keys.ts";
import { DRAINED } from "./_scripts.ts";

/** Settings of {@linkcode RedisBatchSource}. */
export interface RedisBatchSourceOptions {
  client: RedisClientLike;
  keys: StreamKeys;
  group: string;
  worker: string;
  /** Entries idle this long at another worker are claimed (ms). */
  claimIdleMs: number;
  /** How long one read blocks waiting for new entries (ms). */
  blockMs: number;
}

type RawEntry = [unknown, unknown[] | null];

/** The source. */
export class RedisBatchSource implements BatchSource {
  #o: RedisBatchSourceOptions;
  #pendingCursor: string | undefined = "0";
  #claimCursor = "0-0";
  #lastClaim = 0;
  /** Entries this source claimed from other workers. */
  claimed = 0;

  constructor(options: RedisBatchSourceOptions) {
    this.#o = options;
  }

  rewind(): void {
    this.#pendingCursor = "0";
  }

  async receive(options: ReceiveOptions): Promise<BatchDelivery[]> {
    const { client, keys, group, worker } = this.#o;
    if (this.#pendingCursor !== undefined) {
      const reply = await client.callBuffer(
        "XREADGROUP",
        "GROUP",
        group,
        worker,
        "COUNT",
        options.max,
        "STREAMS",
        keys.stream,
        this.#pendingCursor,
      );
      const entries = streamEntries(reply);
      if (entries.length > 0) {
        this.#pendingCursor = text(entries[entries.length - 1]![0]);
        return await this.#withDeliveryCounts(entries);
      }
      this.#pendingCursor = undefined;
    }
    const claimed = await this.#claim(options.max);
    if (claimed.length > 0) return claimed;
    if (options.signal?.aborted) return [];
    // A blocked read would hold up every later command on this connection, the commit included.
    const block = options.wait === false ? [] : ["BLOCK", this.#o.blockMs];
    const reply = await client.callBuffer(
      "XREADGROUP",
      "GROUP",
      group,
      worker,
      "COUNT",
      options.max,
      ...block,
      "STREAMS",
      keys.stream,
      ">",
    );
    return streamEntries(reply).map((entry) => delivery(entry, 1));
  }

  async drained(): Promise<boolean> {
    const reply = await evalScript(this.#o.client, DRAINED, [this.#o.keys.stream], [
      this.#o.group,
    ]) as unknown[];
    return int(reply[0]) === 1;
  }

  /** Claims entries idle at other workers, at most every claimIdleMs / 4. */
  async #claim(max: number): Promise<BatchDelivery[]> {
    const now = Date.now();
    if (now - this.#lastClaim < this.#o.claimIdleMs / 4 && this.#claimCursor === "0-0") return [];
    this.#lastClaim = now;
    const { client, keys, group, worker, claimIdleMs } = this.#o;
    const reply = await client.callBuffer(
      "XAUTOCLAIM",
      keys.stream,
      group,
      worker,
      claimIdleMs,
      this.#claimCursor,
      "COUNT",
      max,
    ) as unknown[];
    this.#claimCursor = text(reply[0]) || "0-0";
    const entries = (reply[1] as RawEntry[] | undefined ?? []).filter((entry) => entry !== null);
    if (entries.length === 0) return [];
    this.claimed += entries.length;
    return await this.#withDeliveryCounts(entries);
  }

  /** Entries re-read from the pending list have been delivered before: ask how often. */
  async #withDeliveryCounts(entries: RawEntry[]): Promise<BatchDelivery[]> {
    const { client, keys, group, worker } = this.#o;
    const first = text(entries[0]![0]), last = text(entries[entries.length - 1]![0]);
    const reply = await client.callBuffer(
      "XPENDING",
      keys.stream,
      group,
      first,
      last,
      entries.length + 16,
      worker,
    ) as unknown[][];
    const counts = new Map<string, number>();
    for (const row of reply) counts.set(text(row[0]), int(row[3]));
    return entries.map((entry) => delivery(entry, counts.get(text(entry[0])) ?? 1));
  }
}

/** The entries of an XREADGROUP reply for one stream (RESP2: [[stream, entries]]). */
function streamEntries(reply: unknown): RawEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const first = reply[0] as unknown[];
  return (first?.[1] as RawEntry[] | undefined) ?? [];
}

function delivery(entry: RawEntry, deliveries: number): BatchDelivery {
  const id = text(entry[0]);
  const fields = entry[1];
  let payload: Uint8Array = new Uint8Array(0);
  let batchId: string | undefined;
  if (fields) {
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = text(fields[i]);
      if (name === "envelope") payload = bytesView(fields[i + 1]);
      else if (name === "batch") batchId = text(fields[i + 1]);
    }
  }
  return { id, payload, deliveries, ...(batchId === undefined ? {} : { batchId }) };
}
