/**
 * Memory benchmark of `batch-corr monitor`: generates a large CSV (200 MB by
 * default), streams it through the CLI in a subprocess of the current runtime,
 * and samples the child's resident memory from /proc while it runs. Flat
 * memory means the RSS after the first few percent of the file stays put while
 * the rest is read.
 *
 * Run: `deno run -A bench/cli_memory.ts [megabytes]` or `bun bench/cli_memory.ts [megabytes]` (Linux).
 *
 * @module
 */

import { spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { driftDataLines } from "../src/cli/input/drift_data.ts";
import { scriptCommand } from "./_script_command.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const megabytes = Number(process.argv[2] ?? 200);
const BATCH = 500;
const FEATURES = 16;

async function writeCsv(path: string, targetBytes: number): Promise<number> {
  // About 19 bytes per value: size the number of batches from one sample row.
  const sample = [
    ...driftDataLines({
      batches: 1,
      batchSize: 2,
      features: FEATURES,
      driftBatch: 0,
      strength: 0.5,
      seed: 1,
    }, "csv"),
  ];
  const rowBytes = sample[1]!.length;
  const batches = Math.max(2, Math.ceil(targetBytes / rowBytes / BATCH));
  const out = createWriteStream(path);
  let buffer = "";
  for (
    const line of driftDataLines({
      batches,
      batchSize: BATCH,
      features: FEATURES,
      driftBatch: Math.floor(batches / 2),
      strength: 0.6,
      seed: 9,
    }, "csv")
  ) {
    buffer += line;
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) {
        await new Promise<void>((resolve) => out.once("drain", () => resolve()));
      }
      buffer = "";
    }
  }
  out.write(buffer);
  await new Promise<void>((resolve) => out.end(() => resolve()));
  return batches;
}

function readStatus(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string) =>
      Number(text.match(new RegExp(`${key}:\\s+(\\d+) kB`))?.[1] ?? Number.NaN);
    return { rss: kb("VmRSS") * 1024, hwm: kb("VmHWM") * 1024 };
  } catch {
    return undefined;
  }
}

const dir = mkdtempSync(join(tmpdir(), "batch-corr-bench-"));
try {
  const file = join(dir, "big.csv");
  let started = performance.now();
  const batches = await writeCsv(file, megabytes * 1e6);
  const size = statSync(file).size;
  console.log(
    `generated ${
      (size / 1e6).toFixed(1)
    } MB, ${batches} batches of ${BATCH} rows, ${FEATURES} features, in ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s`,
  );

  const [command, prefix] = scriptCommand("cli.ts");
  started = performance.now();
  const child = spawn(command, [
    ...prefix,
    "monitor",
    file,
    "-c",
    "c",
    "-b",
    String(BATCH),
    "-w",
    "20",
    "--format",
    "ndjson",
  ], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let lines = 0;
  child.stdout.on("data", (chunk: Buffer) => {
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
  });
  const samples: { t: number; progress: number; rss: number }[] = [];
  let peak = 0;
  const timer = setInterval(() => {
    const status = readStatus(child.pid!);
    // A process that is exiting has no memory lines left: skip that sample.
    if (!status || !Number.isFinite(status.hwm) || !Number.isFinite(status.rss)) return;
    peak = Math.max(peak, status.hwm);
    samples.push({ t: performance.now() - started, progress: lines / batches, rss: status.rss });
  }, 100);
  const code: number | null = await new Promise((resolve) => child.on("close", resolve));
  clearInterval(timer);
  const seconds = (performance.now() - started) / 1000;
  const at = (fraction: number) => samples.find((s) => s.progress >= fraction)?.rss;
  const mib = (
    bytes: number | undefined,
  ) => (bytes === undefined ? "n/a" : `${(bytes / 2 ** 20).toFixed(1)} MiB`);
  console.log(
    `monitor exited ${code} after ${seconds.toFixed(1)} s: ${lines} batches, ${
      (size / 1e6 / seconds).toFixed(1)
    } MB/s`,
  );
  console.log(
    `RSS at 10% ${mib(at(0.1))}, 50% ${mib(at(0.5))}, 90% ${mib(at(0.9))}; peak RSS (VmHWM) ${
      mib(peak)
    }`,
  );
  console.log(
    JSON.stringify({
      runtime: command,
      fileBytes: size,
      batches: lines,
      seconds,
      peakRssBytes: peak,
      rssAt10: at(0.1),
      rssAt50: at(0.5),
      rssAt90: at(0.9),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
