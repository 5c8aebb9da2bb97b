/**
 * Runs the batch kernel with WebAssembly taken away, in a process of its own
 * (the kernel instantiates once per process): `no-wasm` deletes the
 * `WebAssembly` global, `no-memory` makes `WebAssembly.Memory.grow` fail, so a
 * batch larger than the module's first page cannot be copied in. `cli` runs
 * `monitor --report` without WebAssembly. Prints one JSON line.
 */
import process from "node:process";

const mode = process.argv.at(-1);
if (mode === "no-wasm" || mode === "cli") {
  delete (globalThis as { WebAssembly?: unknown }).WebAssembly;
} else if (mode === "no-memory") {
  WebAssembly.Memory.prototype.grow = () => {
    throw new RangeError("WebAssembly.Memory.grow(): the probe refuses to grow");
  };
}

/** The batch every mode computes: B = 250, F = 64 (125 KiB of X, above the first 64 KiB page), M = 2. */
export function probeBatch(): {
  x: Float64Array;
  n: Float64Array;
  B: number;
  F: number;
  M: number;
} {
  const B = 250, F = 64, M = 2;
  let state = 12345;
  const next = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const n = Float64Array.from({ length: M * B }, () => next() * 2 - 1);
  const x = Float64Array.from(
    { length: B * F },
    (_, i) => 1e6 * (i % 3 === 0 ? 1 : 0) + next() + 0.5 * n[(i % F) % M * B + Math.floor(i / F)]!,
  );
  return { x, n, B, F, M };
}

async function main(): Promise<void> {
  if (mode === "cli") {
    const { main: cli } = await import("../../src/cli/main.ts");
    const { mkdtempSync, readFileSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "batch-corr-probe-"));
    writeFileSync(join(dir, "in.csv"), "a,b,c\n1,2,3\n2,1,4\n3,5,2\n4,3,3\n5,6,1\n6,2,5\n");
    const report = join(dir, "report.html");
    const quiet = { write: () => {} };
    const code = await cli([
      "monitor",
      join(dir, "in.csv"),
      "-c",
      "c",
      "-b",
      "3",
      "--report",
      report,
    ], {
      stdout: quiet,
      stderr: quiet,
      stdin: () => [],
      stderrIsTty: false,
    } as never);
    const html = readFileSync(report, "utf8");
    console.log(
      JSON.stringify({
        code,
        kernels: ["WebAssembly SIMD", "TypeScript"].filter((k) => html.includes(k)),
      }),
    );
    return;
  }
  const kernels = await import("../../src/kernels/compute_batch_moments.ts");
  const { batchCorr } = await import("../../mod.ts");
  const { x, n, B, F, M } = probeBatch();
  const exact = kernels.computeBatchMoments(x, n, B, F, M);
  const exactKernel = kernels.lastMomentsKernel();
  const fast = kernels.computeBatchMomentsFloat32(x, n, B, F, M);
  const fastKernel = kernels.lastMomentsKernel();
  const r = batchCorr({ data: x, shape: [B, F] }, { data: n, shape: [M, B] }).data;
  console.log(JSON.stringify({
    available: kernels.defaultMomentsKernel(),
    exactKernel,
    fastKernel,
    afterBatchCorr: kernels.lastMomentsKernel(),
    exact: {
      ...exact,
      meanX: [...exact.meanX],
      meanN: [...exact.meanN],
      m2X: [...exact.m2X],
      m2N: [...exact.m2N],
      comoment: [...exact.comoment],
    },
    fast: {
      ...fast,
      meanX: [...fast.meanX],
      meanN: [...fast.meanN],
      m2X: [...fast.m2X],
      m2N: [...fast.m2N],
      comoment: [...fast.comoment],
    },
    r: [...r],
  }));
}

if (mode === "no-wasm" || mode === "no-memory" || mode === "cli") await main();
