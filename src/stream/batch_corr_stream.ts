/**
 * Streaming batch correlation as a Web Streams stage: write batches, read one
 * result per batch, exactly as `correlateBatches` yields them.
 *
 * @module
 */

import type { Batch } from "./batch.ts";
import type { BatchResult } from "./batch_result.ts";
import type { CorrelateBatchesOptions } from "./correlate_batches.ts";
import { StreamCore } from "./_stream_core.ts";
import { parseTransformOptions } from "./_stream_options.ts";

/** Options of {@linkcode BatchCorrStream}: the stream options and its queue size. */
export interface BatchCorrStreamOptions extends CorrelateBatchesOptions {
  /**
   * How many results may wait on the readable side before the stage stops
   * pulling batches (backpressure). The writable side holds one batch.
   * @default {1}
   */
  highWaterMark?: number;
}

/**
 * The streaming correlator as a Web Streams stage: write batches `{ x, n }`,
 * read one {@linkcode BatchResult} per batch, exactly as
 * `correlateBatches` yields them (they share one implementation).
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
   * @param options As `correlateBatches`, plus `highWaterMark`.
   * @throws {TypeError} If an option has the wrong type, is unknown, or
   * `window` and `decay` are both set.
   * @throws {RangeError} If an option is out of range.
   */
  constructor(options?: BatchCorrStreamOptions) {
    const { resolved, highWaterMark } = parseTransformOptions(options, "create BatchCorrStream");
    const core = new StreamCore(resolved);
    let index = 0;
    // Null-prototype dictionaries: the platform reads a transformer's start, flush and cancel,
    // and a strategy's size, from Object.prototype too (as WebIDL dictionaries are read).
    const dictionary = <T extends object>(members: T): T =>
      Object.assign(Object.create(null), members);
    super(
      dictionary({
        async transform(batch: Batch, controller: TransformStreamDefaultController<BatchResult>) {
          controller.enqueue(await core.step(batch, index++));
        },
      }),
      dictionary({ highWaterMark: 1 }),
      dictionary({ highWaterMark }),
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
