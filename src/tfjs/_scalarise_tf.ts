/**
 * hypercoil's scalarisations as TensorFlow.js ops, with the derivatives of the
 * float64 core (`src/scalarise.ts`): the gradient of `max` is shared among
 * tied maxima, and `vnorm` has gradient 0 where the norm is 0 (tf's own
 * `norm` gives NaN there, which is where a well-trained model ends up).
 *
 * @module
 */

import type { GradSaveFunc, Scalar, Tensor, Tensor2D } from "@tensorflow/tfjs";
import type { TfScalar, TfTensor2D } from "./tf_types.ts";
import { max, mean, meansq, type Scalarisation, sum, vnorm } from "../core/scalarise.ts";
import { ruleMessage } from "../core/errors.ts";
import { tf } from "./_tfjs.ts";

/** A reduction of the `(F, M)` correlation tensor to one differentiable tf scalar. */
export interface TfScalarisation {
  /** A short name ("mean", "vnorm(2)", or the function's name). */
  readonly name: string;
  /**
   * Reduces the values to one number.
   * @param values The thresholded correlations, `(F, M)`.
   * @returns The scalar, differentiable with respect to `values`.
   */
  reduce(values: TfTensor2D): TfScalar;
}

/** The rule of the `scalarisation` option, for messages. */
export const TF_SCALARISATION_RULE =
  '"sum", "mean", "meansq", "max", "vnorm", one of the core\'s sum, mean, meansq, max or vnorm(p), or a function (values: tf.Tensor2D) => tf.Scalar';

const nanIfAny = (values: Tensor, result: Tensor): Scalar =>
  tf.where(values.isNaN().any(), tf.scalar(Number.NaN), result) as Scalar;

/** The gradient `dy · mask / Σ mask`, shared evenly among the selected elements. */
function shared(dy: Tensor, mask: Tensor, sign?: Tensor): Tensor {
  const selected = mask.toFloat();
  const count = selected.sum();
  const share = tf.where(count.greater(0), dy.div(count), tf.zerosLike(dy));
  return sign ? selected.mul(sign).mul(share) : selected.mul(share);
}

const maxTf: TfScalarisation = Object.freeze({
  name: "max",
  reduce: tf.customGrad((values, save) => {
    const v = values as Tensor2D;
    const best = v.max();
    (save as GradSaveFunc)([v, best]);
    return {
      value: nanIfAny(v, best),
      gradFunc: (dy: Tensor, [kept, top]: Tensor[]) => shared(dy, kept!.equal(top!)),
    };
  }) as (values: Tensor2D) => Scalar,
});

/** `(Σ|v|^p)^(1/p)` for finite `p ≠ 0`, scaled by `max|v|` for `p > 0` so nothing under- or overflows. */
function pNorm(a: Tensor, p: number): Scalar {
  if (p < 0) return a.pow(p).sum().pow(1 / p) as Scalar;
  const scale = a.max();
  const safeScale = tf.where(scale.greater(0), scale, tf.onesLike(scale));
  return a.div(safeScale).pow(p).sum().pow(1 / p).mul(scale) as Scalar;
}

function vnormTf(p: number): TfScalarisation {
  const name = `vnorm(${p})`;
  if (p === 0) {
    return Object.freeze({
      name,
      reduce: tf.customGrad((values) => {
        const shape = (values as Tensor).shape;
        return {
          // NaN !== 0 counts as non-zero, as the float64 core.
          value: (values as Tensor).notEqual(0).sum().toFloat() as Scalar,
          gradFunc: () => tf.zeros(shape),
        };
      }) as (values: Tensor2D) => Scalar,
    });
  }
  return Object.freeze({
    name,
    reduce: tf.customGrad((values, save) => {
      const v = values as Tensor2D;
      const a = v.abs();
      const norm = p === Infinity ? a.max() : p === -Infinity ? a.min() : pNorm(a, p);
      (save as GradSaveFunc)([v, norm]);
      return {
        value: nanIfAny(v, norm),
        gradFunc: (dy: Tensor, [kept, total]: Tensor[]) => {
          const x = kept!, n = total!;
          const zeros = tf.zerosLike(x);
          const live = n.notEqual(0);
          if (!Number.isFinite(p)) {
            return tf.where(live, shared(dy, x.abs().equal(n), x.sign()), zeros);
          }
          // d/dv (Σ|v|^p)^(1/p) = sign(v) (|v| / norm)^(p − 1); 0 where v or the norm is 0.
          const derivative = x.sign().mul(x.abs().div(n).pow(p - 1));
          return tf.where(live.logicalAnd(x.notEqual(0)), derivative.mul(dy), zeros);
        },
      };
    }) as (values: Tensor2D) => Scalar,
  });
}

