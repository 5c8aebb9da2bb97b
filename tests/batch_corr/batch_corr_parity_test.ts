import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  batchCorr,
  BatchCorrelationLoss,
  max,
  mean,
  meansq,
  qcfc,
  QCFCLoss,
  type Scalarisation,
  type ScalarisationLike,
  sum,
  vnorm,
} from "../../mod.ts";
import type { TensorLike } from "../../src/core/tensor.ts";
import {
  decode,
  type DecodedArray,
  readFixture,
  SCALARISATION_KEYS,
  type ScalarisationKey,
  toNested,
  type ValueCase,
  type ValueFixtures,
} from "../fixture_loader.ts";

// Reference values from scripts/gen_fixtures.py: hypercoil's formulas in numpy
// float64, cross-checked under JAX. SPEC section 5 bounds.
const ABS_TOLERANCE = 1e-12;
const REL_TOLERANCE = 1e-12;

const fixtures = readFixture<ValueFixtures>("batch_corr.json");
const cases = fixtures.cases;

const SCALARISATIONS: Record<ScalarisationKey, Scalarisation> = {
  sum,
  mean,
  meansq,
  max,
  vnorm1: vnorm(1),
  vnorm2: vnorm(2),
  vnorm3: vnorm(3),
  vnormInf: vnorm(Infinity),
};

/**
 * The case's tensor in one of the accepted input forms, rotating with the case
 * id so every form meets every shape sooner or later.
 */
function asInput(array: DecodedArray, form: number): TensorLike {
  switch (form % 3) {
    case 0:
      return { data: array.data, shape: array.shape };
    case 1:
      return { data: Array.from(array.data), shape: array.shape };
    default:
      return toNested(array.data, array.shape);
  }
}

interface Decoded {
  c: ValueCase;
  X: TensorLike;
  N: TensorLike;
  r: Float64Array;
  thresholded: Float64Array;
  F: number;
  M: number;
}

const decoded: Decoded[] = cases.map((c) => {
  const r = decode(c.r);
  return {
    c,
    X: asInput(decode(c.x), c.id),
    N: asInput(decode(c.n), c.id + 1),
    r: r.data as Float64Array,
    thresholded: decode(c.thresholded).data as Float64Array,
    F: r.shape[0]!,
    M: r.shape[1]!,
  };
});

/** Largest absolute difference, failing on NaN anywhere. */
function maxAbsDiff(got: Float64Array, expected: Float64Array, label: string): number {
  assert.equal(got.length, expected.length, `${label}: length`);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i]! - expected[i]!);
    assert.ok(!Number.isNaN(d), `${label}: NaN at ${i} (got ${got[i]}, expected ${expected[i]})`);
    worst = Math.max(worst, d);
  }
  return worst;
}

/** Relative error of a loss against its scale; a zero scale demands exactly 0. */
function lossError(got: number, expected: number, scale: number, label: string): number {
  const diff = Math.abs(got - expected);
  if (scale === 0) {
    assert.equal(diff, 0, `${label}: expected exactly ${expected}, got ${got}`);
    return 0;
  }
  const relative = diff / scale;
  assert.ok(
    relative <= REL_TOLERANCE,
    `${label}: got ${got}, expected ${expected} (relative error ${relative})`,
  );
  return relative;
}

function report(what: string, value: number, bound: number): void {
  console.log(
    `parity: ${what} = ${value.toExponential(2)} (bound ${
      bound.toExponential(0)
    }) over ${cases.length} cases`,
  );
}

