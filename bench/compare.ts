/**
 * The side-by-side comparison of issues 7 and 14: on the same generated
 * batches, this library in Deno and in Bun (batchCorr on float64 and float32
 * input, batchCorrFloat32, batchCorrAsync on one thread and on every core,
 * correlateBatches, the bare kernels), numpy float64 and float32 running
 * hypercoil's formula, jstat, simple-statistics, the ONNX backends and a
 * memory-read pass. Prints a table of million elements per second (elements
 * = B·F·M) with ratios against numpy, one line per goal of issue 14 with its
 * ratios, and writes `bench/RESULTS.md` (and the raw medians to
 * `bench/RESULTS.json`).
 *
 * Run: `deno task bench:compare` (or `npm run bench:compare`). Options (env):
 * `BENCH_ROUNDS` (default 3: every runner runs that many times, interleaved,
 * and each cell keeps its best median, so a burst of load from other processes
 * on a shared machine hits every implementation alike), `BENCH_BUDGET`
 * (seconds per measurement, default 0.8), `BENCH_PYTHON` (default `python3`),
 * `BENCH_OUT` (default `bench/RESULTS.md`; `-` to skip writing).
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { type CaseFiles, SIZES, writeCase } from "./data.ts";

const root = new URL("../", import.meta.url).pathname;
const env = process.env;
const rounds = Number(env.BENCH_ROUNDS ?? 3);
const budget = Number(env.BENCH_BUDGET ?? 0.8);
const python = env.BENCH_PYTHON ?? "python3";
const outPath = env.BENCH_OUT ?? join(root, "bench/RESULTS.md");
const bin = (name: string) => join(root, "node_modules/.bin", name);

type Row = Record<string, number>;
interface RunnerOutput {
  runtime?: string;
  kernel?: string;
  numpy?: string;
  blas?: string;
  results: Row[];
}

function run(command: string, args: string[]): string {
  const result = spawnSync(command, args, { cwd: root, encoding: "utf8", maxBuffer: 64 * 2 ** 20 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args[0]} failed (${result.status}): ${result.stderr}`);
  }
  return result.stdout;
}

function lastJsonLine(text: string): RunnerOutput {
  const lines = text.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!) as RunnerOutput;
}

/**
 * numpy runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, in that process
 * only. Through `env -u`, because Deno's child_process merges a given `env`
 * into the parent's instead of replacing it, so deleting keys does nothing.
 */
const NUMPY_PREFIX = ["-u", "OPENBLAS_CORETYPE", "-u", "OPENBLAS_L2_SIZE"];

const runners = {
  deno: (spec: string) =>
    lastJsonLine(run(bin("deno"), ["run", "-A", "bench/library_runner.ts", spec])),
  bun: (spec: string) => lastJsonLine(run(bin("bun"), ["bench/library_runner.ts", spec])),
  numpy: (spec: string) =>
    lastJsonLine(run("env", [...NUMPY_PREFIX, python, "bench/numpy_runner.py", spec])),
  // OpenBLAS's default of one thread per core spins against other processes on
  // a loaded machine; one thread is numpy's better case there.
  numpy1: (spec: string) =>
    lastJsonLine(
      run("env", [
        ...NUMPY_PREFIX,
        "OPENBLAS_NUM_THREADS=1",
        python,
        "bench/numpy_runner.py",
        spec,
      ]),
    ),
};
type RunnerName = keyof typeof runners | "numpyBest";

