/**
 * Shape and type checks of the tensors given to the TensorFlow.js loss, with
 * the messages of the float64 core, and their reshaping into the `(B, F)` and
 * `(M, B)` float32 matrices the correlation op works on.
 *
 * @module
 */

import type { Tensor, Tensor2D } from "@tensorflow/tfjs";
import { ruleMessage, shapeText } from "../core/errors.ts";
import { checkElementLimit } from "../core/limits.ts";
import { tf } from "./_tfjs.ts";

/** A batch checked and reshaped for the correlation op. */
export interface CheckedTfBatch {
  /** Features as float32 `(B, F)`, F in the natural (row-major) order of x's trailing axes. */
  x: Tensor2D;
  /** Confounds as float32 `(M, B)`. */
  n: Tensor2D;
  /** B. */
  count: number;
  /** F. */
  features: number;
  /** M. */
  confounds: number;
  /** x's shape without the batch axis. */
  featureShape: number[];
}

const NUMERIC_DTYPES = new Set(["float32", "int32", "bool"]);

function checkTensor(value: unknown, name: string, context: string): Tensor {
  if (!(value instanceof tf.Tensor)) {
    throw new TypeError(
      ruleMessage(
        context,
        name,
        "a tf.Tensor (from the same @tensorflow/tfjs as this module)",
        value,
      ),
    );
  }
  if (value.isDisposed) {
    throw new TypeError(
      ruleMessage(
        context,
        name,
        "a tensor that is not disposed",
        `a disposed ${value.dtype} tensor of shape ${shapeText(value.shape)}`,
      ),
    );
  }
  if (!NUMERIC_DTYPES.has(value.dtype)) {
    throw new TypeError(
      ruleMessage(context, `${name}.dtype`, '"float32", "int32" or "bool"', value.dtype),
    );
  }
  return value;
}

/**
 * A tensor's shape, copied once and checked: non-negative integers whose
 * product is the tensor's size (a Proxy or getter that reports another shape
 * than the data has is refused here, not by a tf op later).
 */
function shapeOf(tensor: Tensor, name: string, context: string): number[] {
  const reported: unknown = tensor.shape;
  const shape = Array.isArray(reported) ? Array.from(reported as unknown[]) : undefined;
  const size: unknown = tensor.size;
  const valid = shape !== undefined &&
    shape.every((e) => typeof e === "number" && Number.isInteger(e) && e >= 0) &&
    (shape as number[]).reduce((a, b) => a * b, 1) === size;
  if (!valid) {
    throw new TypeError(
      ruleMessage(
        context,
        `${name}.shape`,
        `an array of non-negative integers whose product is ${name}.size (${String(size)})`,
        shape ?? reported,
      ),
    );
  }
  return shape as number[];
}

function asFloat32(value: Tensor): Tensor {
  return value.dtype === "float32" ? value : value.toFloat();
}

/** The confound count M, after the rules of SPEC section 1 for `(B)` or `(M, B)`. */
function confoundCount(
  shape: readonly number[],
  count: number,
  names: readonly [string, string],
  context: string,
): number {
  const [xName, nName] = names;
  if (shape.length === 1) {
    if (shape[0] !== count) {
      throw new TypeError(
        `Cannot ${context} as ${nName} must have one value per sample of ${xName} (B = ${count}): current shape is ${
          shapeText(shape)
        }`,
      );
    }
    return 1;
  }
  if (shape.length !== 2) {
    throw new TypeError(
      `Cannot ${context} as ${nName} must be a vector (B) or a matrix (M, B): current shape is ${
        shapeText(shape)
      }`,
    );
  }
  const [rows, cols] = shape as [number, number];
  if (cols !== count) {
    if (rows === count) {
      throw new TypeError(
        `Cannot ${context} as ${nName} must be (M, B) with confounds on the first axis and the batch (B = ${count}) on the last: current shape is ${
          shapeText(shape)
        }, which looks like (B, M); pass its transpose, of shape [${cols}, ${rows}]`,
      );
    }
    throw new TypeError(
      `Cannot ${context} as ${nName} must be (M, B) with the batch size of ${xName} (B = ${count}) on its last axis: current shape is ${
        shapeText(shape)
      }`,
    );
  }
  if (rows === 0) {
    throw new RangeError(
      ruleMessage(context, `the number of confounds in ${nName}`, "at least 1", 0),
    );
  }
  return rows;
}

/**
 * Checks x (batch first, any rank ≥ 1) and n (`(B)` or `(M, B)`) and reshapes
 * them, without reading their values (that would stall a GPU backend).
 * Call it inside `tf.tidy`: the reshaped and cast tensors are new.
 *
 * @param x Features, batch first.
 * @param n Confounds.
 * @param context What was being done, for messages.
 * @param names Argument names for messages.
 * @param maxElements The largest F·M allowed.
 * @returns The batch as float32 matrices, and its sizes.
 * @throws {TypeError} For a value that is not a live numeric tf.Tensor, a scalar x,
 * an n of rank other than 1 or 2, an n given as `(B, M)`, or mismatched batch sizes.
 * @throws {RangeError} For an empty batch, a zero-size feature axis or no confounds.
 * @throws {BatchCorrError} With code "resource_limit" if F·M exceeds `maxElements`.
 */
export function checkTfBatch(
  x: unknown,
  n: unknown,
  context: string,
  names: readonly [string, string],
  maxElements: number,
): CheckedTfBatch {
  const [xName, nName] = names;
  const xt = checkTensor(x, xName, context);
  const nt = checkTensor(n, nName, context);
  // Each shape read once; the copy is validated and used (a getter cannot answer 2, then 2.5).
  const xShape = shapeOf(xt, xName, context);
  const nShape = shapeOf(nt, nName, context);
  if (xShape.length === 0) {
    throw new TypeError(
      ruleMessage(
        context,
        xName,
        "a tensor of rank at least 1 with the batch on its first axis",
        "a scalar",
      ),
    );
  }
  const count = xShape[0]!;
  if (count === 0) {
    throw new RangeError(
      ruleMessage(context, `the batch size of ${xName} (its first axis)`, "at least 1", 0),
    );
  }
  const featureShape = xShape.slice(1);
  const features = featureShape.reduce((a, b) => a * b, 1);
  if (features === 0) {
    throw new RangeError(
      ruleMessage(
        context,
        xName,
        "at least one feature (no zero-size axis)",
        `a tensor of shape ${shapeText(xShape)}`,
      ),
    );
  }
  const confounds = confoundCount(nShape, count, names, context);
  checkElementLimit(features, confounds, maxElements, context);
  return {
    x: asFloat32(xt).reshape([count, features]) as Tensor2D,
    n: asFloat32(nt).reshape([confounds, count]) as Tensor2D,
    count,
    features,
    confounds,
    featureShape,
  };
}
