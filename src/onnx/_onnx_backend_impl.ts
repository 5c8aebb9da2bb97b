/**
 * The ONNX Runtime backend: the exported one-batch graph run on WebAssembly,
 * WebGPU (`onnxruntime-web`), the native CPU or CUDA (`onnxruntime-node`).
 *
 * @module
 */

import { z } from "zod";
import type { CorrelationBackend } from "../stream/correlation_backend.ts";
import type { BatchCorrResult } from "../batch_corr/batch_corr.ts";
import { resolveTol } from "../batch_corr/batch_corr.ts";
import { BatchCorrError, ruleMessage } from "../core/errors.ts";
import { type BatchMoments, findNonFinite } from "../kernels/compute_batch_moments.ts";
import { parseOptions, tolSchema } from "../core/parse_options.ts";
import { pinConstantMeans } from "../accumulator/correlation_accumulator.ts";
import { assertFiniteBatch, type PreparedBatch, prepareBatch } from "../core/prepare_batch.ts";
import type { TensorLike } from "../core/tensor.ts";
import { permuteRows } from "../core/tensor.ts";
import { countZeros, type ZeroVariancePolicy } from "../core/correlation_view.ts";
import { exportBatchCorrOnnx, ONNX_IO } from "./export_batch_corr_onnx.ts";
import { type ConcreteOnnxProvider, type OrtRuntime, type OrtSession, reasonOf } from "./_runtime.ts";

/**
 * Where the graph runs. `"wasm"` and `"webgpu"` use `onnxruntime-web`,
 * `"cpu"` and `"cuda"` use `onnxruntime-node`; `"auto"` takes the first that
 * works of `"cuda"`, `"webgpu"` (a hardware adapter only), `"cpu"`, `"wasm"`.
 */
export type OnnxProvider = ConcreteOnnxProvider | "auto";

/**
 * The providers `"auto"` tries, fastest first.
 *
 * @example The order of the fallback
 * ```ts
 * import { AUTO_PROVIDER_ORDER } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(AUTO_PROVIDER_ORDER, ["cuda", "webgpu", "cpu", "wasm"]);
 * ```
 */
export const AUTO_PROVIDER_ORDER: readonly ConcreteOnnxProvider[] = ["cuda", "webgpu", "cpu", "wasm"];

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

/** Options of {@linkcode OnnxBackend.run}. */
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

/** What {@linkcode OnnxBackend.run} returns: `batchCorr`'s result and more. */
export interface OnnxRunResult extends BatchCorrResult {
  /** Pearson correlations before thresholding, `(F, M)` in hypercoil's order. */
  raw: Float64Array;
  /** The batch's moments, features in the natural column order of X. */
  moments: BatchMoments;
  /** The provider that ran the graph. */
  provider: ConcreteOnnxProvider;
}

const PROVIDERS: readonly string[] = ["auto", ...AUTO_PROVIDER_ORDER];

const backendOptionsSchema = z.strictObject({
  provider: z.string().default("auto"),
  abs: z.boolean().default(true),
  zeroVariance: z.enum(["zero", "nan"]).default("zero"),
  threads: z.number().int().nonnegative().max(1024).optional(),
  adapterTimeoutMs: z.number().positive().finite().default(5000),
});

const runOptionsSchema = z.strictObject({
  tol: tolSchema.default(0),
  tolSig: z.number().gt(0).lt(1).default(0.1),
});

const BACKEND_RULES: Record<string, string> = {
  provider: PROVIDERS.map((p) => JSON.stringify(p)).join(", "),
  abs: "a boolean",
  zeroVariance: '"zero" or "nan"',
  threads: "a non-negative integer",
  adapterTimeoutMs: "a positive finite number of milliseconds",
  tol: 'a finite non-negative number or "auto"',
  tolSig: "a number in the open interval (0, 1)",
};

