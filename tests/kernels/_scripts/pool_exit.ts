// Runs one batch on the worker pool and ends without closing it: the process must exit by itself.
import { batchCorrAsync } from "../../../mod.ts";
import {
  PARALLEL_LIMITS,
  workerPoolProblem,
} from "../../../src/kernels/compute_moments_parallel.ts";

// Below the measured default, which keeps Bun off the pool.
const POOL_TEST_ELEMENTS = 1 << 20;
PARALLEL_LIMITS.minElements = POOL_TEST_ELEMENTS;
const B = 64, F = Math.ceil(POOL_TEST_ELEMENTS / B) + 16;
const x = new Float32Array(B * F).map((_, i) => Math.sin(i * 0.1));
const n = Array.from({ length: B }, (_, b) => Math.cos(b));
const r = await batchCorrAsync({ data: x, shape: [B, F] }, n, { threads: 2 });
console.log(JSON.stringify({ features: r.shape[0], problem: workerPoolProblem() ?? null }));
