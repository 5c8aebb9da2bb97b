/**
 * How a monitor run stops at SIGINT/SIGTERM: the input stops being read, the
 * rows already taken make a last batch, the summary says which signal stopped
 * it, and the exit code is 0.
 *
 * @module
 */

import type { ShutdownSignalName } from "../service/shutdown_signal.ts";

/**
 * Waits for `work` unless `signal` aborts first; a later failure of `work` is
 * then ignored (the run is over).
 *
 * @param work What the run waits for (the header and the first rows).
 * @param signal The shutdown signal.
 * @returns The result, or undefined when the signal came first.
 */
export async function unlessStopped<T>(
  work: Promise<T>,
  signal: AbortSignal,
): Promise<T | undefined> {
  if (signal.aborted) {
    work.catch(() => {});
    return undefined;
  }
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    const result = await Promise.race([work, stopped]);
    if (result === undefined) work.catch(() => {});
    return result;
  } finally {
    signal.removeEventListener("abort", onAbort!);
  }
}

/**
 * The summary line of a run stopped by a signal.
 *
 * @param name The signal.
 * @param rowsRead Data rows read when it stopped.
 * @returns The line.
 */
export function stoppedLine(name: ShutdownSignalName, rowsRead: number): string {
  return `stopped by ${name}: the input was read up to ${rowsRead} data row(s); the rows taken made the last batch`;
}
