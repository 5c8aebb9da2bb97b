/**
 * Cost growth (issue 14, goal 6): time per batch against B, F and M, each
 * over two decades with the other two held at (256, 4096, 4), for this
 * library in Deno and in Bun (`batchCorr` on float32 and on float64 input)
 * and numpy float32 and float64 running hypercoil's formula. Writes
 * `bench/SCALING.json` (the medians), `bench/scaling.svg` (log-log plot, one
 * panel per axis) and `bench/SCALING.md` (the fitted exponent of every
 * series on every axis, and the times).
 *
 *     deno run -A bench/scaling.ts            # measure, then plot (about 4 minutes)
 *     deno run -A bench/scaling.ts --plot     # re-plot bench/SCALING.json only
 *
 * Env: `SCALING_BUDGET` (seconds per measurement, default 0.3), `SCALING_ROUNDS`
 * (default 2: every runner runs that many times, interleaved, and each cell
 * keeps its best median), `BENCH_PYTHON` (default `python3`).
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { type Size, writeCase } from "./data.ts";

const root = new URL("../", import.meta.url).pathname;
const env = process.env;
const budget = Number(env.SCALING_BUDGET ?? 0.3);
const rounds = Number(env.SCALING_ROUNDS ?? 2);
const python = env.BENCH_PYTHON ?? "python3";
const bin = (name: string) => join(root, "node_modules/.bin", name);

/** The point every sweep passes through. */
const BASE: Size = { B: 256, F: 4096, M: 4 };
/** Two decades per axis, about 2.5× apart. */
const SWEEPS: Record<"B" | "F" | "M", number[]> = {
  B: [16, 40, 100, 256, 640, 1600],
  F: [256, 640, 1600, 4096, 10000, 25600],
  M: [1, 3, 6, 16, 40, 100],
};
type Axis = keyof typeof SWEEPS;

interface Series {
  /** Label in the plot and the table. */
  name: string;
  /** Which runner, and which of its keys. */
  runner: "deno" | "bun" | "numpy";
  key: string;
  color: string;
  dash?: string;
}

const SERIES: Series[] = [
  { name: "batchCorr float32 input, Deno", runner: "deno", key: "default-f32", color: "#1f77b4" },
  { name: "batchCorr float32 input, Bun", runner: "bun", key: "default-f32", color: "#ff7f0e" },
  {
    name: "batchCorr float64 input, Deno",
    runner: "deno",
    key: "default-f64",
    color: "#1f77b4",
    dash: "5,4",
  },
  {
    name: "batchCorr float64 input, Bun",
    runner: "bun",
    key: "default-f64",
    color: "#ff7f0e",
    dash: "5,4",
  },
  { name: "numpy float32 (sgemm)", runner: "numpy", key: "numpy-f32", color: "#2ca02c" },
  {
    name: "numpy float64 (dgemm)",
    runner: "numpy",
    key: "numpy-f64",
    color: "#2ca02c",
    dash: "5,4",
  },
];

interface Point extends Size {
  axis: Axis;
}

interface Measured {
  points: Point[];
  /** Seconds per batch: series name → one value per point. */
  seconds: Record<string, number[]>;
  setup: string;
}

interface Fit {
  axis: Axis;
  series: string;
  exponent: number;
}

function points(): Point[] {
  return (Object.keys(SWEEPS) as Axis[]).flatMap((axis) =>
    SWEEPS[axis].map((value) => ({ ...BASE, [axis]: value, axis }))
  );
}

function run(command: string, args: string[]): { results: Record<string, number>[] } {
  const result = spawnSync(command, args, { cwd: root, encoding: "utf8", maxBuffer: 64 * 2 ** 20 });
  if (result.status !== 0) {
    throw new Error(`${command} failed (${result.status}): ${result.stderr}`);
  }
  const lines = result.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!);
}

