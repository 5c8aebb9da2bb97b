/**
 * Waiting and retrying against a broker that may be restarting.
 *
 * @module
 */

import { thrownText } from "../core/errors.ts";
import { distributedError } from "./distributed_error.ts";

/** Resolves after `ms` milliseconds, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** How long to keep retrying, and what the operation is called in the final error. */
export interface RetryPolicy {
  /** Give up after failing continuously for this long (ms). */
  retryForMs: number;
  /** What was being done, for the error ("read the stream orders"). */
  what: string;
  /** The server, for the error ("redis://127.0.0.1:6379"). */
  server: string;
  /** Called with each failure before waiting (for logging). */
  onRetry?: (error: unknown, attempt: number) => void;
  /** Stops retrying (rethrowing the last error) when aborted. */
  signal?: AbortSignal | undefined;
}

/**
 * Runs `operation`, retrying on any error with exponential backoff (20 ms
 * doubling to 1 s) until it succeeds or has failed for `retryForMs`.
 *
 * @throws {BatchCorrError} "engine_unavailable" naming the operation, the
 * server and the time spent, with the last error as its cause.
 */
export async function withRetry<T>(operation: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  const started = Date.now();
  let delay = 20;
  for (let attempt = 1;; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const elapsed = Date.now() - started;
      if (elapsed >= policy.retryForMs || policy.signal?.aborted) {
        throw distributedError(
          "engine_unavailable",
          `Cannot ${policy.what} as ${policy.server} must answer within ${policy.retryForMs} ms of retrying: current state is ${attempt} failed attempts over ${elapsed} ms, the last with "${
            thrownText(error)
          }"`,
          { cause: error, details: { attempts: attempt, elapsedMs: elapsed } },
        );
      }
      policy.onRetry?.(error, attempt);
      await sleep(delay, policy.signal);
      delay = Math.min(1000, delay * 2);
    }
  }
}
