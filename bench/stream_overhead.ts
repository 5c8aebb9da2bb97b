/**
 * Streaming overhead over the bare kernel, in one process: per-batch seconds
 * of `correlateBatches` with running statistics (output "losses" and "full")
 * against `computeBatchMoments` on the same storage, at issue 7's sizes.
 * "steady" pulls batches from one long-lived stream (the throughput of a
 * stream); "fresh" starts a new stream of 8 batches per run, as
 * `bench/compare.ts` did before, so the first batch's allocation of the
 * running state (three F·M buffers and their means) is spread over only 8.
 * Rounds are interleaved and each ratio is the median over rounds, so load
 * from other processes on a shared machine hits every side alike.
 *
 *     deno run -A bench/stream_overhead.ts [rounds]
 *     bun bench/stream_overhead.ts [rounds]
 *
 * `SIZE=i` runs only `SIZES[i]`.
 *
 * @module
 */

import process from "node:process";
import { type BatchResult, correlateBatches } from "../mod.ts";
import { computeBatchMomentsWith } from "../src/kernels/compute_batch_moments.ts";
import { emptyMoments } from "../src/core/batch_moments.ts";
import { generate, SIZES } from "./data.ts";

const rounds = Number(process.argv[2] ?? 9);
const BATCHES = 8;
let sink = 0;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

async function timeAsync(run: () => Promise<void>, reps: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return median(times);
}

function* forever<T>(value: T): Generator<T> {
  while (true) yield value;
}

const runtime = "Bun" in globalThis ? "Bun" : "Deno";
const sizes = process.env.SIZE === undefined ? SIZES : [SIZES[Number(process.env.SIZE)]!];
const columns = ["steady losses", "steady full", "fresh losses", "fresh full"] as const;
console.log(
  `${runtime}: per-batch ms (median of ${rounds} interleaved rounds) and ratio to the bare kernel`,
);
console.log(`| size | kernel ms | ${columns.map((c) => `${c} ms (ratio)`).join(" | ")} |`);
console.log(`|---|---|${columns.map(() => "---").join("|")}|`);
for (const size of sizes) {
  const { B, F, M } = size;
  const { x, n } = generate(size);
  const out = emptyMoments(F, M);
  const batch = { x: { data: x, shape: [B, F] }, n: { data: n, shape: [M, B] } };
  const batches = Array.from({ length: BATCHES }, () => batch);
  const kernel = () => {
    for (let i = 0; i < BATCHES; i++) {
      sink += computeBatchMomentsWith("wasm-simd", x, n, B, F, M, out).m2X[0]!;
    }
    return Promise.resolve();
  };
  const fresh = (output: "losses" | "full") => async () => {
    for await (const r of correlateBatches(batches, { output })) sink += r.running.loss;
  };
  const steady = (output: "losses" | "full") => {
    const stream: AsyncIterator<BatchResult> = correlateBatches(forever(batch), { output });
    return async () => {
      for (let i = 0; i < BATCHES; i++) {
        sink += ((await stream.next()).value as BatchResult).running.loss;
      }
    };
  };
  const runs = [steady("losses"), steady("full"), fresh("losses"), fresh("full")];
  const reps = Math.max(3, Math.min(15, Math.round(2e7 / (B * F * M))));
  const kernelTimes: number[] = [];
  const times = runs.map(() => [] as number[]);
  const ratios = runs.map(() => [] as number[]);
  // Warm-up, so every side runs optimised code.
  for (const run of [kernel, ...runs]) await timeAsync(run, reps);
  for (let round = 0; round < rounds; round++) {
    const k = await timeAsync(kernel, reps) / BATCHES;
    kernelTimes.push(k);
    for (const [i, run] of runs.entries()) {
      const t = await timeAsync(run, reps) / BATCHES;
      times[i]!.push(t);
      ratios[i]!.push(t / k);
    }
  }
  const cells = runs.map((_, i) =>
    `${median(times[i]!).toFixed(3)} (${median(ratios[i]!).toFixed(2)}×)`
  );
  console.log(`| ${B}×${F}×${M} | ${median(kernelTimes).toFixed(3)} | ${cells.join(" | ")} |`);
}
if (sink === 42) console.log("");
