/**
 * Double-double means in the running state: data far from zero (1e9 + noise)
 * and tiny data (1e-9 · noise) give the running, window and decay
 * correlations to 1e-8 of an accurate float64 reference, over many seeds.
 *
 * The reference subtracts each column's first value before a weighted
 * two-pass computation: `v − v₀` is exact for values within a factor 2 of
 * each other (Sterbenz), so it sees the noise with all its digits.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { correlateBatches, CorrelationAccumulator } from "../../mod.ts";
import { computeBatchMoments } from "../../src/kernels/compute_batch_moments.ts";
import { emptyPreciseMoments, fillLowParts, LOW_PART_RISK } from "../../src/core/precise_means.ts";
import { prepareBatch } from "../../src/core/prepare_batch.ts";
import { mulberry32 } from "../random.ts";

/** One sample: features [1e9 + noise, 1e-9 · noise] and confounds [n, 1e9 + n]. */
interface Sample {
  x: [number, number];
  n: [number, number];
}

function makeBatches(seed: number, count = 12): Sample[][] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, () => {
    const B = 5 + Math.floor(random() * 40);
    return Array.from({ length: B }, (): Sample => {
      const n = random();
      return {
        x: [1e9 + (random() - 0.5 + 0.3 * n), 1e-9 * (random() - 0.5 + 0.5 * n)],
        n: [n, 1e9 + (n + 0.5 * random())],
      };
    });
  });
}

function toBatch(samples: Sample[]) {
  const B = samples.length;
  return {
    x: { data: Float64Array.from(samples.flatMap((s) => s.x)), shape: [B, 2] },
    n: {
      data: Float64Array.from([...samples.map((s) => s.n[0]), ...samples.map((s) => s.n[1])]),
      shape: [2, B],
    },
  };
}

/** Weighted Pearson r of feature f with confound m, two-pass on data shifted by their first values. */
function shiftedPearson(samples: Sample[], weights: number[], f: number, m: number): number {
  const x0 = samples[0]!.x[f]!, n0 = samples[0]!.n[m]!;
  const xs = samples.map((s) => s.x[f]! - x0), ns = samples.map((s) => s.n[m]! - n0);
  let w = 0, mx = 0, mn = 0;
  weights.forEach((wi, i) => {
    w += wi;
    mx += wi * xs[i]!;
    mn += wi * ns[i]!;
  });
  mx /= w;
  mn /= w;
  let sxn = 0, sxx = 0, snn = 0;
  weights.forEach((wi, i) => {
    const dx = xs[i]! - mx, dn = ns[i]! - mn;
    sxn += wi * dx * dn;
    sxx += wi * dx * dx;
    snn += wi * dn * dn;
  });
  return sxn / Math.sqrt(sxx * snn);
}

/** The largest |r − reference| over the (F, M) = (2, 2) entries. */
function worstError(r: Float64Array, samples: Sample[], weights: number[]): number {
  let worst = 0;
  for (let f = 0; f < 2; f++) {
    for (let m = 0; m < 2; m++) {
      worst = Math.max(worst, Math.abs(r[f * 2 + m]! - shiftedPearson(samples, weights, f, m)));
    }
  }
  return worst;
}

const SEEDS = 50;
const WINDOW = 4, DECAY = 0.8;

type View = "running" | "window" | "decay";

/** The largest error of a view over every batch of a seed's stream. */
async function streamError(seed: number, view: View): Promise<number> {
  const batches = makeBatches(seed);
  const options = view === "window" ? { window: WINDOW } : view === "decay" ? { decay: DECAY } : {};
  let worst = 0, k = 0;
  for await (
    const result of correlateBatches(batches.map(toBatch), { ...options, tol: 0, abs: false })
  ) {
    const seen = batches.slice(view === "window" ? Math.max(0, k - WINDOW + 1) : 0, k + 1);
    const weights = seen.flatMap((batch, i) =>
      batch.map(() => view === "decay" ? DECAY ** (seen.length - 1 - i) : 1)
    );
    const r = (view === "running" ? result.running : result.window!).correlations!.data;
    worst = Math.max(worst, worstError(r, seen.flat(), weights));
    k++;
  }
  return worst;
}

