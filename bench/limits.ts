/**
 * What limits each issue-14 goal that `bench/RESULTS.md` reports as missed,
 * measured as times and ratios within one run of one runtime (median of
 * several repetitions after a warm-up):
 *
 * - Goal 2 (every core ≥ 1.7× one thread): whether two threads get twice the
 *   work done at all on this machine (an arithmetic loop, a read pass and a
 *   copy, one worker against two at once on halves), the pool's serial copy
 *   of X into its shared memory against the kernel, and its fixed cost per
 *   batch (post, wake, reply) on a tiny batch.
 * - Goals 1 and 3 in Bun: the copy into wasm memory (`TypedArray.set`) and
 *   the wasm kernel alone (`moments_f32` on data already in memory), against
 *   `wasmFeatureMoments` and `batchCorr` on float32 input.
 * - Goal 5 (CSV at polars' speed): the runtime's start-up, whole processes
 *   started by this one: an empty module, `autoTol` (the t quantile) alone,
 *   and `monitor` on a 3-line CSV (all fixed cost, paid once per run).
 * - Goal 4 (stream within 10% of batchCorr): the stream's per-batch parts at
 *   256×10000×8, float64 input: validation, moments with the stream's extra
 *   precision, the merge, one view, an async-iterator step, and the stream.
 *
 *     deno run -A bench/limits.ts [--out bench/LIMITS.md]
 *     bun bench/limits.ts [--out bench/LIMITS.md]
 *
 * With `--out`, the runtime's figures go into `LIMITS.json` beside it (other
 * runtimes' kept) and the markdown is rebuilt from every runtime there, with
 * a Bun / Deno table when both are present. `REPS` sets the repetitions (9).
 *
 * @module
 */

import process from "node:process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { Worker } from "node:worker_threads";
import { loadavg } from "node:os";
import {
  batchCorr,
  batchCorrAsync,
  type BatchResult,
  closeWorkerPool,
  correlateBatches,
} from "../mod.ts";
import {
  computeBatchMomentsWith,
  computeFlaggedMoments,
} from "../src/kernels/compute_batch_moments.ts";
import { computeFlaggedMomentsAsync } from "../src/kernels/compute_moments_parallel.ts";
import { copyColumns, paddedRowBytes, wasmFeatureMoments } from "../src/kernels/_wasm_kernel.ts";
import { MOMENTS_WASM_BASE64 } from "../src/kernels/_moments_wasm_bytes.generated.ts";
import { sharedMemoryProblem, WorkerPool } from "../src/kernels/_worker_pool.ts";
import { confoundMoments } from "../src/kernels/_typescript_kernel.ts";
import { emptyMoments } from "../src/core/batch_moments.ts";
import { prepareBatch } from "../src/core/prepare_batch.ts";
import { momentsOfBatch } from "../src/accumulator/accumulable_moments.ts";
import type { PreciseMoments } from "../src/core/precise_means.ts";
import { CorrelationAccumulator } from "../src/accumulator/correlation_accumulator.ts";
import { thresholdedView } from "../src/kernels/correlation_view_kernel.ts";
import { generate } from "./data.ts";
import { scriptCommand } from "./_script_command.ts";

const REPS = Number(process.env.REPS ?? 9);
const runtime = "Bun" in globalThis ? "Bun" : "Deno";
const version = runtime === "Bun"
  ? `Bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}`
  : `Deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`;
