/**
 * hypercoil's scalarisations: maps from the `(F, M)` correlation tensor to one
 * number, each with its derivative for gradients.
 *
 * @module
 */

import { ruleMessage } from "./errors.ts";

/**
 * A reduction of a whole tensor to one number, with an optional derivative.
 */
export interface Scalarisation {
  /** A short name ("mean", "vnorm(2)"). */
  readonly name: string;
  /**
   * Reduces the values to one number.
   * @param values The tensor's values, in any order.
   * @returns The scalar.
   */
  reduce(values: Float64Array): number;
  /**
   * Writes `∂ reduce / ∂ values[i]` into `out` (same length as `values`).
   * Absent for user functions, which then have no gradient.
   * @param values The tensor's values.
   * @param out Storage for the derivative.
   */
  gradient?(values: Float64Array, out: Float64Array): void;
}

/** Names of the built-in scalarisations. */
export type ScalarisationName = "sum" | "mean" | "meansq" | "max" | "vnorm";

/** What the `scalarisation` option accepts. */
export type ScalarisationLike =
  | ScalarisationName
  | Scalarisation
  | ((values: Float64Array) => number);

function sumOf(values: Float64Array): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i]!;
  return total;
}

/**
 * Sum of all values (hypercoil's `sum_scalarise`).
 *
 * @example Summing
 * ```ts
 * import { sum } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * assert.equal(sum.reduce(new Float64Array([0.5, 0.25])), 0.75);
 * ```
 */
export const sum: Scalarisation = Object.freeze({
  name: "sum",
  reduce: sumOf,
  gradient(_values: Float64Array, out: Float64Array): void {
    out.fill(1);
  },
});

/**
 * Mean of all values (hypercoil's default, `mean_scalarise`).
 *
 * @example Averaging
 * ```ts
 * import { mean } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * assert.equal(mean.reduce(new Float64Array([0.5, 0.25])), 0.375);
 * ```
 */
export const mean: Scalarisation = Object.freeze({
  name: "mean",
  reduce: (values: Float64Array): number => sumOf(values) / values.length,
  gradient(values: Float64Array, out: Float64Array): void {
    out.fill(1 / values.length);
  },
});

/**
 * Mean of the squared values (hypercoil's `meansq_scalarise`).
 *
 * @example Mean square
 * ```ts
 * import { meansq } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * assert.equal(meansq.reduce(new Float64Array([0.5, 0.25])), 0.15625);
 * ```
 */
export const meansq: Scalarisation = Object.freeze({
  name: "meansq",
  reduce(values: Float64Array): number {
    let total = 0;
    for (let i = 0; i < values.length; i++) total += values[i]! * values[i]!;
    return total / values.length;
  },
  gradient(values: Float64Array, out: Float64Array): void {
    const scale = 2 / values.length;
    for (let i = 0; i < values.length; i++) out[i] = scale * values[i]!;
  },
});

/**
 * Maximum value (hypercoil's `max_scalarise`). NaN propagates, as `jnp.max`.
 * Its gradient is split evenly among tied maxima, as JAX's.
 *
 * @example Maximum
 * ```ts
 * import { max } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * assert.equal(max.reduce(new Float64Array([0.5, 0.25])), 0.5);
 * ```
 */
export const max: Scalarisation = Object.freeze({
  name: "max",
  reduce(values: Float64Array): number {
    let best = -Infinity;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v !== v) return Number.NaN;
      if (v > best) best = v;
    }
    return best;
  },
  gradient(values: Float64Array, out: Float64Array): void {
    const best = max.reduce(values);
    let ties = 0;
    for (let i = 0; i < values.length; i++) if (values[i] === best) ties++;
    for (let i = 0; i < values.length; i++) out[i] = values[i] === best ? 1 / ties : 0;
  },
});

