/**
 * Throughput of the ONNX Runtime GPU providers against the CPU kernels, up to
 * (B, F, M) = (4096, 262144, 8), with the fraction of the device's memory
 * bandwidth (and of its PCIe link) reached. Run by `bench/gpu.sh` on a
 * machine with an NVIDIA GPU; `--sizes` and `--providers` make it usable on
 * a CPU-only machine too (`bench/gpu.sh check`).
 *
 *     deno run -A bench/gpu_throughput.ts [--sizes 256x16384x1,4096x262144x8]
 *       [--providers kernel,kernel-f32,cpu,webgpu-native,cuda] [--reps 3] [--cell-seconds 60]
 *       [--peak-gbps 4800] [--json out.json]
 *
 * Each cell: one warm-up call (session creation, shader compilation), then up
 * to `reps` timed calls of the same prepared float32 batch, stopping early
 * once a cell has used `cell-seconds`. The kernels are `computeBatchMoments`
 * (exact, float64 accumulation) and `computeBatchMomentsFloat32`; the ONNX
 * providers run `backend.computeMoments` (host shift and float32 staging
 * included, as a stream would). "GB/s" is the minimum traffic (X read once
 * as float32, N once as float64) over the median time; for a GPU provider
 * that traffic also crosses PCIe, so both fractions are printed. A cell that
 * fails (a buffer over the device's limits, a provider not available) shows
 * the reason instead of stopping the table. Parity: the largest |r − r_kernel|.
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import process from "node:process";
import { createOnnxBackend, type OnnxBackend, type OnnxProvider } from "../mod.ts";
import type { BatchMoments } from "../src/core/batch_moments.ts";
import { pearsonFromMoments } from "../src/core/correlation_view.ts";
import { prepareBatch, type PreparedBatch } from "../src/core/prepare_batch.ts";
import {
  computeBatchMoments,
  computeBatchMomentsFloat32,
} from "../src/kernels/compute_batch_moments.ts";

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const SIZES = (argument("sizes") ?? "256x16384x1,1024x65536x4,4096x65536x8,4096x262144x8")
  .split(",").map((s) => s.split("x").map(Number) as [number, number, number]);
const PROVIDERS = (argument("providers") ?? "kernel,kernel-f32,cpu,webgpu-native,cuda").split(",");
const REPS = Number(argument("reps") ?? 3);
const CELL_SECONDS = Number(argument("cell-seconds") ?? 60);
const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";

/** Peak memory bandwidth by GPU name (vendor data sheets), GB/s; --peak-gbps overrides. */
const KNOWN_PEAKS: [RegExp, number][] = [
  [/H200/, 4800],
  [/H100.*(SXM|HBM3)/, 3350],
  [/H100.*NVL/, 3900],
  [/H100/, 2000], // PCIe, HBM2e
  [/A100.*80GB/, 2039],
  [/A100/, 1555],
  [/L40S?/, 864],
  [/L4\b/, 300],
  [/A10G?\b/, 600],
  [/T4\b/, 320],
  [/V100/, 900],
];

interface Device {
  name: string;
  memory: string;
  driver: string;
  peakGbps: number | undefined;
  pcieGbps: number | undefined;
}

function queryDevice(): Device | undefined {
  try {
    const line = execFileSync("nvidia-smi", [
      "--query-gpu=name,memory.total,driver_version,pcie.link.gen.max,pcie.link.width.max",
      "--format=csv,noheader",
    ], { encoding: "utf8", timeout: 20_000 }).trim().split("\n")[0]!;
    const [name, memory, driver, gen, width] = line.split(",").map((s) => s.trim()) as string[];
    // PCIe per-lane payload rate in GB/s after encoding: gen 3 ≈ 0.985, 4 ≈ 1.97, 5 ≈ 3.94, 6 ≈ 7.56.
    const lane = { "3": 0.985, "4": 1.97, "5": 3.94, "6": 7.56 }[gen ?? ""];
    const override = argument("peak-gbps");
    return {
      name: name!,
      memory: memory!,
      driver: driver!,
      peakGbps: override !== undefined
        ? Number(override)
        : KNOWN_PEAKS.find(([pattern]) => pattern.test(name!))?.[1],
      pcieGbps: lane === undefined ? undefined : lane * Number(width),
    };
  } catch {
    return undefined;
  }
}

/** A deterministic float32 batch with correlations of both signs (xorshift, no Math.random). */
function makeBatch(B: number, F: number, M: number): PreparedBatch {
  let state = 0x9e3779b9 | 0;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32 - 0.5;
  };
  const n = new Float64Array(M * B);
  for (let i = 0; i < n.length; i++) n[i] = next();
  const x = new Float32Array(B * F);
  for (let b = 0; b < B; b++) {
    const drive = n[b]!; // confound 0
    const row = b * F;
    for (let f = 0; f < F; f++) x[row + f] = next() + ((f % 7) - 3) * 0.3 * drive;
  }
  return prepareBatch({ data: x, shape: [B, F] }, { data: n, shape: [M, B] }, "bench the GPU");
}

