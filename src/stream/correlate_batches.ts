/**
 * Streaming batch correlation: an async generator ({@linkcode correlateBatches})
 * and a Web Streams stage ({@linkcode BatchCorrStream}) that share one
 * per-batch step and emit, for every mini-batch, its own thresholded
 * correlations and loss, the running view over every sample so far, and
 * optionally a sliding-window or exponentially forgetting view.
 *
 * @module
 */

import { z } from "zod";
import {
  assertAccumulable,
  commitStaged,
  CorrelationAccumulator,
  discardStaged,
  effectiveSampleSize,
  pinConstantMeans,
  resultFromMoments,
  stageMerge,
  thresholdedFromMoments,
} from "../accumulator/correlation_accumulator.ts";
import type { CorrelationBackend } from "./correlation_backend.ts";
import { type BatchCorrResult, resolveTol } from "../batch_corr/batch_corr.ts";
import { BatchCorrError, ruleMessage } from "../core/errors.ts";
import { type BatchCorrelationLossOptions, lossOptionsSchema, resolveLossOptions, type ResolvedLossOptions } from "../loss/batch_correlation_loss.ts";
import { MomentWindow } from "./_moment_window.ts";
import { type BatchMoments, computeBatchMoments } from "../kernels/compute_batch_moments.ts";
import { emptyPreciseMoments, fillLowParts, type MeanLowParts, withoutLowParts } from "../core/precise_means.ts";
import { OPTION_RULES, parseOptions } from "../core/parse_options.ts";
import { type PreparedBatch, prepareBatch } from "../core/prepare_batch.ts";
import { lossValueAndGrad } from "../loss/loss_gradient.ts";
import { checkSource, mapSource, type Source } from "./source.ts";
import type { Tensor, TensorLike } from "../core/tensor.ts";

/** One mini-batch: features `x` (batch first) and confounds `n` (`(B)` or `(M, B)`). */
export interface Batch {
  /** Features with the batch on the first axis, as `batchCorr` accepts them. */
  x: TensorLike;
  /** Confounds: a vector `(B)` or a matrix `(M, B)`. */
  n: TensorLike;
}

/** Options of {@linkcode correlateBatches} and {@linkcode BatchCorrStream}. */
export interface StreamOptions extends BatchCorrelationLossOptions {
  /**
   * Also report a view over the last `window` batches (not with `decay`).
   * @default {undefined}
   */
  window?: number;
  /**
   * Also report a view with exponential forgetting: a sample `a` batches old
   * weighs `decay ** a`; `tol: "auto"` uses the effective sample size
   * `(Σw)² / Σw²`. In (0, 1]; not with `window`.
   * @default {undefined}
   */
  decay?: number;
  /**
   * What an invalid batch does: `"error"` ends the stream with a
   * `BatchCorrError` ("stream_batch_failed"); `"skip"` reports it as skipped
   * and goes on.
   * @default {"error"}
   */
  onInvalid?: "error" | "skip";
  /**
   * `"full"` includes the correlation tensors; `"losses"` only the scalars,
   * reusing buffers so nothing of size F·M is allocated per batch (a custom
   * scalarisation then receives the same array each time: copy it to keep it).
   * @default {"full"}
   */
  output?: "full" | "losses";
  /**
   * The running state to continue (for example restored from a snapshot); it
   * is updated in place, so it can be snapshotted at any point.
   * @default {a new CorrelationAccumulator}
   */
  accumulator?: CorrelationAccumulator;
  /**
   * Computes each batch's moments (an ONNX Runtime provider); the running
   * state stays in float64 TypeScript.
   * @default {undefined} (the TypeScript kernel)
   */
  backend?: CorrelationBackend;
  /**
   * Add each batch's loss gradient to its result: `true` or `"X"` for the
   * gradient with respect to `x`, `"both"` for `n` too (as
   * `BatchCorrelationLoss.valueAndGrad`). Needs a built-in scalarisation.
   * @default {false}
   */
  gradient?: boolean | "X" | "both";
}

