/**
 * The per-batch step that `correlateBatches` and `BatchCorrStream` share: it
 * validates a batch, takes its moments through the accumulator's pipeline,
 * stages the merge into the running (and decayed or window) state, computes
 * every view, and commits only when all of that succeeded.
 *
 * @module
 */

import { resolveTol } from "../core/auto_tol.ts";
import type { BatchMoments } from "../core/batch_moments.ts";
import { resultFromMoments } from "../core/correlation_view.ts";
import { thresholdedView } from "../kernels/correlation_view_kernel.ts";
import { BatchCorrError, ruleMessage, thrownText } from "../core/errors.ts";
import {
  BACKEND_BOUND_SLACK,
  CAUCHY_SCHWARZ_RULE,
  cauchySchwarzViolation,
  violationText,
} from "../core/moment_bounds.ts";
import { hasProperty, readProperty } from "../core/own_properties.ts";
import { backendMomentsOf, finiteSums } from "./_backend_moments.ts";
import type { PreciseMoments } from "../core/precise_means.ts";
import { prepareBatch, type PreparedBatch } from "../core/prepare_batch.ts";
import {
  acceptMoments,
  type AccumulableMoments,
  momentsOfBatch,
  momentsOfBatchAsync,
} from "../accumulator/accumulable_moments.ts";
import { splitsAcrossThreads } from "../kernels/compute_moments_parallel.ts";
import { checkSameShape, STREAM_SUBJECTS } from "../accumulator/check_same_shape.ts";
import { CorrelationAccumulator } from "../accumulator/correlation_accumulator.ts";
import type { StagedMerge } from "../accumulator/staged_merge.ts";
import { lossValueAndGrad } from "../loss/loss_gradient.ts";
import type { BatchResult, CorrelationView, WindowView } from "./batch_result.ts";
import { MomentWindow } from "./_moment_window.ts";
import type { ResolvedStreamOptions } from "./_stream_options.ts";

const NAMES = ["x", "n"] as const;

type Phase = "input" | "backend" | "loss";

/** An error at a given phase of one batch. */
class PhaseError {
  constructor(readonly phase: Phase, readonly error: unknown) {}
}

/**
 * The per-batch step shared by the generator and the TransformStream: it owns
 * the running accumulator, the window state and reused buffers.
 */
export class StreamCore {
  readonly #options: ResolvedStreamOptions;
  readonly #running: CorrelationAccumulator;
  #decayed: CorrelationAccumulator | undefined;
  #window: MomentWindow | undefined;
  #batchMoments: PreciseMoments | undefined;
  #values: Float64Array | undefined;
  #lastRunning: CorrelationView = { tol: Number.NaN, loss: Number.NaN };
  #lastWindow: WindowView | undefined;

  /**
   * Creates the step.
   *
   * @param options The resolved stream options.
   */
  constructor(options: ResolvedStreamOptions) {
    this.#options = options;
    this.#running = options.accumulator;
    if (options.decay !== undefined) {
      this.#decayed = new CorrelationAccumulator({ maxElements: options.maxElements });
    }
    if (options.window !== undefined || options.decay !== undefined) {
      this.#lastWindow = { tol: Number.NaN, loss: Number.NaN, effectiveCount: 0 };
    }
  }

  /**
   * Folds in one batch and reports it.
   *
   * @param input The batch as read from the source.
   * @param index Its 0-based index in the stream.
   * @returns Its result; a skipped result for an invalid batch with `onInvalid: "skip"`.
   * @throws {BatchCorrError} "stream_batch_failed" for a batch that fails.
   */
  async step(input: unknown, index: number): Promise<BatchResult> {
    const context = `correlate batch ${index} of the stream`;
    let batch: PreparedBatch | undefined;
    try {
      batch = this.#prepare(input, context);
      return await this.#fold(batch, context, index);
    } catch (caught) {
      // A merge staged before the failure is dropped uncommitted: the states are as before the batch.
      const { phase, error } = caught instanceof PhaseError
        ? caught
        : new PhaseError("input", caught);
      if (phase === "input" && this.#options.onInvalid === "skip") {
        return this.#skipped(index, batch, error);
      }
      throw streamError(error, phase, index, context);
    }
  }

  #prepare(input: unknown, context: string): PreparedBatch {
    if (
      typeof input !== "object" || input === null || !hasProperty(input, "x") ||
      !hasProperty(input, "n")
    ) {
      throw new TypeError(ruleMessage(context, "the batch", "an object { x, n }", input));
    }
    const x = readProperty(input, "x"), n = readProperty(input, "n");
    const batch = prepareBatch(x, n, context, NAMES, this.#options.maxElements);
    const confounds = this.#running.confounds;
    const known = {
      featureShape: this.#running.featureShape,
      confounds: confounds === 0 ? undefined : confounds,
    };
    checkSameShape(known, batch.featureShape, batch.confounds, context, STREAM_SUBJECTS);
    return batch;
  }

