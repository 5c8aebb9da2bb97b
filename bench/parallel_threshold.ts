/**
 * Where the worker pool starts to pay (issue 14, goal 2): `batchCorrAsync`
 * with `threads: 1` against every core, with the pool forced on at every
 * size, for batches from 2^15 to 2^25 elements (B·F·M) at M = 1 and M = 8.
 * Prints the speed-up per size and the smallest size from which every
 * larger one gains at least 5%; `PARALLEL_MIN_ELEMENTS` in
 * `src/kernels/compute_moments_parallel.ts` is set from it.
 *
 *     deno run -A bench/parallel_threshold.ts     (about 1 minute)
 *     bun bench/parallel_threshold.ts
 *
 * Rounds are interleaved and each ratio is the median over rounds, so load
 * from other processes hits both sides alike; `ROUNDS` (default 7).
 *
 * @module
 */

import process from "node:process";
import { batchCorrAsync, closeWorkerPool } from "../mod.ts";
import { PARALLEL_LIMITS } from "../src/kernels/compute_moments_parallel.ts";
import { resolveThreads } from "../src/core/threads_option.ts";
import { generate } from "./data.ts";

const rounds = Number(process.env.ROUNDS ?? 7);
const runtime = "Bun" in globalThis ? "Bun" : "Deno";
PARALLEL_LIMITS.minElements = 0;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

async function msPerCall(run: () => Promise<unknown>, reps: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await run();
  return (performance.now() - t0) / reps;
}

console.log(
  `${runtime}, ${
    resolveThreads("auto")
  } threads: batchCorrAsync (float32 input), one thread against every core (median of ${rounds} rounds)`,
);
console.log("| M | B | F | elements | one thread ms | every core ms | speed-up |");
console.log("|---|---|---|---|---|---|---|");
for (const M of [1, 8]) {
  const B = 64;
  let threshold: number | undefined;
  for (let log2 = 15; log2 <= 25; log2++) {
    const F = Math.max(64, Math.round(2 ** log2 / (B * M)));
    const { x, n } = generate({ B, F, M });
    const X = { data: new Float32Array(x), shape: [B, F] };
    const N = { data: new Float32Array(n), shape: [M, B] };
    const reps = Math.max(2, Math.min(50, Math.round(2 ** 24 / (B * F * M))));
    const one = () => batchCorrAsync(X, N, { threads: 1 });
    const all = () => batchCorrAsync(X, N, { threads: "auto" });
    await msPerCall(one, reps);
    await msPerCall(all, reps);
    const ones: number[] = [], alls: number[] = [], ratios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const a = await msPerCall(one, reps), b = await msPerCall(all, reps);
      ones.push(a);
      alls.push(b);
      ratios.push(a / b);
    }
    const speedup = median(ratios);
    if (speedup >= 1.05) threshold ??= B * F * M;
    else threshold = undefined;
    console.log(
      `| ${M} | ${B} | ${F} | ${B * F * M} | ${median(ones).toFixed(3)} | ${
        median(alls).toFixed(3)
      } | ${speedup.toFixed(2)}× |`,
    );
  }
  console.log(
    `M = ${M}: every core gains ≥ 5% from ${threshold ?? "no size measured"} elements on.`,
  );
}
await closeWorkerPool();
