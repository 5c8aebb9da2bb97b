/**
 * What every engine's publisher takes and reports: the batches with their
 * optional stable ids and metadata, each batch's outcome, the summary, and
 * the one way batches become envelopes (ids defaulting to prefix + index).
 *
 * @module
 */

import { ruleMessage } from "../core/errors.ts";
import type { TensorLike } from "../core/tensor.ts";
import { encodeBatchEnvelope, type EnvelopeDtype, type EnvelopeMeta } from "./batch_envelope.ts";

/** A batch to publish: the data, and optionally its stable id and metadata. */
export interface PublishableBatch {
  /** Features, batch first. */
  x: TensorLike;
  /** Confounds, `(B)` or `(M, B)`. */
  n: TensorLike;
  /**
   * The batch's stable id; publishing the same id again adds nothing.
   * @default {`${idPrefix}${index}`}
   */
  id?: string;
  /** Small metadata carried in the envelope (where the batch came from). */
  meta?: EnvelopeMeta;
}

/** One batch's outcome. */
export interface PublishedBatch {
  /** The batch id. */
  batchId: string;
  /** The engine's id of the message holding it (the earlier one for a duplicate). */
  entryId: string;
  /** False when the id had been published before and nothing was added. */
  added: boolean;
  /** The batch's 0-based index in the input. */
  index: number;
}

/** What a publish did. */
export interface PublishSummary {
  /** Batches read from the input. */
  batches: number;
  /** Messages added. */
  added: number;
  /** Batches whose id was already published (nothing added). */
  duplicates: number;
  /** Envelope bytes sent. */
  bytes: number;
  /** The last message id answered, if any. */
  lastEntryId?: string;
}

/** One batch ready to send. */
export interface EncodedBatch {
  /** Its id: its own, or the prefix and its index. */
  batchId: string;
  /** Its 0-based index in the input. */
  index: number;
  /** Its envelope. */
  envelope: Uint8Array;
}

/**
 * Checks that `batches` is iterable and returns the batches as envelopes,
 * in input order, each with its id (`batch.id`, or `idPrefix` + its index).
 *
 * @param batches The batches.
 * @param options The id prefix, the element type and the caller's action for messages.
 * @returns An async generator of the encoded batches.
 * @throws {TypeError} If `batches` is neither an iterable nor an async iterable
 * (at once); from the generator, for a batch `encodeBatchEnvelope` refuses.
 * @throws {RangeError} From the generator, for a float32 value out of range.
 *
 * @example Ids from the prefix
 * ```ts
 * import { encodedBatches } from "@streamcorr/batch-corr/distributed";
 * import assert from "node:assert/strict";
 *
 * const ids = [];
 * for await (const b of encodedBatches([{ x: [[1], [2]], n: [1, 2] }, { id: "own", x: [[3]], n: [4] }], {
 *   idPrefix: "day-1:", dtype: "float64", context: "publish batches",
 * })) ids.push(b.batchId);
 * assert.deepEqual(ids, ["day-1:0", "own"]);
 * ```
 */
export function encodedBatches(
  batches: Iterable<PublishableBatch> | AsyncIterable<PublishableBatch>,
  options: { idPrefix: string; dtype: EnvelopeDtype; context: string },
): AsyncGenerator<EncodedBatch, void, undefined> {
  if (
    batches === null || typeof batches !== "object" ||
    !(Symbol.iterator in batches || Symbol.asyncIterator in batches)
  ) {
    throw new TypeError(
      ruleMessage(
        options.context,
        "batches",
        "an iterable or async iterable of { x, n, id?, meta? }",
        batches,
      ),
    );
  }
  return encode(batches, options);
}

async function* encode(
  batches: Iterable<PublishableBatch> | AsyncIterable<PublishableBatch>,
  options: { idPrefix: string; dtype: EnvelopeDtype },
): AsyncGenerator<EncodedBatch, void, undefined> {
  let index = 0;
  for await (const batch of batches as AsyncIterable<PublishableBatch>) {
    const batchId = batch?.id ?? `${options.idPrefix}${index}`;
    const envelope = encodeBatchEnvelope(
      { id: batchId, x: batch?.x, n: batch?.n, ...(batch?.meta ? { meta: batch.meta } : {}) },
      { dtype: options.dtype },
    );
    yield { batchId, index: index++, envelope };
  }
}
