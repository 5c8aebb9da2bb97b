/**
 * All-reduce of batch moments for data-parallel training: every rank
 * publishes the moments of its slice of the global batch for a step, and
 * every rank merges all of them in rank order into the same global-batch state.
 *
 * @module
 */

import { CorrelationAccumulator } from "../accumulator/correlation_accumulator.ts";
import type { TensorLike } from "../core/tensor.ts";
import { ruleMessage } from "../core/errors.ts";
import { distributedError } from "./distributed_error.ts";
import { sleep } from "./with_retry.ts";
import { hasProperty, ownOptions } from "../core/own_properties.ts";

/**
 * Where ranks exchange their moments: a Redis hash per step, a JetStream KV
 * bucket, or anything with set-if-absent and read semantics.
 */
export interface MomentExchange {
  /**
   * Stores `payload` as rank `rank`'s contribution to `step`, unless that rank
   * has already published for the step.
   *
   * @returns The payload stored for the rank (the earlier one if there was one).
   */
  publish(step: number, rank: number, payload: Uint8Array): Promise<Uint8Array>;
  /** Every contribution published for `step` so far, by rank. */
  read(step: number): Promise<Map<number, Uint8Array>>;
}

/** Options of {@linkcode allReduceMoments}. */
export interface AllReduceMomentsOptions {
  /** This process's rank, in `[0, worldSize)`. */
  rank: number;
  /** The number of ranks. */
  worldSize: number;
  /** The training step (a non-negative integer): each step is exchanged once. */
  step: number;
  /**
   * How long to wait for every rank.
   * @default {30000}
   */
  timeoutMs?: number;
  /**
   * The largest F·M allowed (as `CorrelationAccumulator`).
   * @default {134217728}
   */
  maxElements?: number;
  /** Stops waiting when aborted (with the same error as a timeout). */
  signal?: AbortSignal;
}

/** This rank's contribution: an accumulator, or the slice of the batch itself. */
export type LocalMoments = CorrelationAccumulator | { x: TensorLike; n: TensorLike };

const HEADER = 8; // u32 world size, u32 rank

/**
 * Publishes this rank's moments for `options.step` and returns the merge of
 * every rank's moments in rank order: the same state on every rank, equal to
 * the moments of the whole global batch (Chan's merge, SPEC section 7).
 *
 * @param exchange Where the ranks meet.
 * @param local This rank's accumulator, or its slice `{ x, n }` of the batch.
 * @param options The rank, the world size, the step and the timeout.
 * @returns The global-batch accumulator.
 * @throws {TypeError} If an option has the wrong type, or `local` is malformed.
 * @throws {RangeError} If `rank` is outside `[0, worldSize)`, `step` is not a
 * non-negative integer, or the slice is empty or holds NaN.
 * @throws {BatchCorrError} "all_reduce_timeout" naming the step and the ranks
 * seen when not every rank published within `timeoutMs`; "all_reduce_conflict"
 * when a rank published other moments or another world size for the step.
 *
 * @example Two ranks in one process, through an in-memory exchange
 * ```ts
 * import { allReduceMoments, type MomentExchange } from "@streamcorr/batch-corr/distributed";
 * import { batchCorr } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * const table = new Map<string, Uint8Array>();
 * const exchange: MomentExchange = {
 *   publish(step, rank, payload) {
 *     const key = `${step}/${rank}`;
 *     if (!table.has(key)) table.set(key, payload);
 *     return Promise.resolve(table.get(key)!);
 *   },
 *   read(step) {
 *     const found = new Map<number, Uint8Array>();
 *     for (const [key, value] of table) if (key.startsWith(`${step}/`)) found.set(Number(key.split("/")[1]), value);
 *     return Promise.resolve(found);
 *   },
 * };
 * const [a, b] = await Promise.all([
 *   allReduceMoments(exchange, { x: [[1], [2], [4]], n: [1, 3, 2] }, { rank: 0, worldSize: 2, step: 0 }),
 *   allReduceMoments(exchange, { x: [[3], [5]], n: [5, 4] }, { rank: 1, worldSize: 2, step: 0 }),
 * ]);
 * const whole = batchCorr([[1], [2], [4], [3], [5]], [1, 3, 2, 5, 4]);
 * assert.equal(a.count, 5);
 * assert.ok(Math.abs(b.correlations().data[0]! - whole.data[0]!) < 1e-12);
 * ```
 */
