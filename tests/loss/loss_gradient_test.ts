import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import {
  autoTol,
  batchCorr,
  BatchCorrelationLoss,
  type BatchCorrelationLossOptions,
  QCFCLoss,
  type Scalarisation,
  type ScalarisationLike,
  type Tensor,
  vnorm,
} from "../../mod.ts";
import { lossValueAndGrad } from "../../src/loss/loss_gradient.ts";
import { prepareBatch } from "../../src/core/prepare_batch.ts";
import { assertSameArray } from "../fuzz_support.ts";
import { mulberry32 } from "../random.ts";

function normals(random: () => number, count: number): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  }
  return out;
}

const SCALARISATIONS: [string, ScalarisationLike][] = [
  ["sum", "sum"],
  ["mean", "mean"],
  ["meansq", "meansq"],
  ["max", "max"],
  ["vnorm(1)", vnorm(1)],
  ["vnorm(2)", vnorm(2)],
  ["vnorm(3)", vnorm(3)],
  ["vnorm(Infinity)", vnorm(Infinity)],
];

interface Layout {
  xShape: number[];
  nShape: number[];
}

const LAYOUTS: Layout[] = [
  { xShape: [10, 4], nShape: [10] },
  { xShape: [10, 3], nShape: [2, 10] },
  { xShape: [9, 2, 3], nShape: [9] },
  { xShape: [9, 3, 2], nShape: [3, 9] },
];

const KINK_MARGIN = 1e-3;

/** X leaks N with mixed strengths so that some |r| clear even tol "auto". */
function drawBatch(random: () => number, layout: Layout): { X: Tensor; N: Tensor } {
  const B = layout.xShape[0]!;
  const F = layout.xShape.slice(1).reduce((a, b) => a * b, 1);
  const M = layout.nShape.length === 1 ? 1 : layout.nShape[0]!;
  const n = normals(random, M * B);
  const x = normals(random, B * F);
  for (let f = 0; f < F; f++) {
    const leak = (random() * 2 - 1) * 2.5;
    const m = f % M;
    for (let b = 0; b < B; b++) x[b * F + f]! += leak * n[m * B + b]!;
  }
  return { X: { data: x, shape: layout.xShape }, N: { data: n, shape: layout.nShape } };
}

/** Whether no correlation sits on the threshold and no maximum is nearly tied. */
function awayFromKinks(
  X: Tensor,
  N: Tensor,
  options: BatchCorrelationLossOptions,
  name: string,
): boolean {
  const r = batchCorr(X, N, { abs: false });
  const tol = options.tol === "auto" ? autoTol(X.shape[0]!) : options.tol ?? 0;
  if (r.data.some((v) => Math.abs(Math.abs(v) - tol) < KINK_MARGIN)) return false;
  const values = batchCorr(X, N, { tol, abs: options.abs ?? true }).data;
  if (values.filter((v) => v !== 0).length < 2) return false;
  if (name === "max" || name === "vnorm(Infinity)") {
    const sorted = Array.from(values, (v) => (name === "max" ? v : Math.abs(v))).sort((a, b) =>
      a - b
    );
    if (sorted.at(-1)! - sorted.at(-2)! < KINK_MARGIN) return false;
  }
  return true;
}

/** Central differences of the loss with respect to every element of `target`. */
function finiteDifferences(
  loss: BatchCorrelationLoss,
  X: Tensor,
  N: Tensor,
  target: "X" | "N",
): Float64Array {
  const data = target === "X" ? X.data : N.data;
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const saved = data[i]!;
    const h = 1e-5 * Math.max(1, Math.abs(saved));
    data[i] = saved + h;
    const up = loss.evaluate(X, N);
    data[i] = saved - h;
    const down = loss.evaluate(X, N);
    data[i] = saved;
    out[i] = (up - down) / (2 * h);
  }
  return out;
}

