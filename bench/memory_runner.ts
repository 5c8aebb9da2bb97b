/**
 * Memory over a long stream, for `bench/compare.ts`: 10,000 batches of
 * (64, 2000, 2) through correlateBatches (running statistics, `output:
 * "losses"`), then through the bare kernel with reused storage, sampling the
 * resident set size; prints JSON (MiB at start, peak, end, and batches/s).
 *
 * @module
 */

import process from "node:process";
import { correlateBatches } from "../mod.ts";
import { computeBatchMoments, emptyMoments } from "../src/moments.ts";
import { generate } from "./data.ts";

const BATCHES = Number(process.argv[process.argv.length - 1]) || 10_000;
const size = { B: 64, F: 2000, M: 2 };
const { x, n } = generate(size);
const mib = () => process.memoryUsage().rss / 2 ** 20;
const WARM = 500;

interface Measurement {
  startMiB: number;
  /** After the first WARM batches (JIT, allocator and GC settled). */
  warmMiB: number;
  peakMiB: number;
  endMiB: number;
  seconds: number;
}

/** A different batch each time without allocating: one element changes. */
function* batches(): Generator<{ x: { data: Float64Array; shape: number[] }; n: { data: Float64Array; shape: number[] } }> {
  const batch = { x: { data: x, shape: [size.B, size.F] }, n: { data: n, shape: [size.M, size.B] } };
  for (let i = 0; i < BATCHES; i++) {
    x[i % x.length]! += 1e-3;
    yield batch;
  }
}

async function streamMemory(): Promise<Measurement> {
  const start = mib();
  let peak = start, warm = start, index = 0, sink = 0;
  const t0 = performance.now();
  for await (const result of correlateBatches(batches(), { output: "losses" })) {
    sink += result.running.loss;
    if (index === WARM) warm = peak = mib();
    if (index++ % 100 === 0) peak = Math.max(peak, mib());
  }
  const seconds = (performance.now() - t0) / 1000;
  if (!(sink > -1)) throw new Error("unreachable");
  return { startMiB: start, warmMiB: warm, peakMiB: Math.max(peak, mib()), endMiB: mib(), seconds };
}

function kernelMemory(): Measurement {
  const out = emptyMoments(size.F, size.M);
  const start = mib();
  let peak = start, warm = start;
  const t0 = performance.now();
  for (let i = 0; i < BATCHES; i++) {
    x[i % x.length]! += 1e-3;
    computeBatchMoments(x, n, size.B, size.F, size.M, out);
    if (i === WARM) warm = peak = mib();
    if (i % 100 === 0) peak = Math.max(peak, mib());
  }
  const seconds = (performance.now() - t0) / 1000;
  return { startMiB: start, warmMiB: warm, peakMiB: Math.max(peak, mib()), endMiB: mib(), seconds };
}

const stream = await streamMemory();
const kernel = kernelMemory();
console.log(JSON.stringify({ batches: BATCHES, size, stream, kernel }));
