/**
 * The correlation op computed on the host, for the tfjs backends whose
 * tensors already live in host memory (cpu, wasm): the values are read once,
 * the forward pass is the core's float64 `batchCorr` path and the backward
 * pass its closed-form pullback, so a step costs a handful of tf kernels
 * instead of the hundred small ones of the tf-ops graph, whose fixed cost
 * dominates a small model's step. Float64 throughout, rounded to float32
 * once at the end.
 *
 * @module
 */

import type { Tensor, Tensor2D } from "@tensorflow/tfjs";
import { batchCorrPrepared } from "../batch_corr/batch_corr_prepared.ts";
import { matrixBatch } from "../core/prepare_batch.ts";
import { type CorrelationForward, correlationPullback } from "../loss/loss_gradient.ts";
import { tf } from "./_tfjs.ts";

/**
 * Up to this many `B·F` elements, `"auto"` computes on the host on the wasm
 * backend: reading a tensor out of its heap and writing the gradient back
 * cost about as much as its tf ops from about 16,384 elements on (measured
 * with `bench/tfjs_step.ts`-style steps, Deno 2.9.6 and Bun 1.4.5: the host
 * path 3× faster at 222×1, 0.7–1.35× at 256×64, 0.2–0.5× from 256×128 on).
 * The cpu backend's tensors are plain arrays and its ops slow: the host path
 * wins there at every size measured (6.4 against 12.6 ms at 256×512×4, 48
 * against 398 ms at 1024×4096×4).
 */
export const WASM_HOST_ELEMENTS = 8192;

/** Where the correlation op runs: the active backend's kind, or as asked. */
export type TfCompute = "auto" | "host" | "tf";

/**
 * Whether the op runs on the host: `"host"` always, `"tf"` never, `"auto"` on
 * the cpu backend, and on the wasm backend up to {@linkcode WASM_HOST_ELEMENTS}
 * `B·F` elements (never on webgl or webgpu, whose data stay on the device).
 *
 * @param compute The option.
 * @param elements `B·F`, the size of x.
 * @returns Whether to run on the host.
 */
export function computesOnHost(compute: TfCompute, elements: number): boolean {
  if (compute !== "auto") return compute === "host";
  const backend = tf.getBackend();
  return backend === "cpu" || (backend === "wasm" && elements <= WASM_HOST_ELEMENTS);
}

/** The settings the host op needs (those of the tf-ops op). */
export interface HostOpSettings {
  /** The resolved tolerance. */
  tol: number;
  /** Whether the sign is dropped. */
  abs: boolean;
  /** The zero-variance policy. */
  zeroVariance: "zero" | "nan";
}

function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) return false;
  }
  return true;
}

/** The values of a float32 tensor, as a float32 array (a copy where the backend hands out its own). */
function hostValues(tensor: Tensor): Float32Array {
  return tensor.dataSync() as Float32Array;
}

/**
 * Thresholded correlations `(F, M)` of x `(B, F)` with n `(M, B)`, computed
 * on the host and differentiable with respect to both through two
 * custom-gradient nodes (one per input, as the tf-ops op, so the tape skips
 * n's gradient when n is a constant). Returns undefined for data holding
 * NaN or ±Infinity, which the tf-ops op turns into NaN rather than an error.
 *
 * @param x Features, float32 `(B, F)`.
 * @param n Confounds, float32 `(M, B)`.
 * @param settings Tolerance, sign and zero-variance policy.
 * @returns The correlations, or undefined for non-finite data.
 */
export function hostCorrelationOp(
  x: Tensor2D,
  n: Tensor2D,
  settings: HostOpSettings,
): Tensor2D | undefined {
  const [B, F] = x.shape;
  const M = n.shape[0];
  const xs = hostValues(x), ns = hostValues(n);
  if (!allFinite(xs) || !allFinite(ns)) return undefined;
  const batch = matrixBatch(xs, ns, { count: B, features: F, confounds: M });
  const { result, raw, moments, kernel } = batchCorrPrepared(
    batch,
    { ...settings, tolSig: 0.05 }, // tolSig only serves "auto", already resolved
    "compute the batch correlations on the host",
  );
  const forward: CorrelationForward = { raw, moments, kernel, order: undefined, tol: settings.tol };
  // As the tf-ops op: with zeroVariance "nan", a NaN value makes every gradient element NaN.
  const poisoned = settings.zeroVariance === "nan" && !allFinite(result.data);
  const pullback = (dy: Tensor, which: "x" | "n", shape: [number, number]): Tensor2D => {
    const weights = Float64Array.from(dy.dataSync());
    const grads = correlationPullback(forward, weights, settings.abs, 1, {
      wantX: which === "x",
      wantN: which === "n",
    });
    const gradient = new Float32Array((which === "x" ? grads.gradX : grads.gradN)!);
    if (poisoned) gradient.fill(Number.NaN);
    return tf.tensor2d(gradient, shape);
  };
  const throughX = tf.customGrad((_x) => ({
    value: tf.tensor2d(new Float32Array(result.data), [F, M]),
    gradFunc: (dy: Tensor) => pullback(dy, "x", [B, F]),
  }));
  const throughN = tf.customGrad((_n) => ({
    value: tf.zeros([F, M]),
    gradFunc: (dy: Tensor) => pullback(dy, "n", [M, B]),
  }));
  return (throughX(x) as Tensor2D).add(throughN(n) as Tensor2D);
}