/** Backend options after validation, defaults applied. */
interface ResolvedBackendOptions {
  provider: string;
  abs: boolean;
  zeroVariance: "zero" | "nan";
  threads?: number | undefined;
  adapterTimeoutMs: number;
}

/** Everything the graph returns for one batch, converted to float64. */
interface GraphOutputs {
  raw: Float64Array;
  thresholded: Float64Array;
  moments: BatchMoments;
}

const MOMENT_OUTPUTS = [ONNX_IO.meanX, ONNX_IO.meanN, ONNX_IO.m2X, ONNX_IO.m2N, ONNX_IO.comoment];
const ALL_OUTPUTS = [ONNX_IO.raw, ONNX_IO.thresholded, ...MOMENT_OUTPUTS];

/**
 * Float32 copies of float64 inputs, reused from batch to batch: on large
 * batches, touching fresh pages costs far more than the conversion itself
 * (about 0.7 s against 30 ms for a (256, 100000) batch here).
 */
class StagingBuffers {
  #buffers = new Map<string, Float32Array>();

  /** The data as float32: float32 input as is, float64 copied into a kept buffer. */
  float32(key: string, data: Float64Array | Float32Array): Float32Array {
    if (data instanceof Float32Array) return data;
    let buffer = this.#buffers.get(key);
    if (buffer === undefined || buffer.length !== data.length) {
      buffer = new Float32Array(data.length);
      this.#buffers.set(key, buffer);
    }
    buffer.set(data);
    return buffer;
  }

  clear(): void {
    this.#buffers.clear();
  }
}

function toFloat64(output: { data: unknown } | undefined, name: string): Float64Array {
  if (output === undefined || !(output.data instanceof Float32Array)) {
    throw new BatchCorrError("backend_failed", `Cannot read the ONNX output "${name}" as it must be float32 data on the CPU`);
  }
  return new Float64Array(output.data);
}

/**
 * Per-batch correlations and moments computed by ONNX Runtime. Created by
 * {@linkcode createOnnxBackend}; see there.
 *
 * @example One batch on the WebAssembly provider
 * ```ts
 * import { createOnnxBackend, OnnxBackend } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * const backend = await createOnnxBackend({ provider: "wasm" });
 * try {
 *   assert.ok(backend instanceof OnnxBackend);
 *   const r = await backend.run([[1, 2], [2, 1], [3, 5], [4, 3]], [1, 2, 3, 4]);
 *   assert.deepEqual(r.shape, [2, 1]);
 *   assert.equal(r.provider, "wasm");
 * } finally {
 *   await backend.dispose();
 * }
 * ```
 */
export class OnnxBackend implements CorrelationBackend {
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

