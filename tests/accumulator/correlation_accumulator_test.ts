import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  batchCorr,
  BatchCorrError,
  type BatchResult,
  correlateBatches,
  CorrelationAccumulator,
} from "../../mod.ts";
import { type BatchMoments, emptyMoments } from "../../src/core/batch_moments.ts";
import { copyMoments, mergeMoments, pinConstantMeans } from "../../src/core/moment_algebra.ts";
import { thresholdedFromMoments } from "../../src/core/correlation_view.ts";
import { computeBatchMoments } from "../../src/kernels/compute_batch_moments.ts";
import { emptyPreciseMoments, fillLowParts } from "../../src/core/precise_means.ts";
import { prepareBatch } from "../../src/core/prepare_batch.ts";
import { pearsonFromMoments, softThreshold } from "../../src/core/correlation_view.ts";
import { assertSameArray, concat, type Dense, maxAbsDiff } from "../fuzz_support.ts";
import { mulberry32 } from "../random.ts";
import { decayedCorrelations } from "../_weighted_reference.ts";

/** A batch whose features partly follow the confounds, so correlations are far from 0. */
function randomBatch(
  random: () => number,
  B: number,
  featureShape: number[],
  M: number,
): { x: Dense; n: Dense } {
  const F = featureShape.reduce((a, b) => a * b, 1);
  const n = new Float64Array(M * B).map(() => random() * 2 - 1);
  const x = new Float64Array(B * F);
  for (let b = 0; b < B; b++) {
    for (let f = 0; f < F; f++) x[b * F + f] = random() + (f % 3) * 0.4 * n[(f % M) * B + b]!;
  }
  return { x: { data: x, shape: [B, ...featureShape] }, n: { data: n, shape: [M, B] } };
}

function momentsOf(batch: { x: Dense; n: Dense }): BatchMoments {
  const B = batch.x.shape[0]!, F = batch.x.data.length / B, M = batch.n.shape[0]!;
  return computeBatchMoments(batch.x.data, batch.n.data, B, F, M);
}

/** Plain two-pass Pearson correlation of two columns, the float64 reference. */
function twoPassPearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let mx = 0, my = 0;
  for (let i = 0; i < x.length; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= x.length;
  my /= y.length;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < x.length; i++) {
    const dx = x[i]! - mx, dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}

