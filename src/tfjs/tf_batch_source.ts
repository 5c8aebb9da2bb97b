/**
 * TensorFlow.js tensors and `tf.data` datasets as a source of the streaming
 * API's batches.
 *
 * @module
 */

import { ruleMessage } from "../core/errors.ts";
import { tf } from "./_tfjs.ts";
import type { HostBatch, HostTensor, TfTensor } from "./tf_types.ts";
import { hasProperty, ownOptions } from "../core/own_properties.ts";

/** A batch whose features and confounds may be tf tensors (or host tensors). */
export interface TensorBatch {
  /** Features with the batch on the first axis. */
  x: TfTensor | HostTensor;
  /** Confounds: `(B)` or `(M, B)`. */
  n: TfTensor | HostTensor;
}

/** The part of a `tf.data` iterator read here. */
export interface LazyIteratorLike<T> {
  /**
   * The next element.
   * @returns The iterator result.
   */
  next(): Promise<IteratorResult<T>>;
}

/** The part of a `tf.data.Dataset` read here. */
export interface DatasetLike<T> {
  /**
   * A new iterator over the elements.
   * @returns The iterator.
   */
  iterator(): Promise<LazyIteratorLike<T>>;
}

/**
 * Where tf batches come from: any streaming source, a `tf.data.Dataset` or
 * its iterator. A dataset's element type (`tf.TensorContainer`) is not known
 * to the type checker: its elements are checked when they are read.
 */
export type TensorBatchSource =
  | AsyncIterable<TensorBatch>
  | Iterable<TensorBatch>
  | ReadableStream<TensorBatch>
  | DatasetLike<unknown>
  | LazyIteratorLike<unknown>;

/** Options of {@linkcode tfBatchSource}. */
export interface TfBatchSourceOptions {
  /**
   * Dispose each element's tensors once their values are read, as
   * `tf.data`'s `forEachAsync` does (a dataset's elements belong to the
   * reader). Pass false to keep tensors you still use.
   * @default {true}
   */
  disposeInputs?: boolean;
}

function isDataset(value: object): value is DatasetLike<unknown> {
  return typeof (value as DatasetLike<unknown>).iterator === "function" &&
    !(Symbol.asyncIterator in value) && !(Symbol.iterator in value);
}

function isLazyIterator(value: object): value is LazyIteratorLike<unknown> {
  return typeof (value as LazyIteratorLike<unknown>).next === "function" &&
    !(Symbol.asyncIterator in value) && !(Symbol.iterator in value);
}

async function* fromLazyIterator<T>(
  iterator: LazyIteratorLike<T>,
): AsyncGenerator<T, void, undefined> {
  for (;;) {
    const next = await iterator.next();
    if (next.done) return;
    yield next.value;
  }
}

async function* elementsOf(source: TensorBatchSource): AsyncGenerator<unknown, void, undefined> {
  if (isDataset(source)) {
    yield* fromLazyIterator(await source.iterator());
  } else if (isLazyIterator(source)) {
    yield* fromLazyIterator(source);
  } else {
    yield* source as AsyncIterable<unknown> | Iterable<unknown>;
  }
}

/** A host tensor with the tensor's values (float32 kept, other dtypes widened). */
async function readTensor(tensor: TfTensor, name: string, index: number): Promise<HostTensor> {
  if (tensor.isDisposed) {
    throw new TypeError(
      ruleMessage(
        `read batch ${index} of the source`,
        name,
        "a tensor that is not disposed",
        "a disposed tensor",
      ),
    );
  }
  const values = await tensor.data();
  const data = values instanceof Float32Array
    ? values
    : Float64Array.from(values as ArrayLike<number>);
  return { data, shape: [...tensor.shape] };
}

