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
  // One listener for the whole loop that wakes the read in hand: a listener or a
  // race per read would keep (or churn) an object per row for as long as the input runs.
  let wake: ((value: "aborted") => void) | undefined;
  const onAbort = () => wake?.("aborted");
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    while (!signal.aborted) {
      const next = await new Promise<IteratorResult<T> | "aborted">((resolve, reject) => {
        wake = resolve;
        Promise.resolve(iterator.next()).then(resolve, reject);
      });
      wake = undefined;
      if (next === "aborted") break;
      if (next.done) {
        finished = true;
        return;
      }
      yield next.value;
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    if (!finished) {
      // Not awaited: a source blocked in a read would hold the shutdown.
      Promise.resolve(iterator.return?.()).catch(() => {});
    }
  }
}
