import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { max, mean, meansq, sum, vnorm } from "../../mod.ts";

const values = new Float64Array([0.5, -0.25, 0, 0.75, -1.5]);

function numericGradient(reduce: (v: Float64Array) => number, at: Float64Array): Float64Array {
  const h = 1e-6;
  return Float64Array.from(at, (_, i) => {
    const up = Float64Array.from(at), down = Float64Array.from(at);
    up[i]! += h;
    down[i]! -= h;
    return (reduce(up) - reduce(down)) / (2 * h);
  });
}

describe("scalarisations", () => {
  test("sum, mean, meansq and max reduce the whole tensor as jnp.sum, mean, mean(x**2), max", () => {
    assert.equal(sum.reduce(values), -0.5);
    assert.equal(mean.reduce(values), -0.1);
    assert.equal(meansq.reduce(values), (0.25 + 0.0625 + 0 + 0.5625 + 2.25) / 5);
    assert.equal(max.reduce(values), 0.75);
  });

  test("max propagates NaN as jnp.max does", () => {
    assert.ok(Number.isNaN(max.reduce(new Float64Array([1, Number.NaN, 2]))));
  });

  test("vnorm(p) is the vector p-norm of all values, with the special orders of jnp.linalg.norm", () => {
    const abs = Array.from(values, Math.abs);
    assert.ok(Math.abs(vnorm(1).reduce(values) - abs.reduce((s, v) => s + v, 0)) < 1e-15);
    assert.ok(Math.abs(vnorm(2).reduce(values) - Math.hypot(...values)) < 1e-15);
    assert.ok(
      Math.abs(vnorm(3).reduce(values) - abs.reduce((s, v) => s + v ** 3, 0) ** (1 / 3)) < 1e-15,
    );
    assert.equal(vnorm(Infinity).reduce(values), 1.5);
    assert.equal(vnorm(-Infinity).reduce(values), 0);
    assert.equal(vnorm(0).reduce(values), 4);
    assert.equal(vnorm().name, "vnorm(2)");
  });

  test("vnorm(2) neither underflows on tiny values nor overflows on huge ones", () => {
    assert.ok(Math.abs(vnorm(2).reduce(new Float64Array([3e-200, 4e-200])) / 5e-200 - 1) < 1e-15);
    assert.ok(Math.abs(vnorm(2).reduce(new Float64Array([3e200, 4e200])) / 5e200 - 1) < 1e-15);
  });

  test("each built-in gradient matches central finite differences", () => {
    for (const s of [sum, mean, meansq, max, vnorm(1), vnorm(2), vnorm(3), vnorm(Infinity)]) {
      const at = new Float64Array([0.31, -0.42, 0.57, 0.12, -0.05]);
      const analytic = new Float64Array(at.length);
      s.gradient!(at, analytic);
      const numeric = numericGradient(s.reduce, at);
      for (let i = 0; i < at.length; i++) {
        assert.ok(
          Math.abs(analytic[i]! - numeric[i]!) < 1e-6,
          `${s.name}[${i}]: ${analytic[i]} vs ${numeric[i]}`,
        );
      }
    }
  });

  test("max splits its gradient among tied maxima, as JAX", () => {
    const out = new Float64Array(4);
    max.gradient!(new Float64Array([0.2, 0.7, 0.7, 0.1]), out);
    assert.deepEqual([...out], [0, 0.5, 0.5, 0]);
  });

  test("vnorm rejects a non-numeric or NaN order", () => {
    assert.throws(() => vnorm("2" as unknown as number), {
      name: "TypeError",
      message: 'Cannot create vnorm as p must be a number: current value is "2"',
    });
    assert.throws(() => vnorm(Number.NaN), {
      name: "RangeError",
      message: /p must be a number that is not NaN/,
    });
  });
});
