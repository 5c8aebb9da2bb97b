import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { POOL_TEST_ELEMENTS, usePoolFromTestSize } from "../_pool_threshold.ts";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { type BatchMoments, emptyMoments } from "../../src/core/batch_moments.ts";
import { computeBatchMomentsWith } from "../../src/kernels/compute_batch_moments.ts";
import {
  closeWorkerPool,
  computeFlaggedMomentsAsync,
  splitsAcrossThreads,
  workerPoolProblem,
} from "../../src/kernels/compute_moments_parallel.ts";
import { computeFlaggedMomentsWith } from "../../src/kernels/compute_batch_moments.ts";
import { WorkerPool } from "../../src/kernels/_worker_pool.ts";
import { mulberry32 } from "../random.ts";

usePoolFromTestSize();

/** A batch just above the parallel threshold, with constant, offset and ordinary columns. */
function largeCase(B: number, M: number, seed: number, extra = 37) {
  const F = Math.ceil(POOL_TEST_ELEMENTS / (B * M)) + extra;
  const next = mulberry32(seed);
  const x = new Float64Array(B * F);
  for (let b = 0; b < B; b++) {
    for (let f = 0; f < F; f++) x[b * F + f] = next() * 2 - 1 + (f % 13) * 0.5;
    x[b * F] = 0.1; // constant, with rounding residue in its mean
    x[b * F + 5] = 1e9 + next(); // far from zero: the corrected two-pass
  }
  const n = new Float64Array(M * B).map(() => next() * 3);
  return { B, F, M, x, n };
}

function assertIdentical(a: BatchMoments, b: BatchMoments, label: string): void {
  for (const key of ["meanX", "m2X", "meanN", "m2N", "comoment"] as const) {
    const x = a[key], y = b[key];
    assert.equal(x.length, y.length);
    for (let i = 0; i < x.length; i++) {
      if (!Object.is(x[i], y[i])) {
        assert.fail(`${label}: ${key}[${i}] is ${y[i]}, one thread ${x[i]}`);
      }
    }
  }
}

describe("the kernel on the worker pool", () => {
  test("this runtime can split a batch across threads", () => {
    assert.equal(workerPoolProblem(), undefined);
  });

  for (const [B, M] of [[64, 1], [32, 8], [128, 3]] as const) {
    test(`moments of a batch of B = ${B}, M = ${M} are bit for bit those of one thread`, async () => {
      const c = largeCase(B, M, 1000 + B + M);
      assert.ok(splitsAcrossThreads(c.B, c.F, c.M, 2));
      for (const x of [c.x, new Float32Array(c.x)]) {
        const one = emptyMoments(c.F, c.M);
        const flaggedOne = computeFlaggedMomentsWith("wasm-simd", x, c.n, c.B, c.F, c.M, one);
        const typescript = computeBatchMomentsWith("typescript", x, c.n, c.B, c.F, c.M);
        const many = emptyMoments(c.F, c.M);
        const flagged = await computeFlaggedMomentsAsync(x, c.n, c.B, c.F, c.M, many, 2);
        const label = `(${c.B}, ${c.F}, ${c.M}) ${x.constructor.name}`;
        assertIdentical(one, many, label);
        assertIdentical(typescript, many, `${label} against the TypeScript kernel`);
        assert.deepEqual(Array.from(flagged), Array.from(flaggedOne));
        assert.ok(flagged.includes(0) && flagged.includes(5), "the constant and offset columns");
      }
    });
  }

  test("batches below the threshold, and threads: 1, stay on the calling thread", () => {
    assert.equal(splitsAcrossThreads(64, 100, 1, 2), false);
    assert.equal(splitsAcrossThreads(64, Math.ceil(POOL_TEST_ELEMENTS / 64), 1, 1), false);
    assert.equal(
      splitsAcrossThreads(POOL_TEST_ELEMENTS, 1, 1, 2),
      false,
      "F too small to split",
    );
  });

  test("without SharedArrayBuffer the batch runs on one thread and gives the same moments", async () => {
    await closeWorkerPool();
    const c = largeCase(64, 1, 77);
    const one = computeBatchMomentsWith("wasm-simd", c.x, c.n, c.B, c.F, c.M);
    const global = globalThis as { SharedArrayBuffer?: unknown };
    const saved = global.SharedArrayBuffer;
    global.SharedArrayBuffer = undefined;
    try {
      assert.match(workerPoolProblem() ?? "", /SharedArrayBuffer is unavailable/);
      assert.equal(splitsAcrossThreads(c.B, c.F, c.M, 2), false);
      const many = emptyMoments(c.F, c.M);
      await computeFlaggedMomentsAsync(c.x, c.n, c.B, c.F, c.M, many, 2);
      assertIdentical(one, many, "fallback");
    } finally {
      global.SharedArrayBuffer = saved;
    }
    assert.equal(workerPoolProblem(), undefined);
  });

  test("concurrent batches on the pool each get their own moments", async () => {
    const cases = [largeCase(64, 1, 5), largeCase(64, 2, 6, 101), largeCase(32, 8, 7, 3)];
    const results = await Promise.all(cases.map((c) => {
      const out = emptyMoments(c.F, c.M);
      return computeFlaggedMomentsAsync(c.x, c.n, c.B, c.F, c.M, out, 2).then(() => out);
    }));
    cases.forEach((c, i) => {
      const one = computeBatchMomentsWith("wasm-simd", c.x, c.n, c.B, c.F, c.M);
      assertIdentical(one, results[i]!, `concurrent case ${i}`);
    });
  });

  test("a pool whose workers have stopped runs nothing and says why", async () => {
    const pool = await WorkerPool.start(1);
    await pool.close();
    const c = largeCase(64, 1, 8);
    const out = emptyMoments(c.F, c.M);
    const centred = new Float64Array(c.M * c.B);
    const flagged = await pool.featureMoments(
      c.x,
      centred,
      c.B,
      c.F,
      c.M,
      out.meanX,
      out.m2X,
      out.comoment,
      2,
    );
    assert.equal(flagged, null);
    assert.match(pool.broken ?? "", /closed/);
  });

  test("an idle pool does not keep the process alive", () => {
    const script = new URL("./_scripts/pool_exit.ts", import.meta.url).pathname;
    const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
    const [command, args] = deno
      ? [deno.execPath(), ["run", "-A", script]]
      : [process.execPath, [script]];
    const run = spawnSync(command, args, { encoding: "utf8", timeout: 60_000 });
    assert.equal(run.signal, null, `the script did not exit by itself: ${run.stderr}`);
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout.trim().split("\n").pop()!);
    assert.deepEqual(report, {
      features: Math.ceil(POOL_TEST_ELEMENTS / 64) + 16,
      problem: null,
    });
  });
});