function measure(): Measured {
  const folder = mkdtempSync(join(tmpdir(), "batch-corr-scaling-"));
  const loadBefore = loadavg();
  try {
    const list = points();
    const cases = list.map((p) => writeCase(p, folder));
    const library = JSON.stringify({ cases, budget, only: ["default-f32", "default-f64"] });
    const numpy = JSON.stringify({ cases, repeats: 7 });
    const runners: Record<string, () => { results: Record<string, number>[] }> = {
      deno: () => run(bin("deno"), ["run", "-A", "bench/library_runner.ts", library]),
      bun: () => run(bin("bun"), ["bench/library_runner.ts", library]),
      numpy: () =>
        run("env", [
          "-u",
          "OPENBLAS_CORETYPE",
          "-u",
          "OPENBLAS_L2_SIZE",
          python,
          "bench/numpy_runner.py",
          numpy,
        ]),
      numpy1: () =>
        run("env", [
          "-u",
          "OPENBLAS_CORETYPE",
          "-u",
          "OPENBLAS_L2_SIZE",
          "OPENBLAS_NUM_THREADS=1",
          python,
          "bench/numpy_runner.py",
          numpy,
        ]),
    };
    const seconds: Record<string, number[]> = {};
    for (let round = 0; round < rounds; round++) {
      for (const [name, runner] of Object.entries(runners)) {
        console.error(`round ${round + 1}/${rounds}: ${name}`);
        const { results } = runner();
        for (const series of SERIES) {
          if (series.runner !== name.replace(/1$/, "")) continue;
          const kept = seconds[series.name] ?? list.map(() => Infinity);
          results.forEach((row, i) => (kept[i] = Math.min(kept[i]!, row[series.key]!)));
          seconds[series.name] = kept;
        }
      }
    }
    const loadAfter = loadavg();
    const setup = `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}; load average ${
      loadBefore.map((v) => v.toFixed(2)).join(" ")
    } before, ${
      loadAfter.map((v) => v.toFixed(2)).join(" ")
    } after; best of ${rounds} interleaved rounds of the median of repeated runs; numpy the faster of OpenBLAS's default threads and one thread`;
    return { points: list, seconds, setup };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** Least-squares slope of log(time) against log(parameter): the cost's exponent. */
function slope(xs: number[], ys: number[]): number {
  const lx = xs.map(Math.log), ly = ys.map(Math.log);
  const mx = lx.reduce((a, b) => a + b, 0) / lx.length;
  const my = ly.reduce((a, b) => a + b, 0) / ly.length;
  let num = 0, den = 0;
  lx.forEach((x, i) => {
    num += (x - mx) * (ly[i]! - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

function fits(data: Measured): Fit[] {
  return (Object.keys(SWEEPS) as Axis[]).flatMap((axis) => {
    const indices = data.points.flatMap((p, i) => (p.axis === axis ? [i] : []));
    return SERIES.map((series) => ({
      axis,
      series: series.name,
      exponent: slope(
        indices.map((i) => data.points[i]![axis]),
        indices.map((i) => data.seconds[series.name]![i]!),
      ),
    }));
  });
}

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toPrecision(2));

function svg(data: Measured, fitted: Fit[]): string {
  const panel = { width: 330, height: 300, left: 58, right: 12, top: 34, bottom: 46 };
  const legendHeight = 74;
  const width = panel.width * 3 + 20, height = panel.height + legendHeight + 10;
  const allMs = Object.values(data.seconds).flat().map((s) => s * 1000);
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...allMs)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...allMs)));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  (Object.keys(SWEEPS) as Axis[]).forEach((axis, k) => {
    const x0 = 10 + k * panel.width;
    const plotW = panel.width - panel.left - panel.right;
    const plotH = panel.height - panel.top - panel.bottom;
    const values = SWEEPS[axis];
    const xMin = values[0]!, xMax = values[values.length - 1]!;
    const px = (v: number) =>
      x0 + panel.left + (Math.log(v / xMin) / Math.log(xMax / xMin)) * plotW;
    const py = (ms: number) =>
      panel.top + plotH - (Math.log(ms / yMin) / Math.log(yMax / yMin)) * plotH;
    const others = (["B", "F", "M"] as Axis[]).filter((a) => a !== axis).map((a) =>
      `${a} = ${BASE[a]}`
    ).join(", ");
    parts.push(
      `<text x="${
        x0 + panel.left + plotW / 2
      }" y="16" text-anchor="middle" font-size="13" font-weight="bold">time per batch against ${axis}</text>`,
      `<text x="${
        x0 + panel.left + plotW / 2
      }" y="29" text-anchor="middle" fill="#555">${others}</text>`,
      `<rect x="${
        x0 + panel.left
      }" y="${panel.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
    );
    for (let decade = yMin; decade <= yMax; decade *= 10) {
      const y = py(decade);
      parts.push(
        `<line x1="${x0 + panel.left}" x2="${
          x0 + panel.left + plotW
        }" y1="${y}" y2="${y}" stroke="#ddd"/>`,
        `<text x="${x0 + panel.left - 4}" y="${y + 4}" text-anchor="end">${
          decade >= 1 ? decade : decade.toPrecision(1)
        } ms</text>`,
      );
    }
    for (const v of values) {
      const x = px(v);
      parts.push(
        `<line x1="${x}" x2="${x}" y1="${panel.top}" y2="${panel.top + plotH}" stroke="#eee"/>`,
        `<text x="${x}" y="${panel.top + plotH + 14}" text-anchor="middle">${v}</text>`,
      );
    }
    parts.push(
      `<text x="${x0 + panel.left + plotW / 2}" y="${
        panel.top + plotH + 32
      }" text-anchor="middle">${axis} (log scale)</text>`,
    );
    const indices = data.points.flatMap((p, i) => (p.axis === axis ? [i] : []));
    for (const series of SERIES) {
      const coords = indices.map((i) =>
        `${px(data.points[i]![axis]).toFixed(1)},${
          py(data.seconds[series.name]![i]! * 1000).toFixed(1)
        }`
      );
      parts.push(
        `<polyline points="${
          coords.join(" ")
        }" fill="none" stroke="${series.color}" stroke-width="1.8"${
          series.dash ? ` stroke-dasharray="${series.dash}"` : ""
        }/>`,
        ...coords.map((c) => {
          const [cx, cy] = c.split(",");
          return `<circle cx="${cx}" cy="${cy}" r="2.4" fill="${series.color}"/>`;
        }),
      );
    }
  });
  const legendTop = panel.height + 6;
  SERIES.forEach((series, i) => {
    const col = i % 3, row = Math.floor(i / 3);
    const x = 20 + col * 330, y = legendTop + row * 20;
    const exps = (Object.keys(SWEEPS) as Axis[]).map((axis) =>
      `${axis}^${
        fitted.find((f) => f.axis === axis && f.series === series.name)!.exponent.toFixed(2)
      }`
    ).join(" ");
    parts.push(
      `<line x1="${x}" x2="${
        x + 26
      }" y1="${y}" y2="${y}" stroke="${series.color}" stroke-width="2"${
        series.dash ? ` stroke-dasharray="${series.dash}"` : ""
      }/>`,
      `<text x="${x + 32}" y="${y + 4}">${series.name} (${exps})</text>`,
    );
  });
  parts.push(
    `<text x="20" y="${
      height - 8
    }" fill="#555">Log-log; the exponents in brackets are least-squares slopes of log time against log B, F, M. Generated by bench/scaling.ts.</text>`,
    "</svg>",
  );
  return parts.join("\n") + "\n";
}