/** Options of {@linkcode BatchCorrStream}: the stream options and its queue size. */
export interface BatchCorrStreamOptions extends StreamOptions {
  /**
   * How many results may wait on the readable side before the stage stops
   * pulling batches (backpressure). The writable side holds one batch.
   * @default {1}
   */
  highWaterMark?: number;
}

/** Correlations over a set of samples and their loss. */
export interface CorrelationView {
  /** The tolerance applied (resolved from `"auto"`). */
  tol: number;
  /** `nu * scalarisation(correlations)`. */
  loss: number;
  /** The thresholded `(F, M)` correlations (absent with output "losses"). */
  correlations?: BatchCorrResult;
}

/** The window (or decay) view, with the sample size its tolerance used. */
export interface WindowView extends CorrelationView {
  /** Samples in the window, or `(Σw)² / Σw²` with decay. */
  effectiveCount: number;
}

/** What the stream emits for each batch. */
export interface BatchResult {
  /** 0-based index of the batch in the stream. */
  index: number;
  /** B of this batch (NaN when a skipped batch had no readable size). */
  batchSize: number;
  /** Samples folded into the running state so far. */
  count: number;
  /** The batch's own tolerance (NaN when skipped). */
  tol: number;
  /** `nu * scalarisation(batchCorr(batch alone))` (NaN when skipped). */
  loss: number;
  /** `batchCorr` of the batch alone (absent with output "losses" or when skipped). */
  correlations?: BatchCorrResult;
  /** Over every sample so far (unchanged by a skipped batch; NaN before the first batch). */
  running: CorrelationView;
  /** Over the last `window` batches, or with `decay` (when one of them is set). */
  window?: WindowView;
  /** `∂ loss / ∂ x` for this batch, in x's shape (with the `gradient` option). */
  gradient?: Tensor;
  /** `∂ loss / ∂ n` for this batch, in n's shape (with `gradient: "both"`). */
  gradientN?: Tensor;
  /** Present when `onInvalid` is "skip" and this batch was invalid: it was not folded in. */
  skipped?: {
    /** Why, as the error message. */
    reason: string;
    /** The error itself. */
    error?: unknown;
  };
}

const streamOptionsShape = {
  window: z.number().int().positive().optional(),
  decay: z.number().gt(0).lte(1).optional(),
  onInvalid: z.enum(["error", "skip"]).default("error"),
  output: z.enum(["full", "losses"]).default("full"),
  gradient: z.union([z.boolean(), z.enum(["X", "both"])]).default(false),
  accumulator: z.instanceof(CorrelationAccumulator).optional(),
  backend: z.custom<CorrelationBackend>((value) =>
    typeof value === "object" && value !== null && typeof (value as CorrelationBackend).computeMoments === "function"
  ).optional(),
};

const streamOptionsSchema = lossOptionsSchema.extend(streamOptionsShape);
const transformOptionsSchema = streamOptionsSchema.extend({ highWaterMark: z.number().int().nonnegative().optional() });

const STREAM_RULES: Record<string, string> = {
  ...OPTION_RULES,
  window: "a positive integer",
  decay: "a number in (0, 1]",
  onInvalid: '"error" or "skip"',
  output: '"full" or "losses"',
  gradient: 'a boolean, "X" or "both"',
  accumulator: "a CorrelationAccumulator",
  backend: "a CorrelationBackend (an object with computeMoments)",
  highWaterMark: "a non-negative integer",
};

interface ResolvedStreamOptions extends ResolvedLossOptions {
  window: number | undefined;
  decay: number | undefined;
  onInvalid: "error" | "skip";
  output: "full" | "losses";
  gradient: "none" | "X" | "both";
  accumulator: CorrelationAccumulator;
  backend: CorrelationBackend | undefined;
}

type Parsed = z.output<typeof streamOptionsSchema>;

