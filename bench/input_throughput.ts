/**
 * The drift monitor's input throughput on the same data as CSV, Arrow IPC
 * (file and stream) and Parquet, in Deno and Bun, against the Python peers of
 * `bench/columnar_peers.py` doing the same per-batch correlation: polars
 * `read_csv_batched`, pandas `read_csv(chunksize)`, `pyarrow.parquet`
 * `iter_batches` and pyarrow's IPC reader. Each run is timed as a whole
 * process (`/usr/bin/time`: wall seconds and peak RSS); the best of `--runs`
 * interleaved rounds is kept. Writes `bench/INPUT_RESULTS.md`.
 *
 * ```sh
 * deno run -A bench/input_throughput.ts --python /work/wt/venv/bin/python
 * ```
 *
 * @module
 */

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    python: { type: "string", default: "python3" },
    dir: { type: "string", default: "/tmp/batch-corr-input-bench" },
    batches: { type: "string", default: "500" },
    features: { type: "string", default: "200" },
    "batch-size": { type: "string", default: "100" },
    runs: { type: "string", default: "3" },
    out: { type: "string", default: "bench/INPUT_RESULTS.md" },
  },
});

const ROOT = new URL("..", import.meta.url).pathname;
const DENO = join(ROOT, "node_modules/.bin/deno");
const BUN = join(ROOT, "node_modules/.bin/bun");
const BATCH = values["batch-size"];
const RUNS = Number(values.runs);
const CSV = join(values.dir, "drift.csv");

/** One timed process: wall seconds and peak RSS in MB, or the reason it failed. */
interface Timing {
  seconds: number;
  rssMb: number;
}

