/**
 * The ONNX Runtime backend's public face: the interface a backend made by
 * `createOnnxBackend` implements, its options, and the providers it runs on.
 *
 * @module
 */

import type { BatchMoments } from "../core/batch_moments.ts";
import type { BatchCorrResult, ZeroVariancePolicy } from "../core/correlation_view.ts";
import type { TensorLike } from "../core/tensor.ts";
import type { BackendBatch, CorrelationBackend } from "../stream/correlation_backend.ts";

/**
 * Where the graph runs. `"wasm"` and `"webgpu"` use `onnxruntime-web`
 * (`"webgpu"` through the runtime's `navigator.gpu`, as in Deno and
 * browsers); `"cpu"`, `"cuda"` and `"webgpu-native"` use `onnxruntime-node`
 * (`"webgpu-native"` is the WebGPU execution provider inside its native
 * library, Dawn over Vulkan on Linux, which runs in Bun as in Deno);
 * `"auto"` takes the first that works of {@linkcode AUTO_PROVIDER_ORDER}.
 */
export type OnnxProvider = "wasm" | "webgpu" | "webgpu-native" | "cpu" | "cuda" | "auto";

/**
 * The providers `"auto"` tries, fastest first (`"webgpu-native"` only where
 * the machine has a GPU device node, `"webgpu"` only on a hardware adapter).
 *
 * @example The order of the fallback
 * ```ts
 * import { AUTO_PROVIDER_ORDER } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(AUTO_PROVIDER_ORDER, ["cuda", "webgpu-native", "webgpu", "cpu", "wasm"]);
 * ```
 */
export const AUTO_PROVIDER_ORDER: readonly Exclude<OnnxProvider, "auto">[] = [
  "cuda",
  "webgpu-native",
  "webgpu",
  "cpu",
  "wasm",
];

/** What `createOnnxBackend` found of an ONNX Runtime package. */
export interface OnnxPackageStatus {
  /** `"onnxruntime-node"` or `"onnxruntime-web"`. */
  readonly name: string;
  /** The version it reports (`env.versions`), or undefined when it could not be loaded. */
  readonly version: string | undefined;
  /** Why it could not be loaded ("onnxruntime-web is not installed"), else undefined. */
  readonly reason: string | undefined;
}

/** Options of {@linkcode createOnnxBackend}. */
export interface OnnxBackendOptions {
  /**
   * The execution provider.
   * @default {"auto"}
   */
  provider?: OnnxProvider;
  /**
   * Drop the sign of the thresholded values returned by `run` (baked into each model).
   * @default {true}
   */
  abs?: boolean;
  /**
   * What a correlation with a zero-variance side is in `run`'s results: 0 or NaN.
   * @default {"zero"}
   */
  zeroVariance?: ZeroVariancePolicy;
  /**
   * Threads: intra-op threads for `"cpu"` (0 lets ORT use every core); for
   * `"wasm"`, `onnxruntime-web`'s global `env.wasm.numThreads`, read once
   * when its WebAssembly starts (0 means ORT's default).
   * @default {1 for "wasm", 0 for "cpu"}
   */
  threads?: number;
  /**
   * How long to wait for `navigator.gpu.requestAdapter()` before calling
   * WebGPU unavailable.
   * @default {5000}
   */
  adapterTimeoutMs?: number;
}

/** Options of `OnnxBackend.run`. */
export interface OnnxRunOptions {
  /**
   * Tolerance fed to the graph; `"auto"` is resolved with `autoTol(B, tolSig)`.
   * @default {0}
   */
  tol?: number | "auto";
  /**
   * Significance level for `tol: "auto"`, in (0, 1).
   * @default {0.1}
   */
  tolSig?: number;
}

/** What `OnnxBackend.run` returns: `batchCorr`'s result and more. */
export interface OnnxRunResult extends BatchCorrResult {
  /** Pearson correlations before thresholding, `(F, M)` in hypercoil's order. */
  raw: Float64Array;
  /** The batch's moments, features in the natural column order of X. */
  moments: BatchMoments;
  /** The provider that ran the graph. */
  provider: Exclude<OnnxProvider, "auto">;
}

