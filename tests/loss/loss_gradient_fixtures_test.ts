/**
 * valueAndGrad against the JAX gradients of `scripts/gen_fixtures.py`
 * (`tests/fixtures/grad.json`: 40 cases, X of rank 1 to 4, every scalarisation,
 * gradients with respect to X and N), a second independent reference beside
 * `grad_jax.json`.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BatchCorrelationLoss, type Scalarisation, vnorm } from "../../mod.ts";
import {
  decode,
  type EncodedArray,
  readFixture,
  SCALARISATION_KEYS,
  type ScalarisationKey,
} from "../fixture_loader.ts";

interface GradCase {
  name: string;
  x: EncodedArray;
  n: EncodedArray;
  options: { tol?: number | "auto"; tolSig?: number; abs?: boolean };
  nu: number;
  scalarisations: Record<
    ScalarisationKey,
    { value: number; gradX: EncodedArray; gradN: EncodedArray }
  >;
}

const SCALARISATIONS: Record<ScalarisationKey, "sum" | "mean" | "meansq" | "max" | Scalarisation> =
  {
    sum: "sum",
    mean: "mean",
    meansq: "meansq",
    max: "max",
    vnorm1: vnorm(1),
    vnorm2: vnorm(2),
    vnorm3: vnorm(3),
    vnormInf: vnorm(Infinity),
  };

function maxAbs(values: ArrayLike<number>): number {
  let largest = 0;
  for (let i = 0; i < values.length; i++) largest = Math.max(largest, Math.abs(values[i]!));
  return largest;
}

describe("valueAndGrad() against grad.json", () => {
  const { cases } = readFixture<{ cases: GradCase[] }>("grad.json");

  test("matches JAX's value and gradients with respect to X and N for every case and scalarisation", () => {
    assert.ok(cases.length >= 40);
    let worst = 0;
    for (const c of cases) {
      const x = decode(c.x);
      const n = decode(c.n);
      for (const key of SCALARISATION_KEYS) {
        const expected = c.scalarisations[key];
        const loss = new BatchCorrelationLoss({
          ...c.options,
          nu: c.nu,
          scalarisation: SCALARISATIONS[key],
        });
        const { value, grad, gradN } = loss.valueAndGrad(x, n, { wrt: "both" });
        assert.ok(
          Math.abs(value - expected.value) <= 1e-12 * Math.max(1, Math.abs(expected.value)),
          `${c.name} ${key} value`,
        );
        for (
          const [actual, stored] of [[grad, expected.gradX], [gradN!, expected.gradN]] as const
        ) {
          const reference = decode(stored);
          assert.deepEqual(actual.shape, reference.shape, `${c.name} ${key} shape`);
          const scale = Math.max(1e-300, maxAbs(reference.data));
          for (let i = 0; i < reference.data.length; i++) {
            const error = Math.abs(actual.data[i]! - reference.data[i]!) / scale;
            worst = Math.max(worst, error);
            assert.ok(
              error <= 1e-10,
              `${c.name} ${key} element ${i}: ${actual.data[i]} vs ${reference.data[i]}`,
            );
          }
        }
      }
    }
    console.log(
      `grad.json: worst gradient difference ${worst.toExponential(2)} of the gradient's scale`,
    );
  });
});
