/**
 * The ONNX Runtime backend's implementation (the public interface is
 * `OnnxBackend`): the exported one-batch graph run on WebAssembly, WebGPU
 * (`onnxruntime-web`), the native CPU, CUDA or WebGPU (`onnxruntime-node`).
 *
 * @module
 */

import { resolveTol } from "../core/auto_tol.ts";
import type { BatchMoments, KernelArray } from "../core/batch_moments.ts";
import { zeroVarianceCounts } from "../core/correlation_view.ts";
import { BatchCorrError, ruleMessage } from "../core/errors.ts";
import { permuteRows } from "../core/feature_order.ts";
import {
  findFloat32Misfit,
  FLOAT32_SQUARES_RANGE,
  shiftConfoundsToFloat32,
  type ShiftedFloat32,
  shiftFeaturesToFloat32,
  unshiftMeans,
} from "../core/float32_shift.ts";
import { pinConstantMeans } from "../core/moment_algebra.ts";
import { findNonFinite } from "../core/numeric_range.ts";
import { parseOptions } from "../core/parse_options.ts";
import { assertFiniteBatch, prepareBatch } from "../core/prepare_batch.ts";
import type { TensorLike } from "../core/tensor.ts";
import type { BackendBatch } from "../stream/correlation_backend.ts";
import { exportBatchCorrOnnx, ONNX_IO } from "./export_batch_corr_onnx.ts";
import type {
  OnnxBackend,
  OnnxPackageStatus,
  OnnxRunOptions,
  OnnxRunResult,
} from "./onnx_backend.ts";
import { BACKEND_RULES, type ResolvedBackendOptions, runOptionsSchema } from "./_onnx_options.ts";
import {
  type ConcreteOnnxProvider,
  type OrtRuntime,
  type OrtSession,
  reasonOf,
} from "./_runtime.ts";

/** Everything the graph returns for one batch, converted to float64. */
interface GraphOutputs {
  raw: Float64Array;
  thresholded: Float64Array;
  moments: BatchMoments;
}

const MOMENT_OUTPUTS = [ONNX_IO.meanX, ONNX_IO.meanN, ONNX_IO.m2X, ONNX_IO.m2N, ONNX_IO.comoment];
const ALL_OUTPUTS = [ONNX_IO.raw, ONNX_IO.thresholded, ...MOMENT_OUTPUTS];

/**
 * Float32 copies of the inputs, each column shifted by its first value in
 * float64 before rounding (SPEC section 6: `1e6 + 0.01·noise` rounded to
 * float32 alone keeps no digit of the noise), reused from batch to batch: on
 * large batches, touching fresh pages costs far more than the conversion
 * itself (about 0.7 s against 30 ms for a (256, 100000) batch here).
 */
class StagingBuffers {
  #buffers = new Map<string, Float32Array>();