export async function allReduceMoments(
  exchange: MomentExchange,
  local: LocalMoments,
  options: AllReduceMomentsOptions,
): Promise<CorrelationAccumulator> {
  const context = "all-reduce the moments";
  // Own properties only (nothing from Object.prototype), each read once.
  options = ownOptions(options) as AllReduceMomentsOptions;
  const { rank, worldSize, step, timeoutMs, maxElements } = checkOptions(options, context);
  const own = local instanceof CorrelationAccumulator
    ? local
    : new CorrelationAccumulator({ maxElements }).update(
      localBatch(local, context).x,
      localBatch(local, context).n,
    );
  const payload = withHeader(own.toBytes(), worldSize, rank);
  const stored = await exchange.publish(step, rank, payload);
  if (!sameBytes(stored, payload)) {
    throw distributedError(
      "all_reduce_conflict",
      `Cannot ${context} of step ${step} as rank ${rank} must publish once per step: current state is a different contribution already stored for rank ${rank} (a rerun of the step needs a new step number)`,
      { details: { step, rank } },
    );
  }
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    const found = await exchange.read(step);
    checkContributions(found, worldSize, step, context);
    if (found.size === worldSize) return mergeInRankOrder(found, worldSize, maxElements);
    if (Date.now() >= deadline || options.signal?.aborted) {
      const seen = [...found.keys()].sort((a, b) => a - b);
      const missing = Array.from({ length: worldSize }, (_, r) => r).filter((r) => !found.has(r));
      throw distributedError(
        "all_reduce_timeout",
        `Cannot ${context} of step ${step} as every rank 0–${
          worldSize - 1
        } must publish within ${timeoutMs} ms: current ranks seen are ${
          seen.length ? seen.join(", ") : "none"
        } (missing ${missing.join(", ")})`,
        { details: { step, worldSize, seen, missing } },
      );
    }
    await sleep(Math.min(delay, Math.max(0, deadline - Date.now())), options.signal);
    delay = Math.min(50, delay * 2);
  }
}

function checkOptions(options: AllReduceMomentsOptions, context: string) {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      ruleMessage(context, "options", "an object { rank, worldSize, step }", options),
    );
  }
  const integer = (value: unknown, name: string, min: number, rule: string): number => {
    if (typeof value !== "number") throw new TypeError(ruleMessage(context, name, rule, value));
    if (!Number.isInteger(value) || value < min) {
      throw new RangeError(ruleMessage(context, name, rule, value));
    }
    return value;
  };
  const worldSize = integer(options.worldSize, "options.worldSize", 1, "a positive integer");
  const rank = integer(options.rank, "options.rank", 0, `an integer in [0, ${worldSize})`);
  if (rank >= worldSize) {
    throw new RangeError(
      ruleMessage(context, "options.rank", `an integer in [0, ${worldSize})`, rank),
    );
  }
  const step = integer(options.step, "options.step", 0, "a non-negative integer");
  const timeoutMs = integer(
    options.timeoutMs ?? 30_000,
    "options.timeoutMs",
    0,
    "a non-negative integer (ms)",
  );
  const maxElements = integer(
    options.maxElements ?? 2 ** 27,
    "options.maxElements",
    1,
    "a positive integer",
  );
  return { rank, worldSize, step, timeoutMs, maxElements };
}

function localBatch(local: unknown, context: string): { x: TensorLike; n: TensorLike } {
  if (
    typeof local !== "object" || local === null || !hasProperty(local, "x") ||
    !hasProperty(local, "n")
  ) {
    throw new TypeError(
      ruleMessage(context, "local", "a CorrelationAccumulator or a batch { x, n }", local),
    );
  }
  return local as { x: TensorLike; n: TensorLike };
}

function withHeader(snapshot: Uint8Array, worldSize: number, rank: number): Uint8Array {
  const out = new Uint8Array(HEADER + snapshot.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, worldSize, true);
  view.setUint32(4, rank, true);
  out.set(snapshot, HEADER);
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function checkContributions(
  found: Map<number, Uint8Array>,
  worldSize: number,
  step: number,
  context: string,
): void {
  for (const [rank, payload] of found) {
    const view = payload.length >= HEADER
      ? new DataView(payload.buffer, payload.byteOffset, HEADER)
      : undefined;
    const theirs = view?.getUint32(0, true);
    if (
      !Number.isInteger(rank) || rank < 0 || rank >= worldSize || theirs !== worldSize ||
      view?.getUint32(4, true) !== rank
    ) {
      throw distributedError(
        "all_reduce_conflict",
        `Cannot ${context} of step ${step} as every rank must agree on worldSize ${worldSize}: current contribution of rank ${rank} says ${
          theirs ?? "nothing readable"
        }`,
        { details: { step, rank, worldSize: theirs } },
      );
    }
  }
}

function mergeInRankOrder(
  found: Map<number, Uint8Array>,
  worldSize: number,
  maxElements: number,
): CorrelationAccumulator {
  const merged = new CorrelationAccumulator({ maxElements });
  for (let rank = 0; rank < worldSize; rank++) {
    const payload = found.get(rank)!;
    merged.merge(CorrelationAccumulator.fromBytes(payload.subarray(HEADER), { maxElements }));
  }
  return merged;
}
