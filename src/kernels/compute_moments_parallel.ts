/**
 * The batch kernel on several threads, for the async APIs: large batches are
 * split by feature columns across a pool of worker threads that share one
 * WebAssembly memory with the main thread; small ones, and runtimes without
 * `SharedArrayBuffer` or worker threads, take the single-thread kernel. The
 * moments are bit for bit the same either way.
 *
 * @module
 */

import type { BatchMoments, KernelArray } from "../core/batch_moments.ts";
import { currentRuntime } from "../core/optional_package.ts";
import { computeFlaggedMoments, defaultMomentsKernel } from "./compute_batch_moments.ts";
import { confoundMoments, correctOffsetMeans, zeroConstantColumns } from "./_typescript_kernel.ts";
import { sharedMemoryProblem, WorkerPool } from "./_worker_pool.ts";

/**
 * Batches of fewer elements (B·F·M) than this stay on one thread: below it
 * the copy into shared memory and the round trip to the workers cost more
 * than the second core saves. Measured with `bench/parallel_threshold.ts`
 * on the 2-core development machine (`bench/PARALLEL_THRESHOLD.md`): in Deno
 * every core gained at least 5% only from 2^25 elements (M = 8; never at
 * M = 1 up to 2^25), and in Bun at no size measured (2^15 to 2^25), so Bun
 * keeps every batch on the calling thread.
 */
export const PARALLEL_MIN_ELEMENTS: number = currentRuntime() === "bun"
  ? Number.POSITIVE_INFINITY
  : 2 ** 25;

/** The threshold in use: {@linkcode PARALLEL_MIN_ELEMENTS}; mutable for the benchmark that measures it. */
export const PARALLEL_LIMITS: { minElements: number } = { minElements: PARALLEL_MIN_ELEMENTS };

/** Fewer features than this are not split (each thread takes chunks of 16). */
const PARALLEL_MIN_FEATURES = 64;

let pool: Promise<WorkerPool | undefined> | undefined;
let poolWorkers = 0;
let startProblem: string | undefined;

/**
 * Why batches cannot be split across threads in this runtime, or undefined
 * when they can (once the pool has started, or before any attempt). A pool
 * that failed to start is not retried.
 *
 * @returns The reason, or undefined.
 */
export function workerPoolProblem(): string | undefined {
  if (defaultMomentsKernel() !== "wasm-simd") return "the WebAssembly SIMD kernel is unavailable";
  return sharedMemoryProblem() ?? startProblem;
}

async function poolFor(threads: number): Promise<WorkerPool | undefined> {
  const workers = threads - 1;
  if (pool && poolWorkers >= workers) {
    const started = await pool;
    if (started && !started.broken) return started;
    // A pool that failed to start or broke is not retried (closeWorkerPool resets this).
    if (!started) return undefined;
    startProblem ??= started.broken;
    return undefined;
  }
  const previous = pool;
  poolWorkers = workers;
  pool = (async () => {
    await (await previous)?.close();
    try {
      return await WorkerPool.start(workers);
    } catch (error) {
      startProblem = `the worker threads could not start: ${(error as Error)?.message ?? error}`;
      return undefined;
    }
  })();
  return await pool;
}

/**
 * Stops the worker threads and releases their shared memory (which keeps the
 * size of the largest batch seen). The next parallel batch starts a new pool.
 * The threads do not keep a process alive, so calling this is optional.
 *
 * @returns When the threads have stopped.
 */
export async function closeWorkerPool(): Promise<void> {
  const closing = pool;
  pool = undefined;
  poolWorkers = 0;
  startProblem = undefined;
  await (await closing)?.close();
}

/**
 * Whether a batch of this size goes to the pool under `threads`.
 *
 * @param count B.
 * @param features F.
 * @param confounds M.
 * @param threads The resolved thread count.
 * @returns True when it is split.
 */
export function splitsAcrossThreads(
  count: number,
  features: number,
  confounds: number,
  threads: number,
): boolean {
  return threads > 1 && features >= PARALLEL_MIN_FEATURES &&
    count * features * confounds >= PARALLEL_LIMITS.minElements &&
    workerPoolProblem() === undefined;
}

/**
 * `computeFlaggedMoments` on the worker pool when the batch is large enough
 * (see {@linkcode PARALLEL_MIN_ELEMENTS}), else on the calling thread; the
 * moments and the flagged features are the same either way. The batch must
 * not change until the promise settles.
 *
 * @param x The batch's features, row-major `(B, F)`.
 * @param n The batch's confounds, row-major `(M, B)`.
 * @param count B.
 * @param features F.
 * @param confounds M.
 * @param out Storage to fill.
 * @param threads The most threads to use, the calling thread included.
 * @returns The flagged features.
 */
export async function computeFlaggedMomentsAsync(
  x: KernelArray,
  n: KernelArray,
  count: number,
  features: number,
  confounds: number,
  out: BatchMoments,
  threads: number,
): Promise<Int32Array> {
  const B = count, F = features, M = confounds;
  const started = splitsAcrossThreads(B, F, M, threads) ? await poolFor(threads) : undefined;
  if (started) {
    out.count = B;
    const centredN = confoundMoments(n, B, M, out);
    const flagged = await started.featureMoments(
      x,
      centredN,
      B,
      F,
      M,
      out.meanX,
      out.m2X,
      out.comoment,
      threads,
    );
    if (flagged !== null) {
      correctOffsetMeans(x, centredN, B, F, M, out, flagged);
      zeroConstantColumns(x, n, B, F, M, out, flagged);
      return flagged;
    }
  }
  return computeFlaggedMoments(x, n, B, F, M, out);
}
