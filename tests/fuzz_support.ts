/**
 * Shared pieces of the property-based and fault-injection tests: run counts,
 * random batch sequences, concatenation (the slow reference is batchCorr of
 * every sample at once) and the documented-error predicate.
 */
import assert from "node:assert/strict";
import process from "node:process";
import fc from "fast-check";
import { BatchCorrError } from "../mod.ts";

/** Cases per property in CI; BATCHCORR_FUZZ_RUNS raises it for a local run. */
export const RUNS = Number(process.env.BATCHCORR_FUZZ_RUNS ?? 60);
export const SEED = 20261129;

export interface Dense {
  data: Float64Array;
  shape: number[];
}
export interface DenseBatch {
  x: Dense;
  n: Dense;
}

/** Magnitudes from subnormal to beyond the square root of float64's maximum. */
export const magnitude = fc.constantFrom(
  5e-324,
  1e-310,
  1e-200,
  1e-130,
  1e-9,
  1,
  1,
  1,
  1e9,
  1e150,
  1e160,
  1e300,
);

export interface BatchPlan {
  sizes: number[];
  seed: number;
  scale: number;
  offsetSteps: number;
  constantColumns: boolean;
  signedZeros: boolean;
}

export const planArbitrary = (maxBatches = 5): fc.Arbitrary<BatchPlan> =>
  fc.record({
    sizes: fc.array(fc.oneof(fc.constantFrom(1, 2, 3), fc.integer({ min: 1, max: 9 })), {
      minLength: 1,
      maxLength: maxBatches,
    }),
    seed: fc.integer(),
    scale: magnitude,
    offsetSteps: fc.constantFrom(0, 0, 1000),
    constantColumns: fc.boolean(),
    signedZeros: fc.boolean(),
  });

/**
 * Batches of small integers k in [-5, 5] times `scale` (plus an offset): exact
 * enough that every correlation is well defined, whatever the magnitude.
 */
export function makeBatches(plan: BatchPlan, featureShape: number[], M: number): DenseBatch[] {
  let state = plan.seed | 0;
  const nextInt = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) | 0;
    return ((state >>> 16) % 11) - 5;
  };
  const F = featureShape.reduce((a, b) => a * b, 1);
  const value = (k: number): number => {
    const v = (k + plan.offsetSteps) * plan.scale;
    return v === 0 && plan.signedZeros && nextInt() < 0 ? -0 : v;
  };
  return plan.sizes.map((B) => {
    const x = new Float64Array(B * F);
    for (let b = 0; b < B; b++) {
      for (let f = 0; f < F; f++) {
        x[b * F + f] = value(plan.constantColumns && f % 2 === 0 ? 3 : nextInt());
      }
    }
    const n = new Float64Array(M * B);
    for (let i = 0; i < n.length; i++) n[i] = plan.constantColumns && i < B ? 2 : nextInt();
    return { x: { data: x, shape: [B, ...featureShape] }, n: { data: n, shape: [M, B] } };
  });
}

/** Concatenates batches along the batch axis (x: first axis, n: last axis). */
export function concat(batches: readonly DenseBatch[]): DenseBatch {
  const featureShape = batches[0]!.x.shape.slice(1);
  const M = batches[0]!.n.shape[0]!;
  const B = batches.reduce((total, batch) => total + batch.x.shape[0]!, 0);
  const x = new Float64Array(batches.reduce((total, batch) => total + batch.x.data.length, 0));
  const n = new Float64Array(M * B);
  let rows = 0, offset = 0;
  for (const batch of batches) {
    const b = batch.x.shape[0]!;
    x.set(batch.x.data, offset);
    offset += batch.x.data.length;
    for (let m = 0; m < M; m++) n.set(batch.n.data.subarray(m * b, (m + 1) * b), m * B + rows);
    rows += b;
  }
  return { x: { data: x, shape: [B, ...featureShape] }, n: { data: n, shape: [M, B] } };
}

/** The largest absolute element-wise difference of two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** A TypeError or RangeError in the library's "Cannot … as … must …" form. */
export function isDocumentedError(error: unknown, context?: RegExp): boolean {
  const typed = error instanceof TypeError || error instanceof RangeError ||
    (error instanceof BatchCorrError &&
      (error.code === "resource_limit" || error.code === "invalid_snapshot"));
  if (!typed) return false;
  const message = (error as Error).message;
  return /^Cannot [a-z]/.test(message) && /must/.test(message) &&
    (context === undefined || context.test(message));
}

export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    assert.ok(Number.isFinite(a), `${what}[${i}] is ${a} in a result claiming validity`);
    assert.ok(Math.abs(a - e) <= tolerance, `${what}[${i}]: ${a} vs reference ${e}`);
  }
}

/**
 * Bit-for-bit equality of two numeric arrays (NaN equals NaN, -0 differs from
 * 0), failing on the first differing index with both values: never a diff of
 * the whole array, which `assert.deepEqual` builds and which takes minutes for
 * arrays of about 1e5 elements.
 *
 * @param actual The values computed.
 * @param expected The reference.
 * @param what What is compared, for the message.
 */
export function assertSameArray(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
): void {
  assert.ok(
    actual.length === expected.length,
    `${what}: length ${actual.length}, expected ${expected.length}`,
  );
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      assert.fail(
        `${what} first differs at index ${i} of ${expected.length}: ${actual[i]} !== ${
          expected[i]
        }`,
      );
    }
  }
}

/** No key was added to Object.prototype by anything the test did. */
export function assertNoPollution(): void {
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(
    Object.getOwnPropertyNames(Object.prototype).filter((k) => !BASE_PROTOTYPE_KEYS.has(k)),
    [],
  );
}
const BASE_PROTOTYPE_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));
