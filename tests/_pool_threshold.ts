/**
 * The worker pool's tests run it from 2^20 elements: the measured default
 * (`PARALLEL_MIN_ELEMENTS`) is 2^25 in Deno and never in Bun, which would
 * leave the pool untested or the batches huge.
 *
 * @module
 */

import { after, before } from "node:test";
import { closeWorkerPool } from "../mod.ts";
import { PARALLEL_LIMITS } from "../src/kernels/compute_moments_parallel.ts";

/** The size from which the pool's tests split batches. */
export const POOL_TEST_ELEMENTS = 1 << 20;

/** Lowers the pool's threshold for this file's tests, restoring it (and closing the pool) after. */
export function usePoolFromTestSize(): void {
  const defaultMinElements = PARALLEL_LIMITS.minElements;
  before(() => (PARALLEL_LIMITS.minElements = POOL_TEST_ELEMENTS));
  after(async () => {
    PARALLEL_LIMITS.minElements = defaultMinElements;
    await closeWorkerPool();
  });
}