/** Best (lowest) median seconds per runner, size and case over the rounds. */
function measure(
  cases: CaseFiles[],
): { best: Record<RunnerName, Row[]>; info: Record<RunnerName, RunnerOutput> } {
  const spec = JSON.stringify({ cases, budget, repeats: 7 });
  const best: Record<RunnerName, Row[]> = {
    deno: [],
    bun: [],
    numpy: [],
    numpy1: [],
    numpyBest: [],
  };
  const info = {} as Record<RunnerName, RunnerOutput>;
  const order: (keyof typeof runners)[] = ["deno", "bun", "numpy", "numpy1"];
  for (let round = 0; round < rounds; round++) {
    // Rotate the order so no runner always follows the same one.
    for (
      const name of order.slice(round % order.length).concat(order.slice(0, round % order.length))
    ) {
      console.error(`round ${round + 1}/${rounds}: ${name}`);
      const output = runners[name](spec);
      info[name] = output;
      output.results.forEach((row, i) => {
        const kept = best[name][i] ?? {};
        for (const [key, value] of Object.entries(row)) {
          kept[key] = key === "B" || key === "F" || key === "M"
            ? value
            : Math.min(kept[key] ?? Infinity, value);
        }
        best[name][i] = kept;
      });
    }
  }
  // Ratios are taken against numpy's faster configuration, cell by cell.
  best.numpyBest = best.numpy.map((row, i) => {
    const single = best.numpy1[i]!;
    return {
      ...row,
      "numpy-f64": Math.min(row["numpy-f64"]!, single["numpy-f64"]!),
      "numpy-f32": Math.min(row["numpy-f32"]!, single["numpy-f32"]!),
    };
  });
  return { best, info };
}

interface MemoryResult {
  startMiB: number;
  warmMiB: number;
  firstHalfPeakMiB: number;
  secondHalfPeakMiB: number;
  peakMiB: number;
  endMiB: number;
  seconds: number;
}

interface MemoryOutput {
  batches: number;
  size: { B: number; F: number; M: number };
  stream: MemoryResult;
  kernel: MemoryResult;
}

function memory(): { deno: MemoryOutput; bun: MemoryOutput } {
  console.error("memory: 10,000 batches, Deno and Bun");
  return {
    deno: JSON.parse(run(bin("deno"), ["run", "-A", "bench/memory_runner.ts", "10000"]).trim()),
    bun: JSON.parse(run(bin("bun"), ["bench/memory_runner.ts", "10000"]).trim()),
  };
}

const sizeLabel = (c: { B: number; F: number; M: number }) => `${c.B}×${c.F}×${c.M}`;
const rate = (c: { B: number; F: number; M: number }, seconds: number) =>
  (c.B * c.F * c.M) / seconds / 1e6;

