import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { POOL_TEST_ELEMENTS, usePoolFromTestSize } from "../_pool_threshold.ts";
import { type BatchResult, correlateBatches } from "../../mod.ts";
import { splitsAcrossThreads } from "../../src/kernels/compute_moments_parallel.ts";
import { mulberry32 } from "../random.ts";

usePoolFromTestSize();

function batches(count: number, B: number, F: number, M: number, seed: number) {
  const next = mulberry32(seed);
  return Array.from({ length: count }, (_, k) => ({
    x: { data: new Float64Array(B * F).map(() => next() + k * 0.1), shape: [B, F] },
    n: { data: new Float64Array(M * B).map(() => next()), shape: [M, B] },
  }));
}

async function run(source: unknown[], threads: "auto" | number, output: "full" | "losses") {
  const results: BatchResult[] = [];
  for await (const r of correlateBatches(source as never, { threads, output, window: 2 })) {
    results.push(structuredClone(r));
  }
  return results;
}

describe("correlateBatches with threads", () => {
  test("large batches split across threads give the same results as one thread, bit for bit", async () => {
    const B = 32, M = 2, F = Math.ceil(POOL_TEST_ELEMENTS / (B * M)) + 3;
    assert.ok(splitsAcrossThreads(B, F, M, 2));
    const source = batches(3, B, F, M, 4);
    for (const output of ["losses", "full"] as const) {
      const one = await run(source, 1, output);
      const many = await run(source, 2, output);
      assert.deepEqual(many, one, output);
    }
  });

  test("rejects a bad threads option, naming it", () => {
    assert.throws(
      () => correlateBatches([], { threads: 0 }),
      (error: Error) => error instanceof RangeError && /options\.threads/.test(error.message),
    );
    assert.throws(
      () => correlateBatches([], { threads: "many" as never }),
      (error: Error) => error instanceof TypeError && /options\.threads/.test(error.message),
    );
  });
});
