/**
 * Streaming overhead over the bare kernel, in one process: per-batch seconds
 * of `correlateBatches` with running statistics (output "losses" and "full")
 * against `computeBatchMoments` on the same storage, at issue 7's sizes.
 * Rounds are interleaved and each ratio is the median over rounds, so load
 * from other processes on a shared machine hits both sides alike.
 *
 *     deno run -A bench/stream_overhead.ts [rounds]
 *     bun bench/stream_overhead.ts [rounds]
 *
 * @module
 */

import process from "node:process";
import { correlateBatches } from "../mod.ts";
import { computeBatchMomentsWith, emptyMoments } from "../src/moments.ts";
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

const runtime = "Bun" in globalThis ? "Bun" : "Deno";
console.log(`${runtime}: per-batch ms (median of ${rounds} interleaved rounds), ratio stream / kernel`);
console.log("| size | kernel ms | losses ms | full ms | losses / kernel | full / kernel |");
console.log("|---|---|---|---|---|---|");
for (const size of SIZES) {
  const { B, F, M } = size;
  const { x, n } = generate(size);
  const out = emptyMoments(F, M);
  const batch = { x: { data: x, shape: [B, F] }, n: { data: n, shape: [M, B] } };
  const batches = Array.from({ length: BATCHES }, () => batch);
  const kernel = async () => {
    for (let i = 0; i < BATCHES; i++) sink += computeBatchMomentsWith("wasm-simd", x, n, B, F, M, out).m2X[0]!;
  };
  const stream = (output: "losses" | "full") => async () => {
    for await (const r of correlateBatches(batches, { output })) sink += r.running.loss;
  };
  const reps = Math.max(3, Math.min(15, Math.round(2e7 / (B * F * M))));
  const k: number[] = [], l: number[] = [], f: number[] = [], rl: number[] = [], rf: number[] = [];
  // Warm-up, so both sides run optimised code.
  for (const run of [kernel, stream("losses"), stream("full")]) await timeAsync(run, reps);
  for (let round = 0; round < rounds; round++) {
    const tk = await timeAsync(kernel, reps) / BATCHES;
    const tl = await timeAsync(stream("losses"), reps) / BATCHES;
    const tf = await timeAsync(stream("full"), reps) / BATCHES;
    k.push(tk), l.push(tl), f.push(tf), rl.push(tl / tk), rf.push(tf / tk);
  }
  console.log(
    `| ${B}×${F}×${M} | ${median(k).toFixed(3)} | ${median(l).toFixed(3)} | ${median(f).toFixed(3)} | ${median(rl).toFixed(2)}× | ${
      median(rf).toFixed(2)
    }× |`,
  );
}
if (sink === 42) console.log("");