  /**
   * Wraps a loaded runtime; use {@linkcode createOnnxBackend} instead.
   *
   * @param runtime The runtime.
   * @param options Resolved options.
   * @param fallbackReason Why `"auto"` skipped faster providers.
   * @param adapter The WebGPU adapter's description.
   */
  constructor(
    runtime: OrtRuntime,
    options: ResolvedBackendOptions,
    fallbackReason: string | undefined,
    adapter: string | undefined,
  ) {
    this.#runtime = runtime;
    this.#options = options;
    this.provider = runtime.provider;
    this.fallbackReason = fallbackReason;
    this.adapter = adapter;
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
   * @throws {RangeError} If the batch holds NaN or ±Infinity, or values
   * whose float32 sums of squares overflow.
   * @throws {BatchCorrError} `backend_failed` if ONNX Runtime fails or the
   * backend was disposed.
   */
  async computeMoments(batch: PreparedBatch): Promise<BatchMoments> {
    const outputs = await this.#execute(batch, 0, MOMENT_OUTPUTS, "compute batch moments with ONNX Runtime");
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
    const { raw, thresholded, moments } = await this.#execute(batch, resolved, ALL_OUTPUTS, context);
    const M = batch.confounds;
    return {
      data: batch.order ? permuteRows(thresholded, batch.order, M) : thresholded,
      raw: batch.order ? permuteRows(raw, batch.order, M) : raw,
      shape: [batch.features, M],
      tol: resolved,
      zeroVarianceFeatures: countZeros(moments.m2X),
      zeroVarianceConfounds: countZeros(moments.m2N),
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
      session = this.#runtime.createSession(exportBatchCorrOnnx({ features, confounds, abs, zeroVariance }));
      // A failed creation must not stay cached: the next batch retries.
      session.catch(() => this.#sessions.delete(key));
      this.#sessions.set(key, session);
    }
    return session;
  }

  #execute(batch: PreparedBatch, tol: number, fetches: readonly string[], context: string): Promise<GraphOutputs> {
    const work = this.#queue.then(() => this.#executeNow(batch, tol, fetches, context));
    this.#queue = work.catch(() => {});
    return work;
  }

  async #executeNow(batch: PreparedBatch, tol: number, fetches: readonly string[], context: string): Promise<GraphOutputs> {
    const { count: B, features: F, confounds: M } = batch;
    if (this.#disposed) {
      throw new BatchCorrError("backend_failed", ruleMessage(context, `the ${this.provider} backend`, "open (not disposed)", "disposed"), {
        details: { provider: this.provider },
      });
    }
    if (batch.x.length !== B * F || batch.n.length !== M * B) {
      throw new TypeError(
        `Cannot ${context} as the batch's storage must hold B·F = ${B * F} features and M·B = ${M * B} confounds: current lengths are ${batch.x.length} and ${batch.n.length}`,
      );
    }
    let results: Record<string, { data: unknown; dispose?(): void }>;
    try {
      const session = await this.#session(F, M);
      results = await session.run({
        [ONNX_IO.x]: this.#runtime.tensor(this.#staging.float32(`x${F}x${M}`, batch.x), [B, F]),
        [ONNX_IO.n]: this.#runtime.tensor(this.#staging.float32(`n${F}x${M}`, batch.n), [M, B]),
        [ONNX_IO.tol]: this.#runtime.tensor(new Float32Array([tol]), []),
      }, fetches);
    } catch (error) {
      throw new BatchCorrError(
        "backend_failed",
        `Cannot ${context} as the ${this.provider} provider failed on a batch of shape B = ${B}, F = ${F}, M = ${M}: ${reasonOf(error)}`,
        { cause: error, details: { provider: this.provider, batchSize: B, features: F, confounds: M } },
      );
    }
    const read = (name: string) => results[name] === undefined ? new Float64Array(0) : toFloat64(results[name], name);
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
    this.#assertFinite(batch, outputs.moments, context);
    pinConstantMeans(outputs.moments, batch);
    return outputs;
  }

  /** Non-finite moments come from NaN/±Infinity in the batch or from float32 overflow. */
  #assertFinite(batch: PreparedBatch, moments: BatchMoments, context: string): void {
    const { meanX, meanN, m2X, m2N } = moments;
    if ([meanX, meanN, m2X, m2N].every((values) => findNonFinite(values) < 0)) return;
    if (findNonFinite(batch.x) >= 0 || findNonFinite(batch.n) >= 0) assertFiniteBatch(batch, moments, context);
    throw new RangeError(
      ruleMessage(
        context,
        "the values of X and N",
        `within float32 range for the ${this.provider} provider (magnitudes and sums of squared deviations below 3.4e38)`,
        "a batch whose float32 moments overflow",
      ),
    );
  }
}

async function loadRuntime(provider: ConcreteOnnxProvider, options: ResolvedBackendOptions, auto: boolean) {
  switch (provider) {
    case "wasm": {
      const { loadWasmRuntime } = await import("./_web_runtime.ts");
      return { runtime: await loadWasmRuntime(options.threads ?? 1), adapter: undefined };
    }
    case "webgpu": {
      const { loadWebGpuRuntime } = await import("./_web_runtime.ts");
      const runtime = await loadWebGpuRuntime(options.adapterTimeoutMs, auto);
      return { runtime, adapter: runtime.adapterDescription };
    }
    case "cpu":
    case "cuda": {
      const { loadNodeRuntime } = await import("./_node_runtime.ts");
      return { runtime: await loadNodeRuntime(provider, options.threads ?? 0), adapter: undefined };
    }
  }
}

