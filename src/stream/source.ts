/**
 * Pulling values from any source a stream accepts (async iterable, iterable or
 * ReadableStream) with a way to release it when the consumer stops early.
 *
 * @module
 */

import { ruleMessage } from "../core/errors.ts";

/** Any source of values the streaming API reads. */
export type Source<T> = AsyncIterable<T> | Iterable<T> | ReadableStream<T>;

/** A started pull over a source. */
export interface SourcePull<T> {
  /**
   * The next value.
   * @returns The iterator result.
   */
  next(): Promise<IteratorResult<T, unknown>>;
  /**
   * Releases a source that was not read to its end: `return()` on an
   * iterator, `cancel()` on a ReadableStream's reader.
   */
  cancel(): Promise<void>;
}

/**
 * Checks that a value can be read as a source.
 *
 * @param source The value.
 * @param name Its name in messages.
 * @param context What was being done.
 * @throws {TypeError} If it is neither a ReadableStream, an async iterable nor
 * an iterable (strings are refused).
 */
export function checkSource(source: unknown, name: string, context: string): void {
  if (source instanceof ReadableStream) return;
  if (typeof source === "object" && source !== null) {
    const candidate = source as Record<symbol, unknown>;
    if (
      typeof candidate[Symbol.asyncIterator] === "function" ||
      typeof candidate[Symbol.iterator] === "function"
    ) return;
  }
  throw new TypeError(
    ruleMessage(context, name, "an AsyncIterable, an Iterable or a ReadableStream", source),
  );
}

/**
 * Starts pulling from a source checked by {@linkcode checkSource}.
 *
 * @param source The source.
 * @returns The pull.
 */
export function openSource<T>(source: Source<T>): SourcePull<T> {
  if (source instanceof ReadableStream) {
    const reader = source.getReader();
    return {
      async next() {
        const result = await reader.read();
        if (result.done) reader.releaseLock();
        return result.done
          ? { done: true, value: undefined }
          : { done: false, value: result.value };
      },
      async cancel() {
        try {
          await reader.cancel();
        } finally {
          reader.releaseLock();
        }
      },
    };
  }
  const iterator: Iterator<T> | AsyncIterator<T> = Symbol.asyncIterator in source
    ? (source as AsyncIterable<T>)[Symbol.asyncIterator]()
    : (source as Iterable<T>)[Symbol.iterator]();
  return {
    next: async () => await iterator.next(),
    async cancel() {
      await iterator.return?.();
    },
  };
}

/**
 * Maps every value of a source through `step`, as an async generator that
 * releases the source when the consumer stops early (break, `return()`) or a
 * step throws, but not when the source itself ended or failed.
 *
 * @param source The source.
 * @param step The work per value, given its 0-based index.
 * @returns The generator of results.
 */
export async function* mapSource<T, R>(
  source: Source<T>,
  step: (value: T, index: number) => R | Promise<R>,
): AsyncGenerator<R, void, undefined> {
  const pull = openSource(source);
  let sourceDone = false;
  let released = false;
  try {
    for (let index = 0;; index++) {
      let next: IteratorResult<T, unknown>;
      try {
        next = await pull.next();
      } catch (error) {
        sourceDone = true;
        throw error;
      }
      if (next.done) {
        sourceDone = true;
        return;
      }
      yield await step(next.value, index);
    }
  } catch (error) {
    if (!sourceDone) {
      released = true;
      // The step's own error matters more than a failure to release the source.
      await pull.cancel().catch(() => {});
    }
    throw error;
  } finally {
    if (!sourceDone && !released) await pull.cancel();
  }
}