function resolveStreamOptions(parsed: Parsed, context: string): ResolvedStreamOptions {
  if (parsed.window !== undefined && parsed.decay !== undefined) {
    throw new TypeError(
      `Cannot ${context} as options.window and options.decay must not both be set (choose one kind of window view): current values are ${parsed.window} and ${parsed.decay}`,
    );
  }
  const { tol, tolSig, abs, zeroVariance, maxElements, nu, name, scalarisation } = parsed;
  if (parsed.gradient !== false && typeof scalarisation === "function") {
    throw new TypeError(
      `Cannot ${context} as options.scalarisation must have a gradient when options.gradient is set (a built-in or a Scalarisation with gradient()): current value is a plain function, which has no gradient`,
    );
  }
  const lossOptions = { tol, tolSig, abs, zeroVariance, maxElements, nu, ...(name === undefined ? {} : { name }), ...(scalarisation === undefined ? {} : { scalarisation }) };
  return {
    ...resolveLossOptions(lossOptions, "BatchCorrelation", context),
    window: parsed.window,
    decay: parsed.decay,
    onInvalid: parsed.onInvalid,
    output: parsed.output,
    gradient: parsed.gradient === true ? "X" : parsed.gradient === false ? "none" : parsed.gradient,
    accumulator: parsed.accumulator ?? new CorrelationAccumulator({ maxElements }),
    backend: parsed.backend,
  };
}

type Phase = "input" | "backend" | "loss";

/** An error at a given phase of one batch. */
class PhaseError {
  constructor(readonly phase: Phase, readonly error: unknown) {}
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/**
 * The per-batch step shared by the generator and the TransformStream: it owns
 * the running accumulator, the window state and reused buffers.
 */
class StreamCore {
  readonly #options: ResolvedStreamOptions;
  readonly #running: CorrelationAccumulator;
  #decayed: CorrelationAccumulator | undefined;
  #window: MomentWindow | undefined;
  #batchMoments: (BatchMoments & MeanLowParts) | undefined;
  #values: Float64Array | undefined;
  #lastRunning: CorrelationView = { tol: Number.NaN, loss: Number.NaN };
  #lastWindow: WindowView | undefined;

  constructor(options: ResolvedStreamOptions) {
    this.#options = options;
    this.#running = options.accumulator;
    if (options.decay !== undefined) this.#decayed = new CorrelationAccumulator({ maxElements: options.maxElements });
    if (options.window !== undefined || options.decay !== undefined) {
      this.#lastWindow = { tol: Number.NaN, loss: Number.NaN, effectiveCount: 0 };
    }
  }

