/**
 * Memory over a long run of batches, for `bench/compare.ts`: 10,000 batches of
 * (64, 10 000, 1) through the kernel with reused output storage, sampling the
 * resident set size; prints JSON (MiB at start, peak, end).
 *
 * TODO(stream): once `correlateBatches` lands on main, run the same 10,000
 * batches through it (running statistics) and report its RSS here too.
 *
 * @module
 */

import process from "node:process";
import { computeBatchMoments, emptyMoments } from "../src/moments.ts";
import { generate } from "./data.ts";

const BATCHES = Number(process.argv[process.argv.length - 1]) || 10_000;
const size = { B: 64, F: 10_000, M: 1 };
const { x, n } = generate(size);
const out = emptyMoments(size.F, size.M);
const mib = () => process.memoryUsage().rss / 2 ** 20;

computeBatchMoments(x, n, size.B, size.F, size.M, out);
const start = mib();
let peak = start;
const t0 = performance.now();
for (let i = 0; i < BATCHES; i++) {
  // A different batch each time without allocating: perturb one element.
  x[i % x.length]! += 1e-3;
  computeBatchMoments(x, n, size.B, size.F, size.M, out);
  if (i % 100 === 0) peak = Math.max(peak, mib());
}
const seconds = (performance.now() - t0) / 1000;
peak = Math.max(peak, mib());
console.log(JSON.stringify({ batches: BATCHES, startMiB: start, peakMiB: peak, endMiB: mib(), seconds }));