function checkProvider(provider: string): OnnxProvider {
  if (!PROVIDERS.includes(provider)) {
    throw new BatchCorrError(
      "provider_unavailable",
      ruleMessage("create the ONNX backend", "options.provider", `one of ${BACKEND_RULES.provider}`, provider),
      { details: { provider, reason: "unknown provider" } },
    );
  }
  return provider as OnnxProvider;
}

/**
 * Creates a {@linkcode CorrelationBackend} that runs the exported batch graph
 * ({@linkcode exportBatchCorrOnnx}) in ONNX Runtime, for `correlateBatches`
 * (`{ backend }`) or direct use through `run`.
 *
 * `onnxruntime-web` (`"wasm"`, `"webgpu"`) and `onnxruntime-node` (`"cpu"`,
 * `"cuda"`) are imported here, lazily: code that never calls this never loads
 * them. One session is created per batch shape `(F, M)` on first use (B may
 * vary) and kept until {@linkcode OnnxBackend.dispose}. The graph runs in
 * float32; the running accumulator stays in float64 TypeScript.
 *
 * `"auto"` tries `"cuda"`, `"webgpu"` (hardware adapters only), `"cpu"` and
 * `"wasm"` in that order and records in `fallbackReason` why each skipped
 * provider could not be used.
 *
 * @param options The provider, `abs` and zero-variance policy of `run`,
 * thread count, adapter time limit.
 * @returns The backend, ready to run.
 * @throws {TypeError} If an option has a wrong type or an unknown key.
 * @throws {RangeError} If `threads` or `adapterTimeoutMs` is out of range.
 * @throws {BatchCorrError} `provider_unavailable`, naming the provider and the
 * reason, for an unknown provider, a runtime without WebGPU or without an
 * adapter, missing CUDA files or libraries, or a package that cannot load
 * (with `"auto"`: when none works).
 *
 * @example Picking the fastest available provider
 * ```ts
 * import { createOnnxBackend } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * const backend = await createOnnxBackend({ provider: "auto" });
 * try {
 *   assert.ok(["cuda", "webgpu", "cpu", "wasm"].includes(backend.provider));
 *   if (backend.fallbackReason) console.log(`using ${backend.provider}: ${backend.fallbackReason}`);
 * } finally {
 *   await backend.dispose();
 * }
 * ```
 */
export async function createOnnxBackend(options?: OnnxBackendOptions): Promise<OnnxBackend> {
  const context = "create the ONNX backend";
  const resolved = parseOptions(backendOptionsSchema, options, context, BACKEND_RULES);
  const provider = checkProvider(resolved.provider);
  if (provider !== "auto") {
    const { runtime, adapter } = await loadRuntime(provider, resolved, false);
    return new OnnxBackend(runtime, resolved, undefined, adapter);
  }
  const reasons: string[] = [];
  for (const candidate of AUTO_PROVIDER_ORDER) {
    try {
      const { runtime, adapter } = await loadRuntime(candidate, resolved, true);
      return new OnnxBackend(runtime, resolved, reasons.length > 0 ? reasons.join("; ") : undefined, adapter);
    } catch (error) {
      if (!(error instanceof BatchCorrError)) throw error;
      reasons.push(`${candidate}: ${error.message}`);
    }
  }
  throw new BatchCorrError(
    "provider_unavailable",
    `Cannot create the ONNX backend as "auto" must find a working provider: none worked (${reasons.join("; ")})`,
    { details: { provider: "auto", reason: reasons.join("; ") } },
  );
}
