/**
 * Reading the group's committed state: every worker's snapshot at one
 * instant, and the per-batch log after a cursor.
 *
 * @module
 */

import type { BatchDelta } from "../distributed/batch_source.ts";
import type { CommittedPart } from "../distributed/aggregate_view.ts";
import { bytes, evalScript, int, type RedisClientLike, text } from "./_client.ts";
import type { StreamKeys } from "./_keys.ts";
import { READ_COMMITTED } from "./_scripts.ts";

/** The committed state at one instant. */
export interface CommittedCut {
  parts: CommittedPart[];
  /** The id of the last per-batch log entry at that instant ("" when none). */
  lastLogId: string;
  /** Dead letters at that instant. */
  deadLetters: number;
}

/** Reads every worker's committed state in one script. */
export async function readCut(client: RedisClientLike, keys: StreamKeys): Promise<CommittedCut> {
  const reply = await evalScript(client, READ_COMMITTED, [keys.workers, keys.log, keys.dead], [
    keys.checkpointPrefix,
  ]) as unknown[];
  const parts: CommittedPart[] = [];
  for (let i = 2; i + 4 < reply.length; i += 5) {
    const snapshot = bytes(reply[i + 1]);
    parts.push({
      name: text(reply[i]),
      snapshot: snapshot.length > 0 ? snapshot : undefined,
      batches: int(reply[i + 2]),
      commits: int(reply[i + 3]),
      deadLetters: int(reply[i + 4]),
    });
  }
  return { parts, lastLogId: text(reply[0]), deadLetters: int(reply[1]) };
}

/** Log entries after `after` (exclusive; "" for the start) up to `until` (inclusive), oldest first. */
export async function readLog(
  client: RedisClientLike,
  keys: StreamKeys,
  after: string,
  until: string,
  chunk = 200,
): Promise<BatchDelta[]> {
  const out: BatchDelta[] = [];
  if (until === "") return out;
  let start = after === "" ? "-" : `(${after}`;
  for (;;) {
    const reply = await client.callBuffer(
      "XRANGE",
      keys.log,
      start,
      until,
      "COUNT",
      chunk,
    ) as unknown[][];
    for (const entry of reply) out.push(logEntry(entry));
    if (reply.length < chunk) return out;
    start = `(${text(reply[reply.length - 1]![0])}`;
  }
}

/** The last `count` log entries up to `until`, oldest first. */
export async function readLogTail(
  client: RedisClientLike,
  keys: StreamKeys,
  until: string,
  count: number,
): Promise<BatchDelta[]> {
  if (until === "" || count === 0) return [];
  const reply = await client.callBuffer(
    "XREVRANGE",
    keys.log,
    until,
    "-",
    "COUNT",
    count,
  ) as unknown[][];
  return reply.map(logEntry).reverse();
}

function logEntry(entry: unknown[]): BatchDelta {
  const fields = (entry[1] as unknown[] | null) ?? [];
  const delta: BatchDelta = { id: "", batchId: "", snapshot: new Uint8Array(0) };
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = text(fields[i]);
    if (name === "entry") delta.id = text(fields[i + 1]);
    else if (name === "batch") delta.batchId = text(fields[i + 1]);
    else if (name === "snapshot") delta.snapshot = bytes(fields[i + 1]);
    else if (name === "meta" && text(fields[i + 1]) !== "") delta.meta = text(fields[i + 1]);
  }
  return delta;
}