function formatRate(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

interface TableRow {
  label: string;
  runner: RunnerName;
  key: string;
  versus: "numpy-f64" | "numpy-f32";
  note?: string;
}

const TABLE: TableRow[] = [
  {
    label: "numpy float64, hypercoil's formula (OpenBLAS default threads)",
    runner: "numpy",
    key: "numpy-f64",
    versus: "numpy-f64",
  },
  {
    label: "numpy float64, hypercoil's formula (1 BLAS thread)",
    runner: "numpy1",
    key: "numpy-f64",
    versus: "numpy-f64",
  },
  {
    label: "numpy float32, hypercoil's formula (OpenBLAS default threads)",
    runner: "numpy",
    key: "numpy-f32",
    versus: "numpy-f32",
  },
  {
    label: "numpy float32, hypercoil's formula (1 BLAS thread)",
    runner: "numpy1",
    key: "numpy-f32",
    versus: "numpy-f32",
  },
  {
    label: "**batchCorr default, float64 input (Deno)**",
    runner: "deno",
    key: "default-f64",
    versus: "numpy-f64",
  },
  {
    label: "**batchCorr default, float64 input (Bun)**",
    runner: "bun",
    key: "default-f64",
    versus: "numpy-f64",
  },
  {
    label: "**batchCorr, float32 input, float64 accumulation (Deno)**",
    runner: "deno",
    key: "default-f32",
    versus: "numpy-f32",
  },
  {
    label: "**batchCorr, float32 input, float64 accumulation (Bun)**",
    runner: "bun",
    key: "default-f32",
    versus: "numpy-f32",
  },
  {
    label: "**batchCorrFloat32, fast float32 kernel (Deno)**",
    runner: "deno",
    key: "fast-f32",
    versus: "numpy-f32",
  },
  {
    label: "**batchCorrFloat32, fast float32 kernel (Bun)**",
    runner: "bun",
    key: "fast-f32",
    versus: "numpy-f32",
  },
  {
    label: "batchCorrAsync, float32 input, `threads: 1` (Deno)",
    runner: "deno",
    key: "async-1",
    versus: "numpy-f32",
  },
  {
    label: "batchCorrAsync, float32 input, `threads: 1` (Bun)",
    runner: "bun",
    key: "async-1",
    versus: "numpy-f32",
  },
  {
    label: "**batchCorrAsync, float32 input, every core (Deno)**",
    runner: "deno",
    key: "async-auto",
    versus: "numpy-f32",
  },
  {
    label: "**batchCorrAsync, float32 input, every core (Bun)**",
    runner: "bun",
    key: "async-auto",
    versus: "numpy-f32",
  },
  {
    label: "computeBatchMoments, wasm-simd kernel only (Deno)",
    runner: "deno",
    key: "kernel-f64",
    versus: "numpy-f64",
  },
  {
    label: "computeBatchMoments, wasm-simd kernel only (Bun)",
    runner: "bun",
    key: "kernel-f64",
    versus: "numpy-f64",
  },
  {
    label: "TypeScript fallback kernel + threshold (Deno)",
    runner: "deno",
    key: "typescript-f64",
    versus: "numpy-f64",
  },
  {
    label: "TypeScript fallback kernel + threshold (Bun)",
    runner: "bun",
    key: "typescript-f64",
    versus: "numpy-f64",
  },
  {
    label: "jstat corrcoeff per feature (Deno)",
    runner: "deno",
    key: "jstat",
    versus: "numpy-f64",
  },
  { label: "jstat corrcoeff per feature (Bun)", runner: "bun", key: "jstat", versus: "numpy-f64" },
  {
    label: "simple-statistics per feature (Deno)",
    runner: "deno",
    key: "simple-statistics",
    versus: "numpy-f64",
  },
  {
    label: "simple-statistics per feature (Bun)",
    runner: "bun",
    key: "simple-statistics",
    versus: "numpy-f64",
  },
  {
    label: "one pass summing X, TypeScript (Deno)",
    runner: "deno",
    key: "read-pass",
    versus: "numpy-f64",
  },
  {
    label: "one pass summing X, TypeScript (Bun)",
    runner: "bun",
    key: "read-pass",
    versus: "numpy-f64",
  },
  {
    label: "correlateBatches, running statistics, per batch (Deno)",
    runner: "deno",
    key: "stream",
    versus: "numpy-f64",
  },
  {
    label: "correlateBatches, running statistics, per batch (Bun)",
    runner: "bun",
    key: "stream",
    versus: "numpy-f64",
  },
  {
    label: "ONNX Runtime wasm backend, `backend.run`, float32 input, 1 thread (Deno)",
    runner: "deno",
    key: "onnx-wasm",
    versus: "numpy-f32",
  },
  {
    label: "ONNX Runtime wasm backend, `backend.run`, float32 input, 1 thread (Bun)",
    runner: "bun",
    key: "onnx-wasm",
    versus: "numpy-f32",
  },
  {
    label: "ONNX Runtime cpu backend (onnxruntime-node), `backend.run`, float32 input (Deno)",
    runner: "deno",
    key: "onnx-cpu",
    versus: "numpy-f32",
  },
  {
    label: "ONNX Runtime cpu backend (onnxruntime-node), `backend.run`, float32 input (Bun)",
    runner: "bun",
    key: "onnx-cpu",
    versus: "numpy-f32",
  },
];

function seconds(
  best: Record<RunnerName, Row[]>,
  runner: RunnerName,
  key: string,
  i: number,
): number {
  return best[runner][i]![key]!;
}

function buildTable(best: Record<RunnerName, Row[]>): string {
  const header = `| implementation | ${SIZES.map(sizeLabel).join(" | ")} |`;
  const rule = `|---|${SIZES.map(() => "---").join("|")}|`;
  const rows = TABLE.map((row) => {
    const cells = SIZES.map((size, i) => {
      if (best[row.runner][i]![row.key] === undefined) return row.note ?? "unavailable";
      const value = rate(size, seconds(best, row.runner, row.key, i));
      const reference = rate(size, seconds(best, "numpyBest", row.versus, i));
      const versus = row.versus === "numpy-f64" ? "np64" : "np32";
      return row.runner.startsWith("numpy")
        ? formatRate(value)
        : `${formatRate(value)} (${(value / reference).toFixed(2)}× ${versus})`;
    });
    return `| ${row.label} | ${cells.join(" | ")} |`;
  });
  return [header, rule, ...rows].join("\n");
}

/** The library's own rows, for the Bun-against-Deno goal. */
const LIBRARY_KEYS = [
  "default-f64",
  "default-f32",
  "fast-f32",
  "async-1",
  "async-auto",
  "kernel-f64",
  "typescript-f64",
  "stream",
];

/** Batches of this many elements (B·F·M) or more must gain 1.7× from both cores. */
const PARALLEL_GOAL_ELEMENTS = 4_000_000;

const runtimeLabel = (r: "deno" | "bun") => (r === "deno" ? "Deno" : "Bun");
const verdict = (met: boolean, worst: number) =>
  met ? "**met**" : `**missed** (worst ${worst.toFixed(2)}×)`;

/** Goal 5 from the CSV rows of `bench/INPUT_RESULTS.md` (another benchmark), if that file exists. */
function inputGoalLine(): string {
  const path = join(root, "bench/INPUT_RESULTS.md");
  if (!existsSync(path)) {
    return "- Goal 5, the drift monitor's CSV input at least as fast as polars: measured by `bench/INPUT_RESULTS.md` (another benchmark; not present in this checkout).";
  }
  // Rows: | input | size (MB) | reader | seconds | MB/s | peak RSS (MB) |, aligned or not.
  const seconds = new Map<string, number>();
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const cells = line.split("|").map((cell) => cell.trim());
    if (cells[1] === "CSV" && cells[4] !== undefined) seconds.set(cells[3]!, Number(cells[4]));
  }
  const polars = seconds.get("polars-csv + numpy");
  const runtimes = ["Deno", "Bun"].map((name) => [name, seconds.get(`monitor, ${name}`)] as const);
  if (polars === undefined || runtimes.some(([, time]) => time === undefined)) {
    return "- Goal 5, CSV input against polars: `bench/INPUT_RESULTS.md` has no CSV rows for monitor and polars.";
  }
  const ratios = runtimes.map(([name, time]) => [name, polars / time!] as const);
  const worst = Math.min(...ratios.map(([, ratio]) => ratio));
  return `- Goal 5, CSV input at least as fast as polars (from \`bench/INPUT_RESULTS.md\`, speed ratio, polars ${polars} s): ${
    ratios.map(([name, ratio]) => `${name} ${ratio.toFixed(2)}×`).join(", ")
  } → ${verdict(worst >= 1, worst)}`;
}

