/**
 * The `threads` option of the async APIs (`batchCorrAsync`, `correlateBatches`,
 * `BatchCorrStream`): how many threads one batch may use.
 *
 * @module
 */

import { z } from "zod";

/**
 * How many threads a batch may use: `"auto"` (the default) splits batches
 * from the measured threshold (B·F·M of 2^25 in Deno; none in Bun, where two
 * threads never paid on the 2-core machine measured) across one thread per core, a
 * positive integer caps the threads (the calling thread included), and `1`
 * keeps every batch on the calling thread (the opt-out).
 */
export type ThreadsOption = "auto" | number;

/** Schema of {@linkcode ThreadsOption}, default `"auto"`. */
export const threadsSchema = z.union([z.literal("auto"), z.number().int().positive()]).default(
  "auto",
);

/** The option's rule, in words, for messages. */
export const THREADS_RULE = '"auto" or a positive integer (1 keeps every batch on one thread)';

function coreCount(): number {
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency;
  return typeof cores === "number" && cores >= 1 ? Math.floor(cores) : 1;
}

/**
 * The threads a batch may use under the option, before its size is considered:
 * `"auto"` is the number of cores (`navigator.hardwareConcurrency`).
 *
 * @param threads The validated option.
 * @returns At least 1.
 */
export function resolveThreads(threads: ThreadsOption): number {
  return threads === "auto" ? coreCount() : threads;
}