const BUILT_IN: Record<string, TfScalarisation> = {
  sum: Object.freeze({ name: "sum", reduce: (values: Tensor2D) => values.sum() as Scalar }),
  mean: Object.freeze({ name: "mean", reduce: (values: Tensor2D) => values.mean() as Scalar }),
  meansq: Object.freeze({
    name: "meansq",
    reduce: (values: Tensor2D) => values.square().mean() as Scalar,
  }),
  max: maxTf,
  vnorm: vnormTf(2),
};

const CORE_BUILT_IN = new Map<Scalarisation, TfScalarisation>([
  [sum, BUILT_IN.sum!],
  [mean, BUILT_IN.mean!],
  [meansq, BUILT_IN.meansq!],
  [max, BUILT_IN.max!],
]);

/** The p of a core `vnorm(p)`, recognised by its name and checked on a probe. */
function coreVnormOrder(value: Scalarisation): number | undefined {
  const match = /^vnorm\((.+)\)$/.exec(value.name);
  if (!match) return undefined;
  const p = Number(match[1]);
  if (Number.isNaN(p)) return undefined;
  const probe = new Float64Array([0.25, -0.5, 0, 0.75]);
  return Object.is(value.reduce(probe), vnorm(p).reduce(probe)) ? p : undefined;
}

/** The dtypes a scalarisation's result may have. */
const NUMERIC_RESULT = new Set(["float32", "int32"]);

function fromFunction(fn: (values: Tensor2D) => unknown, context: string): TfScalarisation {
  const name = fn.name || "custom";
  return Object.freeze({
    name,
    reduce(values: Tensor2D): Scalar {
      const out = fn(values);
      // A string or complex scalar is no loss value: tf would fail later, far from the cause.
      if (!(out instanceof tf.Tensor) || out.rank !== 0 || !NUMERIC_RESULT.has(out.dtype)) {
        throw new TypeError(
          ruleMessage(
            context,
            `the result of options.scalarisation (${name})`,
            "a tf.Scalar of dtype float32 or int32 (a function over a Float64Array, the float64 core's form, cannot run in a tf graph)",
            out instanceof tf.Tensor
              ? `a ${out.dtype} tensor of shape [${out.shape.join(", ")}]`
              : out,
          ),
        );
      }
      return out as Scalar;
    },
  });
}

/**
 * Resolves the `scalarisation` option of the TensorFlow.js loss.
 *
 * @param value A name, a core built-in `Scalarisation` (`sum`, `mean`,
 * `meansq`, `max`, `vnorm(p)`), or a function `(values: tf.Tensor2D) => tf.Scalar`.
 * @param context What was being done.
 * @returns The tf scalarisation.
 * @throws {TypeError} For anything else, including a core `Scalarisation`
 * written by hand (it runs on float64 host arrays, not in a tf graph).
 */
export function resolveTfScalarisation(value: unknown, context: string): TfScalarisation {
  if (typeof value === "string" && Object.hasOwn(BUILT_IN, value)) return BUILT_IN[value]!;
  if (typeof value === "function") {
    return fromFunction(value as (values: Tensor2D) => unknown, context);
  }
  if (typeof value === "object" && value !== null) {
    const known = CORE_BUILT_IN.get(value as Scalarisation);
    if (known) return known;
    if (
      typeof (value as Scalarisation).reduce === "function" &&
      typeof (value as Scalarisation).name === "string"
    ) {
      const p = coreVnormOrder(value as Scalarisation);
      if (p !== undefined) return vnormTf(p);
      throw new TypeError(
        ruleMessage(context, "options.scalarisation", TF_SCALARISATION_RULE, value) +
          ` named ${
            JSON.stringify((value as Scalarisation).name)
          }, which reduces float64 host arrays and cannot run in a tf graph`,
      );
    }
  }
  throw new TypeError(ruleMessage(context, "options.scalarisation", TF_SCALARISATION_RULE, value));
}
