/**
 * `batchCorrAsync` at 1024×4096×4 float32 with `threads: 1` against
 * `threads: "auto"` (the worker pool), median of 15 calls after 3 warm-up
 * calls, for the checkout at ROOT (default: this one). Comparing two
 * checkouts in one run shows what a change to the pool's per-call path did:
 *
 *     bun bench/async_auto.ts /path/to/old/checkout && bun bench/async_auto.ts
 *
 * @module
 */

import process from "node:process";
import { fileURLToPath } from "node:url";

const root = process.argv[2] ?? fileURLToPath(new URL("..", import.meta.url));
const { batchCorrAsync } = await import(`${root}/mod.ts`);
const [B, F, M] = [1024, 4096, 4];
let seed = 7;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5);
const X = { data: Float32Array.from({ length: B * F }, random), shape: [B, F] };
const N = { data: Float32Array.from({ length: M * B }, random), shape: [M, B] };

async function medianMs(threads: number | "auto"): Promise<number> {
  for (let i = 0; i < 3; i++) await batchCorrAsync(X, N, { threads });
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    const start = performance.now();
    await batchCorrAsync(X, N, { threads });
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[7]!;
}

const one = await medianMs(1);
const auto = await medianMs("auto");
console.log(
  `${root}: threads: 1 ${one.toFixed(2)} ms, "auto" ${auto.toFixed(2)} ms, ` +
    `speed-up ${(one / auto).toFixed(2)}×`,
);
process.exit(0);