interface Cell {
  size: string;
  provider: string;
  medianMs?: number;
  gbps?: number;
  hbmFraction?: number;
  pcieFraction?: number;
  parity?: number;
  runs?: number;
  error?: string;
}

async function time(fn: () => Promise<BatchMoments> | BatchMoments): Promise<
  { median: number; runs: number; moments: BatchMoments }
> {
  let moments = await fn(); // warm-up
  const times: number[] = [];
  const start = performance.now();
  for (let r = 0; r < REPS; r++) {
    const t0 = performance.now();
    moments = await fn();
    times.push(performance.now() - t0);
    if ((performance.now() - start) / 1000 > CELL_SECONDS) break;
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, runs: times.length, moments };
}

function maxDifference(a: Float64Array, b: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > worst || Number.isNaN(d)) worst = d;
  }
  return worst;
}

const device = queryDevice();
console.log(
  `runtime ${runtime}; device ${
    device
      ? `${device.name} (${device.memory}, driver ${device.driver}), peak memory bandwidth ${
        device.peakGbps ?? "unknown (pass --peak-gbps)"
      } GB/s, PCIe ${device.pcieGbps?.toFixed(1) ?? "unknown"} GB/s`
      : "none found (nvidia-smi absent or failing)"
  }`,
);

const cells: Cell[] = [];
const backends = new Map<string, OnnxBackend | Error>();
async function backendFor(provider: string): Promise<OnnxBackend> {
  if (!backends.has(provider)) {
    try {
      backends.set(provider, await createOnnxBackend({ provider: provider as OnnxProvider }));
    } catch (error) {
      backends.set(provider, error as Error);
    }
  }
  const backend = backends.get(provider)!;
  if (backend instanceof Error) throw backend;
  return backend;
}

try {
  for (const [B, F, M] of SIZES) {
    const size = `${B}×${F}×${M}`;
    const batch = makeBatch(B, F, M);
    const bytes = B * F * 4 + M * B * 8;
    let reference: Float64Array | undefined;
    for (const provider of PROVIDERS) {
      const cell: Cell = { size, provider };
      // Only the GPU providers' rows relate to the device's memory and its PCIe link.
      const onGpu = !["kernel", "kernel-f32", "cpu", "wasm"].includes(provider);
      try {
        const run = provider === "kernel"
          ? () => computeBatchMoments(batch.x, batch.n, B, F, M)
          : provider === "kernel-f32"
          ? () => computeBatchMomentsFloat32(batch.x, batch.n, B, F, M)
          : await backendFor(provider).then((backend) => () => backend.computeMoments(batch));
        const { median, runs, moments } = await time(run);
        const r = pearsonFromMoments(moments, "zero");
        reference ??= r;
        const gbps = bytes / (median / 1000) / 1e9;
        Object.assign(cell, {
          medianMs: median,
          runs,
          gbps,
          parity: maxDifference(r, reference),
          hbmFraction: device?.peakGbps && onGpu ? gbps / device.peakGbps : undefined,
          pcieFraction: device?.pcieGbps && onGpu ? gbps / device.pcieGbps : undefined,
        });
      } catch (error) {
        cell.error = (error as Error).message.slice(0, 160);
      }
      cells.push(cell);
      console.error(`  ${size} ${provider}: ${cell.error ?? `${cell.medianMs!.toFixed(1)} ms`}`);
    }
  }
} finally {
  for (const backend of backends.values()) if (!(backend instanceof Error)) await backend.dispose();
}

const pct = (v: number | undefined) => v === undefined ? "–" : `${(v * 100).toFixed(1)} %`;
console.log(
  "\n| (B, F, M) | provider | median ms | runs | GB/s | of memory bandwidth | of PCIe | max |Δr| |",
);
console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const c of cells) {
  console.log(
    c.error !== undefined
      ? `| ${c.size} | ${c.provider} | failed: ${c.error.replaceAll("|", "/")} | | | | | |`
      : `| ${c.size} | ${c.provider} | ${c.medianMs!.toFixed(1)} | ${c.runs} | ${
        c.gbps!.toFixed(1)
      } | ${pct(c.hbmFraction)} | ${pct(c.pcieFraction)} | ${c.parity!.toExponential(1)} |`,
  );
}
const out = argument("json");
if (out !== undefined) writeFileSync(out, JSON.stringify({ runtime, device, cells }, null, 1));