  #buffer(key: string, length: number): Float32Array {
    let buffer = this.#buffers.get(key);
    if (buffer === undefined || buffer.length !== length) {
      buffer = new Float32Array(length);
      this.#buffers.set(key, buffer);
    }
    return buffer;
  }

  /** X `(B, F)` shifted by its first row, as float32. */
  features(key: string, x: KernelArray, B: number, F: number): ShiftedFloat32 {
    return shiftFeaturesToFloat32(x, B, F, this.#buffer(key, B * F));
  }

  /** N `(M, B)` shifted by its first column, as float32. */
  confounds(key: string, n: KernelArray, M: number, B: number): ShiftedFloat32 {
    return shiftConfoundsToFloat32(n, M, B, this.#buffer(key, M * B));
  }

  clear(): void {
    this.#buffers.clear();
  }
}

function toFloat64(output: { data: unknown } | undefined, name: string): Float64Array {
  if (output === undefined || !(output.data instanceof Float32Array)) {
    throw new BatchCorrError(
      "backend_failed",
      `Cannot read the ONNX output "${name}" as it must be float32 data on the CPU`,
    );
  }
  return new Float64Array(output.data);
}

/**
 * The ONNX Runtime backend: sessions per `(F, M)`, float32 staging buffers,
 * runs one at a time. Made by `createOnnxBackend` only.
 */
export class OnnxBackendImpl implements OnnxBackend {
  readonly #runtime: OrtRuntime;
  readonly #options: ResolvedBackendOptions;
  readonly #sessions = new Map<string, Promise<OrtSession>>();
  readonly #staging = new StagingBuffers();
  /** ORT sessions are not re-entrant: runs go one at a time. */
  #queue: Promise<unknown> = Promise.resolve();
  #disposed = false;
  /** The provider that runs the graph. */
  readonly provider: ConcreteOnnxProvider;
  /** Why earlier providers were skipped when `"auto"` fell back, else undefined. */
  readonly fallbackReason: string | undefined;
  /** For `"webgpu"`: the adapter's description; else undefined. */
  readonly adapter: string | undefined;
  /** The ONNX Runtime packages looked for, with their versions. */
  readonly packages: readonly OnnxPackageStatus[];

  /**
   * Wraps a loaded runtime; `createOnnxBackend` calls it.
   *
   * @param runtime The runtime.
   * @param options Resolved options.
   * @param found What was found: why `"auto"` skipped faster providers, the
   * WebGPU adapter's description, the packages looked for.
   */
  constructor(
    runtime: OrtRuntime,
    options: ResolvedBackendOptions,
    found: {
      fallbackReason: string | undefined;
      adapter: string | undefined;
      packages: readonly OnnxPackageStatus[];
    },
  ) {
    this.#runtime = runtime;
    this.#options = options;
    this.provider = runtime.provider;
    this.fallbackReason = found.fallbackReason;
    this.adapter = found.adapter;
    this.packages = Object.freeze(found.packages.map((p) => Object.freeze({ ...p })));
  }

  /** How many sessions (one per `(F, M)`) are open. */
  get sessions(): number {
    return this.#sessions.size;
  }

  /**
   * Computes a validated batch's moments in the graph (float32), returned in
   * float64 storage with features in the natural column order of `batch.x`.
   *
   * @param batch A validated batch (`prepareBatch`).
   * @returns Its moments, `count` = B.
   * @throws {RangeError} If the batch holds NaN or ±Infinity, or a column
   * whose squared deviations float32 cannot carry even once the column is
   * shifted by its first value (named in the message).
   * @throws {BatchCorrError} `backend_failed` if ONNX Runtime fails or the
   * backend was disposed.
   */
  async computeMoments(batch: BackendBatch): Promise<BatchMoments> {
    const outputs = await this.#execute(
      batch,
      0,
      MOMENT_OUTPUTS,
      "compute batch moments with ONNX Runtime",
    );
    return outputs.moments;
  }

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
  async run(x: TensorLike, n: TensorLike, options?: OnnxRunOptions): Promise<OnnxRunResult> {
    const context = "run batchCorr with ONNX Runtime";
    const { tol, tolSig } = parseOptions(runOptionsSchema, options, context, BACKEND_RULES);
    const batch = prepareBatch(x, n, context);
    const resolved = resolveTol(tol, tolSig, batch.count, context);
    const { raw, thresholded, moments } = await this.#execute(
      batch,
      resolved,
      ALL_OUTPUTS,
      context,
    );
    const M = batch.confounds;
    // The graph thresholds in float32 itself; the view's order and counts are those of every path.
    return {
      data: batch.order ? permuteRows(thresholded, batch.order, M) : thresholded,
      raw: batch.order ? permuteRows(raw, batch.order, M) : raw,
      shape: [batch.features, M],
      tol: resolved,
      ...zeroVarianceCounts(moments),
      moments,
      provider: this.provider,
    };
  }

  /**
   * Releases every session and the float32 staging buffers (one batch's
   * worth per shape, kept between batches). Later calls throw; dispose is
   * idempotent.
   *
   * @returns When the sessions are released.
   */
  async dispose(): Promise<void> {
    this.#disposed = true;
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    this.#staging.clear();
    await this.#queue.catch(() => {});
    await Promise.allSettled(sessions.map(async (pending) => (await pending).release()));
  }

  #session(features: number, confounds: number): Promise<OrtSession> {
    const key = `${features}x${confounds}`;
    let session = this.#sessions.get(key);
    if (session === undefined) {
      const { abs, zeroVariance } = this.#options;
      session = this.#runtime.createSession(
        exportBatchCorrOnnx({ features, confounds, abs, zeroVariance }),
      );
      // A failed creation must not stay cached: the next batch retries.
      session.catch(() => this.#sessions.delete(key));
      this.#sessions.set(key, session);
    }
    return session;
  }

  #execute(
    batch: BackendBatch,
    tol: number,
    fetches: readonly string[],
    context: string,
  ): Promise<GraphOutputs> {
    const work = this.#queue.then(() => this.#executeNow(batch, tol, fetches, context));
    this.#queue = work.catch(() => {});
    return work;
  }

  async #executeNow(
    batch: BackendBatch,
    tol: number,
    fetches: readonly string[],
    context: string,
  ): Promise<GraphOutputs> {
    const { count: B, features: F, confounds: M } = batch;
    if (this.#disposed) {
      throw new BatchCorrError(
        "backend_failed",
        ruleMessage(context, `the ${this.provider} backend`, "open (not disposed)", "disposed"),
        {
          details: { provider: this.provider },
        },
      );
    }
    if (batch.x.length !== B * F || batch.n.length !== M * B) {
      throw new TypeError(
        `Cannot ${context} as the batch's storage must hold B·F = ${B * F} features and M·B = ${
          M * B
        } confounds: current lengths are ${batch.x.length} and ${batch.n.length}`,
      );
    }
    let results: Record<string, { data: unknown; dispose?(): void }>;
    let shiftX: ShiftedFloat32, shiftN: ShiftedFloat32;
    try {
      const session = await this.#session(F, M);
      shiftX = this.#staging.features(`x${F}x${M}`, batch.x, B, F);
      shiftN = this.#staging.confounds(`n${F}x${M}`, batch.n, M, B);
      results = await session.run({
        [ONNX_IO.x]: this.#runtime.tensor(shiftX.values, [B, F]),
        [ONNX_IO.n]: this.#runtime.tensor(shiftN.values, [M, B]),
        [ONNX_IO.tol]: this.#runtime.tensor(new Float32Array([tol]), []),
      }, fetches);
    } catch (error) {
      throw new BatchCorrError(
        "backend_failed",
        `Cannot ${context} as the ${this.provider} provider failed on a batch of shape B = ${B}, F = ${F}, M = ${M}: ${
          reasonOf(error)
        }`,
        {
          cause: error,
          details: { provider: this.provider, batchSize: B, features: F, confounds: M },
        },
      );
    }
    // The outputs fetched (its own keys), never a name only Object.prototype holds.
    const read = (name: string) =>
      Object.hasOwn(results, name) && results[name] !== undefined
        ? toFloat64(results[name], name)
        : new Float64Array(0);
    const outputs: GraphOutputs = {
      raw: read(ONNX_IO.raw),
      thresholded: read(ONNX_IO.thresholded),
      moments: {
        count: B,
        features: F,
        confounds: M,
        meanX: read(ONNX_IO.meanX),
        meanN: read(ONNX_IO.meanN),
        m2X: read(ONNX_IO.m2X),
        m2N: read(ONNX_IO.m2N),
        comoment: read(ONNX_IO.comoment),
      },
    };
    for (const output of Object.values(results)) output.dispose?.();
    unshiftMeans(outputs.moments, shiftX.reference, shiftN.reference);
    this.#assertRepresentable(batch, outputs.moments, context);
    pinConstantMeans(outputs.moments, batch);
    return outputs;
  }

  /**
   * Refuses NaN or ±Infinity in the batch (naming the element), then any
   * column whose float32 sum of squares left {@linkcode FLOAT32_SQUARES_RANGE}
   * although it varies (naming the column).
   */
  #assertRepresentable(batch: BackendBatch, moments: BatchMoments, context: string): void {
    const { meanX, meanN, m2X, m2N } = moments;
    if (![meanX, meanN, m2X, m2N].every((values) => findNonFinite(values) < 0)) {
      if (findNonFinite(batch.x) >= 0 || findNonFinite(batch.n) >= 0) {
        assertFiniteBatch(batch, moments, context);
      }
    }
    const misfit = findFloat32Misfit(batch, moments);
    if (misfit === undefined) return;
    const column = misfit.side === "features"
      ? `feature column ${misfit.index} of X`
      : `confound ${misfit.index} of N`;
    const [low, high] = FLOAT32_SQUARES_RANGE;
    throw new RangeError(
      ruleMessage(
        context,
        `the squared deviations of ${column}`,
        `a float32 sum between ${low.toExponential(1)} and ${
          high.toExponential(1)
        } (or 0 for a constant column), once the column is shifted by its first value, for the ${this.provider} provider`,
        misfit.squares,
      ) +
        " although the column varies; rescale it (correlations do not change with scale) or use the float64 TypeScript kernel (no backend)",
    );
  }
}