describe("CorrelationAccumulator", () => {
  test("after k batches of random sizes the correlations equal batchCorr of the concatenation to 1e-10", () => {
    const random = mulberry32(11);
    for (const [featureShape, M] of [[[5], 1], [[3, 4], 2], [[2, 3, 2], 3]] as const) {
      const batches = Array.from(
        { length: 9 },
        () => randomBatch(random, 3 + Math.floor(random() * 30), [...featureShape], M),
      );
      const acc = new CorrelationAccumulator();
      for (const batch of batches) acc.update(batch.x, batch.n);
      const whole = concat(batches);
      for (const options of [{ abs: false }, { tol: "auto" as const }, { tol: 0.05, abs: false }]) {
        const expected = batchCorr(whole.x, whole.n, options);
        const actual = acc.correlations(options);
        assert.deepEqual(actual.shape, expected.shape);
        assert.equal(actual.tol, expected.tol);
        assert.ok(
          maxAbsDiff(actual.data, expected.data) <= 1e-10,
          `shape ${featureShape} options ${JSON.stringify(options)}`,
        );
      }
      assert.equal(acc.count, whole.x.shape[0]);
      assert.deepEqual(acc.featureShape, [...featureShape]);
    }
  });

  test("mergeMoments is associative and order independent on random splits", () => {
    const random = mulberry32(5);
    const batches = Array.from(
      { length: 6 },
      () => randomBatch(random, 2 + Math.floor(random() * 20), [7], 3),
    );
    const moments = batches.map(momentsOf);
    const reference = momentsOf(concat(batches));
    const leftFold = moments.reduce((state, m) => mergeMoments(state, m));
    const rightFold = moments.reduceRight((state, m) => mergeMoments(m, state));
    const tree = mergeMoments(
      mergeMoments(mergeMoments(moments[0]!, moments[1]!), moments[2]!),
      mergeMoments(moments[3]!, mergeMoments(moments[4]!, moments[5]!)),
    );
    for (let trial = 0; trial < 5; trial++) {
      const shuffled = [...moments].sort(() => random() - 0.5);
      const split = 1 + Math.floor(random() * 4);
      const a = shuffled.slice(0, split).reduce((s, m) => mergeMoments(s, m));
      const b = shuffled.slice(split).reduce((s, m) => mergeMoments(s, m));
      for (const candidate of [mergeMoments(a, b), mergeMoments(b, a), leftFold, rightFold, tree]) {
        assert.equal(candidate.count, reference.count);
        for (const key of ["meanX", "meanN", "m2X", "m2N", "comoment"] as const) {
          const scale = Math.max(1, ...Array.from(reference[key], Math.abs));
          assert.ok(maxAbsDiff(candidate[key], reference[key]) <= 1e-12 * scale, key);
        }
      }
    }
  });

  test("mergeMoments may write into one of its inputs", () => {
    const random = mulberry32(8);
    const precise = (m: BatchMoments) =>
      copyMoments(m, emptyPreciseMoments(m.features, m.confounds));
    const a = precise(momentsOf(randomBatch(random, 6, [4], 2)));
    const b = precise(momentsOf(randomBatch(random, 9, [4], 2)));
    const fresh = mergeMoments(a, b);
    // Storage without low parts gets the same high parts (the means rounded to float64).
    const plain = mergeMoments(a, b, emptyMoments(4, 2));
    assert.deepEqual(plain.meanX, fresh.meanX);
    assert.equal(plain.meanXLo, undefined);
    const b2 = precise(b);
    assert.deepEqual(mergeMoments(a, b2, b2), fresh);
    assert.deepEqual(mergeMoments(a, b, a), fresh);
  });

  test("merging shards equals one pass", () => {
    const random = mulberry32(21);
    const batches = Array.from(
      { length: 8 },
      () => randomBatch(random, 4 + Math.floor(random() * 10), [3, 2], 2),
    );
    const one = new CorrelationAccumulator();
    const shards = [
      new CorrelationAccumulator(),
      new CorrelationAccumulator(),
      new CorrelationAccumulator(),
    ];
    batches.forEach((batch, i) => {
      one.update(batch.x, batch.n);
      shards[i % 3]!.update(batch.x, batch.n);
    });
    const merged = new CorrelationAccumulator().merge(shards[2]!).merge(
      shards[0]!.merge(shards[1]!),
    );
    assert.equal(merged.count, one.count);
    assert.ok(
      maxAbsDiff(merged.correlations({ abs: false }).data, one.correlations({ abs: false }).data) <=
        1e-12,
    );
  });

  test("an exactly constant column keeps zero variance across batches of different sizes", () => {
    const acc = new CorrelationAccumulator();
    for (const B of [3, 7, 10, 5]) {
      const x = Array.from({ length: B }, (_, b) => [0.1, b * 0.3 + B]);
      const n = Array.from({ length: B }, (_, b) => [0.7, b % 2 + B * 0.01]);
      acc.update(x, [n.map((row) => row[0]!), n.map((row) => row[1]!)]);
    }
    const moments = acc.moments();
    assert.equal(moments.m2X[0], 0);
    assert.equal(moments.m2N[0], 0);
    assert.equal(moments.meanX[0], 0.1);
    assert.ok(moments.m2X[1]! > 0);
    const r = acc.correlations({ abs: false });
    assert.equal(r.zeroVarianceFeatures, 1);
    assert.equal(r.zeroVarianceConfounds, 1);
    assert.deepEqual(Array.from(r.data.subarray(0, 2)), [0, 0]);
    assert.ok(Number.isNaN(acc.correlations({ zeroVariance: "nan" }).data[0]));
  });

  test("the same constant is exactly preserved even though its batch means round", () => {
    // (0.1 + 0.1 + 0.1) / 3 is not 0.1: without pinning the mean, merging would leave residue.
    assert.notEqual((0.1 + 0.1 + 0.1) / 3, 0.1);
    const acc = new CorrelationAccumulator().update([[0.1], [0.1], [0.1]], [1, 2, 3]).update([
      [0.1],
      [0.1],
    ], [4, 6]);
    assert.equal(acc.moments().m2X[0], 0);
  });

  test("features 1e9 + noise and 1e-9 * noise keep the running correlation within 1e-8 of a two-pass computation", () => {
    const random = mulberry32(99);
    const batches = Array.from({ length: 12 }, () => {
      const B = 5 + Math.floor(random() * 40);
      const n = Float64Array.from({ length: B }, () => random());
      const x = new Float64Array(B * 2);
      for (let b = 0; b < B; b++) {
        const noise = random() - 0.5 + 0.3 * n[b]!;
        x[b * 2] = 1e9 + noise;
        x[b * 2 + 1] = 1e-9 * (random() - 0.5 + 0.5 * n[b]!);
      }
      return { x: { data: x, shape: [B, 2] }, n: { data: n, shape: [1, B] } };
    });
    const acc = new CorrelationAccumulator();
    for (const batch of batches) acc.update(batch.x, batch.n);
    const whole = concat(batches);
    const B = whole.x.shape[0]!;
    const column = (f: number) =>
      Float64Array.from({ length: B }, (_, b) => whole.x.data[b * 2 + f]!);
    const r = acc.correlations({ abs: false }).data;
    // A float64 mean of 1e9 + noise is good to 6e-8 only; the state keeps its
    // rounding error as a low part (double-double), so merging loses nothing.
    // (Before that, this seed was off by 1.1e-8, and up to 2.7e-8 over 200 seeds.)
    assert.ok(Math.abs(r[0]! - twoPassPearson(column(0), whole.n.data)) <= 1e-8);
    assert.ok(Math.abs(r[1]! - twoPassPearson(column(1), whole.n.data)) <= 1e-8);
    assert.ok(Math.abs(r[0]!) > 0.1 && Math.abs(r[1]!) > 0.1);
  });

  test("a snapshot restored from JSON or bytes gives identical results after more batches", () => {
    const random = mulberry32(3);
    const first = Array.from(
      { length: 4 },
      () => randomBatch(random, 5 + Math.floor(random() * 9), [2, 3, 2], 2),
    );
    const more = Array.from(
      { length: 3 },
      () => randomBatch(random, 5 + Math.floor(random() * 9), [2, 3, 2], 2),
    );
    const original = new CorrelationAccumulator();
    for (const batch of first) original.update(batch.x, batch.n);
    const fromText = CorrelationAccumulator.fromJSON(JSON.stringify(original));
    const fromObject = CorrelationAccumulator.fromJSON(original.toJSON());
    const fromBytes = CorrelationAccumulator.fromBytes(original.toBytes(), {
      featureShape: [2, 3, 2],
      confounds: 2,
    });
    for (const restored of [original, fromText, fromObject, fromBytes]) {
      for (const batch of more) restored.update(batch.x, batch.n);
    }
    const expected = original.correlations({ tol: "auto", abs: false });
    for (const restored of [fromText, fromObject, fromBytes]) {
      assert.deepEqual(restored.correlations({ tol: "auto", abs: false }), expected);
      assert.deepEqual(restored.moments(), original.moments());
    }
  });

  test("an empty accumulator round-trips with its partial shape", () => {
    const empty = new CorrelationAccumulator({ confounds: 2 });
    for (
      const restored of [
        CorrelationAccumulator.fromJSON(JSON.stringify(empty)),
        CorrelationAccumulator.fromBytes(empty.toBytes()),
      ]
    ) {
      assert.equal(restored.count, 0);
      assert.equal(restored.featureShape, undefined);
      assert.equal(restored.confounds, 2);
      assert.throws(() => restored.update([[1], [2]], [1, 2]), TypeError);
    }
  });

  test("a failed update leaves the state exactly as it was", () => {
    const random = mulberry32(17);
    const acc = new CorrelationAccumulator();
    const batch = randomBatch(random, 8, [3], 1);
    acc.update(batch.x, batch.n);
    const before = acc.toBytes();
    const nan = randomBatch(random, 8, [3], 1);
    nan.x.data[5] = Number.NaN;
    assert.throws(
      () => acc.update(nan.x, nan.n),
      (e) => e instanceof RangeError && /finite/.test(e.message) && /\[1, 2\]/.test(e.message),
    );
    const wide = randomBatch(random, 8, [4], 1);
    assert.throws(
      () => acc.update(wide.x, wide.n),
      (e) => e instanceof TypeError && /\[3\]/.test(e.message) && /\[4\]/.test(e.message),
    );
    const twoConfounds = randomBatch(random, 8, [3], 2);
    assert.throws(
      () => acc.update(twoConfounds.x, twoConfounds.n),
      (e) => e instanceof TypeError && /confounds/.test(e.message),
    );
    assert.throws(() => acc.update([[1e300, 0, 0], [-1e300, 0, 1]], [1, 2]), RangeError);
    assert.deepEqual(acc.toBytes(), before);
  });

  test("the means' merge overflowing float64 is refused without touching the state", () => {
    const acc = new CorrelationAccumulator().update([[1e160], [1e160]], [1, 2]);
    const before = acc.toBytes();
    assert.throws(
      () => acc.update([[-1e160], [-1e160]], [1, 3]),
      (e) => e instanceof RangeError && /float64 range/.test(e.message),
    );
    assert.deepEqual(acc.toBytes(), before);
  });

  test("updateMoments merges a backend's moments as update would", () => {
    const random = mulberry32(31);
    const batches = Array.from({ length: 3 }, () => randomBatch(random, 10, [2, 2], 2));
    const direct = new CorrelationAccumulator();
    const viaMoments = new CorrelationAccumulator();
    for (const batch of batches) {
      direct.update(batch.x, batch.n);
      viaMoments.updateMoments(momentsOf(batch), [2, 2]);
    }
    assert.deepEqual(viaMoments.correlations({ abs: false }), direct.correlations({ abs: false }));
    const bad = momentsOf(batches[0]!);
    bad.m2X[1] = -1;
    assert.throws(() => viaMoments.updateMoments(bad), RangeError);
    assert.throws(() => viaMoments.updateMoments(momentsOf(batches[0]!), [4]), TypeError);
  });

  test("updateMoments refuses moments no batch could have: a comoment beyond √m2X·√m2N (zero variance included), a fractional or inexact count", () => {
    const good = {
      count: 3,
      features: 1,
      confounds: 1,
      meanX: new Float64Array([2]),
      meanN: new Float64Array([4]),
      m2X: new Float64Array([1]),
      m2N: new Float64Array([1]),
      comoment: new Float64Array([1]),
    };
    const refuses = (moments: BatchMoments, pattern: RegExp): void => {
      const acc = new CorrelationAccumulator();
      assert.throws(
        () => acc.updateMoments(moments),
        (e) => e instanceof RangeError && pattern.test(e.message),
      );
      assert.equal(acc.count, 0);
    };
    refuses({ ...good, comoment: new Float64Array([50]) }, /\|comoment\| ≤ √m2X·√m2N/);
    refuses(
      { ...good, m2X: new Float64Array([0]), comoment: new Float64Array([1e-3]) },
      /moments\.comoment must satisfy .*: current value is 0\.001 at index 0/,
    );
    refuses({ ...good, count: 2.5 }, /moments\.count must be a whole number of samples/);
    refuses({ ...good, count: 2 ** 53 }, /at most 2\^53 − 1/);
    const acc = new CorrelationAccumulator().updateMoments(good);
    assert.equal(acc.correlations().data[0], 1);
  });

  test("merging batch states one by one with a decay weights each batch decay per later batch", () => {
    const random = mulberry32(22);
    for (const decay of [1, 0.9, 0.5, 1e-3]) {
      const batches = Array.from(
        { length: 6 },
        () => randomBatch(random, 3 + Math.floor(random() * 12), [4], 3),
      );
      const decayed = new CorrelationAccumulator();
      for (const batch of batches) {
        decayed.merge(new CorrelationAccumulator().update(batch.x, batch.n), { decay });
      }
      const reference = decayedCorrelations(batches, decay);
      assert.ok(
        maxAbsDiff(decayed.correlations({ abs: false, tol: 0 }).data, reference.r) <= 1e-12,
        `decay ${decay}`,
      );
      assert.ok(Math.abs(decayed.effectiveCount / reference.effectiveCount - 1) <= 1e-12);
      // The other state is read, never changed.
      const other = new CorrelationAccumulator().update(batches[0]!.x, batches[0]!.n);
      const before = other.toJSON();
      decayed.merge(other, { decay });
      assert.deepEqual(other.toJSON(), before);
    }
  });

  test("merge options are checked: decay in (0, 1], own known keys only", () => {
    const a = new CorrelationAccumulator().update([[1], [2], [4]], [1, 3, 2]);
    const b = new CorrelationAccumulator().update([[3], [5], [4]], [2, 4, 5]);
    const before = a.toJSON();
    for (const decay of [0, -1, 1.0000001, Number.NaN, Infinity]) {
      assert.throws(
        () => a.merge(b, { decay }),
        (e: Error) =>
          e instanceof RangeError && e.message.includes("options.decay") &&
          e.message.includes("(0, 1]") && e.message.includes(String(decay)),
      );
    }
    assert.throws(() => a.merge(b, { decay: "0.5" as never }), TypeError);
    assert.throws(() => a.merge(b, { weight: 0.5 } as never), /known keys \(decay\)/);
    assert.deepEqual(a.toJSON(), before);
    // An inherited decay is not an option.
    assert.equal(a.clone().merge(b, Object.create({ decay: 0.5 })).count, 6);
    // An empty other changes nothing, the decay included.
    assert.deepEqual(a.merge(new CorrelationAccumulator(), { decay: 0.5 }).toJSON(), before);
  });

  test("merging an accumulator into itself is refused; merging its clone doubles it on purpose", () => {
    const a = new CorrelationAccumulator().update([[1], [2], [4]], [1, 3, 2]);
    const before = a.toJSON();
    assert.throws(
      () => a.merge(a),
      (e) =>
        e instanceof BatchCorrError && e.code === "invalid_merge" &&
        /merging one into itself counts each of its 3 samples twice/.test(e.message),
    );
    assert.deepEqual(a.toJSON(), before);
    const clone = a.clone();
    assert.equal(a.merge(clone).count, 6);
    // The clone shares nothing: merging changed a, not the clone.
    assert.equal(clone.count, 3);
    assert.deepEqual(clone.toJSON(), before);
  });

  test("a merge or update whose count would pass 2^53 − 1 is refused and leaves the state as it was", () => {
    const nearLimit = CorrelationAccumulator.fromJSON({
      ...new CorrelationAccumulator().update([[1], [2], [4]], [1, 3, 2]).toJSON(),
      count: 2 ** 53 - 2,
      weightSquares: 2 ** 53 - 2,
    });
    const before = nearLimit.toJSON();
    for (
      const grow of [
        () => nearLimit.update([[1], [2]], [1, 2]),
        () => nearLimit.merge(new CorrelationAccumulator().update([[1], [2]], [1, 2])),
      ]
    ) {
      assert.throws(
        grow,
        (e) =>
          e instanceof BatchCorrError && e.code === "resource_limit" &&
          /merged count must be at most 2\^53 − 1/.test(e.message),
      );
      assert.deepEqual(nearLimit.toJSON(), before);
    }
    assert.equal(nearLimit.update([[7]], [1]).count, 2 ** 53 - 1);
  });

  test("correlations need samples, and enough of them for tol auto", () => {
    assert.throws(() => new CorrelationAccumulator().correlations(), RangeError);
    const small = new CorrelationAccumulator().update([[1], [2]], [2, 1]);
    assert.throws(
      () => small.correlations({ tol: "auto" }),
      (e) => e instanceof RangeError && /at least 3/.test(e.message),
    );
    assert.throws(() => new CorrelationAccumulator({ confounds: 0 }), RangeError);
    assert.throws(() => new CorrelationAccumulator({ shape: [2] } as never), TypeError);
  });

  test("clone is independent", () => {
    const a = new CorrelationAccumulator().update([[1], [2], [4]], [1, 3, 2]);
    const b = a.clone();
    b.update([[9], [1]], [2, 7]);
    assert.equal(a.count, 3);
    assert.equal(b.count, 5);
  });
});