describe("batchCorr and qcfc match hypercoil's batch_corr (tests/fixtures/batch_corr.json)", () => {
  test("the fixtures cover what issue 2 asks for", () => {
    assert.ok(cases.length >= 200);
    const ranks = new Set(cases.map((c) => c.x.shape.length));
    assert.deepEqual([...ranks].sort(), [1, 2, 3, 4]);
    const batchSizes = cases.map((c) => c.x.shape[0]!);
    assert.equal(Math.min(...batchSizes), 3);
    assert.equal(Math.max(...batchSizes), 500);
    assert.deepEqual(new Set(decoded.map((d) => d.M)), new Set([1, 2, 3, 4]));
    assert.ok(
      cases.some((c) => c.n.shape.length === 1) &&
        cases.some((c) => c.n.shape.length === 2 && c.n.shape[0] === 1),
    );
    assert.ok(
      cases.some((c) => c.x.dtype === "float32") && cases.some((c) => c.x.dtype === "float64"),
    );
    assert.ok(
      cases.some((c) => c.options.tol === "auto") &&
        cases.some((c) => typeof c.options.tol === "number" && c.options.tol > 0),
    );
    assert.ok(
      cases.some((c) => c.options.abs === false) && cases.some((c) => c.options.abs === true),
    );
    assert.ok(
      cases.some((c) => c.special === "constant") && cases.some((c) => c.special === "huge"),
    );
  });

  test("raw correlations: batchCorr(X, N, { tol: 0, abs: false }) is Pearson r within 1e-12", () => {
    let worst = 0;
    for (const { c, X, N, r, F, M } of decoded) {
      const result = batchCorr(X, N, { tol: 0, abs: false });
      assert.deepEqual(result.shape, [F, M], c.name);
      worst = Math.max(worst, maxAbsDiff(result.data, r, c.name));
    }
    report("max |r − reference|", worst, ABS_TOLERANCE);
    assert.ok(worst <= ABS_TOLERANCE, `max |Δr| ${worst}`);
  });

  test("thresholded values, the tolerance used and the zero-variance counts match within 1e-12", () => {
    let worst = 0;
    let worstTol = 0;
    for (const { c, X, N, thresholded, F, M } of decoded) {
      const result = batchCorr(X, N, c.options);
      assert.deepEqual(result.shape, [F, M], c.name);
      worst = Math.max(worst, maxAbsDiff(result.data, thresholded, c.name));
      worstTol = Math.max(worstTol, Math.abs(result.tol - c.tolUsed));
      assert.equal(
        result.zeroVarianceFeatures,
        c.zeroVarianceFeatures,
        `${c.name}: zeroVarianceFeatures`,
      );
      assert.equal(
        result.zeroVarianceConfounds,
        c.zeroVarianceConfounds,
        `${c.name}: zeroVarianceConfounds`,
      );
    }
    report("max |thresholded − reference|", worst, ABS_TOLERANCE);
    report("max |tol − reference|", worstTol, ABS_TOLERANCE);
    assert.ok(worst <= ABS_TOLERANCE && worstTol <= ABS_TOLERANCE);
  });

  test("qcfc(fc, qc) returns exactly what batchCorr(X, N) returns", () => {
    for (const { c, X, N, thresholded } of decoded) {
      const viaQcfc = qcfc(X, N, c.options);
      assert.deepEqual(viaQcfc, batchCorr(X, N, c.options), c.name);
      assert.ok(maxAbsDiff(viaQcfc.data, thresholded, c.name) <= ABS_TOLERANCE, c.name);
    }
  });

  test('zeroVariance: "nan" gives hypercoil\'s NaN exactly on constant features and confounds', () => {
    const degenerate = decoded.filter((d) => d.c.special === "constant");
    assert.ok(degenerate.length >= 5);
    let worst = 0;
    for (const { c, X, N, thresholded, M } of degenerate) {
      assert.ok(c.zeroVarianceFeatures + c.zeroVarianceConfounds > 0, c.name);
      const result = batchCorr(X, N, { ...c.options, zeroVariance: "nan" });
      const nanRows = new Set(c.hypercoilNaN.features);
      const nanColumns = new Set(c.hypercoilNaN.confounds);
      for (let i = 0; i < result.data.length; i++) {
        const f = Math.floor(i / M), m = i % M;
        const got = result.data[i]!;
        if (nanRows.has(f) || nanColumns.has(m)) {
          assert.ok(Number.isNaN(got), `${c.name}: expected NaN at (${f}, ${m}), got ${got}`);
          assert.equal(thresholded[i], 0, `${c.name}: the default policy's value at (${f}, ${m})`);
        } else {
          worst = Math.max(worst, Math.abs(got - thresholded[i]!));
        }
      }
      assert.equal(result.zeroVarianceFeatures, c.zeroVarianceFeatures, c.name);
      assert.equal(result.zeroVarianceConfounds, c.zeroVarianceConfounds, c.name);
    }
    assert.ok(worst <= ABS_TOLERANCE, `max |Δ| off the NaN entries ${worst}`);
  });

  test("the 4-D feature order: output row (d·A + a)·C + c is X[:, a, c, d]", () => {
    const x = decode(fixtures.featureOrder.x);
    const n = decode(fixtures.featureOrder.n);
    const r = decode(fixtures.featureOrder.r);
    assert.deepEqual(x.shape, [7, 2, 3, 4]);
    const result = batchCorr(x, n, { abs: false });
    assert.deepEqual(result.shape, r.shape);
    assert.ok(maxAbsDiff(result.data, r.data as Float64Array, "feature order") <= ABS_TOLERANCE);
  });
});

