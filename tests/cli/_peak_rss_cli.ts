/**
 * Runs the CLI in this process and then reports on standard error its peak
 * resident memory and the most heap it held live (`peak-rss-kb N
 * live-heap-kb M`), for the memory tests of `cli_hostile_test.ts`. The live
 * heap is sampled after a full garbage collection every 1000 writes to
 * standard output (a batch each), so it counts what the run keeps, not the
 * garbage the collector has yet to free. Run it with
 * `deno run -A --v8-flags=--expose-gc tests/cli/_peak_rss_cli.ts …` or
 * `bun tests/cli/_peak_rss_cli.ts …`.
 *
 * @module
 */

import { existsSync, readFileSync } from "node:fs";
import process from "node:process";
import { processIo } from "../../src/cli/cli_io.ts";
import { main } from "../../src/cli/main.ts";

const runtime = globalThis as { gc?: () => void; Bun?: { gc(full: boolean): void } };

function collect(): void {
  if (runtime.Bun !== undefined) runtime.Bun.gc(true);
  else if (runtime.gc !== undefined) runtime.gc();
  else throw new Error("no garbage collector to call: run Deno with --v8-flags=--expose-gc");
}

/** The heap in use, in bytes (JSC's own figure under Bun, whose heapUsed can read 0). */
async function heapInUse(): Promise<() => number> {
  if (runtime.Bun === undefined) return () => process.memoryUsage().heapUsed;
  const specifier = "bun:jsc";
  const jsc = await import(specifier) as { heapStats(): { heapSize: number } };
  return () => jsc.heapStats().heapSize;
}

/**
 * The peak RSS of this process in KiB: VmHWM where /proc has it, since a
 * forked child's getrusage maximum still counts its parent's pages.
 */
function peakRssKb(): number {
  if (existsSync("/proc/self/status")) {
    const match = /VmHWM:\s*(\d+)/.exec(readFileSync("/proc/self/status", "utf8"));
    if (match) return Number(match[1]);
  }
  return process.resourceUsage().maxRSS;
}

const used = await heapInUse();
let liveHeap = 0;
let writes = 0;
const io = processIo();
const stdout = io.stdout;
io.stdout = {
  write(text: string) {
    if (++writes % 1000 === 0) {
      collect();
      liveHeap = Math.max(liveHeap, used());
    }
    return stdout.write(text);
  },
};
const code = await main(process.argv.slice(2), io);
process.stderr.write(`\npeak-rss-kb ${peakRssKb()} live-heap-kb ${Math.round(liveHeap / 1024)}\n`);
process.exitCode = code;
