/**
 * The JavaScript side of `bench/compare.ts`, run once under Deno and once
 * under Bun: times this library's paths, jstat, simple-statistics and a
 * memory-read pass on the batches the comparison wrote, and prints JSON
 * (median seconds per case).
 *
 * Usage: `<runtime> bench/library_runner.ts '<spec json>'`.
 *
 * @module
 */

import jstatModule from "jstat";
import { sampleCorrelation } from "simple-statistics";
import {
  batchCorr,
  batchCorrAsync,
  batchCorrFloat32,
  type BatchResult,
  closeWorkerPool,
  correlateBatches,
  createOnnxBackend,
  type TensorLike,
} from "../mod.ts";
import {
  computeBatchMomentsWith,
  defaultMomentsKernel,
} from "../src/kernels/compute_batch_moments.ts";
import { emptyMoments } from "../src/core/batch_moments.ts";
import { pearsonFromMoments, softThreshold } from "../src/core/correlation_view.ts";
import process from "node:process";
import { type CaseFiles, readFloat64 } from "./data.ts";

interface Spec {
  cases: CaseFiles[];
  /** Seconds to spend per measurement (at least 3 repetitions, at most 25). */
  budget: number;
  /** Only these measurements (all when absent). */
  only?: string[];
}

type JStat = { corrcoeff(a: number[], b: number[]): number };
const jStat: JStat = (jstatModule as unknown as { jStat?: JStat }).jStat ??
  (jstatModule as unknown as JStat);

/**
 * Warm-up before timing: WebAssembly starts in a baseline compiler and is
 * recompiled optimised in the background once hot (V8's Liftoff → TurboFan,
 * JavaScriptCore's BBQ → OMG), as the JavaScript around it is; on a loaded
 * machine that takes a while, and the steady state is what is compared.
 */
const WARM_UP_SECONDS = 0.3;

