/**
 * Streaming batch correlation as an async generator: for every mini-batch its
 * own thresholded correlations and loss, the running view over every sample
 * so far, and optionally a sliding-window or exponentially forgetting view.
 *
 * @module
 */

import type { CorrelationAccumulator } from "../accumulator/correlation_accumulator.ts";
import type { BatchCorrelationLossOptions } from "../loss/batch_correlation_loss.ts";
import type { Batch } from "./batch.ts";
import type { BatchResult } from "./batch_result.ts";
import type { CorrelationBackend } from "./correlation_backend.ts";
import type { ThreadsOption } from "../core/threads_option.ts";
import { checkSource, mapSource, type Source } from "./source.ts";
import { StreamCore } from "./_stream_core.ts";
import { parseStreamOptions } from "./_stream_options.ts";

/** Options of {@linkcode correlateBatches} (and, with `highWaterMark`, of `BatchCorrStream`). */
export interface CorrelateBatchesOptions extends BatchCorrelationLossOptions {
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
  /**
   * How many threads one batch's kernel may use, the calling thread
   * included: `"auto"` splits batches from the measured threshold (B·F·M of
   * 2^25 in Deno; none in Bun) across one thread per core (a pool of worker threads that share
   * the kernel's WebAssembly memory; the numbers are bit for bit those of one
   * thread); `1` keeps every batch on the calling thread. Without
   * `SharedArrayBuffer` or worker threads every batch runs on one thread.
   * Not used with `backend`.
   * @default {"auto"}
   */
  threads?: ThreadsOption;
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

export function correlateBatches(
  source: Source<Batch>,
  options?: CorrelateBatchesOptions,
): AsyncGenerator<BatchResult, void, undefined> {
  const context = "correlate batches";
  checkSource(source, "source", context);
  const core = new StreamCore(parseStreamOptions(options, context));
  return mapSource(source, (batch, index) => core.step(batch, index));
}