describe("CorrelationAccumulator snapshots", () => {
  const acc = new CorrelationAccumulator().update([[1, 2], [2, 1], [4, 4], [3, 0]], [[1, 3, 2, 5], [
    0,
    1,
    1,
    0,
  ]]);
  const snapshot = acc.toJSON();

  function rejects(
    input: unknown,
    pattern: RegExp,
    expected?: { featureShape?: number[]; confounds?: number },
  ): void {
    assert.throws(
      () => CorrelationAccumulator.fromJSON(input, expected),
      (e) =>
        e instanceof BatchCorrError && e.code === "invalid_snapshot" && pattern.test(e.message),
    );
  }

  test("every number is finite and the JSON is versioned", () => {
    assert.equal(snapshot.format, "batch-corr/accumulator");
    assert.equal(snapshot.version, 2);
    assert.deepEqual(snapshot.featureShape, [2]);
    const numbers = [
      snapshot.count,
      snapshot.weightSquares,
      ...snapshot.meanX,
      ...snapshot.meanN,
      ...snapshot.meanXLo,
      ...snapshot.meanNLo,
      ...snapshot.m2X,
      ...snapshot.m2N,
      ...snapshot.comoment,
    ];
    assert.ok(numbers.every(Number.isFinite));
  });

  test("a wrong version or format is refused", () => {
    rejects({ ...snapshot, version: 3 }, /version must be 1 or 2: current value is 3/);
    // A version 1 snapshot has no low parts: keeping them with version 1 is an extra key.
    rejects({ ...snapshot, version: 1 }, /extra key "meanXLo"/);
    rejects({ ...snapshot, format: "other" }, /format/);
    rejects("not json", /valid JSON/);
    rejects(null, /object/);
    rejects([1, 2], /object/);
  });

  test("a version 1 snapshot (no low parts) still restores, and is written back as version 2 with low parts 0", () => {
    // Written by batch-corr 0.1.0 after two batches of 1e9 + k/8 (x) and 1..5 (second feature).
    const v1JSON = {
      format: "batch-corr/accumulator",
      version: 1,
      featureShape: [2],
      confounds: 1,
      count: 5,
      weightSquares: 5,
      meanX: [1000000000, 2.2],
      meanN: [0.525],
      m2X: [0.5312499900658945, 14.8],
      m2N: [0.5125],
      comoment: [0.37500000695387525, -1.9000000000000001],
    };
    const v1Bytes = Uint8Array.from(
      atob(
        "QkNBUwEAAAABAAAAAQAAAAIAAAAAAAAAAAAAAAAAFEAAAAAAAAAUQAAAAABlzc1BmpmZmZmZAUDNzMzMzMzgP7yqqvr//+A/mpmZmZmZLUBmZmZmZmbgP3h3dwcAANg/Z2ZmZmZm/r8=",
      ),
      (c) => c.charCodeAt(0),
    );
    const fromJSON = CorrelationAccumulator.fromJSON(v1JSON);
    const fromBytes = CorrelationAccumulator.fromBytes(v1Bytes);
    assert.deepEqual(fromBytes.toBytes(), fromJSON.toBytes());
    const again = fromJSON.toJSON();
    assert.equal(again.version, 2);
    assert.deepEqual(again.meanXLo, [0, 0]);
    assert.deepEqual(again.meanNLo, [0]);
    const { meanXLo: _x, meanNLo: _n, ...rest } = again;
    assert.deepEqual({ ...rest, version: 1 }, v1JSON);
    // Version 2 bytes are version 1 bytes with the low parts after the means.
    const v2 = fromBytes.toBytes();
    assert.equal(v2.length, v1Bytes.length + 8 * 3);
    assert.equal(new DataView(v2.buffer).getUint32(4, true), 2);
    // Header 24 bytes, count, Σw², meanX (2), meanN (1), then meanXLo and meanNLo at bytes 64 to 88.
    assert.deepEqual(v2.subarray(8, 64), v1Bytes.subarray(8, 64));
    assert.deepEqual(v2.subarray(64, 88), new Uint8Array(24));
    assert.deepEqual(v2.subarray(88), v1Bytes.subarray(64));
    assert.equal(fromJSON.update([[1e9, 1], [1e9 + 0.5, 2]], [0.5, 1]).count, 7);
  });

  test("a low part that is not a mean's rounding error is refused", () => {
    const far = new CorrelationAccumulator().update([[1e9 + 0.25], [1e9 - 0.5]], [1, 2]).update([[
      1e9 + 0.125,
    ]], [3]);
    const json = far.toJSON();
    assert.ok(CorrelationAccumulator.fromJSON({ ...json, meanXLo: [json.meanX[0]! * 2 ** -41] }));
    rejects(
      { ...json, meanXLo: [json.meanX[0]! * 2 ** -39] },
      /meanXLo must be at most 2\^-40 times its mean/,
    );
    rejects(
      { ...json, meanNLo: [1] },
      /meanNLo must be at most 2\^-40 times its mean in magnitude .*: current value is 1 at index 0, with mean 2/,
    );
    rejects({ ...json, meanXLo: [Number.NaN] }, /meanXLo must be a finite number/);
    const { meanNLo: _dropped, ...missing } = json;
    rejects(missing, /must have the key "meanNLo"/);
    const bytes = far.toBytes();
    // Header 24 bytes, count, Σw², meanX, meanN, then meanXLo at byte 56.
    new DataView(bytes.buffer).setFloat64(56, 1e6, true);
    assert.throws(
      () => CorrelationAccumulator.fromBytes(bytes),
      (e) => e instanceof BatchCorrError && /meanXLo/.test(e.message),
    );
  });

  test("a wrong or inconsistent shape is refused", () => {
    rejects(snapshot, /featureShape must be \[3\]: current value is \[2\]/, { featureShape: [3] });
    rejects(snapshot, /confounds must be 1/, { confounds: 1 });
    rejects({ ...snapshot, featureShape: [3] }, /meanX must have length 3/);
    rejects({ ...snapshot, confounds: 3 }, /meanN must have length 3/);
    rejects({ ...snapshot, comoment: snapshot.comoment.slice(1) }, /comoment must have length 4/);
    rejects({ ...snapshot, featureShape: [0] }, /positive integers/);
    rejects({ ...snapshot, featureShape: null }, /length 0/);
  });

  test("non-finite or negative numbers are refused", () => {
    rejects(
      JSON.stringify(snapshot).replace(/"m2X":\[[^,\]]+/, '"m2X":[null'),
      /m2X must be a finite non-negative number/,
    );
    rejects({ ...snapshot, meanN: [Number.NaN, 0] }, /meanN/);
    rejects({ ...snapshot, m2N: [-1, 1] }, /m2N/);
    rejects({ ...snapshot, count: Number.POSITIVE_INFINITY }, /count/);
    rejects({ ...snapshot, weightSquares: 0 }, /weightSquares must be 0 exactly when count is 0/);
    rejects({ ...snapshot, count: "4" }, /count must be a number/);
  });

  test("extra, missing and __proto__ keys are refused without polluting prototypes", () => {
    rejects({ ...snapshot, extra: 1 }, /extra key "extra"/);
    const { comoment: _dropped, ...missing } = snapshot;
    rejects(missing, /must have the key "comoment"/);
    const text = JSON.stringify(snapshot).replace("{", '{"__proto__":{"polluted":true},');
    rejects(text, /__proto__/);
    const withOwnProto = JSON.parse(JSON.stringify(snapshot));
    Object.defineProperty(withOwnProto, "__proto__", {
      value: { polluted: true },
      enumerable: true,
    });
    rejects(withOwnProto, /__proto__/);
    rejects(
      JSON.stringify(snapshot).replace("{", '{"constructor":{"prototype":{"polluted":true}},'),
      /constructor/,
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    rejects(Object.assign(Object.create({ inherited: 1 }), snapshot), /plain object/);
  });

  test("a key the snapshot lacks is missing even when Object.prototype holds it, in JSON text and objects", () => {
    const proto = Object.prototype as Record<string, unknown>;
    for (const key of ["count", "comoment", "meanXLo", "version", "featureShape"] as const) {
      const { [key]: value, ...rest } = snapshot;
      proto[key] = value;
      try {
        rejects(rest, new RegExp(`must have the key "${key}"`));
        rejects(JSON.stringify(rest), new RegExp(`must have the key "${key}"`));
        const result = CorrelationAccumulator.safeFromJSON(rest);
        assert.ok(!result.success && result.error.code === "invalid_snapshot");
      } finally {
        delete proto[key];
      }
    }
  });

  test("updates, merges, moments and restores are the same whatever Object.prototype holds under meanXLo, meanNLo or success", () => {
    const run = () => {
      const a = new CorrelationAccumulator().update([[1, 2], [2, 1], [4, 4]], [1, 3, 2]);
      const b = new CorrelationAccumulator().update([[3, 0], [5, 2]], [4, 1]);
      a.updateMoments(b.moments()).merge(b);
      const c = CorrelationAccumulator.fromBytes(a.toBytes());
      return [a.toBytes(), c.toBytes(), CorrelationAccumulator.fromJSON(a.toJSON()).toBytes()];
    };
    const expected = run();
    const proto = Object.prototype as Record<string, unknown>;
    for (const key of ["meanXLo", "meanNLo", "success"]) {
      Object.defineProperty(proto, key, {
        value: Float64Array.of(0.5, 0.5),
        writable: true,
        configurable: true,
      });
      try {
        assert.deepEqual(run(), expected, key);
      } finally {
        delete proto[key];
      }
    }
  });

  test("a hole in an array is not a number even when Array.prototype holds one there", () => {
    const comoment: number[] = [...snapshot.comoment];
    delete comoment[1];
    const proto = Array.prototype as unknown as Record<string, unknown>;
    proto[1] = snapshot.comoment[1];
    try {
      rejects(
        { ...snapshot, comoment },
        /every element of comoment must be a finite number: current value is undefined at index 1/,
      );
    } finally {
      delete proto[1];
    }
  });

  test("each property of a snapshot object is read once: a getter cannot pass validation with one value and restore another", () => {
    let reads = 0;
    const m2X: number[] = [...snapshot.m2X];
    Object.defineProperty(m2X, 0, {
      get: () => reads++ === 0 ? snapshot.m2X[0] : -5,
      enumerable: true,
    });
    let countReads = 0;
    const changing = {
      ...snapshot,
      m2X,
      get count() {
        return countReads++ === 0 ? snapshot.count : 2 ** 60;
      },
    };
    const restored = CorrelationAccumulator.fromJSON(changing);
    assert.equal(reads, 1);
    assert.equal(countReads, 1);
    assert.deepEqual(restored.toBytes(), acc.toBytes());
  });

  test("a snapshot object whose property cannot be read is refused as invalid_snapshot; the safe twin does not throw", () => {
    const inputs = [
      Object.defineProperty({ ...snapshot }, "count", {
        get() {
          throw new Error("no count here");
        },
        enumerable: true,
      }),
      new Proxy({ ...snapshot }, {
        ownKeys() {
          throw new RangeError("trap");
        },
      }),
    ];
    for (const input of inputs) {
      rejects(input, /must be plain data whose properties can be read: current value is an object/);
      const result = CorrelationAccumulator.safeFromJSON(input);
      assert.ok(!result.success && /could not be read/.test(result.error.message));
    }
  });

  test("values that cannot be printed or that no data could produce are refused as invalid_snapshot", () => {
    rejects(
      { ...snapshot, meanN: [Object.create(null), 0] },
      /meanN must be a finite number: current value is an object at index 0/,
    );
    rejects({ ...snapshot, format: 1n }, /format must be/);
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    rejects({ ...snapshot, featureShape: cyclic }, /featureShape must be null or an array/);
    const bound = Math.sqrt(snapshot.m2X[0]!) * Math.sqrt(snapshot.m2N[0]!);
    rejects(
      { ...snapshot, comoment: [bound * 1.001, ...snapshot.comoment.slice(1)] },
      /\|comoment\| ≤ √m2X·√m2N/,
    );
    const bytes = acc.toBytes();
    new DataView(bytes.buffer).setFloat64(bytes.length - 32, -bound * 2, true);
    assert.throws(
      () => CorrelationAccumulator.fromBytes(bytes),
      (e) => e instanceof BatchCorrError && /comoment/.test(e.message),
    );
  });

  test("a comoment beside a zero sum of squares is refused (JSON, bytes, safe twins), so no later update turns it into |r| > 1", () => {
    const one = new CorrelationAccumulator().update([[1], [2], [3]], [1, 3, 2]);
    const base = one.toJSON();
    const cases = [
      { m2X: [0], m2N: [1], comoment: [1e6] },
      { m2X: [1], m2N: [0], comoment: [-1e-3] },
      { m2X: [0], m2N: [0], comoment: [1e-100] },
    ];
    for (const fields of cases) {
      const bad = { ...base, count: 10, weightSquares: 10, ...fields };
      rejects(bad, /\|comoment\| ≤ √m2X·√m2N .*: current value is .* at index 0, with bound/);
      const result = CorrelationAccumulator.safeFromJSON(bad);
      assert.ok(!result.success && result.error.code === "invalid_snapshot");
      // The same state in binary: count, Σw², then meanX, meanN, meanXLo, meanNLo, m2X, m2N, comoment.
      const bytes = one.toBytes();
      const view = new DataView(bytes.buffer);
      const at = bytes.length - 3 * 8;
      view.setFloat64(at, fields.m2X[0]!, true);
      view.setFloat64(at + 8, fields.m2N[0]!, true);
      view.setFloat64(at + 16, fields.comoment[0]!, true);
      const binary = CorrelationAccumulator.safeFromBytes(bytes);
      assert.ok(
        !binary.success && /comoment/.test(binary.error.message),
        JSON.stringify(fields),
      );
      assert.throws(() => CorrelationAccumulator.fromBytes(bytes), BatchCorrError);
    }
    // A genuine zero-variance state still restores: a constant column has a comoment of exactly 0.
    const constant = new CorrelationAccumulator().update([[5, 1], [5, 2], [5, 4]], [1, 3, 2]);
    const restored = CorrelationAccumulator.fromJSON(constant.toJSON());
    assert.deepEqual(restored.moments(), constant.moments());
    assert.equal(restored.update([[6, 0], [7, 3]], [4, 0]).correlations().data.length, 2);
  });

  test("a count above 2^53 − 1, where adding a sample no longer changes it, is refused", () => {
    for (const count of [2 ** 53, 2 ** 54, 1e300]) {
      rejects(
        { ...snapshot, count, weightSquares: count },
        /count must be at most 2\^53 − 1 .*: current value is/,
      );
    }
    const bytes = acc.toBytes();
    new DataView(bytes.buffer).setFloat64(24, 2 ** 54, true);
    new DataView(bytes.buffer).setFloat64(32, 2 ** 54, true);
    assert.throws(
      () => CorrelationAccumulator.fromBytes(bytes),
      (e) => e instanceof BatchCorrError && /count must be at most 2\^53/.test(e.message),
    );
    // The largest exact count still restores.
    const largest = { ...snapshot, count: 2 ** 53 - 1, weightSquares: 2 ** 53 - 1 };
    assert.equal(CorrelationAccumulator.fromJSON(largest).count, 2 ** 53 - 1);
  });

  test("weights above 1 or an effective count above the number of samples are refused", () => {
    // Σw² > Σw needs a weight above 1; the library's weights are 1, or decayed below it.
    rejects(
      { ...snapshot, weightSquares: 5 },
      /weightSquares \(Σw²\) must not exceed count \(Σw\)/,
    );
    // (Σw)² / Σw² = 16 / 1e-300: more effective samples than 2^53.
    rejects({ ...snapshot, weightSquares: 1e-300 }, /must be at least count² \/ \(2\^53 − 1\)/);
    // Decayed weights (each at most 1) keep Σw² ≤ Σw and restore.
    const decayed = { ...snapshot, count: 3.5, weightSquares: 3.25 };
    assert.equal(CorrelationAccumulator.fromJSON(decayed).effectiveCount, 3.5 ** 2 / 3.25);
  });

  test("a snapshot declaring more than expected.maxElements F·M entries is refused before allocating", () => {
    assert.throws(
      () => CorrelationAccumulator.fromJSON(snapshot, { maxElements: 3 }),
      (e) =>
        e instanceof BatchCorrError && e.code === "resource_limit" &&
        /F = 2 × M = 2 = 4/.test(e.message) && /expected\.maxElements/.test(e.message),
    );
    const bytes = acc.toBytes();
    new DataView(bytes.buffer).setUint32(16, 4_000_000_000, true);
    assert.throws(
      () => CorrelationAccumulator.fromBytes(bytes),
      (e) => e instanceof BatchCorrError && e.code === "resource_limit",
    );
    assert.equal(CorrelationAccumulator.fromJSON(snapshot, { maxElements: 4 }).count, 4);
  });

  test("corrupted bytes are refused", () => {
    const bytes = acc.toBytes();
    const fails = (b: Uint8Array, pattern: RegExp, expected?: { featureShape?: number[] }) =>
      assert.throws(
        () => CorrelationAccumulator.fromBytes(b, expected),
        (e) =>
          e instanceof BatchCorrError && e.code === "invalid_snapshot" && pattern.test(e.message),
      );
    fails(bytes.subarray(0, bytes.length - 1), /truncated/);
    fails(bytes.subarray(0, 10), /magic|truncated/);
    fails(new Uint8Array([...bytes, 0, 0, 0, 0, 0, 0, 0, 0]), /trailing data/);
    const badMagic = bytes.slice();
    badMagic[0] = 0;
    fails(badMagic, /magic/);
    const badVersion = bytes.slice();
    new DataView(badVersion.buffer).setUint32(4, 7, true);
    fails(badVersion, /version must be 1 or 2: current value is 7/);
    const hugeRank = bytes.slice();
    new DataView(hugeRank.buffer).setUint32(8, 1_000_000, true);
    fails(hugeRank, /truncated/);
    const nonFinite = bytes.slice();
    new DataView(nonFinite.buffer).setFloat64(nonFinite.length - 8, Number.NaN, true);
    fails(nonFinite, /comoment must be a finite number: current value is NaN at index 3/);
    fails(bytes, /featureShape must be \[5\]/, { featureShape: [5] });
    assert.throws(
      () => CorrelationAccumulator.fromBytes([1, 2] as never),
      (e) => e instanceof BatchCorrError,
    );
  });
});

/** Bit-for-bit equality, NaN and the sign of zero included (first differing index only). */
const assertSameBits = assertSameArray;

describe("the stream's fused passes give the unfused results bit for bit", () => {
  test("thresholdedFromMoments equals pearsonFromMoments, the row permutation, then softThreshold", () => {
    const random = mulberry32(11);
    for (const [featureShape, M] of [[[7], 1], [[3, 4], 1], [[5], 3], [[2, 3, 2], 2]] as const) {
      const { x, n } = randomBatch(random, 9, [...featureShape], M);
      const F = x.data.length / 9;
      for (let b = 0; b < 9; b++) x.data[b * F + 1] = 2.5; // a zero-variance feature
      const batch = prepareBatch(x, n, "test");
      const moments = computeBatchMoments(batch.x, batch.n, 9, F, M);
      for (const zeroVariance of ["zero", "nan"] as const) {
        for (const abs of [true, false]) {
          for (const tol of [0, 0.3]) {
            let raw = pearsonFromMoments(moments, zeroVariance);
            if (batch.order) {
              const permuted = new Float64Array(raw.length);
              batch.order.forEach((source, f) =>
                permuted.set(raw.subarray(source * M, source * M + M), f * M)
              );
              raw = permuted;
            }
            const expected = softThreshold(raw, tol, abs);
            const actual = thresholdedFromMoments(
              moments,
              batch.order,
              tol,
              abs,
              zeroVariance,
              new Float64Array(F * M),
            );
            assertSameBits(
              actual,
              expected,
              `${featureShape}/${M} ${zeroVariance} abs=${abs} tol=${tol}`,
            );
          }
        }
      }
    }
  });

  test("the accumulator's checked merge equals mergeMoments of the batches' moments", () => {
    const random = mulberry32(12);
    for (const M of [1, 3]) {
      const acc = new CorrelationAccumulator();
      const reference = emptyPreciseMoments(6, M);
      for (const B of [5, 8, 3]) {
        const { x, n } = randomBatch(random, B, [6], M);
        // Far from zero, so the means carry low parts; column 2 constant.
        for (let i = 0; i < x.data.length; i++) x.data[i] = i % 6 === 2 ? 0.1 : x.data[i]! + 1e6;
        acc.update(x, n);
        const batch = prepareBatch(x, n, "test");
        const moments = emptyPreciseMoments(6, M);
        computeBatchMoments(batch.x, batch.n, B, 6, M, moments);
        fillLowParts(pinConstantMeans(moments, batch), batch);
        mergeMoments(copyMoments(reference, emptyPreciseMoments(6, M)), moments, reference);
      }
      const state = acc.toJSON();
      assert.ok(state.meanXLo.some((lo) => lo !== 0), "the data exercise the low parts");
      assert.equal(state.count, reference.count);
      for (
        const key of ["meanX", "meanXLo", "meanN", "meanNLo", "m2X", "m2N", "comoment"] as const
      ) {
        assertSameBits(state[key], reference[key], `M=${M} ${key}`);
      }
    }
  });
});

describe("sums of squares below float64's normal range", () => {
  // Found by `npm run fuzz` (seed 20261129): three flipped bytes of a binary
  // snapshot made m2X[0] and m2N[0] subnormal beside a subnormal co-moment that
  // the Cauchy–Schwarz floor allows, and the restored state reported r = 111.
  const flipped = {
    format: "batch-corr/accumulator",
    version: 2,
    featureShape: [1, 2, 1],
    confounds: 3,
    count: 16,
    weightSquares: 16,
    meanX: [3, -0.5],
    meanN: [2, 0.5, 0],
    meanXLo: [0, 0],
    meanNLo: [0, 0, 0],
    m2X: [5.828236e-318, 100],
    m2N: [8.8537e-320, 150, 188],
    comoment: [7.9976343e-317, 0, 0, 0, 29, -25],
  };

  test("a restored subnormal sum of squares is zero variance: r stays in [-1, 1], the other pairs keep theirs", () => {
    for (
      const restore of [
        () => CorrelationAccumulator.fromJSON(flipped),
        () => CorrelationAccumulator.fromBytes(CorrelationAccumulator.fromJSON(flipped).toBytes()),
      ]
    ) {
      const state = restore();
      const r = state.correlations({ abs: false, tol: 0 });
      // Pearson's r of the pairs that keep a normal variance: C / √(M2x·M2n).
      const expected = [0, 0, 0, 0, 29 / Math.sqrt(100 * 150), -25 / Math.sqrt(100 * 188)];
      assert.ok(maxAbsDiff(r.data, expected) <= 1e-15, `${[...r.data]}`);
      assert.equal(r.zeroVarianceFeatures, 1);
      assert.equal(r.zeroVarianceConfounds, 1);
      assert.deepEqual(state.toJSON().m2X, [0, 100]);
      assert.deepEqual(state.toJSON().comoment, [0, 0, 0, 0, 29, -25]);
    }
  });

  test("a variance faded into subnormals by decay becomes zero variance, never |r| > 1, and the stream goes on", async () => {
    const random = mulberry32(41);
    const varying = () => Array.from({ length: 4 }, () => [random(), random()]);
    const n = () => Array.from({ length: 4 }, () => random());
    // Feature 0 and the confound vary in the first batch, then stay constant while feature 1
    // varies: their decayed variances halve each batch, past 2^-1022 after about 1030 batches.
    const batches = [{ x: varying(), n: n() }];
    for (let i = 0; i < 1100; i++) {
      batches.push({ x: varying().map(([, b]) => [0.25, b!]), n: [0.5, 0.5, 0.5, 0.5] });
    }
    batches.push({ x: varying(), n: n() });
    let last: BatchResult | undefined;
    for await (const result of correlateBatches(batches, { decay: 0.5, tol: 0, output: "full" })) {
      for (const v of result.window!.correlations!.data) {
        assert.ok(Math.abs(v) <= 1, `|r| = ${Math.abs(v)} at batch ${result.index}`);
      }
      if (result.index === 1100) {
        assert.equal(
          result.window!.correlations!.zeroVarianceConfounds,
          1,
          "faded to zero variance",
        );
      }
      last = result;
    }
    assert.ok(last!.window!.correlations!.data.every((v) => Number.isFinite(v)));
  });
});