/**
 * Per-batch correlations and moments computed by ONNX Runtime: a
 * {@linkcode CorrelationBackend} for `correlateBatches`, and `run` for one
 * batch. Created by `createOnnxBackend`; released with `dispose`.
 *
 * @example One batch on the WebAssembly provider
 * ```ts
 * import { createOnnxBackend, type OnnxBackend } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * const backend: OnnxBackend = await createOnnxBackend({ provider: "wasm" });
 * try {
 *   const r = await backend.run([[1, 2], [2, 1], [3, 5], [4, 3]], [1, 2, 3, 4]);
 *   assert.deepEqual(r.shape, [2, 1]);
 *   assert.equal(r.provider, "wasm");
 *   assert.equal(backend.sessions, 1);
 * } finally {
 *   await backend.dispose();
 * }
 * ```
 */
export interface OnnxBackend extends CorrelationBackend {
  /** The provider that runs the graph. */
  readonly provider: Exclude<OnnxProvider, "auto">;
  /** Why earlier providers were skipped when `"auto"` fell back, else undefined. */
  readonly fallbackReason: string | undefined;
  /**
   * For `"webgpu"`: the adapter's description; else undefined
   * (onnxruntime-node does not report the adapter of `"webgpu-native"`).
   */
  readonly adapter: string | undefined;
  /**
   * The ONNX Runtime packages looked for: the one the provider needs, or
   * with `"auto"` both, each with its version or why it could not be loaded.
   */
  readonly packages: readonly OnnxPackageStatus[];
  /** How many sessions (one per `(F, M)`) are open. */
  readonly sessions: number;
  /**
   * Computes a validated batch's moments in the graph (float32), returned in
   * float64 storage with features in the natural column order of `batch.x`.
   *
   * @param batch A validated batch.
   * @returns Its moments, `count` = B.
   * @throws {RangeError} If the batch holds NaN or ±Infinity, or a column
   * whose squared deviations float32 cannot carry even once the column is
   * shifted by its first value (named in the message).
   * @throws {BatchCorrError} `backend_failed` if ONNX Runtime fails or the
   * backend was disposed.
   */
  computeMoments(batch: BackendBatch): Promise<BatchMoments>;

  /**
   * Runs the graph on one batch: `batchCorr`'s result computed in float32
   * (parity with the float64 path to about 1e-6, within 1e-4), with the raw
   * correlations and the moments.
   *
   * @param x Features with the batch on the first axis, as `batchCorr`.
   * @param n Confounds, `(B)` or `(M, B)`.
   * @param options Tolerance fed to the graph.
   * @returns The thresholded correlations `(F, M)` in hypercoil's order, `raw`,
   * `moments`, the tolerance, zero-variance counts and the provider.
   * @throws {TypeError} For wrong tensors or mismatched shapes, as `batchCorr`.
   * @throws {RangeError} For non-finite values, a bad tolerance, or `tol: "auto"` with B < 3.
   * @throws {BatchCorrError} `backend_failed` if ONNX Runtime fails or the
   * backend was disposed.
   *
   * @example Thresholded correlations on WebAssembly
   * ```ts
   * import { batchCorr, createOnnxBackend } from "@streamcorr/batch-corr";
   * import assert from "node:assert/strict";
   *
   * const x = [[1, 4], [2, 3], [3, 5], [4, 1]];
   * const n = [1, 2, 3, 4];
   * const backend = await createOnnxBackend({ provider: "wasm" });
   * try {
   *   const result = await backend.run(x, n, { tol: 0.1 });
   *   const expected = batchCorr(x, n, { tol: 0.1 });
   *   result.data.forEach((v, i) => assert.ok(Math.abs(v - expected.data[i]!) < 1e-4));
   * } finally {
   *   await backend.dispose();
   * }
   * ```
   */
  run(x: TensorLike, n: TensorLike, options?: OnnxRunOptions): Promise<OnnxRunResult>;

  /**
   * Releases every session and the float32 staging buffers (one batch's
   * worth per shape, kept between batches). Later calls throw; dispose is
   * idempotent.
   *
   * @returns When the sessions are released.
   */
  dispose(): Promise<void>;
}
