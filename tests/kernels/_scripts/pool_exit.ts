// Runs one batch on the worker pool and ends without closing it: the process must exit by itself.
import { batchCorrAsync } from "../../../mod.ts";
import {
  PARALLEL_MIN_ELEMENTS,
  workerPoolProblem,
} from "../../../src/kernels/compute_moments_parallel.ts";

const B = 64, F = Math.ceil(PARALLEL_MIN_ELEMENTS / B) + 16;
const x = new Float32Array(B * F).map((_, i) => Math.sin(i * 0.1));
const n = Array.from({ length: B }, (_, b) => Math.cos(b));
const r = await batchCorrAsync({ data: x, shape: [B, F] }, n, { threads: 2 });
console.log(JSON.stringify({ features: r.shape[0], problem: workerPoolProblem() ?? null }));
