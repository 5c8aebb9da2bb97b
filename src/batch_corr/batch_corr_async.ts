/**
 * `batchCorr` with the kernel on several threads.
 *
 * @module
 */

import { z } from "zod";
import {
  type BatchCorrOptions,
  correlationOptionShape,
  OPTION_RULES,
} from "../core/batch_corr_options.ts";
import type { BatchCorrResult } from "../core/correlation_view.ts";
import { parseOptions } from "../core/parse_options.ts";
import { prepareBatch } from "../core/prepare_batch.ts";
import type { TensorLike } from "../core/tensor.ts";
import {
  resolveThreads,
  THREADS_RULE,
  type ThreadsOption,
  threadsSchema,
} from "../core/threads_option.ts";
import { batchCorrResultAsync } from "./batch_corr_prepared.ts";

/** Options of {@linkcode batchCorrAsync}: those of `batchCorr` and `threads`. */
export interface BatchCorrAsyncOptions extends BatchCorrOptions {
  /**
   * How many threads the batch may use, the calling thread included:
   * `"auto"` splits batches from the measured threshold (B·F·M of 2^25,
   * about 33 million, in Deno; none in Bun) across one thread per core; `1`
   * keeps the batch on the calling thread.
   * @default {"auto"}
   */
  threads?: ThreadsOption;
}

const batchCorrAsyncOptionsSchema = z.strictObject({
  ...correlationOptionShape,
  threads: threadsSchema,
});

const RULES = { ...OPTION_RULES, threads: THREADS_RULE };

/**
 * {@linkcode batchCorr}, with large batches split by feature columns across
 * a pool of worker threads that share the kernel's WebAssembly memory. The
 * result is bit for bit that of `batchCorr`. Batches below the measured
 * threshold (B·F·M of 2^25 in Deno; every batch in Bun, where two threads
 * never paid on the 2-core machine measured), runtimes
 * without `SharedArrayBuffer` or worker threads, and `threads: 1` run on the
 * calling thread. The threads start on first use and do not keep the process
 * alive; `closeWorkerPool()` stops them and frees their memory.
 *
 * `X` and `N` must not change until the promise settles.
 *
 * @param X Features with the batch on the first axis, as `batchCorr` takes them.
 * @param N Confounds: a vector `(B)` or a matrix `(M, B)`.
 * @param options `batchCorr`'s options and `threads`.
 * @returns The `(F, M)` thresholded correlations, as `batchCorr` returns them.
 * @throws {TypeError} As `batchCorr`, and for a `threads` that is neither "auto" nor a number.
 * @throws {RangeError} As `batchCorr`, and for a `threads` number that is not a positive integer.
 * @throws {BatchCorrError} As `batchCorr`.
 *
 * @example The same numbers as batchCorr, whatever the threads
 * ```ts
 * import { batchCorr, batchCorrAsync } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * const B = 64, F = 20000;
 * const x = new Float32Array(B * F).map((_, i) => Math.sin(i * 0.37));
 * const motion = Array.from({ length: B }, (_, b) => Math.cos(b));
 * const X = { data: x, shape: [B, F] };
 * const parallel = await batchCorrAsync(X, motion, { abs: false });
 * assert.deepEqual(parallel.data, batchCorr(X, motion, { abs: false }).data);
 * const oneThread = await batchCorrAsync(X, motion, { abs: false, threads: 1 });
 * assert.deepEqual(oneThread.data, parallel.data);
 * ```
 */
export async function batchCorrAsync(
  X: TensorLike,
  N: TensorLike,
  options?: BatchCorrAsyncOptions,
): Promise<BatchCorrResult> {
  const context = "compute batchCorrAsync";
  // Not destructured with a rest: that would be an object with Object.prototype again.
  const resolved = parseOptions(batchCorrAsyncOptionsSchema, options, context, RULES);
  const batch = prepareBatch(X, N, context, ["X", "N"], resolved.maxElements);
  return await batchCorrResultAsync(batch, resolved, resolveThreads(resolved.threads), context);
}