async function toHostBatch(element: unknown, index: number, dispose: boolean): Promise<unknown> {
  if (
    typeof element !== "object" || element === null || !hasProperty(element, "x") ||
    !hasProperty(element, "n")
  ) {
    return element; // correlateBatches says what is wrong with it
  }
  const { x, n } = element as TensorBatch;
  const tensors = [x, n].filter((value): value is TfTensor => value instanceof tf.Tensor);
  try {
    const hostX = x instanceof tf.Tensor ? await readTensor(x, "x", index) : x;
    const hostN = n instanceof tf.Tensor ? await readTensor(n, "n", index) : n;
    return { x: hostX, n: hostN } satisfies HostBatch;
  } finally {
    if (dispose) tf.dispose(tensors.filter((t) => !t.isDisposed));
  }
}

/**
 * Reads tf batches for `correlateBatches` / `BatchCorrStream`: every element
 * `{ x, n }` whose `x` or `n` is a tf tensor comes out as a host batch with
 * the tensor's values (`await tensor.data()`, so a GPU backend is not
 * stalled) and shape; host tensors pass through. With `disposeInputs` (the
 * default) each element's tensors are disposed once read, and when the
 * consumer stops early the source is released as `correlateBatches` releases
 * any source. float32 values convert to float64 exactly, so the streaming
 * views are the float64 core's numbers on the tensors' values.
 *
 * @param source An AsyncIterable, Iterable or ReadableStream of `{ x, n }`,
 * a `tf.data.Dataset` of them, or a dataset's iterator.
 * @param options `disposeInputs`.
 * @returns An async generator of host batches.
 * @throws {TypeError} Immediately, for a source of none of those kinds or a
 * non-boolean `disposeInputs`; while iterating, for a disposed tensor.
 *
 * @example Tracking a dataset's correlation with the streaming API
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { correlateBatches } from "@streamcorr/batch-corr";
 * import { tfBatchSource } from "@streamcorr/batch-corr/tfjs";
 * import assert from "node:assert/strict";
 *
 * await tf.setBackend("cpu");
 * const rows = Array.from({ length: 12 }, (_, i) => ({ x: [i, (i * 7) % 5], n: i % 3 }));
 * const dataset = tf.data.array(rows).batch(4).map((b) => {
 *   const { x, n } = b as { x: tf.Tensor; n: tf.Tensor };
 *   return { x, n };
 * });
 * const counts: number[] = [];
 * for await (const result of correlateBatches(tfBatchSource(dataset))) counts.push(result.count);
 * assert.deepEqual(counts, [4, 8, 12]);
 * ```
 */
export function tfBatchSource(
  source: TensorBatchSource,
  options?: TfBatchSourceOptions,
): AsyncGenerator<HostBatch, void, undefined> {
  const context = "read tf batches";
  const valid = typeof source === "object" && source !== null &&
    (source instanceof ReadableStream || Symbol.asyncIterator in source ||
      Symbol.iterator in source ||
      isDataset(source) || isLazyIterator(source));
  if (!valid) {
    throw new TypeError(
      ruleMessage(
        context,
        "source",
        "an AsyncIterable, an Iterable or a ReadableStream of { x, n }, a tf.data.Dataset or its iterator",
        source,
      ),
    );
  }
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new TypeError(ruleMessage(context, "options", "an object", options));
  }
  // Own properties only (nothing from Object.prototype), each read once.
  options = ownOptions(options) as TfBatchSourceOptions | undefined;
  const unknown = Object.keys(options ?? {}).filter((key) => key !== "disposeInputs");
  if (unknown.length > 0) {
    throw new TypeError(
      `Cannot ${context} as options must only have the known keys (disposeInputs): current value has ${
        unknown.map((key) => JSON.stringify(key)).join(", ")
      }`,
    );
  }
  const dispose = options?.disposeInputs ?? true;
  if (typeof dispose !== "boolean") {
    throw new TypeError(ruleMessage(context, "options.disposeInputs", "a boolean", dispose));
  }
  return hostBatches(source, dispose);
}

async function* hostBatches(
  source: TensorBatchSource,
  dispose: boolean,
): AsyncGenerator<HostBatch, void, undefined> {
  let index = 0;
  for await (const element of elementsOf(source)) {
    yield (await toHostBatch(element, index++, dispose)) as HostBatch;
  }
}