/** max |a − b| / max |b|: the error relative to the gradient's scale. */
function relativeError(actual: Float64Array, expected: Float64Array): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / Math.max(scale, 1e-300);
}

describe("BatchCorrelationLoss.valueAndGrad() against central finite differences", () => {
  let seed = 1;
  for (const [name, scalarisation] of SCALARISATIONS) {
    test(`matches finite differences to 1e-6 for ${name}, abs true and false, tol 0, 0.2 and "auto", ranks 2 and 3, N vector and matrix`, () => {
      for (const abs of [true, false]) {
        for (const tol of [0, 0.2, "auto"] as const) {
          for (const layout of LAYOUTS) {
            const options = { scalarisation, abs, tol, nu: 1.7 };
            const random = mulberry32(seed++);
            let batch = drawBatch(random, layout);
            while (!awayFromKinks(batch.X, batch.N, options, name)) {
              batch = drawBatch(random, layout);
            }
            const { X, N } = batch;
            const loss = new BatchCorrelationLoss(options);
            const { value, grad, gradN } = loss.valueAndGrad(X, N, { wrt: "both" });
            const where = `${name} abs=${abs} tol=${tol} X[${layout.xShape}] N[${layout.nShape}]`;
            assert.equal(value, loss.evaluate(X, N), where);
            assert.deepEqual(grad.shape, layout.xShape, where);
            assert.deepEqual(gradN?.shape, layout.nShape, where);
            const errorX = relativeError(grad.data, finiteDifferences(loss, X, N, "X"));
            const errorN = relativeError(gradN!.data, finiteDifferences(loss, X, N, "N"));
            assert.ok(errorX <= 1e-6, `${where}: relative error in grad ${errorX}`);
            assert.ok(errorN <= 1e-6, `${where}: relative error in gradN ${errorN}`);
          }
        }
      }
    });
  }
});

interface JaxCase {
  name: string;
  xShape: number[];
  nShape: number[];
  x: string;
  n: string;
  options: { scalarisation: string; abs: boolean; tol: number | "auto"; nu: number };
  tolUsed: number;
  value: number;
  gradX: string;
  gradN: string;
}

function decodeFloat64(text: string): Float64Array {
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  return new Float64Array(bytes.buffer);
}

function scalarisationFromName(name: string): ScalarisationLike {
  const match = /^vnorm\((.+)\)$/.exec(name);
  return match ? vnorm(Number(match[1])) : name as "sum" | "mean" | "meansq" | "max";
}

describe("BatchCorrelationLoss.valueAndGrad() against JAX autodiff (tests/fixtures/grad_jax.json)", () => {
  const fixture = JSON.parse(
    readFileSync(new URL("../fixtures/grad_jax.json", import.meta.url), "utf8"),
  ) as {
    cases: JaxCase[];
  };

  test("the fixture covers every scalarisation, both abs values, every tol form and ranks 2 to 4", () => {
    const seen = new Set(fixture.cases.map((c) => c.options.scalarisation));
    assert.deepEqual([...seen].sort(), SCALARISATIONS.map(([name]) => name).sort());
    assert.deepEqual(new Set(fixture.cases.map((c) => c.options.abs)), new Set([true, false]));
    assert.deepEqual(
      new Set(fixture.cases.map((c) => String(c.options.tol))),
      new Set(["0", "0.15", "auto"]),
    );
    assert.deepEqual(new Set(fixture.cases.map((c) => c.xShape.length)), new Set([2, 3, 4]));
  });

  for (const c of fixture.cases) {
    test(`matches jax.grad to 1e-10 for case ${c.name}`, () => {
      const X = { data: decodeFloat64(c.x), shape: c.xShape };
      const N = { data: decodeFloat64(c.n), shape: c.nShape };
      const loss = new BatchCorrelationLoss({
        ...c.options,
        scalarisation: scalarisationFromName(c.options.scalarisation),
      });
      const { value, grad, gradN } = loss.valueAndGrad(X, N, { wrt: "both" });
      if (c.options.tol === "auto") assert.ok(Math.abs(autoTol(c.xShape[0]!) - c.tolUsed) <= 1e-12);
      assert.ok(
        Math.abs(value - c.value) <= 1e-10 * Math.max(1, Math.abs(c.value)),
        `value ${value} vs ${c.value}`,
      );
      const expectedX = decodeFloat64(c.gradX);
      const expectedN = decodeFloat64(c.gradN);
      assert.deepEqual(grad.shape, c.xShape);
      assert.deepEqual(gradN?.shape, c.nShape);
      const scale = Math.max(
        1,
        ...Array.from(expectedX, Math.abs),
        ...Array.from(expectedN, Math.abs),
      );
      for (let i = 0; i < expectedX.length; i++) {
        assert.ok(
          Math.abs(grad.data[i]! - expectedX[i]!) <= 1e-10 * scale,
          `grad[${i}] ${grad.data[i]} vs ${expectedX[i]}`,
        );
      }
      for (let i = 0; i < expectedN.length; i++) {
        assert.ok(
          Math.abs(gradN!.data[i]! - expectedN[i]!) <= 1e-10 * scale,
          `gradN[${i}] ${gradN!.data[i]} vs ${expectedN[i]}`,
        );
      }
    });
  }
});