function markdown(data: Measured, fitted: Fit[]): string {
  const axes = Object.keys(SWEEPS) as Axis[];
  const exponentRows = SERIES.map((series) =>
    `| ${series.name} | ${
      axes.map((axis) =>
        fitted.find((f) => f.axis === axis && f.series === series.name)!.exponent.toFixed(2)
      ).join(" | ")
    } |`
  );
  const timeTables = axes.map((axis) => {
    const indices = data.points.flatMap((p, i) => (p.axis === axis ? [i] : []));
    return [
      `### Time per batch (ms) against ${axis}`,
      "",
      `| series | ${indices.map((i) => `${axis} = ${data.points[i]![axis]}`).join(" | ")} |`,
      `|---|${indices.map(() => "---").join("|")}|`,
      ...SERIES.map((series) =>
        `| ${series.name} | ${
          indices.map((i) => fmt(data.seconds[series.name]![i]! * 1000)).join(" | ")
        } |`
      ),
    ].join("\n");
  });
  return [
    "# Cost growth",
    "",
    "Produced by `deno run -A bench/scaling.ts` (re-plot only: `--plot`); do not edit by hand.",
    "",
    "![time per batch against B, F and M](scaling.svg)",
    "",
    `Each sweep varies one of B, F, M over two decades with the others at B = ${BASE.B}, F = ${BASE.F}, M = ${BASE.M}. ` +
    "The exponent is the least-squares slope of log(time per batch) against log(parameter): 1 is linear growth, 0 a fixed cost.",
    "",
    "| series | exponent in B | exponent in F | exponent in M |",
    "|---|---|---|---|",
    ...exponentRows,
    "",
    ...timeTables.flatMap((t) => [t, ""]),
    `Setup: ${data.setup}.`,
    "",
  ].join("\n");
}

const jsonPath = join(root, "bench/SCALING.json");
const data: Measured = process.argv.includes("--plot")
  ? JSON.parse(readFileSync(jsonPath, "utf8"))
  : measure();
const fitted = fits(data);
writeFileSync(jsonPath, JSON.stringify({ ...data, fits: fitted }, null, 1) + "\n");
writeFileSync(join(root, "bench/scaling.svg"), svg(data, fitted));
writeFileSync(join(root, "bench/SCALING.md"), markdown(data, fitted));
console.log(markdown(data, fitted));
