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

/** The plan of a batch of columns far from zero (printed as is when a property fails). */
export interface OffsetColumnsPlan {
  B: number;
  F: number;
  M: number;
  /** |base|/spread and sign, cycled over the feature columns. */
  ratios: [number, boolean][];
  spreadExponent: number;
  confoundBase: number;
  float32: boolean;
  outlierFirst: boolean;
  seed: number;
}

/** A batch of columns far from zero relative to their spread (SPEC section 6). */
export interface OffsetColumnsCase {
  B: number;
  F: number;
  M: number;
  /** Features `(B, F)`: float32 input holds the same values rounded to float32. */
  x: Float64Array | Float32Array;
  /** Confounds `(M, B)`, float64, also offset. */
  n: Float64Array;
  /** base / spread of each feature column (signed). */
  ratios: number[];
}

/**
 * Plans of offset float32 columns: each feature is `base + spread·(u + c·n)`
 * with |base|/spread from 1e2 to 1e8 and both signs, spreads from 1e-6 to
 * 1e6, as float64 or as float32 input; the first sample is sometimes an
 * outlier (the worst case for a shift by the first value); the confounds are
 * offset too. A float32 graph fed these values unshifted keeps few or no
 * digits of the noise. Build the data with {@linkcode offsetColumns}.
 */
export const offsetColumnsArbitrary: fc.Arbitrary<OffsetColumnsPlan> = fc.record({
  B: fc.oneof(fc.integer({ min: 3, max: 12 }), fc.integer({ min: 13, max: 300 })),
  F: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 15, max: 40 })),
  M: fc.integer({ min: 1, max: 3 }),
  ratios: fc.array(fc.tuple(fc.constantFrom(1e2, 1e4, 1e5, 1e6, 1e7, 1e8), fc.boolean()), {
    minLength: 1,
    maxLength: 4,
  }),
  spreadExponent: fc.integer({ min: -6, max: 6 }),
  confoundBase: fc.constantFrom(0, 1e3, -1e6),
  float32: fc.boolean(),
  outlierFirst: fc.boolean(),
  seed: fc.integer(),
});

/**
 * The batch of a plan of {@linkcode offsetColumnsArbitrary}.
 *
 * @param plan The plan.
 * @returns The data.
 */
export function offsetColumns(plan: OffsetColumnsPlan): OffsetColumnsCase {
  const { B, F, M, ratios, spreadExponent, confoundBase, float32, outlierFirst, seed } = plan;
  let state = seed | 0;
  const uniform = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) | 0;
    return (state >>> 0) / 2 ** 32 - 0.5;
  };
  const spread = 10 ** spreadExponent;
  const n = new Float64Array(M * B);
  for (let i = 0; i < n.length; i++) n[i] = confoundBase + uniform();
  const columnRatios = Array.from({ length: F }, (_, f) => {
    const [ratio, negative] = ratios[f % ratios.length]!;
    return negative ? -ratio : ratio;
  });
  const x = new Float64Array(B * F);
  for (let f = 0; f < F; f++) {
    const coupling = ((f % 5) - 2) * 0.7;
    for (let b = 0; b < B; b++) {
      const driven = uniform() + coupling * (n[(f % M) * B + b]! - confoundBase);
      const outlier = outlierFirst && b === 0 ? 3 * Math.sqrt(B) : 0;
      x[b * F + f] = columnRatios[f]! * spread + spread * (driven + outlier);
    }
  }
  return { B, F, M, x: float32 ? new Float32Array(x) : x, n, ratios: columnRatios };
}

/**
 * Pearson r of every (feature, confound) pair, `(F, M)` row-major in natural
 * order, in float64 on the data shifted by each column's first value (exact
 * for values within a factor 2 of each other), two passes. Independent of the
 * library's kernels.
 */
export function shiftedPearson(
  x: ArrayLike<number>,
  n: ArrayLike<number>,
  B: number,
  F: number,
  M: number,
): Float64Array {
  const column = (at: (b: number) => number): Float64Array => {
    const first = at(0);
    const values = Float64Array.from({ length: B }, (_, b) => at(b) - first);
    const mean = values.reduce((s, v) => s + v, 0) / B;
    return values.map((v) => v - mean);
  };
  const dn = Array.from({ length: M }, (_, m) => column((b) => n[m * B + b]!));
  const r = new Float64Array(F * M);
  for (let f = 0; f < F; f++) {
    const dx = column((b) => x[b * F + f]!);
    const sxx = dx.reduce((s, v) => s + v * v, 0);
    for (let m = 0; m < M; m++) {
      let sxn = 0, snn = 0;
      for (let b = 0; b < B; b++) {
        sxn += dx[b]! * dn[m]![b]!;
        snn += dn[m]![b]! * dn[m]![b]!;
      }
      r[f * M + m] = sxx === 0 || snn === 0 ? 0 : sxn / Math.sqrt(sxx * snn);
    }
  }
  return r;
}