  async #moments(batch: PreparedBatch, context: string): Promise<AccumulableMoments> {
    const backend = this.#options.backend;
    if (!backend) {
      const { count, features, confounds } = batch;
      const threads = this.#options.threads;
      const moments = splitsAcrossThreads(count, features, confounds, threads)
        ? await momentsOfBatchAsync(batch, context, NAMES, threads, this.#batchMoments)
        : momentsOfBatch(batch, context, NAMES, this.#batchMoments);
      this.#batchMoments = moments;
      return moments;
    }
    let moments: BatchMoments;
    try {
      moments = await backend.computeMoments(batch);
    } catch (error) {
      throw new PhaseError("backend", error);
    }
    return acceptMoments(
      checkBackendMoments(moments, batch, backend.provider),
      batch,
      context,
      NAMES,
    );
  }

  async #fold(batch: PreparedBatch, context: string, index: number): Promise<BatchResult> {
    const o = this.#options;
    const batchTol = resolveTol(o.tol, o.tolSig, batch.count, context);
    const moments = await this.#moments(batch, context);
    this.#ensureBuffers(batch.features * batch.confounds);

    const featureShape = batch.featureShape;
    const running = this.#running.stage(moments, { featureShape, context });
    const runningTol = resolveTol(o.tol, o.tolSig, running.effectiveCount, context);
    let decayed: StagedMerge | undefined;
    let windowMoments: BatchMoments | undefined;
    let windowCount = 0;
    if (this.#decayed) {
      decayed = this.#decayed.stage(moments, { featureShape, decay: o.decay!, context });
      windowMoments = decayed.moments;
      windowCount = decayed.effectiveCount;
    } else if (o.window !== undefined) {
      this.#window ??= new MomentWindow(o.window, batch.features, batch.confounds);
      windowMoments = this.#window.stage(moments);
      windowCount = windowMoments.count;
    }
    const windowTol = windowMoments ? resolveTol(o.tol, o.tolSig, windowCount, context) : 0;

    let result: BatchResult;
    let windowView: WindowView | undefined;
    try {
      const own = this.#view(moments, batch.order, batchTol);
      const view = this.#view(running.moments, batch.order, runningTol);
      result = {
        index,
        batchSize: batch.count,
        count: running.moments.count,
        tol: batchTol,
        loss: own.loss,
        running: view,
      };
      // The views' own keys only (a "losses" view has no correlations), never Object.prototype's.
      if (Object.hasOwn(own, "correlations")) result.correlations = own.correlations!;
      if (windowMoments) {
        windowView = {
          ...this.#view(windowMoments, batch.order, windowTol),
          effectiveCount: windowCount,
        };
        result.window = windowView;
      }
      if (o.gradient !== "none") this.#addGradient(result, batch, context);
    } catch (error) {
      throw new PhaseError("loss", error);
    }

    running.commit();
    decayed?.commit();
    this.#window?.commit(moments);
    this.#lastRunning = result.running;
    if (windowView) this.#lastWindow = windowView;
    return result;
  }

  #addGradient(result: BatchResult, batch: PreparedBatch, context: string): void {
    const grads = lossValueAndGrad(batch, this.#options, this.#options.gradient === "both", {
      context,
      names: NAMES,
    });
    result.gradient = { data: grads.gradX, shape: [batch.count, ...batch.featureShape] };
    if (Object.hasOwn(grads, "gradN")) {
      result.gradientN = { data: grads.gradN!, shape: [...batch.nShape] };
    }
  }

  #ensureBuffers(size: number): void {
    if (this.#options.output !== "losses" || this.#values?.length === size) return;
    this.#values = new Float64Array(size);
  }

  #view(moments: BatchMoments, order: Int32Array | undefined, tol: number): CorrelationView {
    const o = this.#options;
    if (o.output === "losses") {
      const settings = { tol, abs: o.abs, zeroVariance: o.zeroVariance };
      const values = thresholdedView(moments, order, settings, this.#values!);
      return { tol, loss: o.nu * o.scalarisation.reduce(values) };
    }
    const correlations = resultFromMoments(moments, order, {
      tol,
      abs: o.abs,
      zeroVariance: o.zeroVariance,
    });
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
      skipped: { reason: thrownText(error), error },
    };
    if (this.#lastWindow) result.window = this.#lastWindow;
    return result;
  }
}

/**
 * The backend's moments, each field read once (never from `Object.prototype`),
 * checked to describe the batch and to obey the Cauchy–Schwarz bound.
 */
function checkBackendMoments(
  given: unknown,
  batch: PreparedBatch,
  provider: string,
): BatchMoments {
  const moments = backendMomentsOf(given, batch);
  const refuse = (rule: string, seen: string): PhaseError =>
    new PhaseError(
      "backend",
      new BatchCorrError(
        "backend_failed",
        `Cannot use the moments of backend "${provider}" as they must ${rule}: current value ${seen}`,
      ),
    );
  if (!moments) {
    throw refuse(
      `describe the batch (count ${batch.count}, ${batch.features} features, ${batch.confounds} confounds, Float64Array or Float32Array fields of matching lengths)`,
      "does not",
    );
  }
  const violation = cauchySchwarzViolation(moments, BACKEND_BOUND_SLACK);
  // Non-finite means or sums are the input's to report (NaN in the batch, overflow).
  if (violation && finiteSums(moments)) {
    throw refuse(`satisfy ${CAUCHY_SCHWARZ_RULE}`, `is ${violationText(violation)}`);
  }
  return moments;
}

function streamError(error: unknown, phase: Phase, index: number, context: string): BatchCorrError {
  const message = thrownText(error);
  const what = phase === "backend"
    ? "the backend"
    : phase === "loss"
    ? "the scalarisation"
    : "the batch";
  const text = message.startsWith(`Cannot ${context}`)
    ? message
    : `Cannot ${context} as ${what} failed: ${message}`;
  return new BatchCorrError("stream_batch_failed", text, {
    cause: error,
    details: { index, phase },
  });
}
