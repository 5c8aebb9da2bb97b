/**
 * Per-batch time of each ONNX Runtime provider against the TypeScript kernel,
 * at one batch shape (default (B, F, M) = (256, 100000, 1)).
 *
 *     deno run -A bench/onnx_providers.ts [--reps 7] [--providers wasm,cpu,webgpu,cuda] [--shape 256,100000,1] [--float32] [--threads N]
 *     bun bench/onnx_providers.ts [...]
 *
 * Each provider gets a warm-up batch (session creation, shader compilation),
 * then `reps` timed calls of `computeMoments` on the same prepared batch; the
 * TypeScript path is `computeBatchMoments` on the same storage. The input is
 * float64 (as the batcher produces), so ONNX times include the float32
 * conversion and the float64 copy of the outputs; `--float32` feeds float32.
 * Medians and min–max are printed as a Markdown table. The machine is shared:
 * read the medians, not single runs.
 */

import process from "node:process";
import { createOnnxBackend } from "../mod.ts";
import { computeBatchMoments } from "../src/kernels/compute_batch_moments.ts";
import { matrixBatch, type PreparedBatch } from "../src/core/prepare_batch.ts";

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const reps = Number(argument("reps") ?? 7);
const [B, F, M] = (argument("shape") ?? "256,100000,1").split(",").map(Number) as [
  number,
  number,
  number,
];
const hasGpu = typeof (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu === "object";
const providers = (argument("providers") ?? (hasGpu ? "wasm,cpu,webgpu,cuda" : "wasm,cpu,cuda"))
  .split(",");
const float32 = process.argv.includes("--float32");
const threads = argument("threads") === undefined ? {} : { threads: Number(argument("threads")) };

function makeBatch(): PreparedBatch {
  let seed = 12345;
  const random = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  const Storage = float32 ? Float32Array : Float64Array;
  const n = new Storage(M * B).map(() => random());
  const x = new Storage(B * F);
  for (let b = 0; b < B; b++) {
    for (let f = 0; f < F; f++) x[b * F + f] = random() + 0.01 * (f % 7) * n[b % (M * B)]!;
  }
  return matrixBatch(x, n, { count: B, features: F, confounds: M });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

interface Row {
  path: string;
  warmup: number | undefined;
  times: number[];
  note: string;
}

async function time(work: () => unknown): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

const batch = makeBatch();
const rows: Row[] = [];

const tsTimes: number[] = [];
for (let i = 0; i < reps + 1; i++) {
  const t = await time(() => computeBatchMoments(batch.x, batch.n, B, F, M));
  if (i > 0) tsTimes.push(t);
}
rows.push({
  path: "typescript (computeBatchMoments)",
  warmup: undefined,
  times: tsTimes,
  note: "float64",
});

for (const provider of providers) {
  let backend;
  try {
    backend = await createOnnxBackend({ provider: provider as "wasm", ...threads });
  } catch (error) {
    rows.push({
      path: provider,
      warmup: undefined,
      times: [],
      note: `unavailable: ${(error as Error).message.slice(0, 120)}…`,
    });
    continue;
  }
  try {
    const warmup = await time(() => backend.computeMoments(batch));
    const times: number[] = [];
    for (let i = 0; i < reps; i++) times.push(await time(() => backend.computeMoments(batch)));
    rows.push({ path: provider, warmup, times, note: backend.adapter ?? "" });
  } catch (error) {
    rows.push({
      path: provider,
      warmup: undefined,
      times: [],
      note: `failed: ${(error as Error).message.slice(0, 160)}`,
    });
  } finally {
    await backend.dispose();
  }
}

const format = (ms: number) => ms.toFixed(1);
console.log(
  `\n${runtime}, (B, F, M) = (${B}, ${F}, ${M}), input ${
    float32 ? "float32" : "float64"
  }, threads ${threads.threads ?? "default"}, ${reps} timed runs each\n`,
);
console.log("| path | median ms/batch | min–max ms | first batch ms (incl. session) | note |");
console.log("|---|---|---|---|---|");
for (const row of rows) {
  const stats = row.times.length
    ? `${format(median(row.times))} | ${format(Math.min(...row.times))}–${
      format(Math.max(...row.times))
    }`
    : "– | –";
  console.log(
    `| ${row.path} | ${stats} | ${
      row.warmup === undefined ? "–" : format(row.warmup)
    } | ${row.note} |`,
  );
}