/** The fitted exponents of the scaling plot (goal 6), when `bench/scaling.ts` has run. */
function scalingGoalLine(): string {
  const path = join(root, "bench/SCALING.json");
  const plot = "[`bench/scaling.svg`](scaling.svg)";
  if (!existsSync(path)) {
    return `- Goal 6, cost growth: ${plot} and its table come from \`deno run -A bench/scaling.ts\` (not run yet).`;
  }
  const { fits } = JSON.parse(readFileSync(path, "utf8")) as {
    fits: { axis: string; series: string; exponent: number }[];
  };
  const text = ["B", "F", "M"].map((axis) =>
    `${axis}: ` +
    fits.filter((f) => f.axis === axis).map((f) => `${f.series} ${f.exponent.toFixed(2)}`).join(
      ", ",
    )
  ).join("; ");
  return `- Goal 6, cost growth: ${plot}, table in [\`bench/SCALING.md\`](SCALING.md); fitted exponents of time per batch — ${text}.`;
}

function goals(best: Record<RunnerName, Row[]>, mem: ReturnType<typeof memory>): string[] {
  const has = (runner: RunnerName, key: string, i: number) => best[runner][i]?.[key] !== undefined;
  const list = (f: (i: number) => number, indices = SIZES.map((_, i) => i)) =>
    indices.map((i) => `${sizeLabel(SIZES[i]!)} ${f(i).toFixed(2)}×`).join(", ");
  const lines: string[] = [];

  // 1. The default exact path on float32 input against numpy float32.
  for (const runtime of ["deno", "bun"] as const) {
    const f = (i: number) =>
      seconds(best, "numpyBest", "numpy-f32", i) / seconds(best, runtime, "default-f32", i);
    const worst = Math.min(...SIZES.map((_, i) => f(i)));
    lines.push(
      `- Goal 1, batchCorr on float32 input (float64 accumulation) ≥ numpy float32, ${
        runtimeLabel(runtime)
      } (speed ratio): ${list(f)} → ${verdict(worst >= 1, worst)}`,
    );
  }

  // 2. Both cores: batchCorrAsync on every core against one thread.
  for (const runtime of ["deno", "bun"] as const) {
    const measured = SIZES.map((_, i) => i).filter((i) =>
      has(runtime, "async-1", i) && has(runtime, "async-auto", i)
    );
    if (measured.length === 0) continue;
    const f = (i: number) =>
      seconds(best, runtime, "async-1", i) / seconds(best, runtime, "async-auto", i);
    const large = measured.filter((i) => {
      const { B, F, M } = SIZES[i]!;
      return B * F * M >= PARALLEL_GOAL_ELEMENTS;
    });
    const small = measured.filter((i) => !large.includes(i));
    const worstLarge = Math.min(...large.map(f));
    const worstSmall = Math.min(...small.map(f));
    lines.push(
      `- Goal 2, every core ≥ 1.7× one thread for ≥ 4M elements, never slower below, ${
        runtimeLabel(runtime)
      } (batchCorrAsync, time with \`threads: 1\` / with \`"auto"\`): ${list(f, large)} → ${
        verdict(worstLarge >= 1.7, worstLarge)
      }; small: ${list(f, small)} → ${
        worstSmall >= 0.95 ? "**met**" : `**missed** (${worstSmall.toFixed(2)}×)`
      } (below the threshold both take the same one-thread path; ±5% is noise)`,
    );
  }

  // 3. Bun within 1.2× of Deno on every library row.
  const bunParts = LIBRARY_KEYS.flatMap((key) => {
    const ratios = SIZES.map((_, i) => i).filter((i) => has("deno", key, i) && has("bun", key, i))
      .map((i) => seconds(best, "bun", key, i) / seconds(best, "deno", key, i));
    return ratios.length === 0 ? [] : [{ key, worst: Math.max(...ratios), ratios }];
  });
  const bunWorst = Math.max(...bunParts.map((p) => p.worst));
  lines.push(
    `- Goal 3, Bun within 1.2× of Deno on every library row (time Bun / Deno, worst size per row): ${
      bunParts.map((p) => `${p.key} ${p.worst.toFixed(2)}×`).join(", ")
    } → ${bunWorst <= 1.2 ? "**met**" : `**missed** (worst ${bunWorst.toFixed(2)}×)`}`,
  );

  // 4. Streaming within 10% of batchCorr alone on the same batches.
  for (const runtime of ["deno", "bun"] as const) {
    const f = (i: number) =>
      seconds(best, runtime, "stream", i) / seconds(best, runtime, "default-f64", i);
    const worst = Math.max(...SIZES.map((_, i) => f(i)));
    lines.push(
      `- Goal 4, correlateBatches (running statistics, \`output: "losses"\`) within 10% of batchCorr on the same float64 batches, ${
        runtimeLabel(runtime)
      } (time ratio): ${list(f)} → ${
        worst <= 1.1 ? "**met**" : `**missed** (worst ${worst.toFixed(2)}×)`
      }`,
    );
  }
  lines.push(inputGoalLine());
  lines.push(scalingGoalLine());

  const memText = (["deno", "bun"] as const).map((r) => {
    const { stream, kernel } = mem[r];
    const mb = (m: MemoryResult) =>
      `start ${m.startMiB.toFixed(0)}, after 500 batches ${
        m.warmMiB.toFixed(0)
      }, peak in the first half ${m.firstHalfPeakMiB.toFixed(0)}, in the second ${
        m.secondHalfPeakMiB.toFixed(0)
      }, end ${m.endMiB.toFixed(0)} MiB, ${(mem[r].batches / m.seconds).toFixed(0)} batches/s`;
    return `${runtimeLabel(r)}: correlateBatches ${mb(stream)}; bare kernel ${mb(kernel)}`;
  });
  const { B, F, M } = mem.deno.size;
  // A leak grows with the batch count: the second half's peak would exceed the first's.
  const growth = Math.max(
    ...(["deno", "bun"] as const).map((r) =>
      mem[r].stream.secondHalfPeakMiB - mem[r].stream.firstHalfPeakMiB
    ),
  );
  lines.push(
    `- Memory flat over a ${mem.deno.batches}-batch stream of ${B}×${F}×${M} (RSS, issue 7): ${
      memText.join(". ")
    } → ` +
      `${growth <= 4 ? "**met**" : "**missed**"} (the stream's second-half peak is ${
        growth.toFixed(1)
      } MiB above its first-half peak).`,
  );
  return lines;
}

