import { shiftFeaturesToFloat32, unshiftMeans } from "../../src/core/float32_shift.ts";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { batchCorr, batchCorrFloat32, defaultMomentsKernel, lastMomentsKernel } from "../../mod.ts";
import {
  computeBatchMomentsWith,
  type MomentsKernelRun,
} from "../../src/kernels/compute_batch_moments.ts";
import { main } from "../../src/cli/main.ts";
import { assertSameArray } from "../fuzz_support.ts";
import { probeBatch } from "./_kernel_fallback_probe.ts";

const PROBE = fileURLToPath(new URL("./_kernel_fallback_probe.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

interface ProbeMoments {
  count: number;
  meanX: number[];
  meanN: number[];
  m2X: number[];
  m2N: number[];
  comoment: number[];
}

interface ProbeResult {
  available: string;
  exactKernel: MomentsKernelRun;
  fastKernel: MomentsKernelRun;
  afterBatchCorr: MomentsKernelRun;
  exact: ProbeMoments;
  fast: ProbeMoments;
  r: number[];
}

/** Runs the probe in a fresh process of the runtime running the tests. */
function probe<T = ProbeResult>(mode: string): T {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  const [command, args] = deno !== undefined
    ? [deno.execPath(), ["run", "-A", PROBE, mode]]
    : [process.execPath, [PROBE, mode]];
  const run = spawnSync(command, args, { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout.trim().split("\n").at(-1)!) as T;
}

/**
 * What the float32 path's TypeScript fallback must give for float64 input: the
 * exact TypeScript kernel on the columns shifted by their first value and
 * rounded to float32, the shift added back to the means.
 */
function float32Fallback(x: Float64Array, n: Float64Array, B: number, F: number, M: number) {
  const shifted = shiftFeaturesToFloat32(x, B, F);
  const moments = computeBatchMomentsWith("typescript", shifted.values, n, B, F, M);
  return unshiftMeans(moments, shifted.reference, undefined);
}

/** Bit-for-bit equality of every field, reporting the first field and index that differ. */
function assertSameMoments(actual: ProbeMoments, expected: ProbeMoments, what: string): void {
  for (const key of ["meanX", "meanN", "m2X", "m2N", "comoment"] as const) {
    assertSameArray(actual[key], expected[key], `${what}.${key}`);
  }
}

describe("the batch kernel that ran is observable, and each fallback runs the TypeScript kernel", () => {
  const { x, n, B, F, M } = probeBatch();
  const typescript = computeBatchMomentsWith("typescript", x, n, B, F, M);
  const reference = batchCorr({ data: x, shape: [B, F] }, { data: n, shape: [M, B] }).data;

  test("here the WebAssembly SIMD kernel runs, and lastMomentsKernel says so after each call", () => {
    assert.equal(defaultMomentsKernel(), "wasm-simd");
    batchCorr([[1], [2], [4]], [1, 3, 2]);
    assert.equal(lastMomentsKernel(), "wasm-simd");
    batchCorrFloat32({ data: x, shape: [B, F] }, { data: n, shape: [M, B] });
    assert.equal(lastMomentsKernel(), "wasm-simd-float32");
    computeBatchMomentsWith("typescript", x, n, B, F, M);
    assert.equal(lastMomentsKernel(), "typescript");
  });

  test("without WebAssembly: the TypeScript kernel runs for the exact and the float32 paths, bit for bit", () => {
    const result = probe("no-wasm");
    assert.equal(result.available, "typescript");
    assert.deepEqual([result.exactKernel, result.fastKernel, result.afterBatchCorr], [
      "typescript",
      "typescript",
      "typescript",
    ]);
    assertSameMoments(result.exact, typescript as unknown as ProbeMoments, "exact");
    // The float32 path's else branch: the exact TypeScript kernel on the shifted float32 values.
    const float32 = float32Fallback(x, n, B, F, M);
    assertSameMoments(result.fast, float32 as unknown as ProbeMoments, "float32 fallback");
    assertSameArray(result.r, reference, "batchCorr r");
  });

  test("a batch that WebAssembly memory cannot grow to hold falls back to TypeScript, bit for bit", () => {
    const result = probe("no-memory");
    // The module instantiated: it is the batch that does not fit.
    assert.equal(result.available, "wasm-simd");
    assert.deepEqual([result.exactKernel, result.fastKernel], ["typescript", "typescript"]);
    assertSameMoments(result.exact, typescript as unknown as ProbeMoments, "exact");
    assertSameMoments(
      result.fast,
      float32Fallback(x, n, B, F, M) as never,
      "float32 fallback",
    );
  });

  test("the CLI report names the kernel that ran: WebAssembly SIMD here, TypeScript without WebAssembly", async () => {
    const dir = mkdtempSync(join(tmpdir(), "batch-corr-kernel-"));
    try {
      writeFileSync(join(dir, "in.csv"), "a,b,c\n1,2,3\n2,1,4\n3,5,2\n4,3,3\n5,6,1\n6,2,5\n");
      const report = join(dir, "report.html");
      const quiet = { write: () => {} };
      const io = { stdout: quiet, stderr: quiet, stdin: () => [], stderrIsTty: false };
      const args = ["monitor", join(dir, "in.csv"), "-c", "c", "-b", "3", "--report", report];
      assert.equal(await main(args, io as never), 0);
      const html = readFileSync(report, "utf8");
      assert.ok(html.includes("WebAssembly SIMD (float64)") && !html.includes("TypeScript"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const without = probe<{ code: number; kernels: string[] }>("cli");
    assert.deepEqual(without, { code: 0, kernels: ["TypeScript"] });
  });
});
