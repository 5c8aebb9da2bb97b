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
import { computeBatchMoments } from "../src/kernels/compute_batch_moments.ts";
import { emptyMoments } from "../src/core/batch_moments.ts";
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
  /** Peak RSS over batches WARM to half, and over the second half: a leak makes the second larger. */
  firstHalfPeakMiB: number;
  secondHalfPeakMiB: number;
  peakMiB: number;
  endMiB: number;
  seconds: number;
}

/** A different batch each time without allocating: one element changes. */
function* batches(): Generator<
  { x: { data: Float64Array; shape: number[] }; n: { data: Float64Array; shape: number[] } }
> {
  const batch = {
    x: { data: x, shape: [size.B, size.F] },
    n: { data: n, shape: [size.M, size.B] },
  };
  for (let i = 0; i < BATCHES; i++) {
    x[i % x.length]! += 1e-3;
    yield batch;
  }
}

/** RSS sampled every 50 batches: the level after warm-up and each half's peak. */
class Peaks {
  #start: number;
  #warm: number;
  #first: number;
  #second = 0;
  constructor(start: number) {
    this.#start = this.#warm = this.#first = start;
  }
  sample(index: number): void {
    if (index % 50 !== 0 && index !== WARM) return;
    const now = mib();
    if (index === WARM) this.#warm = this.#first = now;
    else if (index < BATCHES / 2) this.#first = Math.max(this.#first, now);
    else this.#second = Math.max(this.#second, now);
  }
  result(seconds: number): Measurement {
    const end = mib();
    return {
      startMiB: this.#start,
      warmMiB: this.#warm,
      firstHalfPeakMiB: this.#first,
      secondHalfPeakMiB: Math.max(this.#second, end),
      peakMiB: Math.max(this.#first, this.#second, end),
      endMiB: end,
      seconds,
    };
  }
}

async function streamMemory(): Promise<Measurement> {
  const start = mib();
  const peaks = new Peaks(start);
  let index = 0, sink = 0;
  const t0 = performance.now();
  for await (const result of correlateBatches(batches(), { output: "losses" })) {
    sink += result.running.loss;
    peaks.sample(index++);
  }
  const seconds = (performance.now() - t0) / 1000;
  if (!(sink > -1)) throw new Error("unreachable");
  return peaks.result(seconds);
}

function kernelMemory(): Measurement {
  const out = emptyMoments(size.F, size.M);
  const start = mib();
  const peaks = new Peaks(start);
  const t0 = performance.now();
  for (let i = 0; i < BATCHES; i++) {
    x[i % x.length]! += 1e-3;
    computeBatchMoments(x, n, size.B, size.F, size.M, out);
    peaks.sample(i);
  }
  return peaks.result((performance.now() - t0) / 1000);
}

const stream = await streamMemory();
const kernel = kernelMemory();
console.log(JSON.stringify({ batches: BATCHES, size, stream, kernel }));