describe("double-double means", () => {
  test(`1e9 + noise and 1e-9 · noise: the accumulator's r is within 1e-8 of a shifted two-pass reference over ${SEEDS} seeds`, () => {
    let worst = 0;
    for (let seed = 0; seed < SEEDS; seed++) {
      const batches = makeBatches(seed);
      const acc = new CorrelationAccumulator();
      for (const batch of batches) acc.update(toBatch(batch).x, toBatch(batch).n);
      const samples = batches.flat();
      worst = Math.max(
        worst,
        worstError(acc.correlations({ abs: false }).data, samples, samples.map(() => 1)),
      );
    }
    // Measured 9e-16 with low parts; 3.3e-8 without (bench/precision_offset.ts).
    assert.ok(worst <= 1e-8, `worst |r − reference| ${worst}`);
  });

  for (const view of ["running", "window", "decay"] as const) {
    test(`1e9 + noise streamed: the ${view} view is within 1e-8 of a direct weighted computation after every batch, over ${SEEDS} seeds`, async () => {
      let worst = 0;
      for (let seed = 0; seed < SEEDS; seed++) {
        worst = Math.max(worst, await streamError(seed, view));
      }
      assert.ok(worst <= 1e-8, `worst |r − reference| ${worst}`);
    });
  }

  test("shards merged in any order and a snapshot resumed mid-stream keep that precision", () => {
    const batches = makeBatches(7, 9).map(toBatch);
    const samples = makeBatches(7, 9).flat();
    const left = new CorrelationAccumulator(), right = new CorrelationAccumulator();
    batches.forEach((batch, i) => (i % 2 === 0 ? left : right).update(batch.x, batch.n));
    const merged = right.clone().merge(left);
    const ones = samples.map(() => 1);
    assert.ok(worstError(merged.correlations({ abs: false }).data, samples, ones) <= 1e-8);

    const first = new CorrelationAccumulator();
    batches.slice(0, 5).forEach((batch) => first.update(batch.x, batch.n));
    const fromJSON = CorrelationAccumulator.fromJSON(JSON.stringify(first));
    const fromBytes = CorrelationAccumulator.fromBytes(first.toBytes());
    assert.deepEqual(fromJSON.toBytes(), first.toBytes());
    assert.deepEqual(fromBytes.toBytes(), first.toBytes());
    for (const acc of [first, fromJSON, fromBytes]) {
      batches.slice(5).forEach((batch) => acc.update(batch.x, batch.n));
    }
    assert.deepEqual(fromJSON.toBytes(), first.toBytes());
    assert.deepEqual(fromBytes.toBytes(), first.toBytes());
    assert.ok(worstError(first.correlations({ abs: false }).data, samples, ones) <= 1e-8);
  });

  test("exactly representable 1e9 + k/8 data give the exact sums of squares and co-moment (0.1.0 was off by 1e-8 relative)", () => {
    const acc = new CorrelationAccumulator()
      .update([[1e9 + 0.25], [1e9 - 0.5], [1e9 + 0.125]], [0.5, 0.25, 1])
      .update([[1e9 + 0.375], [1e9 - 0.25]], [0.75, 0.125]);
    // Deviations from the mean 1e9: 0.25, -0.5, 0.125, 0.375, -0.25; from 0.525: -0.025, -0.275, 0.475, 0.225, -0.4.
    const m = acc.moments();
    assert.equal(m.meanX[0], 1e9);
    assert.ok(Math.abs(m.m2X[0]! - 0.53125) <= 1e-15);
    assert.ok(Math.abs(m.comoment[0]! - 0.375) <= 1e-15);
  });

  test("a constant column far from zero keeps exactly zero variance next to varying ones", () => {
    const acc = new CorrelationAccumulator();
    const random = mulberry32(3);
    for (const B of [3, 7, 10, 5]) {
      const x = Array.from({ length: B }, () => [1e9 + 0.1, 1e9 + random()]);
      acc.update(x, [
        Array.from({ length: B }, () => random()),
        Array.from({ length: B }, () => 2e9 + 0.3),
      ]);
    }
    const moments = acc.moments();
    assert.equal(moments.m2X[0], 0);
    assert.equal(moments.meanX[0], 1e9 + 0.1);
    assert.equal(moments.m2N[1], 0);
    assert.equal(moments.meanN[1], 2e9 + 0.3);
    assert.ok(moments.m2X[1]! > 0);
    const r = acc.correlations({ abs: false });
    assert.equal(r.zeroVarianceFeatures, 1);
    assert.equal(r.zeroVarianceConfounds, 1);
    assert.equal(acc.toJSON().meanXLo[0], 0);
  });

  test("low parts are the means' rounding errors, and exactly 0 for columns near zero or constant", () => {
    const random = mulberry32(12);
    const B = 37;
    // Columns: 1e9 + noise (low part), plain noise (none), a constant (none), just over the risk ratio (low part).
    const spread = 0.5;
    const x = new Float64Array(B * 4);
    for (let b = 0; b < B; b++) {
      x[b * 4] = 1e9 + random();
      x[b * 4 + 1] = random();
      x[b * 4 + 2] = 1e9 + 0.1;
      x[b * 4 + 3] = (b % 2 === 0 ? spread : -spread) + 2 * LOW_PART_RISK * spread +
        random() * 1e-3;
    }
    const n = Float64Array.from({ length: B }, () => random());
    const batch = prepareBatch({ data: x, shape: [B, 4] }, { data: n, shape: [B] }, "test", [
      "x",
      "n",
    ], 2 ** 27);
    const moments = emptyPreciseMoments(4, 1);
    computeBatchMoments(batch.x, batch.n, B, 4, 1, moments);
    fillLowParts(moments, batch);
    assert.equal(moments.meanXLo[1], 0);
    assert.equal(moments.meanXLo[2], 0);
    assert.equal(moments.meanNLo[0], 0);
    for (const f of [0, 3]) {
      // Exact: each x − x₀ is exact, and so (to 1e-16 of the spread) is their mean.
      const x0 = x[f]!;
      let shifted = 0;
      for (let b = 0; b < B; b++) shifted += x[b * 4 + f]! - x0;
      const exactOffset = shifted / B;
      const offset = (moments.meanX[f]! - x0) + moments.meanXLo[f]!;
      assert.ok(
        Math.abs(offset - exactOffset) <= 1e-15,
        `column ${f}: ${offset} vs ${exactOffset}`,
      );
      assert.ok(Math.abs(moments.meanXLo[f]!) <= Math.abs(moments.meanX[f]!) * 2 ** -50);
    }
    assert.notEqual(moments.meanXLo[0], 0);
  });

  test("updateMoments ignores low parts on the moments it is given", () => {
    const random = mulberry32(4);
    const batch = toBatch(makeBatches(9, 1)[0]!);
    const B = batch.x.shape[0]!;
    const plain = computeBatchMoments(batch.x.data, batch.n.data, B, 2, 2);
    const withLow = {
      ...plain,
      meanXLo: Float64Array.from([1e3, random()]),
      meanNLo: new Float64Array(2).fill(7),
    };
    const a = new CorrelationAccumulator().updateMoments(plain).updateMoments(plain);
    const b = new CorrelationAccumulator().updateMoments(withLow).updateMoments(withLow);
    assert.deepEqual(b.toBytes(), a.toBytes());
  });
});