describe("BatchCorrelationLoss, QCFCLoss and the scalarisations match nu · scalarisation(batch_corr)", () => {
  const scalarisationOption = (key: ScalarisationKey): ScalarisationLike =>
    key === "vnorm1" || key === "vnorm3" || key === "vnormInf"
      ? SCALARISATIONS[key]
      : key === "vnorm2"
      ? "vnorm"
      : key;

  test("every scalarisation within 1e-12 relative, for BatchCorrelationLoss and QCFCLoss", () => {
    let worst = 0;
    for (const { c, X, N } of decoded) {
      for (const key of SCALARISATION_KEYS) {
        const options = { ...c.options, nu: c.nu, scalarisation: scalarisationOption(key) };
        const expected = c.losses[key];
        const scale = c.lossScales[key];
        worst = Math.max(
          worst,
          lossError(
            new BatchCorrelationLoss(options).evaluate(X, N),
            expected,
            scale,
            `${c.name} ${key}`,
          ),
        );
        worst = Math.max(
          worst,
          lossError(
            new QCFCLoss(options).evaluate(X, N),
            expected,
            scale,
            `${c.name} ${key} (QCFCLoss)`,
          ),
        );
      }
    }
    report("max relative loss error", worst, REL_TOLERANCE);
  });

  test("the default scalarisation is the mean and the default nu is 1", () => {
    for (const { c, X, N } of decoded) {
      const loss = new BatchCorrelationLoss(c.options);
      lossError(
        loss.evaluate(X, N),
        c.losses.mean / c.nu,
        c.lossScales.mean / Math.abs(c.nu),
        c.name,
      );
    }
  });

  test("each scalarisation object reduces the reference thresholded values to the reference loss", () => {
    let worst = 0;
    for (const { c, thresholded } of decoded) {
      for (const key of SCALARISATION_KEYS) {
        const got = c.nu * SCALARISATIONS[key].reduce(thresholded);
        worst = Math.max(
          worst,
          lossError(got, c.losses[key], c.lossScales[key], `${c.name} ${key}.reduce`),
        );
      }
    }
    report("max relative scalarisation error", worst, REL_TOLERANCE);
  });

  test('with zeroVariance: "nan" a loss over a constant feature or confound is NaN, as hypercoil', () => {
    for (const { c, X, N } of decoded.filter((d) => d.c.special === "constant")) {
      for (const key of SCALARISATION_KEYS) {
        const loss = new BatchCorrelationLoss({
          ...c.options,
          nu: c.nu,
          zeroVariance: "nan",
          scalarisation: scalarisationOption(key),
        });
        assert.ok(Number.isNaN(loss.evaluate(X, N)), `${c.name} ${key}`);
      }
    }
  });
});
