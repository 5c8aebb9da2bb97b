import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { batchCorr, BatchCorrelationLoss } from "../../mod.ts";
import { prepareBatch } from "../../src/core/prepare_batch.ts";
import { rescaleBatch } from "../../src/core/rescale_batch.ts";
import { computeBatchMoments } from "../../src/kernels/compute_batch_moments.ts";
import { hasUnderflow } from "../../src/core/numeric_range.ts";
import { mulberry32 } from "../random.ts";

const B = 17, F = 3, M = 2;
const random = mulberry32(23);
/** Values in [1, 2): every column's largest magnitude is below 2, so its divisor is 2^k · 2. */
const x = Float64Array.from({ length: B * F }, () => 1 + random());
const n = Float64Array.from({ length: M * B }, () => 1 + random());

/** Scales feature column f by 2^exponents[f] and confound row m by 2^exponentsN[m] (exact). */
function scaled(exponents: number[], exponentsN: number[]) {
  return {
    x: { data: x.map((v, i) => v * 2 ** exponents[i % F]!), shape: [B, F] },
    n: { data: n.map((v, i) => v * 2 ** exponentsN[Math.floor(i / B)]!), shape: [M, B] },
  };
}

function sameBits(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Object.is(actual[i], expected[i]), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

describe("rescaleBatch() and the batches it rescues", () => {
  const plain = batchCorr({ data: x, shape: [B, F] }, { data: n, shape: [M, B] }, { abs: false });

  test("divides every column by the power of two at or above its largest magnitude, exactly", () => {
    const input = scaled([-600, 0, 700], [-1000, 500]);
    const batch = prepareBatch(input.x, input.n, "test");
    const rescaled = rescaleBatch(batch);
    const largest = (data: ArrayLike<number>, pick: (i: number) => boolean) =>
      Array.from(data).filter((_, i) => pick(i)).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let f = 0; f < F; f++) {
      const scale = rescaled.scaleX[f]!;
      assert.ok(Number.isInteger(Math.log2(scale)), `scaleX[${f}] = ${scale} is a power of two`);
      const top = largest(input.x.data, (i) => i % F === f);
      assert.ok(scale >= top && scale / 2 < top, `scaleX[${f}]`);
      for (let b = 0; b < B; b++) {
        assert.equal(rescaled.x[b * F + f]! * scale, input.x.data[b * F + f], "exact division");
      }
    }
    for (let m = 0; m < M; m++) {
      const scale = rescaled.scaleN[m]!;
      const top = largest(input.n.data, (i) => Math.floor(i / B) === m);
      assert.ok(
        Number.isInteger(Math.log2(scale)) && scale >= top && scale / 2 < top,
        `scaleN[${m}]`,
      );
    }
    // The input is untouched.
    sameBits(batch.x, input.x.data, "x");
  });

  test("columns whose squares underflow or overflow, each at its own scale, give the correlations of the unscaled data bit for bit", () => {
    const cases: [number[], number[]][] = [
      [[-600, -600, -600], [-600, -600]],
      [[600, 600, 600], [600, 600]],
      [[-600, 0, 700], [-1000, 500]],
      [[-1000, -1000, -1000], [-1020, 0]],
    ];
    for (const [ex, en] of cases) {
      const input = scaled(ex, en);
      const batch = prepareBatch(input.x, input.n, "test");
      const moments = computeBatchMoments(batch.x, batch.n, B, F, M);
      const outside = hasUnderflow(batch, moments) ||
        [...moments.m2X, ...moments.m2N].some((v) => !Number.isFinite(v));
      assert.ok(outside, `${ex} ${en}: the squares leave float64's range, so the rescale runs`);
      const got = batchCorr(input.x, input.n, { abs: false });
      sameBits(got.data, plain.data, `batchCorr at 2^${ex}, 2^${en}`);
    }
  });

  test("the loss and its gradient come back through the divisors: grad(x · 2^k) = grad(x) · 2^-k", () => {
    const loss = new BatchCorrelationLoss({ abs: false, scalarisation: "sum" });
    const base = loss.valueAndGrad({ data: x, shape: [B, F] }, { data: n, shape: [M, B] }, {
      wrt: "both",
    });
    const input = scaled([-600, 0, 700], [-1000, 500]);
    const got = loss.valueAndGrad(input.x, input.n, { wrt: "both" });
    assert.equal(got.value, base.value);
    const ex = [-600, 0, 700], en = [-1000, 500];
    sameBits(got.grad.data, base.grad.data.map((g, i) => g * 2 ** -ex[i % F]!), "grad");
    sameBits(
      got.gradN!.data,
      base.gradN!.data.map((g, i) => g * 2 ** -en[Math.floor(i / B)]!),
      "gradN",
    );
  });
});
