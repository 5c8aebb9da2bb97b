/**
 * hypercoil's scalarisations: maps from the `(F, M)` correlation tensor to one
 * number, each with its derivative for gradients.
 *
 * @module
 */

import { ruleMessage } from "./errors.ts";
import { readProperty } from "./own_properties.ts";

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

/** This module's own scalarisations (frozen, trusted), built-in or from `vnorm(p)`. */
const TRUSTED = new WeakSet<object>();

function trusted(scalarisation: Scalarisation): Scalarisation {
  TRUSTED.add(Object.freeze(scalarisation));
  return scalarisation;
}

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
export const sum: Scalarisation = trusted({
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
export const mean: Scalarisation = trusted({
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
export const meansq: Scalarisation = trusted({
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
export const max: Scalarisation = trusted({
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
  return trusted({
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
 * Resolves the `scalarisation` option to a {@linkcode Scalarisation}. A
 * built-in is returned as it is; a user's function or Scalarisation is
 * wrapped (see {@linkcode guardScalarisation}) so that it only ever sees a
 * copy of the values and its result is checked.
 *
 * @param value A name, a Scalarisation, or a function.
 * @param context What was being done.
 * @param zeroVariance The loss's 0/0 policy: `"nan"` lets a result be NaN.
 * @returns The scalarisation.
 * @throws {TypeError} For anything else.
 */
export function resolveScalarisation(
  value: ScalarisationLike,
  context: string,
  zeroVariance: "zero" | "nan" = "zero",
): Scalarisation {
  if (typeof value === "string" && Object.hasOwn(BUILT_IN, value)) {
    return BUILT_IN[value as ScalarisationName];
  }
  if (isBuiltIn(value)) return value;
  const allowNaN = zeroVariance === "nan";
  if (typeof value === "function") {
    return guardScalarisation({ name: value.name || "custom", reduce: value }, allowNaN);
  }
  if (
    typeof value === "object" && value !== null &&
    typeof readProperty(value, "reduce") === "function"
  ) {
    return guardScalarisation(value as Scalarisation, allowNaN);
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

function isBuiltIn(value: unknown): value is Scalarisation {
  return typeof value === "object" && value !== null && TRUSTED.has(value);
}

/**
 * A user's scalarisation behind the two guarantees every caller relies on:
 * it receives a copy of the values, never an array the library emits or reads
 * again (a median that sorts in place must not reorder the correlations a
 * stream emits, nor the buffer it computes from), and its result is a finite
 * number, or NaN where the policy allows (`zeroVariance: "nan"`); its gradient
 * is written to a fresh array, checked, then copied out.
 *
 * The copy goes into one scratch array per guard, reused from call to call
 * (a stream calls the scalarisation three times a batch): it is valid during
 * the call only, and nothing the library uses is read from it.
 *
 * @param user The user's scalarisation.
 * @param allowNaN Whether a NaN result is allowed.
 * @returns The guarded scalarisation.
 */
export function guardScalarisation(user: Scalarisation, allowNaN: boolean): Scalarisation {
  // Read once; an empty or non-string name reads as "custom", as an anonymous function's does.
  const given = readProperty(user, "name");
  const name = typeof given === "string" && given !== "" ? given : "custom";
  const reduce = readProperty(user, "reduce") as Scalarisation["reduce"];
  const gradient = readProperty(user, "gradient");
  const context = `apply the scalarisation ${JSON.stringify(name)}`;
  const input = scratchCopier();
  // No prototype: an absent gradient reads as undefined even when Object.prototype has one.
  const guarded: Scalarisation = Object.assign(Object.create(null), {
    name,
    reduce(values: Float64Array): number {
      return checkedResult(
        input.with(values, (copy) => reduce.call(user, copy)),
        context,
        allowNaN,
      );
    },
  });
  if (typeof gradient === "function") {
    guarded.gradient = (values: Float64Array, out: Float64Array): void => {
      const written = new Float64Array(values.length);
      input.with(values, (copy) => gradient.call(user, copy, written));
      const bad = written.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        throw new RangeError(
          ruleMessage(context, "every element of its gradient", "a finite number", written[bad]) +
            ` at index ${bad}`,
        );
      }
      out.set(written);
    };
  }
  return Object.freeze(guarded);
}

/**
 * Scratch storage reused between calls; a call made while another is still
 * running (a scalarisation that calls its own loss) gets a fresh array.
 */
function scratchCopier() {
  let scratch = new Float64Array(0);
  let busy = false;
  return {
    /** Runs `use` on a copy of `values` in the scratch storage. */
    with<T>(values: Float64Array, use: (copy: Float64Array) => T): T {
      if (busy) return use(values.slice());
      busy = true;
      try {
        if (scratch.length !== values.length) scratch = new Float64Array(values.length);
        scratch.set(values);
        return use(scratch);
      } finally {
        busy = false;
      }
    },
  };
}

function checkedResult(result: unknown, context: string, allowNaN: boolean): number {
  const rule = allowNaN
    ? 'a finite number, or NaN (zeroVariance is "nan")'
    : 'a finite number (NaN only with zeroVariance: "nan")';
  if (typeof result !== "number") {
    throw new TypeError(ruleMessage(context, "its result", rule, result));
  }
  if (Number.isFinite(result) || (allowNaN && Number.isNaN(result))) return result;
  throw new RangeError(ruleMessage(context, "its result", rule, result));
}