/**
 * The vector p-norm of all values, as hypercoil's `vnorm_scalarise(p=p,
 * axis=None)`, which unfolds the tensor and takes `jnp.linalg.norm(ord=p)`:
 * `(Σ|v|^p)^(1/p)`, the maximum of `|v|` for `p = Infinity`, the minimum for
 * `-Infinity`, and the count of non-zero values for `p = 0`.
 *
 * @param p The norm order.
 * @default p 2
 * @returns The scalarisation.
 * @throws {TypeError} If `p` is not a number.
 * @throws {RangeError} If `p` is NaN.
 *
 * @example The Euclidean norm
 * ```ts
 * import { vnorm } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * assert.equal(vnorm(2).reduce(new Float64Array([0.6, 0.8])), 1);
 * ```
 */
export function vnorm(p: number = 2): Scalarisation {
  if (typeof p !== "number") throw new TypeError(ruleMessage("create vnorm", "p", "a number", p));
  if (Number.isNaN(p)) {
    throw new RangeError(ruleMessage("create vnorm", "p", "a number that is not NaN", p));
  }
  const reduce = (values: Float64Array): number => {
    if (p === Infinity || p === -Infinity) {
      let best = p === Infinity ? 0 : Infinity;
      for (let i = 0; i < values.length; i++) {
        const a = Math.abs(values[i]!);
        if (a !== a) return Number.NaN;
        best = p === Infinity ? Math.max(best, a) : Math.min(best, a);
      }
      return best;
    }
    if (p === 0) {
      let count = 0;
      for (let i = 0; i < values.length; i++) if (values[i] !== 0) count++;
      return count;
    }
    if (p === 2) {
      // Scaled, as LAPACK's nrm2, so tiny and huge values neither under- nor overflow.
      let scale = 0;
      for (let i = 0; i < values.length; i++) scale = Math.max(scale, Math.abs(values[i]!));
      if (scale === 0 || !Number.isFinite(scale)) return scale;
      let total = 0;
      for (let i = 0; i < values.length; i++) {
        const v = values[i]! / scale;
        total += v * v;
      }
      return scale * Math.sqrt(total);
    }
    let total = 0;
    for (let i = 0; i < values.length; i++) total += Math.abs(values[i]!) ** p;
    return total ** (1 / p);
  };
  return Object.freeze({
    name: `vnorm(${p})`,
    reduce,
    gradient(values: Float64Array, out: Float64Array): void {
      if (p === 0) {
        out.fill(0);
        return;
      }
      const norm = reduce(values);
      if (p === Infinity || p === -Infinity) {
        let ties = 0;
        for (let i = 0; i < values.length; i++) if (Math.abs(values[i]!) === norm) ties++;
        for (let i = 0; i < values.length; i++) {
          const v = values[i]!;
          out[i] = Math.abs(v) === norm && norm !== 0 ? Math.sign(v) / ties : 0;
        }
        return;
      }
      for (let i = 0; i < values.length; i++) {
        const v = values[i]!;
        // d/dv (Σ|v|^p)^(1/p) = sign(v) |v|^(p−1) / norm^(p−1)
        out[i] = norm === 0 || v === 0 ? 0 : Math.sign(v) * (Math.abs(v) / norm) ** (p - 1);
      }
    },
  });
}

const BUILT_IN: Record<ScalarisationName, Scalarisation> = {
  sum,
  mean,
  meansq,
  max,
  vnorm: vnorm(2),
};

/**
 * Resolves the `scalarisation` option to a {@linkcode Scalarisation}.
 *
 * @param value A name, a Scalarisation, or a function.
 * @param context What was being done.
 * @returns The scalarisation.
 * @throws {TypeError} For anything else.
 */
export function resolveScalarisation(value: ScalarisationLike, context: string): Scalarisation {
  if (typeof value === "string" && Object.hasOwn(BUILT_IN, value)) {
    return BUILT_IN[value as ScalarisationName];
  }
  if (typeof value === "function") return { name: value.name || "custom", reduce: value };
  if (
    typeof value === "object" && value !== null &&
    typeof (value as Scalarisation).reduce === "function"
  ) {
    return value as Scalarisation;
  }
  throw new TypeError(
    ruleMessage(
      context,
      "options.scalarisation",
      '"sum", "mean", "meansq", "max", "vnorm", a Scalarisation or a function (values) => number',
      value,
    ),
  );
}