describe("BatchCorrelationLoss.valueAndGrad() on special inputs", () => {
  const X = {
    data: new Float64Array([1.0, 0.3, 1.6, 0.1, 1.2, 0.9, 2.1, 0.4, 1.7, 0.2, 1.4, 0.6]),
    shape: [6, 2],
  };
  const motion = [0.1, 0.4, 0.2, 0.8, 0.5, 0.3];

  test("returns only the gradient with respect to X by default", () => {
    const result = new BatchCorrelationLoss().valueAndGrad(X, motion);
    assert.equal(result.gradN, undefined);
    assert.deepEqual(result.grad.shape, [6, 2]);
  });

  test("keeps N's shape for gradN: (B), (1, B) and (M, B)", () => {
    const loss = new BatchCorrelationLoss();
    assert.deepEqual(loss.valueAndGrad(X, motion, { wrt: "both" }).gradN?.shape, [6]);
    assert.deepEqual(loss.valueAndGrad(X, [motion], { wrt: "both" }).gradN?.shape, [1, 6]);
    const two = loss.valueAndGrad(X, [motion, [3, 1, 4, 1, 5, 9]], { wrt: "both" });
    assert.deepEqual(two.gradN?.shape, [2, 6]);
    // A (1, B) matrix is the same loss as the vector it holds.
    assert.deepEqual(
      loss.valueAndGrad(X, [motion], { wrt: "both" }).gradN?.data,
      loss.valueAndGrad(X, motion, { wrt: "both" }).gradN?.data,
    );
  });

  test("is invariant to shifting and scaling a feature: each column of grad sums to 0 and is orthogonal to the column", () => {
    const { grad } = new BatchCorrelationLoss({ scalarisation: "meansq" }).valueAndGrad(X, motion);
    for (let f = 0; f < 2; f++) {
      let total = 0, dot = 0;
      for (let b = 0; b < 6; b++) {
        total += grad.data[b * 2 + f]!;
        dot += grad.data[b * 2 + f]! * X.data[b * 2 + f]!;
      }
      assert.ok(
        Math.abs(total) < 1e-14 && Math.abs(dot) < 1e-14,
        `feature ${f}: Σ ${total}, x·g ${dot}`,
      );
    }
  });

  test("columns far from zero (1.7e9 + 0.001·noise) get the gradient of the shifted data to 1e-9 relative, for X and N", () => {
    const random = mulberry32(71);
    const B = 64, F = 3, M = 2;
    const n = normals(random, M * B);
    const noise = normals(random, B * F);
    for (let b = 0; b < B; b++) {
      for (let f = 0; f < F; f++) noise[b * F + f]! += 0.6 * n[(f % M) * B + b]!;
    }
    // x − 1.7e9 is exact (Sterbenz), so the shifted batch is the same data, centred by hand.
    const far = noise.map((v) => 1.7e9 + 0.001 * v);
    const near = far.map((v) => v - 1.7e9);
    const farN = n.map((v) => -3e8 + v * 0.01);
    const nearN = farN.map((v) => v + 3e8);
    for (const abs of [true, false]) {
      const loss = new BatchCorrelationLoss({ abs, scalarisation: "meansq" });
      const got = loss.valueAndGrad({ data: far, shape: [B, F] }, { data: farN, shape: [M, B] }, {
        wrt: "both",
      });
      const reference = loss.valueAndGrad({ data: near, shape: [B, F] }, {
        data: nearN,
        shape: [M, B],
      }, { wrt: "both" });
      for (
        const [what, a, e] of [
          ["grad", got.grad.data, reference.grad.data],
          ["gradN", got.gradN!.data, reference.gradN!.data],
        ] as const
      ) {
        const scale = e.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const worst = a.reduce((m, v, i) => Math.max(m, Math.abs(v - e[i]!)), 0);
        assert.ok(worst <= 1e-9 * scale, `abs ${abs} ${what}: ${worst / scale} relative`);
      }
    }
  });

  test("reads Float32Array input as float64, giving the gradient of its float64 copy", () => {
    const loss = new BatchCorrelationLoss({ scalarisation: "vnorm" });
    const single = { data: Float32Array.from(X.data), shape: X.shape };
    const double = { data: Float64Array.from(single.data), shape: X.shape };
    assert.deepEqual(
      loss.valueAndGrad(single, motion).grad.data,
      loss.valueAndGrad(double, motion).grad.data,
    );
  });

  test("is exactly zero where every |r| is within tol", () => {
    const { value, grad } = new BatchCorrelationLoss({ tol: 1 }).valueAndGrad(X, motion);
    assert.equal(value, 0);
    assert.ok(grad.data.every((g) => g === 0));
  });

  test("at the kink |r| = tol exactly the subgradient is 0, for both abs values and both wrt", () => {
    const random = mulberry32(29);
    const B = 12;
    const n = normals(random, B);
    const x = new Float64Array(2 * B);
    for (let b = 0; b < B; b++) {
      x[2 * b] = n[b]! * 0.7 + random();
      x[2 * b + 1] = -n[b]! * 0.9 + 0.3 * random();
    }
    const X = { data: x, shape: [B, 2] };
    const r = batchCorr(X, n, { abs: false }).data;
    assert.ok(Math.abs(r[1]!) > Math.abs(r[0]!) && r[0]! > 0 && r[1]! < 0);
    // One past the kink, in float64: the pair at the kink is inactive either way.
    const above = Math.abs(r[0]!) * (1 + Number.EPSILON);
    for (const abs of [true, false]) {
      for (const wrt of ["X", "both"] as const) {
        const at = new BatchCorrelationLoss({ abs, tol: Math.abs(r[0]!) }).valueAndGrad(X, n, {
          wrt,
        });
        const past = new BatchCorrelationLoss({ abs, tol: above }).valueAndGrad(X, n, { wrt });
        assertSameArray(at.grad.data, past.grad.data, `abs ${abs}, wrt ${wrt}: grad`);
        if (wrt === "both") assertSameArray(at.gradN!.data, past.gradN!.data, "gradN");
        // Only the kink's feature: the loss is 0 and so is every element of the gradient.
        const single = { data: x.filter((_, i) => i % 2 === 0), shape: [B, 1] };
        const alone = new BatchCorrelationLoss({ abs, tol: Math.abs(r[0]!) }).valueAndGrad(
          single,
          n,
          { wrt },
        );
        assert.equal(alone.value, 0);
        assert.ok(
          alone.grad.data.every((g) => g === 0),
          `abs ${abs}, wrt ${wrt}: ${alone.grad.data}`,
        );
        if (wrt === "both") assert.ok(alone.gradN!.data.every((g) => g === 0));
      }
    }
  });

  test("gives a zero-variance feature a zero gradient and leaves the others as without it", () => {
    const loss = new BatchCorrelationLoss({ scalarisation: "sum" });
    const withConstant = {
      data: new Float64Array(
        Array.from({ length: 6 }, (_, b) => [X.data[b * 2]!, 0.25, X.data[b * 2 + 1]!]).flat(),
      ),
      shape: [6, 3],
    };
    const { grad } = loss.valueAndGrad(withConstant, motion);
    const plain = loss.valueAndGrad(X, motion).grad;
    for (let b = 0; b < 6; b++) {
      assert.equal(grad.data[b * 3 + 1], 0);
      assert.ok(Math.abs(grad.data[b * 3]! - plain.data[b * 2]!) < 1e-15);
      assert.ok(Math.abs(grad.data[b * 3 + 2]! - plain.data[b * 2 + 1]!) < 1e-15);
    }
  });

  test("gives a zero-variance confound a zero gradient and no contribution to grad", () => {
    const loss = new BatchCorrelationLoss({ scalarisation: "sum" });
    const { grad, gradN } = loss.valueAndGrad(X, [motion, [2, 2, 2, 2, 2, 2]], { wrt: "both" });
    const plain = loss.valueAndGrad(X, [motion], { wrt: "both" });
    assertSameArray(grad.data, plain.grad.data, "grad");
    assertSameArray(gradN!.data.subarray(0, 6), plain.gradN!.data, "gradN");
    assert.ok(gradN!.data.subarray(6).every((g) => g === 0));
  });

  test("differentiates values whose squares overflow or underflow float64: grad(X · 2^k) = grad(X) · 2^-k", () => {
    const loss = new BatchCorrelationLoss({ scalarisation: "vnorm", abs: false });
    const plain = loss.valueAndGrad(X, motion, { wrt: "both" });
    for (const k of [600, -600]) {
      const scale = 2 ** k;
      const big = { data: X.data.map((x) => x * scale), shape: X.shape };
      const bigMotion = motion.map((v) => v * scale);
      const scaled = loss.valueAndGrad(big, bigMotion, { wrt: "both" });
      assert.ok(
        Math.abs(scaled.value - plain.value) <= 1e-14 * plain.value,
        `k = ${k}: value ${scaled.value}`,
      );
      const check = (actual: Float64Array, expected: Float64Array, what: string) => {
        const error = relativeError(actual.map((g) => g * scale), expected);
        assert.ok(error <= 1e-12, `k = ${k}: ${what} relative error ${error}`);
      };
      check(scaled.grad.data, plain.grad.data, "grad");
      check(scaled.gradN!.data, plain.gradN!.data, "gradN");
    }
  });

  test('returns NaN gradients with zeroVariance "nan" when a feature is constant', () => {
    const constant = {
      data: new Float64Array([1, 0.3, 1, 0.1, 1, 0.9, 1, 0.4, 1, 0.2, 1, 0.6]),
      shape: [6, 2],
    };
    const { value, grad } = new BatchCorrelationLoss({ zeroVariance: "nan" }).valueAndGrad(
      constant,
      motion,
    );
    assert.ok(Number.isNaN(value));
    assert.ok(grad.data.every(Number.isNaN));
  });

  test("accepts a user Scalarisation that has a gradient", () => {
    const half: Scalarisation = {
      name: "half-sum",
      reduce: (values) => values.reduce((a, b) => a + b, 0) / 2,
      gradient: (_values, out) => out.fill(0.5),
    };
    const custom = new BatchCorrelationLoss({ scalarisation: half }).valueAndGrad(X, motion);
    const builtIn = new BatchCorrelationLoss({ scalarisation: "sum", nu: 0.5 }).valueAndGrad(
      X,
      motion,
    );
    assert.equal(custom.value, builtIn.value);
    assertSameArray(custom.grad.data, builtIn.grad.data, "grad");
  });

  test("throws a TypeError for a scalarisation function without a gradient", () => {
    const loss = new BatchCorrelationLoss({
      scalarisation: function p90(values: Float64Array) {
        return values[0]!;
      },
    });
    assert.ok(Number.isFinite(loss.evaluate(X, motion)));
    assert.throws(() => loss.valueAndGrad(X, motion), {
      name: "TypeError",
      message:
        'Cannot compute valueAndGrad of BatchCorrelation as options.scalarisation must be a Scalarisation with a gradient (a built-in name such as "mean", vnorm(p), or an object with gradient(values, out)) for valueAndGrad to differentiate it: current value is "p90", which has no gradient',
    });
  });

  test("throws a TypeError for a wrt other than X or both, and for unknown options", () => {
    const loss = new BatchCorrelationLoss();
    assert.throws(() => loss.valueAndGrad(X, motion, { wrt: "N" as "X" }), {
      name: "TypeError",
      message:
        'Cannot compute valueAndGrad of BatchCorrelation as options.wrt must be "X" or "both": current value is "N"',
    });
    assert.throws(() => loss.valueAndGrad(X, motion, { wrtN: true } as never), {
      name: "TypeError",
      message: /must only have the known keys \(wrt\): current value has "wrtN"/,
    });
  });

  test('throws a RangeError for tol "auto" with B < 3 and for NaN in X', () => {
    const loss = new BatchCorrelationLoss({ tol: "auto" });
    assert.throws(() => loss.valueAndGrad([[1], [2]], [1, 2]), {
      name: "RangeError",
      message:
        /^Cannot compute valueAndGrad of BatchCorrelation as the batch size for tol "auto" must be at least 3/,
    });
    assert.throws(
      () => new BatchCorrelationLoss().valueAndGrad([[1], [Number.NaN], [3]], [1, 2, 3]),
      {
        name: "RangeError",
        message:
          /every element of X must be finite \(no NaN or ±Infinity\): current value is NaN at index \[1, 0\]$/,
      },
    );
  });

  test("QCFCLoss inherits valueAndGrad and names fc and qc in its errors", () => {
    const qcfc = new QCFCLoss({ scalarisation: "meansq" });
    const same = new BatchCorrelationLoss({ scalarisation: "meansq" });
    assert.deepEqual(
      qcfc.valueAndGrad(X, motion).grad.data,
      same.valueAndGrad(X, motion).grad.data,
    );
    assert.throws(() => qcfc.valueAndGrad(X, [1, 2, 3]), {
      name: "TypeError",
      message: /^Cannot compute valueAndGrad of QCFC as qc must have one value per sample of fc/,
    });
  });
});

describe("lossValueAndGrad() for streams", () => {
  test("returns the loss's value, batchCorr's correlations and the gradient valueAndGrad gives", () => {
    const random = mulberry32(99);
    const { X, N } = drawBatch(random, { xShape: [12, 2, 3], nShape: [2, 12] });
    const loss = new BatchCorrelationLoss({ tol: "auto", abs: false, scalarisation: "meansq" });
    const result = lossValueAndGrad(prepareBatch(X, N, "test"), loss.options, true);
    assert.equal(result.value, loss.evaluate(X, N));
    assert.deepEqual(result.correlations, batchCorr(X, N, { tol: "auto", abs: false }));
    const public_ = loss.valueAndGrad(X, N, { wrt: "both" });
    assertSameArray(result.gradX, public_.grad.data, "gradX");
    assertSameArray(result.gradN!, public_.gradN!.data, "gradN");
  });
});
