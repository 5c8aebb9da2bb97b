/**
 * The streams and facts the CLI runs with: the process's own, or a test's.
 *
 * @module
 */

import process from "node:process";
import type { ByteSource } from "./input/byte_source.ts";
import {
  checkedTextSink,
  drainingSink,
  outputFailure,
  type OutputSink,
  type TextSink,
} from "./output/output_sink.ts";

/** The streams and facts the CLI runs with (the process's, or a test's). */
export interface CliIo {
  /** Standard output. */
  stdout: OutputSink;
  /** Standard error (progress, warnings, errors). */
  stderr: TextSink;
  /** Standard input bytes, read when the input is "-". */
  stdin: () => ByteSource;
  /** Whether standard error is a terminal (progress bar). */
  stderrIsTty: boolean;
  /** Whether standard output is a terminal (binary output is refused there); absent means not. */
  stdoutIsTty?: boolean;
  /** Writes binary data to standard output; absent where standard output only takes text. */
  stdoutBytes?: (bytes: Uint8Array) => Promise<void>;
  /**
   * Stops reading standard input, for a run stopped by SIGINT/SIGTERM while a
   * producer keeps it open: a read still waiting must not hold the process.
   */
  stopStdin?: () => void;
}

/** Ends the process's standard input, whatever read waits on it. */
function stopProcessStdin(): void {
  process.stdin.destroy();
  // Deno's stdin keeps a read waiting after destroy(); closing its resource releases the process.
  const deno = (globalThis as { Deno?: { stdin: { close(): void } } }).Deno;
  try {
    deno?.stdin.close();
  } catch {
    // Already closed.
  }
}

/**
 * The process's own streams.
 *
 * @returns Standard output (waiting for "drain" when full), standard error,
 *   standard input and whether each is a terminal; a write to an output whose
 *   reader has gone throws a `ClosedOutputError`.
 *
 * @example The process's streams
 * ```ts
 * import { processIo } from "./cli_io.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(typeof processIo().stdout.write, "function");
 * ```
 */
export function processIo(): CliIo {
  return {
    stdout: drainingSink(process.stdout, { name: "standard output" }),
    stderr: checkedTextSink(process.stderr, "standard error"),
    stdin: () => process.stdin as unknown as AsyncIterable<Uint8Array>,
    stderrIsTty: process.stderr.isTTY === true,
    stdoutIsTty: process.stdout.isTTY === true,
    stdoutBytes: (bytes) =>
      new Promise<void>((resolve, reject) => {
        const fail = (error: unknown) => reject(outputFailure(error, { name: "standard output" }));
        try {
          // Deno writes to a file synchronously and throws there; a pipe reports through the callback.
          process.stdout.write(bytes, (error?: Error | null) => (error ? fail(error) : resolve()));
        } catch (error) {
          fail(error);
        }
      }),
    stopStdin: stopProcessStdin,
  };
}
