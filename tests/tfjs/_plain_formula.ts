/**
 * hypercoil's `batch_corr` written as plain TensorFlow.js ops, with nothing
 * but tf's own autodiff behind its gradient: the independent reference of
 * the tests and the baseline of `bench/tfjs_step.ts`.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";

/** The options of the plain formula. */
export interface PlainFormulaOptions {
  /** The numeric tolerance. */
  tol: number;
  /** Drop the sign of r. */
  abs: boolean;
}

/**
 * `batch_corr` as hypercoil writes it: flatten `X.swapaxes(0, -1).reshape(-1, B)`,
 * centre with the mean, `r = C / (sx ⊗ sn)`, soft threshold.
 *
 * @param x Features, batch first.
 * @param n Confounds, `(B)` or `(M, B)`.
 * @param options Tolerance and sign.
 * @returns `(F, M)` in hypercoil's order.
 */
export function plainBatchCorr(
  x: tf.Tensor,
  n: tf.Tensor,
  options: PlainFormulaOptions,
): tf.Tensor2D {
  return tf.tidy(() => {
    const B = x.shape[0]!;
    const rank = x.rank;
    // (B, d1, …, dk) → (B, dk, d1, …, d(k−1)): hypercoil's order after the reshape.
    const permuted = rank >= 3
      ? x.transpose([0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)])
      : x;
    const x2 = permuted.reshape([B, -1]);
    const n2 = n.reshape([-1, B]);
    const xc = x2.sub(x2.mean(0));
    const nc = n2.sub(n2.mean(1, true));
    const comoment = tf.matMul(xc, nc, true, true);
    const sx = xc.square().sum(0).sqrt();
    const sn = nc.square().sum(1).sqrt();
    const r = comoment.div(sx.reshape([-1, 1])).div(sn.reshape([1, -1]));
    const shrunk = tf.relu(r.abs().sub(options.tol));
    return (options.abs ? shrunk : r.sign().mul(shrunk)) as tf.Tensor2D;
  });
}