  async step(input: unknown, index: number): Promise<BatchResult> {
    const context = `correlate batch ${index} of the stream`;
    let batch: PreparedBatch | undefined;
    try {
      batch = this.#prepare(input, context);
      return await this.#fold(batch, context, index);
    } catch (caught) {
      const { phase, error } = caught instanceof PhaseError ? caught : new PhaseError("input", caught);
      discardStaged(this.#running);
      if (this.#decayed) discardStaged(this.#decayed);
      if (phase === "input" && this.#options.onInvalid === "skip") return this.#skipped(index, batch, error);
      throw streamError(error, phase, index, context);
    }
  }

  #prepare(input: unknown, context: string): PreparedBatch {
    if (typeof input !== "object" || input === null || !("x" in input) || !("n" in input)) {
      throw new TypeError(ruleMessage(context, "the batch", "an object { x, n }", input));
    }
    const { x, n } = input as Batch;
    const batch = prepareBatch(x, n, context, ["x", "n"], this.#options.maxElements);
    const shape = this.#running.featureShape;
    if (shape && (shape.length !== batch.featureShape.length || shape.some((e, i) => e !== batch.featureShape[i]))) {
      throw new TypeError(
        `Cannot ${context} as the feature shape of x (its shape without the batch axis) must be ${shapeText(shape)}, as in earlier batches: current value is ${shapeText(batch.featureShape)}`,
      );
    }
    const confounds = this.#running.confounds;
    if (confounds !== 0 && confounds !== batch.confounds) {
      throw new TypeError(ruleMessage(context, "the number of confounds in n", `${confounds}, as in earlier batches`, batch.confounds));
    }
    return batch;
  }

  async #moments(batch: PreparedBatch, context: string): Promise<BatchMoments> {
    const backend = this.#options.backend;
    if (!backend) {
      const reusable = this.#batchMoments?.features === batch.features && this.#batchMoments.confounds === batch.confounds;
      const out = reusable ? this.#batchMoments! : (this.#batchMoments = emptyPreciseMoments(batch.features, batch.confounds));
      computeBatchMoments(batch.x, batch.n, batch.count, batch.features, batch.confounds, out);
      assertAccumulable(batch, out, context, ["x", "n"]);
      return fillLowParts(pinConstantMeans(out, batch), batch);
    }
    let moments: BatchMoments;
    try {
      moments = await backend.computeMoments(batch);
    } catch (error) {
      throw new PhaseError("backend", error);
    }
    checkBackendMoments(moments, batch, backend.provider);
    assertAccumulable(batch, moments, context, ["x", "n"]);
    // A backend's means are float64 (often float32) values: they get no low parts.
    return withoutLowParts(moments);
  }

  async #fold(batch: PreparedBatch, context: string, index: number): Promise<BatchResult> {
    const o = this.#options;
    const batchTol = resolveTol(o.tol, o.tolSig, batch.count, context);
    const moments = await this.#moments(batch, context);
    this.#ensureBuffers(batch.features * batch.confounds);

    const runningStage = stageMerge(this.#running, moments, batch.featureShape, batch.count, 1, context);
    const runningCount = effectiveSampleSize(runningStage.moments.count, runningStage.weightSquares);
    const runningTol = resolveTol(o.tol, o.tolSig, runningCount, context);
    let windowMoments: BatchMoments | undefined;
    let windowCount = 0;
    if (this.#decayed) {
      const staged = stageMerge(this.#decayed, moments, batch.featureShape, batch.count, o.decay!, context);
      windowMoments = staged.moments;
      windowCount = effectiveSampleSize(staged.moments.count, staged.weightSquares);
    } else if (o.window !== undefined) {
      this.#window ??= new MomentWindow(o.window, batch.features, batch.confounds);
      windowMoments = this.#window.stage(moments);
      windowCount = windowMoments.count;
    }
    const windowTol = windowMoments ? resolveTol(o.tol, o.tolSig, windowCount, context) : 0;

    let result: BatchResult;
    try {
      const own = this.#view(moments, batch.order, batchTol);
      const running = this.#view(runningStage.moments, batch.order, runningTol);
      result = { index, batchSize: batch.count, count: runningStage.moments.count, tol: batchTol, loss: own.loss, running };
      if (own.correlations) result.correlations = own.correlations;
      if (windowMoments) result.window = { ...this.#view(windowMoments, batch.order, windowTol), effectiveCount: windowCount };
      if (o.gradient !== "none") this.#addGradient(result, batch, context);
    } catch (error) {
      throw new PhaseError("loss", error);
    }

    commitStaged(this.#running);
    if (this.#decayed) commitStaged(this.#decayed);
    this.#window?.commit(moments);
    this.#lastRunning = result.running;
    if (result.window) this.#lastWindow = result.window;
    return result;
  }

  #addGradient(result: BatchResult, batch: PreparedBatch, context: string): void {
    const grads = lossValueAndGrad(batch, this.#options, this.#options.gradient === "both", { context, names: ["x", "n"] });
    result.gradient = { data: grads.gradX, shape: [batch.count, ...batch.featureShape] };
    if (grads.gradN) {
      result.gradientN = { data: grads.gradN, shape: [...batch.nShape] };
    }
  }

  #ensureBuffers(size: number): void {
    if (this.#options.output !== "losses" || this.#values?.length === size) return;
    this.#values = new Float64Array(size);
  }

  #view(moments: BatchMoments, order: Int32Array | undefined, tol: number): CorrelationView {
    const o = this.#options;
    if (o.output === "losses") {
      const values = thresholdedFromMoments(moments, order, tol, o.abs, o.zeroVariance, this.#values!);
      return { tol, loss: o.nu * o.scalarisation.reduce(values) };
    }
    const correlations = resultFromMoments(moments, order, tol, o.abs, o.zeroVariance);
    return { tol, loss: o.nu * o.scalarisation.reduce(correlations.data), correlations };
  }

  #skipped(index: number, batch: PreparedBatch | undefined, error: unknown): BatchResult {
    const result: BatchResult = {
      index,
      batchSize: batch?.count ?? Number.NaN,
      count: this.#running.count,
      tol: Number.NaN,
      loss: Number.NaN,
      running: this.#lastRunning,
      skipped: { reason: error instanceof Error ? error.message : String(error), error },
    };
    if (this.#lastWindow) result.window = this.#lastWindow;
    return result;
  }
}

function checkBackendMoments(moments: BatchMoments, batch: PreparedBatch, provider: string): void {
  const fine = typeof moments === "object" && moments !== null && moments.count === batch.count &&
    moments.features === batch.features && moments.confounds === batch.confounds &&
    moments.meanX?.length === batch.features && moments.m2X?.length === batch.features &&
    moments.meanN?.length === batch.confounds && moments.m2N?.length === batch.confounds &&
    moments.comoment?.length === batch.features * batch.confounds;
  if (!fine) {
    throw new PhaseError(
      "backend",
      new BatchCorrError(
        "backend_failed",
        `Cannot use the moments of backend "${provider}" as they must describe the batch (count ${batch.count}, ${batch.features} features, ${batch.confounds} confounds, arrays of matching lengths): current value does not`,
      ),
    );
  }
}

function streamError(error: unknown, phase: Phase, index: number, context: string): BatchCorrError {
  const message = error instanceof Error ? error.message : String(error);
  const what = phase === "backend" ? "the backend" : phase === "loss" ? "the scalarisation" : "the batch";
  const text = message.startsWith(`Cannot ${context}`) ? message : `Cannot ${context} as ${what} failed: ${message}`;
  return new BatchCorrError("stream_batch_failed", text, { cause: error, details: { index, phase } });
}

function parseStreamOptions(options: unknown, context: string): ResolvedStreamOptions {
  return resolveStreamOptions(parseOptions(streamOptionsSchema, options, context, STREAM_RULES), context);
}

/**
 * Correlates a stream of mini-batches: for every batch `{ x, n }` of `source`
 * it yields the batch's own thresholded correlations and loss (exactly
 * `batchCorr` and `BatchCorrelationLoss` on that batch alone), the running
 * view over every sample so far (as if all batches were concatenated, with
 * `tol: "auto"` from the total count), and with `window` or `decay` a
 * drift-monitoring view. Memory stays O(F·M) (O(W·F·M) with a window).
 *
 * An invalid batch (another feature shape, NaN, fewer than 3 samples with
 * `tol: "auto"`) throws a `BatchCorrError` with code "stream_batch_failed",
 * `details.index` and the `TypeError`/`RangeError` as `cause`; the running
 * accumulator keeps the state before that batch. With `onInvalid: "skip"`
 * the batch is reported with `skipped` instead. Stopping early (`break`,
 * `return()`) or failing releases the source: `return()` on its iterator,
 * `cancel()` on a ReadableStream.
 *
 * @param source Batches, as an AsyncIterable, an Iterable or a ReadableStream.
 * @param options Loss options (`nu`, `tol`, `tolSig`, `abs`, `scalarisation`,
 * `zeroVariance`) and stream options.
 * @returns An async generator of one {@linkcode BatchResult} per batch.
 * @throws {TypeError} Immediately, if `source` is not a source or an option
 * has the wrong type, is unknown, or `window` and `decay` are both set.
 * @throws {RangeError} Immediately, if an option is out of range.
 * @throws {BatchCorrError} While iterating, "stream_batch_failed" for a batch
 * that fails (see above).
 *
 * @example Per-batch and running loss from an async generator
 * ```ts
 * import { correlateBatches } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * async function* batches() {
 *   yield { x: [[1, 0], [2, 1], [3, 0], [4, 1]], n: [1, 2, 3, 5] };
 *   yield { x: [[5, 1], [6, 0], [7, 1]], n: [5, 7, 6] };
 * }
 * const results = [];
 * for await (const result of correlateBatches(batches(), { tol: "auto", window: 1 })) results.push(result);
 * assert.deepEqual(results.map((r) => r.count), [4, 7]);
 * assert.equal(results[1]!.running.correlations!.shape[0], 2);
 * assert.ok(results.every((r) => Number.isFinite(r.loss) && Number.isFinite(r.running.loss)));
 * ```
 */
export function correlateBatches(source: Source<Batch>, options?: StreamOptions): AsyncGenerator<BatchResult, void, undefined> {
  const context = "correlate batches";
  checkSource(source, "source", context);
  const core = new StreamCore(parseStreamOptions(options, context));
  return mapSource(source, (batch, index) => core.step(batch, index));
}

/**
 * The streaming correlator as a Web Streams stage: write batches `{ x, n }`,
 * read one {@linkcode BatchResult} per batch, exactly as
 * {@linkcode correlateBatches} yields them (they share one implementation).
 * Drops into `readable.pipeThrough(new BatchCorrStream(options))`; it pulls the
 * next batch only when fewer than `highWaterMark` results are waiting, and an
 * invalid batch errors both sides (cancelling a piped source) unless
 * `onInvalid` is "skip". Cancelling its readable side cancels a piped source.
 *
 * @example Piping batches through the stage
 * ```ts
 * import { BatchCorrStream, type Batch } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * const batches: Batch[] = [
 *   { x: [[1], [2], [3]], n: [1, 3, 2] },
 *   { x: [[4], [5], [7]], n: [5, 4, 6] },
 * ];
 * const source = ReadableStream.from(batches);
 * const losses: number[] = [];
 * for await (const result of source.pipeThrough(new BatchCorrStream({ abs: false }))) {
 *   losses.push(result.running.loss);
 * }
 * assert.equal(losses.length, 2);
 * assert.ok(losses[1]! > 0.8);
 * ```
 */
export class BatchCorrStream extends TransformStream<Batch, BatchResult> {
  /**
   * Creates the stage.
   *
   * @param options As {@linkcode correlateBatches}, plus `highWaterMark`.
   * @throws {TypeError} If an option has the wrong type, is unknown, or
   * `window` and `decay` are both set.
   * @throws {RangeError} If an option is out of range.
   */
  constructor(options?: BatchCorrStreamOptions) {
    const context = "create BatchCorrStream";
    const { highWaterMark = 1, ...parsed } = parseOptions(transformOptionsSchema, options, context, STREAM_RULES);
    const core = new StreamCore(resolveStreamOptions(parsed, context));
    let index = 0;
    super(
      {
        async transform(batch, controller): Promise<void> {
          controller.enqueue(await core.step(batch, index++));
        },
      },
      { highWaterMark: 1 },
      { highWaterMark },
    );
  }
}

/**
 * Creates a {@linkcode BatchCorrStream}.
 *
 * @param options As {@linkcode BatchCorrStream}.
 * @returns The stage.
 * @throws {TypeError} As {@linkcode BatchCorrStream}.
 * @throws {RangeError} As {@linkcode BatchCorrStream}.
 *
 * @example Losses only
 * ```ts
 * import { batchCorrStream } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * const source = ReadableStream.from([{ x: [[1], [2], [4]], n: [1, 2, 3] }]);
 * const reader = source.pipeThrough(batchCorrStream({ output: "losses" })).getReader();
 * const { value } = await reader.read();
 * assert.equal(value!.correlations, undefined);
 * assert.ok(value!.loss > 0.9);
 * ```
 */
export function batchCorrStream(options?: BatchCorrStreamOptions): BatchCorrStream {
  return new BatchCorrStream(options);
}
