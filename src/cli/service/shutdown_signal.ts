/**
 * SIGINT/SIGTERM as an `AbortSignal`: the monitor stops its input at it
 * (`untilAborted` in `until_aborted.ts`), finishes the batch in hand, flushes its metrics
 * and report, and exits 0.
 *
 * @module
 */

import process from "node:process";

/** The signals that ask the monitor to stop. */
export type ShutdownSignalName = "SIGINT" | "SIGTERM";

/** Options of {@linkcode listenForShutdown}. */
export interface ListenForShutdownOptions {
  /**
   * The signals to listen for.
   * @default {["SIGINT", "SIGTERM"]}
   */
  signals?: readonly ShutdownSignalName[];
  /**
   * Called for a second signal while the shutdown is under way (someone
   * insists): by default the process exits at once with 128 + the signal
   * number (130 for SIGINT, 143 for SIGTERM).
   * @default {exit at once}
   */
  onRepeat?: (name: ShutdownSignalName) => void;
}

/** A listener for shutdown signals; `dispose()` removes it. */
export interface ShutdownListener extends Disposable {
  /** Aborts at the first signal, with the signal's name as its reason. */
  readonly signal: AbortSignal;
  /** The first signal received, if any. */
  readonly received: ShutdownSignalName | undefined;
  /** Removes the signal handlers (the process's default behaviour returns). */
  dispose(): void;
}

const EXIT_CODES: Record<ShutdownSignalName, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Listens for SIGINT and SIGTERM (`node:process` signal events, which Deno
 * and Bun both provide). The first aborts `signal`; a second one calls
 * `onRepeat`, which by default exits at once.
 *
 * @param options The signals and what a repeated one does.
 * @returns The listener; dispose of it when the run is over.
 * @throws {RangeError} If a signal is not "SIGINT" or "SIGTERM".
 *
 * @example Stopping a loop at the first signal
 * ```ts
 * import { listenForShutdown } from "./shutdown_signal.ts";
 * import assert from "node:assert/strict";
 *
 * using shutdown = listenForShutdown();
 * assert.equal(shutdown.signal.aborted, false);
 * assert.equal(shutdown.received, undefined);
 * ```
 */
export function listenForShutdown(options: ListenForShutdownOptions = {}): ShutdownListener {
  const signals = options.signals ?? ["SIGINT", "SIGTERM"];
  for (const name of signals) {
    if (name !== "SIGINT" && name !== "SIGTERM") {
      throw new RangeError(
        `Cannot listen for shutdown as each signal must be "SIGINT" or "SIGTERM": current value is ${
          JSON.stringify(name)
        }`,
      );
    }
  }
  const onRepeat = options.onRepeat ??
    ((name: ShutdownSignalName) => process.exit(EXIT_CODES[name]));
  const controller = new AbortController();
  let received: ShutdownSignalName | undefined;
  const handlers = signals.map((name) => {
    const handler = () => {
      if (received === undefined) {
        received = name;
        controller.abort(name);
      } else {
        onRepeat(name);
      }
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  const dispose = () => {
    for (const [name, handler] of handlers) process.off(name, handler);
  };
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    dispose,
    [Symbol.dispose]: dispose,
  };
}