function timed(command: string, args: readonly string[]): Timing {
  const run = spawnSync("/usr/bin/time", ["-f", "%e %M", command, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  const last = run.stderr.trim().split("\n").at(-1) ?? "";
  const match = /^([\d.]+) (\d+)$/.exec(last);
  if (run.status !== 0 || match === null) {
    throw new Error(
      `${command} ${args.join(" ")} failed (${run.status}): ${run.stderr.slice(-400)}`,
    );
  }
  return { seconds: Number(match[1]), rssMb: Number(match[2]) / 1024 };
}

function prepareInputs(): void {
  execFileSync("mkdir", ["-p", values.dir]);
  if (!existsSync(CSV)) {
    execFileSync(DENO, [
      "run",
      "-A",
      "cli.ts",
      "generate",
      "--features",
      values.features,
      "--batches",
      values.batches,
      "--batch-size",
      BATCH,
      "-o",
      CSV,
    ], { cwd: ROOT, stdio: "inherit" });
  }
  if (!existsSync(join(values.dir, "drift.parquet"))) {
    execFileSync(values.python, ["bench/columnar_data.py", CSV], { cwd: ROOT, stdio: "inherit" });
  }
}

interface Case {
  name: string;
  file: string;
  command: string;
  args: string[];
}

function monitorCase(runtime: "Deno" | "Bun", ext: string): Case {
  const file = join(values.dir, `drift.${ext}`);
  const monitor = ["monitor", file, "-c", "c", "-b", BATCH, "--format", "ndjson"];
  return runtime === "Deno"
    ? { name: `monitor, Deno`, file, command: DENO, args: ["run", "-A", "cli.ts", ...monitor] }
    : { name: `monitor, Bun`, file, command: BUN, args: ["cli.ts", ...monitor] };
}

function peerCase(peer: string, ext: string): Case {
  const file = join(values.dir, `drift.${ext}`);
  const args = ["bench/columnar_peers.py", peer, file, "--confounds", "c", "--batch-size", BATCH];
  return { name: `${peer} + numpy`, file, command: values.python, args };
}

function hasPandas(): boolean {
  return spawnSync(values.python, ["-c", "import pandas"]).status === 0;
}

const FORMATS = [
  { label: "CSV", ext: "csv", peers: ["polars-csv", ...(hasPandas() ? ["pandas-csv"] : [])] },
  { label: "Arrow IPC file", ext: "arrow", peers: ["pyarrow-ipc"] },
  { label: "Arrow IPC stream", ext: "arrows", peers: ["pyarrow-ipc"] },
  { label: "Parquet", ext: "parquet", peers: ["pyarrow-parquet"] },
];

function measure(): string[] {
  const rows: string[] = [];
  for (const format of FORMATS) {
    const cases = [
      monitorCase("Deno", format.ext),
      monitorCase("Bun", format.ext),
      ...format.peers.map((peer) => peerCase(peer, format.ext)),
    ];
    const best = cases.map(() => ({ seconds: Infinity, rssMb: 0 }));
    for (let round = 0; round < RUNS; round++) {
      cases.forEach((c, i) => {
        const t = timed(c.command, c.args);
        if (t.seconds < best[i]!.seconds) best[i] = t;
        process.stderr.write(
          `${format.label} ${c.name}: ${t.seconds} s, ${t.rssMb.toFixed(0)} MB\n`,
        );
      });
    }
    const size = statSync(cases[0]!.file).size / 1e6;
    const fastestPeer = Math.min(...best.slice(2).map((t) => t.seconds));
    cases.forEach((c, i) => {
      const t = best[i]!;
      const ratio = i < 2 ? ` (${(fastestPeer / t.seconds).toFixed(2)}× the fastest peer)` : "";
      rows.push(
        `| ${format.label} | ${size.toFixed(0)} | ${c.name} | ${t.seconds.toFixed(2)} | ` +
          `${(size / t.seconds).toFixed(0)}${ratio} | ${t.rssMb.toFixed(0)} |`,
      );
    });
  }
  return rows;
}

function versions(): string {
  const deno = execFileSync(DENO, ["--version"], { encoding: "utf8" }).split("\n")[0];
  const bun = execFileSync(BUN, ["--version"], { encoding: "utf8" }).trim();
  const py = execFileSync(values.python, [
    "-c",
    "import sys, numpy, polars, pyarrow; print(sys.version.split()[0], 'numpy', numpy.__version__, 'polars', polars.__version__, 'pyarrow', pyarrow.__version__)",
  ], { encoding: "utf8" }).trim();
  return `${deno}; Bun ${bun}; Python ${py}`;
}

prepareInputs();
const load = execFileSync("cat", ["/proc/loadavg"], { encoding: "utf8" }).trim();
const table = measure();
const loadAfter = execFileSync("cat", ["/proc/loadavg"], { encoding: "utf8" }).trim();
const text = `# Monitor input throughput

Produced by \`bench/input_throughput.ts\` (\`deno run -A bench/input_throughput.ts --python <venv>/bin/python\`); do not edit by hand.

The same ${values.batches}×${BATCH} rows of ${values.features} features and one confound (\`batch-corr generate --features ${values.features} --batches ${values.batches} --batch-size ${BATCH}\`), as CSV and, written by \`bench/columnar_data.py\` (pyarrow), as an Arrow IPC file, an Arrow IPC stream and Parquet (Snappy). Every row runs the same per-batch work on batches of ${BATCH} rows: the batch's and the running correlation of each feature with the confound (\`monitor --format ndjson\`, output to /dev/null; the Python peers of \`bench/columnar_peers.py\` compute the same moments with numpy). Whole processes, start-up included, timed with \`/usr/bin/time\`: the best wall time of ${RUNS} interleaved rounds, and the peak RSS of that run. MB/s counts the input file's bytes.

| input | size (MB) | reader | seconds | MB/s | peak RSS (MB) |
|---|---|---|---|---|---|
${table.join("\n")}

- ${versions()}.
- Load average before: ${load}; after: ${loadAfter} (2 shared cores: compare within this run).
`;
writeFileSync(join(ROOT, values.out), text);
console.log(text);
