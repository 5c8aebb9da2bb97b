/**
 * A source wrapper that stops at an `AbortSignal` without waiting for a
 * blocked read, for the shutdown of the monitor's input.
 *
 * @module
 */

/**
 * Yields from `source` until `signal` aborts, then stops: a wait for the next
 * item is cut short, so that a source that blocks (standard input, a queue)
 * does not hold the shutdown; the source is told to finish (`return()`)
 * without waiting for it. Items already yielded are the caller's to finish.
 *
 * @param source Any async or sync iterable.
 * @param signal Stops the iteration.
 * @returns The items up to the abort.
 *
 * @example Stopping a never-ending source
 * ```ts
 * import { untilAborted } from "./until_aborted.ts";
 * import assert from "node:assert/strict";
 *
 * async function* forever() {
 *   for (let i = 0; ; i++) {
 *     await new Promise((resolve) => setTimeout(resolve, 5));
 *     yield i;
 *   }
 * }
 * const controller = new AbortController();
 * const seen: number[] = [];
 * for await (const i of untilAborted(forever(), controller.signal)) {
 *   seen.push(i);
 *   if (i === 3) controller.abort();
 * }
 * assert.deepEqual(seen, [0, 1, 2, 3]);
 * ```
 */
export async function* untilAborted<T>(
  source: AsyncIterable<T> | Iterable<T>,
  signal: AbortSignal,
): AsyncGenerator<T, void, undefined> {
  const iterator = Symbol.asyncIterator in source
    ? (source as AsyncIterable<T>)[Symbol.asyncIterator]()
    : (source as Iterable<T>)[Symbol.iterator]();
  let finished = false;
  try {
    while (!signal.aborted) {
      const next = await nextUnlessAborted(iterator, signal);
      if (next === "aborted") break;
      if (next.done) {
        finished = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!finished) {
      // Not awaited: a source blocked in a read would hold the shutdown.
      Promise.resolve(iterator.return?.()).catch(() => {});
    }
  }
}

/**
 * The iterator's next result, or "aborted" when the signal fires first. The
 * listener lives for this one read only: racing every read against one
 * long-lived promise would keep a reaction per read until the signal fired,
 * memory growing with the rows.
 */
function nextUnlessAborted<T>(
  iterator: AsyncIterator<T> | Iterator<T>,
  signal: AbortSignal,
): Promise<IteratorResult<T> | "aborted"> {
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve("aborted");
    signal.addEventListener("abort", onAbort, { once: true });
    const settle = () => signal.removeEventListener("abort", onAbort);
    Promise.resolve(iterator.next()).then(
      (result) => {
        settle();
        resolve(result);
      },
      (error: unknown) => {
        settle();
        reject(error);
      },
    );
  });
}