function main(): void {
  const folder = mkdtempSync(join(tmpdir(), "batch-corr-bench-"));
  try {
    const loadBefore = loadavg();
    const cases = SIZES.map((size) => writeCase(size, folder));
    const { best, info } = measure(cases);
    const mem = memory();
    const loadAfter = loadavg();
    const table = buildTable(best);
    const goalLines = goals(best, mem);
    const text = [
      "# Benchmark results",
      "",
      "Produced by `deno task bench:compare` (`bench/compare.ts`); do not edit by hand.",
      "",
      `Million elements per second, elements = B·F·M, for (B, F, M); in brackets the ratio to numpy float64 (np64) or float32 (np32), ` +
      "taking numpy's faster configuration (default threads or one BLAS thread) in each column.",
      `Each cell is the best over ${rounds} interleaved rounds of the median of repeated runs (after a warm-up) on the same data.`,
      "",
      table,
      "",
      "## Goals (issue 14)",
      "",
      ...goalLines,
      "",
      "## Setup",
      "",
      `- Machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, shared; load average ${
        loadBefore.map((v) => v.toFixed(2)).join(" ")
      } before, ${loadAfter.map((v) => v.toFixed(2)).join(" ")} after.`,
      `- ${info.deno.runtime} and ${info.bun.runtime}; library kernel: ${info.deno.kernel} (Deno), ${info.bun.kernel} (Bun).`,
      `- numpy ${info.numpy.numpy}; BLAS: ${info.numpy.blas}; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for numpy.`,
      "- Library rows time the public `batchCorr(X, N)` (validation, kernel, correlation, threshold) on `{ data, shape }` input " +
      '(float32 rows: X and N as Float32Array, as numpy float32 gets them); the batchCorrAsync rows time the same call through the async API with `threads: 1` and `threads: "auto"` (worker pool, batches of 2^20 elements or more); ' +
      "the numpy rows time hypercoil's `batch_corr` formula (`pairedcorr` on `X.swapaxes(0, -1).reshape(-1, B)`, then the soft threshold).",
      '- The correlateBatches row is the per-batch time of one long-lived stream (`output: "losses"`, running statistics, each batch\'s own view and the running view with their losses), ' +
      "pulled 8 batches per timed run after a warm-up, so it is the stream's throughput; the streaming goal compares it with the bare `computeBatchMoments` row. " +
      "The ONNX rows time `backend.run(X, N)` (the whole batchCorr in a float32 graph) on float32 input, after a first call that creates the session; " +
      "`wasm` is onnxruntime-web on one thread, `cpu` is onnxruntime-node with its default intra-op threads (both cores).",
      "- Caveats: the machine is shared and noisy (see the load averages), so cells move by 2× between runs; compare within one run. " +
      "numpy float64 here is slower than in issue 7's table because its fresh temporaries (5-200 MB per call) pay first-touch page faults in this VM " +
      "(`x - x.mean()` alone measured 18 ms on a first call and 0.5 ms once the allocator reuses memory); the goal lines therefore also compare against the issue's own numpy figures.",
      "",
    ].join("\n");
    console.log(text);
    if (outPath !== "-") {
      writeFileSync(outPath, text);
      // The raw medians, so the table can be re-read or re-analysed without a rerun.
      writeFileSync(
        outPath.replace(/\.md$/, ".json"),
        JSON.stringify({ sizes: SIZES, best, info, memory: mem }, null, 1) + "\n",
      );
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

main();