let sink = 0;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/** Median ms per call of `run` over REPS calls, after two warm-up calls. */
async function ms(run: () => unknown, reps = REPS): Promise<number> {
  await run();
  await run();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** One measured figure: a name, its value, its unit. */
interface Figure {
  goal: string;
  name: string;
  value: number;
  unit: "ms" | "×";
}
/** Every round's values per figure, in first-recorded order; the median over rounds is reported. */
const rounds = new Map<string, { goal: string; unit: "ms" | "×"; values: number[] }>();
function record(goal: string, name: string, value: number, unit: "ms" | "×" = "ms"): number {
  const entry = rounds.get(name) ?? { goal, unit, values: [] };
  entry.values.push(value);
  rounds.set(name, entry);
  return value;
}

// ---------------------------------------------------------------- goal 2
type Reply = { ms: number; value: number };
function startWorker(): { worker: Worker; run: (job: unknown) => Promise<Reply> } {
  const worker = new Worker(new URL("./_limits_worker.ts", import.meta.url));
  let pending: ((reply: Reply) => void) | undefined;
  worker.on("message", (reply: Reply) => pending?.(reply));
  return {
    worker,
    run: (job) =>
      new Promise((resolve) => {
        pending = resolve;
        worker.postMessage(job);
      }),
  };
}

async function goal2(): Promise<void> {
  const goal = "2";
  let aluSpeedUp = 1;
  const [w0, w1] = [startWorker(), startWorker()];
  const elements = 16 * 2 ** 20; // 64 MiB of float32, far beyond the caches
  const source = new SharedArrayBuffer(elements * 4);
  const target = new SharedArrayBuffer(elements * 4);
  new Float32Array(source).fill(1);
  new Float32Array(target).fill(0);
  const jobs = {
    alu: (part: number, of: number) => ({ kind: "alu", iterations: (5e7 / of) | 0, part }),
    sum: (part: number, of: number) => ({
      kind: "sum",
      source,
      target,
      from: (part * elements) / of,
      to: ((part + 1) * elements) / of,
      reps: 4,
    }),
    copy: (part: number, of: number) => ({
      kind: "copy",
      source,
      target,
      from: (part * elements) / of,
      to: ((part + 1) * elements) / of,
      reps: 4,
    }),
  };
  const labels = {
    alu: "arithmetic loop, no memory",
    sum: "read pass (sum of 64 MiB float32, 4 times)",
    copy: "copy (TypedArray.set of 64 MiB, 4 times)",
  };
  for (const kind of ["alu", "sum", "copy"] as const) {
    const one = await ms(() => w0.run(jobs[kind](0, 1)), 5);
    const two = await ms(
      () => Promise.all([w0.run(jobs[kind](0, 2)), w1.run(jobs[kind](1, 2))]),
      5,
    );
    record(goal, `${labels[kind]}: one worker, whole`, one);
    record(goal, `${labels[kind]}: two workers at once, halves`, two);
    record(goal, `${labels[kind]}: speed-up of two threads`, one / two, "×");
    if (kind === "alu") aluSpeedUp = one / two;
  }
  await Promise.all([w0.worker.terminate(), w1.worker.terminate()]);

  // Each splitsAcrossThreads call (twice per parallel batchCorrAsync call and per stream batch) checks
  // sharedMemoryProblem(), which creates a one-page shared WebAssembly.Memory.
  const check = await ms(() => {
    for (let i = 0; i < 100; i++) sink += sharedMemoryProblem() === undefined ? 1 : 0;
  }) / 100;
  const plainMemory = await ms(() => {
    for (let i = 0; i < 100; i++) sink += new WebAssembly.Memory({ initial: 1 }).buffer.byteLength;
  }) / 100;
  record(
    goal,
    "sharedMemoryProblem(), per call (creates a 1-page shared WebAssembly.Memory), after the calls before it",
    check,
  );
  record(goal, "new WebAssembly.Memory({ initial: 1 }), per call", plainMemory);

  // The pool on the 4M+ sizes, float32 input.
  const pool = await WorkerPool.start(1);
  for (const size of [{ B: 256, F: 10_000, M: 8 }, { B: 1024, F: 4096, M: 4 }]) {
    const { B, F, M } = size;
    const label = `${B}×${F}×${M}`;
    const { x, n } = generate(size);
    const x32 = new Float32Array(x);
    const out = emptyMoments(F, M);
    const centredN = confoundMoments(n, B, M, out);
    const shared = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const rowBytes = paddedRowBytes(F, 4);
    shared.grow(Math.ceil((B * rowBytes + 65536) / 65536));
    const copy = await ms(() => copyColumns(x32, B, F, 0, F, shared.buffer, 0, rowBytes));
    const single = await ms(() =>
      wasmFeatureMoments(x32, centredN, B, F, M, out.meanX, out.m2X, out.comoment)
    );
    const pool1 = await ms(() =>
      pool.featureMoments(x32, centredN, B, F, M, out.meanX, out.m2X, out.comoment, 1)
    );
    const pool2 = await ms(() =>
      pool.featureMoments(x32, centredN, B, F, M, out.meanX, out.m2X, out.comoment, 2)
    );
    const X32 = { data: x32, shape: [B, F] }, N32 = { data: new Float32Array(n), shape: [M, B] };
    const async1 = await ms(() => batchCorrAsync(X32, N32, { threads: 1 }));
    const asyncAll = await ms(() => batchCorrAsync(X32, N32, { threads: "auto" }));
    const pool64 = await ms(() =>
      pool.featureMoments(x, centredN, B, F, M, out.meanX, out.m2X, out.comoment, 2)
    );
    const single64 = await ms(() =>
      wasmFeatureMoments(x, centredN, B, F, M, out.meanX, out.m2X, out.comoment)
    );
    const n32 = N32.data;
    const flaggedSync = await ms(() => computeFlaggedMoments(x32, n32, B, F, M, out));
    const flaggedReused = await ms(() => computeFlaggedMomentsAsync(x32, n32, B, F, M, out, 2));
    const flaggedFresh = await ms(() =>
      computeFlaggedMomentsAsync(x32, n32, B, F, M, emptyMoments(F, M), 2)
    );
    record(goal, `${label}: serial copy of X into the pool's shared memory`, copy);
    record(goal, `${label}: computeFlaggedMoments float32, one thread`, flaggedSync);
    record(
      goal,
      `${label}: computeFlaggedMomentsAsync float32, 2 threads, storage reused`,
      flaggedReused,
    );
    record(
      goal,
      `${label}: computeFlaggedMomentsAsync float32, 2 threads, fresh storage per call (as batchCorrAsync)`,
      flaggedFresh,
    );
    record(goal, `${label}: wasmFeatureMoments, one thread (copy + kernel)`, single);
    record(goal, `${label}: pool, 1 thread`, pool1);
    record(goal, `${label}: pool, 2 threads`, pool2);
    record(goal, `${label}: pool speed-up, 1 thread / 2 threads`, pool1 / pool2, "×");
    record(
      goal,
      `${label}: pool speed-up / the arithmetic loop's speed-up in the same round`,
      pool1 / pool2 / aluSpeedUp,
      "×",
    );
    record(goal, `${label}: float64 X, wasmFeatureMoments, one thread`, single64);
    record(goal, `${label}: float64 X, pool, 2 threads`, pool64);
    record(goal, `${label}: batchCorrAsync float32, threads: 1`, async1);
    record(goal, `${label}: batchCorrAsync float32, threads: "auto"`, asyncAll);
    record(goal, `${label}: batchCorrAsync speed-up, threads: 1 / "auto"`, async1 / asyncAll, "×");
    const kernel = Math.max(0, pool1 - copy);
    record(
      goal,
      `${label}: Amdahl bound with the copy serial, (copy + kernel) / (copy + kernel / 2)`,
      pool1 / (copy + kernel / 2),
      "×",
    );
  }
  {
    const B = 16, F = 64, M = 1;
    const { x, n } = generate({ B, F, M });
    const x32 = new Float32Array(x);
    const out = emptyMoments(F, M);
    const centredN = confoundMoments(n, B, M, out);
    const tiny1 = await ms(
      () => pool.featureMoments(x32, centredN, B, F, M, out.meanX, out.m2X, out.comoment, 1),
      31,
    );
    const tiny2 = await ms(
      () => pool.featureMoments(x32, centredN, B, F, M, out.meanX, out.m2X, out.comoment, 2),
      31,
    );
    record(goal, "16×64×1: pool, 1 thread (no worker woken)", tiny1);
    record(goal, "16×64×1: pool, 2 threads (post + wake + reply of one worker)", tiny2);
  }
  await pool.close();
}

// ---------------------------------------------------------------- goals 1 and 3
interface Exports {
  memory: WebAssembly.Memory;
  moments_f32: (...args: number[]) => void;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

async function goal13(): Promise<void> {
  const goal = "1, 3";
  const module = new WebAssembly.Module(decodeBase64(MOMENTS_WASM_BASE64));
  const wasm = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
  for (const size of [{ B: 256, F: 10_000, M: 8 }, { B: 1024, F: 4096, M: 4 }]) {
    const { B, F, M } = size;
    const label = `${B}×${F}×${M}`;
    const { x, n } = generate(size);
    const x32 = new Float32Array(x), n32 = new Float32Array(n);
    const out = emptyMoments(F, M);
    const centredN = confoundMoments(n, B, M, out);
    const align = (v: number) => Math.ceil(v / 64) * 64;
    const cn = 0, mean = align(B * M * 8), m2 = align(mean + F * 8), co = align(m2 + F * 8);
    const at = align(co + F * M * 8), rowBytes = paddedRowBytes(F, 4);
    const missing = at + B * rowBytes - wasm.memory.buffer.byteLength;
    if (missing > 0) wasm.memory.grow(Math.ceil(missing / 65536));
    const memory = wasm.memory.buffer;
    const cnView = new Float64Array(memory, cn, B * M);
    for (let m = 0; m < M; m++) {
      for (let b = 0; b < B; b++) cnView[b * M + m] = centredN[m * B + b]!;
    }
    const copy = await ms(() => copyColumns(x32, B, F, 0, F, memory, at, rowBytes));
    const kernel = await ms(() => wasm.moments_f32(at, rowBytes, B, F, M, cn, mean, m2, co));
    let plain = 0;
    const sumX = await ms(() => {
      let s0 = 0, s1 = 0;
      for (let i = 0; i < x32.length; i += 2) {
        s0 += x32[i]!;
        s1 += x32[i + 1]!;
      }
      plain += s0 + s1;
    });
    sink += plain;
    const moments = await ms(() =>
      wasmFeatureMoments(x32, centredN, B, F, M, out.meanX, out.m2X, out.comoment)
    );
    const X = { data: x32, shape: [B, F] }, N = { data: n32, shape: [M, B] };
    const whole = await ms(() => {
      sink += batchCorr(X, N).data[0]!;
    });
    const fresh = await ms(() => {
      const result = new Float64Array(F * M);
      for (let i = 0; i < result.length; i += 512) result[i] = 1;
      sink += result[0]!;
    });
    record(goal, `${label}: copy of float32 X into wasm memory (one TypedArray.set)`, copy);
    record(goal, `${label}: wasm kernel alone (moments_f32, X already in memory)`, kernel);
    record(goal, `${label}: plain JavaScript sum of X (one read of X)`, sumX);
    record(goal, `${label}: wasmFeatureMoments (copy + kernel + flags)`, moments);
    record(goal, `${label}: batchCorr on float32 input`, whole);
    record(
      goal,
      `${label}: a fresh Float64Array(F·M), one write per 4 KiB page (the result's first touch)`,
      fresh,
    );
    record(goal, `${label}: copy's share of batchCorr`, copy / whole, "×");
    record(goal, `${label}: kernel's share of batchCorr`, kernel / whole, "×");
  }
}

// ---------------------------------------------------------------- goal 4
async function* forever<T>(value: T): AsyncGenerator<T> {
  while (true) yield value;
}

async function goal4(): Promise<void> {
  const goal = "4";
  const size = { B: 256, F: 10_000, M: 8 };
  const { B, F, M } = size;
  const label = `${B}×${F}×${M}`;
  const { x, n } = generate(size);
  const X = { data: x, shape: [B, F] }, N = { data: n, shape: [M, B] };
  const context = "limits";
  const names = ["x", "n"] as const;
  const bare = emptyMoments(F, M);
  const kernel = await ms(() => computeBatchMomentsWith("wasm-simd", x, n, B, F, M, bare));
  const whole = await ms(() => {
    sink += batchCorr(X, N).data[0]!;
  });
  const prepare = await ms(() => prepareBatch(X, N, context, names));
  const batch = prepareBatch(X, N, context, names);
  let reuse: PreciseMoments | undefined;
  const moments = await ms(() => {
    reuse = momentsOfBatch(batch, context, names, reuse) as PreciseMoments;
  });
  const accepted = momentsOfBatch(batch, context, names);
  const accumulator = new CorrelationAccumulator();
  const merge = await ms(() =>
    accumulator.stage(accepted, { featureShape: [F], context }).commit()
  );
  const values = new Float64Array(F * M);
  const view = await ms(() => {
    sink += thresholdedView(
      accepted,
      undefined,
      { tol: 0, abs: false, zeroVariance: "zero" },
      values,
    )[0]!;
  });
  const iterator = forever(1);
  const step = await ms(async () => {
    for (let i = 0; i < 1000; i++) sink += (await iterator.next()).value as number;
  }) / 1000;
  const batchInput = { x: X, n: N };
  const stream: AsyncIterator<BatchResult> = correlateBatches(
    (function* () {
      while (true) yield batchInput;
    })(),
    { output: "losses" },
  );
  const streamed = await ms(async () => {
    sink += ((await stream.next()).value as BatchResult).running.loss;
  });
  const oneThread: AsyncIterator<BatchResult> = correlateBatches(
    (function* () {
      while (true) yield batchInput;
    })(),
    { output: "losses", threads: 1 },
  );
  const streamed1 = await ms(async () => {
    sink += ((await oneThread.next()).value as BatchResult).running.loss;
  });
  record(goal, `${label}: computeBatchMoments (wasm-simd kernel + checks)`, kernel);
  record(goal, `${label}: batchCorr (float64 input)`, whole);
  record(goal, `${label}: validation (prepareBatch)`, prepare);
  record(
    goal,
    `${label}: stream's moments (momentsOfBatch: kernel + precise means + checks)`,
    moments,
  );
  record(goal, `${label}: merge into the running state (stage + commit)`, merge);
  record(goal, `${label}: one thresholded view (the stream takes two)`, view);
  record(goal, `${label}: one async-iterator step`, step);
  record(
    goal,
    `${label}: correlateBatches, running statistics, output "losses", default threads ("auto": the worker pool), per batch`,
    streamed,
  );
  record(
    goal,
    `${label}: correlateBatches, the same with threads: 1, per batch`,
    streamed1,
  );
  record(
    goal,
    `${label}: sum of the parts (validation + moments + merge + 2 views + step)`,
    prepare + moments + merge + 2 * view + step,
  );
  record(goal, `${label}: stream (default threads) / batchCorr`, streamed / whole, "×");
  record(goal, `${label}: stream (threads: 1) / batchCorr`, streamed1 / whole, "×");
  record(goal, `${label}: stream's moments / computeBatchMoments`, moments / kernel, "×");
}

// ---------------------------------------------------------------- goal 5
/** Median wall ms of a whole process, over 5 runs after one warm-up run. */
function processMs(script: string, args: string[]): number {
  const [command, argv] = scriptCommand(script, args);
  const once = () => {
    const t0 = performance.now();
    const child = spawnSync(command, argv, { stdio: ["ignore", "ignore", "pipe"] });
    if (child.status !== 0) {
      throw new Error(`${command} ${argv.join(" ")} failed: ${child.stderr?.toString()}`);
    }
    return performance.now() - t0;
  };
  once();
  return median(Array.from({ length: 5 }, once));
}

const TINY_CSV = `${process.env.TMPDIR ?? "/tmp"}/batch-corr-limits-tiny.csv`;

function goal5(): void {
  const goal = "5";
  writeFileSync(TINY_CSV, "f0,c\n1,2\n2,3\n3,5\n");
  const empty = processMs("bench/_startup_probe.ts", ["empty"]);
  const quantile = processMs("bench/_startup_probe.ts", ["t-quantile"]);
  const monitor = processMs("cli.ts", [
    "monitor",
    TINY_CSV,
    "-c",
    "c",
    "-b",
    "3",
    "--format",
    "ndjson",
  ]);
  record(goal, "whole process: an empty module", empty);
  record(goal, "whole process: importing only autoTol (the t quantile) and calling it", quantile);
  record(goal, "the t quantile's import alone (the two above, subtracted)", quantile - empty);
  record(goal, "whole process: monitor on a 3-line CSV (fixed cost of every run)", monitor);
}

// ---------------------------------------------------------------- output
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const loadBefore = loadavg().map((v) => v.toFixed(2)).join(" ");
{
  // Before any other WebAssembly.Memory of this process exists: 5 reps of 4 calls.
  const first = await ms(() => {
    for (let i = 0; i < 4; i++) sink += sharedMemoryProblem() === undefined ? 1 : 0;
  }, 5) / 4;
  record("2", "sharedMemoryProblem(), per call, the first 28 calls of the process", first);
}
for (let round = 0; round < ROUNDS; round++) {
  await goal2();
  await goal13();
  await goal4();
  goal5();
}
await closeWorkerPool();
if (sink === 0.125) console.log(sink);
const figures: Figure[] = [...rounds].map(([name, { goal, unit, values }]) => ({
  goal,
  name,
  unit,
  value: median(values),
}));
console.log(`${version}: median over ${ROUNDS} rounds`);
for (const f of figures) {
  console.log(`${f.goal} | ${f.name} | ${f.value.toFixed(f.unit === "ms" ? 3 : 2)} ${f.unit}`);
}

const outAt = process.argv.indexOf("--out");
if (outAt >= 0) {
  const out = process.argv[outAt + 1] ?? "bench/LIMITS.md";
  const jsonPath = out.replace(/\.md$/, ".json");
  const all: Record<string, Run> = existsSync(jsonPath)
    ? JSON.parse(readFileSync(jsonPath, "utf8"))
    : {};
  const load = `${loadBefore} before, ${loadavg().map((v) => v.toFixed(2)).join(" ")} after`;
  all[runtime] = {
    version,
    date: new Date().toISOString(),
    load,
    rounds: ROUNDS,
    reps: REPS,
    figures,
  };
  writeFileSync(jsonPath, JSON.stringify(all, null, 1) + "\n");
  writeFileSync(out, markdown(all));
  console.log(`wrote ${out} and ${jsonPath}`);
}

/** One runtime's run, as kept in the JSON file. */
interface Run {
  version: string;
  date: string;
  /** The load averages (1, 5, 15 minutes) before and after the run. */
  load: string;
  rounds: number;
  reps: number;
  figures: Figure[];
}

function markdown(all: Record<string, Run>): string {
  const runtimes = Object.keys(all).sort();
  const format = (f: Figure | undefined) =>
    f === undefined ? "–" : f.unit === "ms" ? `${f.value.toFixed(2)} ms` : `${f.value.toFixed(2)}×`;
  const lines = [
    "# What limits the missed goals (issue 14)",
    "",
    "Produced by `bench/limits.ts` (`deno run -A bench/limits.ts --out bench/LIMITS.md`, then `bun bench/limits.ts --out bench/LIMITS.md`); do not edit by hand.",
    "",
    ...runtimes.map((r) =>
      `- ${all[r]!.version}, run at ${all[r]!.date}, load average ${
        all[r]!.load
      } (each figure: the median over ${all[r]!.rounds} rounds of the median of ${
        all[r]!.reps
      } calls after two warm-up calls; the read, copy and arithmetic rows 5 calls).`
    ),
    "- The machine has 2 vCPUs shared with other work: compare figures within one column; the Bun / Deno column means something only when both load averages are well below 2.",
    "",
    `| goal | measurement | ${runtimes.join(" | ")} |${
      runtimes.length === 2 ? " Bun / Deno |" : ""
    }`,
    `|---|---|${runtimes.map(() => "---|").join("")}${runtimes.length === 2 ? "---|" : ""}`,
  ];
  const first = all[runtimes[0]!]!.figures;
  for (const f of first) {
    const cells = runtimes.map((r) => all[r]!.figures.find((g) => g.name === f.name));
    let ratio = "";
    if (runtimes.length === 2) {
      const [bun, deno] = runtimes[0] === "Bun" ? cells : [cells[1], cells[0]];
      ratio = bun && deno && f.unit === "ms" ? ` ${(bun.value / deno.value).toFixed(2)}× |` : " |";
    }
    lines.push(`| ${f.goal} | ${f.name} | ${cells.map(format).join(" | ")} |${ratio}`);
  }
  return lines.join("\n") + "\n";
}