/** Median seconds of repeated runs after a warm-up. */
function medianSeconds(run: () => unknown, budget: number): number {
  const start = performance.now();
  let first = 0;
  do {
    const t0 = performance.now();
    run();
    first = (performance.now() - t0) / 1000;
  } while (performance.now() - start < WARM_UP_SECONDS * 1000);
  const repeats = Math.min(25, Math.max(3, Math.round(budget / Math.max(first, 1e-6))));
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    run();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

let sink = 0;

/** Median seconds of repeated async runs after a warm-up. */
async function medianSecondsAsync(run: () => Promise<unknown>, budget: number): Promise<number> {
  const start = performance.now();
  let first = 0;
  do {
    const t0 = performance.now();
    await run();
    first = (performance.now() - t0) / 1000;
  } while (performance.now() - start < WARM_UP_SECONDS * 1000);
  const repeats = Math.min(25, Math.max(3, Math.round(budget / Math.max(first, 1e-6))));
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await run();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Batches per streaming measurement: the per-batch time is the total over this. */
const STREAM_BATCHES = 8;

function* forever<T>(value: T): Generator<T> {
  while (true) yield value;
}

/**
 * Seconds per batch of one long-lived correlateBatches stream with running
 * statistics and `output: "losses"` (no per-batch F·M tensors): the stream's
 * throughput. Each timed run pulls STREAM_BATCHES results from the same
 * stream, so the first batch's allocation of the running state is not
 * counted (a fresh stream per run would spread it over a few batches only).
 */
async function streamSeconds(
  x: Float64Array,
  n: Float64Array,
  B: number,
  F: number,
  M: number,
  budget: number,
): Promise<number> {
  const batch = { x: { data: x, shape: [B, F] }, n: { data: n, shape: [M, B] } };
  const stream = correlateBatches(forever(batch), { output: "losses" });
  const pull = async () => {
    for (let i = 0; i < STREAM_BATCHES; i++) {
      sink += ((await stream.next()).value as BatchResult).running.loss;
    }
  };
  try {
    return (await medianSecondsAsync(pull, budget)) / STREAM_BATCHES;
  } finally {
    await stream.return(undefined);
  }
}

/**
 * Seconds per `backend.run` (batchCorr's work in an ONNX Runtime graph, float32)
 * after a first call that creates the session; undefined (the table says
 * "unavailable") when the provider cannot run here or `BENCH_ONNX=0`.
 */
async function onnxSeconds(
  provider: "wasm" | "cpu",
  X: TensorLike,
  N: TensorLike,
  budget: number,
): Promise<number | undefined> {
  if (process.env.BENCH_ONNX === "0") return undefined;
  let backend;
  try {
    backend = await createOnnxBackend({ provider });
  } catch (error) {
    console.error(`onnx ${provider} unavailable: ${(error as Error).message}`);
    return undefined;
  }
  try {
    await backend.run(X, N);
    return await medianSecondsAsync(() => backend.run(X, N), budget);
  } catch (error) {
    console.error(`onnx ${provider} failed: ${(error as Error).message}`);
    return undefined;
  } finally {
    await backend.dispose();
  }
}

/** One pass summing X: the cost of reading the batch once. */
function readPass(x: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i]!;
  return sum;
}

/** A peer library's correlation, one feature × confound pair at a time. */
function perFeature(
  x: Float64Array,
  n: Float64Array,
  B: number,
  F: number,
  M: number,
  correlate: (a: number[], b: number[]) => number,
): Float64Array {
  const out = new Float64Array(F * M);
  const confounds = Array.from({ length: M }, (_, m) => Array.from(n.subarray(m * B, m * B + B)));
  const column = new Array<number>(B);
  for (let f = 0; f < F; f++) {
    for (let b = 0; b < B; b++) column[b] = x[b * F + f]!;
    for (let m = 0; m < M; m++) out[f * M + m] = correlate(column, confounds[m]!);
  }
  return out;
}

async function runCase(
  c: CaseFiles,
  budget: number,
  only: string[] | undefined,
): Promise<Record<string, number | string>> {
  const { B, F, M } = c;
  const x = readFloat64(c.x);
  const n = readFloat64(c.n);
  const x32 = new Float32Array(x);
  const n32 = new Float32Array(n);
  const X = { data: x, shape: [B, F] }, N = { data: n, shape: [M, B] };
  const X32 = { data: x32, shape: [B, F] }, N32 = { data: n32, shape: [M, B] };
  const out = emptyMoments(F, M);
  const raw = new Float64Array(F * M);
  const row: Record<string, number | string> = { B, F, M };
  const wanted = (key: string) => only === undefined || only.includes(key);
  const time = (key: string, run: () => unknown, share = 1) => {
    if (wanted(key)) row[key] = medianSeconds(run, budget * share);
  };
  const timeAsync = async (key: string, run: () => Promise<unknown>) => {
    if (wanted(key)) row[key] = await medianSecondsAsync(run, budget);
  };

  time("default-f64", () => batchCorr(X, N));
  time("default-f32", () => batchCorr(X32, N32));
  time("fast-f32", () => batchCorrFloat32(X32, N32));
  time("kernel-f64", () => computeBatchMomentsWith("wasm-simd", x, n, B, F, M, out));
  time("typescript-f64", () => {
    computeBatchMomentsWith("typescript", x, n, B, F, M, out);
    softThreshold(pearsonFromMoments(out, "zero", raw), 0, true, raw);
  });
  // batchCorrAsync on float32 input: the calling thread alone, then every core.
  await timeAsync("async-1", () => batchCorrAsync(X32, N32, { threads: 1 }));
  await timeAsync("async-auto", () => batchCorrAsync(X32, N32, { threads: "auto" }));
  if (wanted("stream")) row["stream"] = await streamSeconds(x, n, B, F, M, budget * 2);
  time("read-pass", () => (sink += readPass(x)));
  // The peers are 10-50× slower: a smaller budget still gives 3 repetitions.
  time("jstat", () => perFeature(x, n, B, F, M, (a, b) => jStat.corrcoeff(a, b)), 1 / 4);
  time("simple-statistics", () => perFeature(x, n, B, F, M, sampleCorrelation), 1 / 4);
  for (const provider of ["wasm", "cpu"] as const) {
    if (!wanted(`onnx-${provider}`)) continue;
    const seconds = await onnxSeconds(provider, X32, N32, budget);
    if (seconds !== undefined) row[`onnx-${provider}`] = seconds;
  }
  return row;
}

function runtimeName(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Bun) return `Bun ${g.Bun.version}`;
  if (g.Deno) return `Deno ${g.Deno.version.deno}`;
  return "unknown";
}

const spec = JSON.parse(process.argv[process.argv.length - 1]!) as Spec;
const results = [];
for (const c of spec.cases) results.push(await runCase(c, spec.budget, spec.only));
await closeWorkerPool();
console.log(
  JSON.stringify({
    runtime: runtimeName(),
    kernel: defaultMomentsKernel(),
    results,
    sink: sink > 0,
  }),
);
