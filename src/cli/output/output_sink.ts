/**
 * Where the CLI writes text: a sink that may apply back-pressure, and the
 * wrappers that give a node-style writable that behaviour and turn its
 * failures into the CLI's errors: a closed pipe ends the run quietly, any
 * other failure names the output.
 *
 * @module
 */

import { ClosedOutputError, OutputError } from "../errors.ts";
import { quoteInput, safeText } from "./safe_text.ts";

/** Something with a `write(text)` method, such as `process.stderr`. */
export interface TextSink {
  /** Writes text. */
  write(text: string): unknown;
}

/** Text output that may apply back-pressure. */
export interface OutputSink {
  /** Writes text, resolving when more may be written. */
  write(text: string): Promise<void> | void;
}

/** A node-style writable (`process.stdout`, a file stream). */
export interface NodeWritable {
  /** Writes a chunk; false when the buffer is full. */
  write(chunk: string): boolean;
  /** Registers a one-time listener. */
  once(event: "drain" | "close" | "error", listener: (error?: unknown) => void): unknown;
  /** Registers a listener (for "error", so that a failure is never an uncaught event). */
  on?(event: "error", listener: (error: unknown) => void): unknown;
  /** Removes a listener. */
  off?(event: "drain" | "close" | "error", listener: (error?: unknown) => void): unknown;
  /** Whether the stream was destroyed (closed or failed). */
  destroyed?: boolean;
}

/** Error codes that mean the reading end of a pipe or socket went away. */
const CLOSED_CODES = new Set(["EPIPE", "ECONNRESET", "ERR_STREAM_DESTROYED"]);

/**
 * Whether an error says that an output's reader went away.
 *
 * @param error An error from a write.
 * @returns True for EPIPE and its kin.
 */
export function isClosedOutput(error: unknown): boolean {
  if (error instanceof ClosedOutputError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  const name = (error as { name?: unknown } | null)?.name;
  return (typeof code === "string" && CLOSED_CODES.has(code)) || name === "BrokenPipe";
}

/** An output, as messages name it. */
export interface OutputTarget {
  /** The path, or "standard output". */
  name: string;
  /** The flag that named the path (`--output`), when a flag did. */
  flag?: string;
  /** What is written, for messages ("the rows"). */
  what?: string;
}

/**
 * The CLI's error for a failed write: a closed pipe is a
 * {@linkcode ClosedOutputError}, anything else an {@linkcode OutputError}
 * naming the output and the reason.
 *
 * @param error What the write failed with.
 * @param target The output.
 * @returns The error to throw.
 *
 * @example A full disk and a closed pipe
 * ```ts
 * import { outputFailure } from "./output_sink.ts";
 * import assert from "node:assert/strict";
 *
 * const full = Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
 * assert.match(
 *   outputFailure(full, { name: "/dev/full", flag: "--output", what: "the rows" }).message,
 *   /^Cannot write the rows as --output must name a writable file: current value is "\/dev\/full" \(ENOSPC/,
 * );
 * const closed = Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
 * assert.equal(outputFailure(closed, { name: "standard output" }).name, "ClosedOutputError");
 * ```
 */
export function outputFailure(error: unknown, target: OutputTarget): Error {
  if (error instanceof ClosedOutputError || error instanceof OutputError) return error;
  if (isClosedOutput(error)) return new ClosedOutputError(target.name, { cause: error });
  const reason = safeText(error instanceof Error ? error.message : String(error), 300);
  return new OutputError(unwritableMessage(target, reason), { cause: error });
}

/**
 * The message for an output that cannot be written.
 *
 * @param target The output.
 * @param reason Why, in words (already safe to print).
 * @returns "Cannot write the rows as --output must name a writable file: current value is …".
 */
export function unwritableMessage(target: OutputTarget, reason: string): string {
  if (target.flag === undefined) {
    const what = target.what === undefined ? "" : `${target.what} `;
    return `Cannot write ${what}to ${target.name} as it must accept all the output: current one failed (${reason})`;
  }
  return `Cannot write ${
    target.what ?? "the output"
  } as ${target.flag} must name a writable file: current value is ${
    quoteInput(target.name, 200)
  } (${reason})`;
}

/** Listens for a stream's failure once, so that it is remembered rather than thrown uncaught. */
function watchFailure(stream: NodeWritable): () => unknown {
  let failure: unknown;
  stream.on?.("error", (error) => (failure ??= error ?? new Error("the output failed")));
  return () =>
    failure ??
      (stream.destroyed === true
        ? Object.assign(new Error("closed"), { code: "EPIPE" })
        : undefined);
}

/** Writes, turning a synchronous failure into the CLI's error. */
function writeOrFail(stream: NodeWritable, text: string, target: OutputTarget): boolean {
  try {
    return stream.write(text);
  } catch (error) {
    throw outputFailure(error, target);
  }
}

/**
 * Wraps a node-style writable so that writers wait for "drain" when its buffer
 * is full, keeping memory flat however much is written. A failure of the
 * stream rejects the pending write and every later one with
 * {@linkcode outputFailure}'s error, so that a closed pipe never leaves a
 * writer waiting for a "drain" that cannot come.
 *
 * @param stream The writable.
 * @param target How the output is named in messages.
 * @returns An {@linkcode OutputSink}.
 * @throws {ClosedOutputError} From `write`, once the reader has gone.
 * @throws {OutputError} From `write`, once the stream has failed otherwise.
 *
 * @example Waiting for a full buffer to drain
 * ```ts
 * import { drainingSink } from "./output_sink.ts";
 * import assert from "node:assert/strict";
 *
 * let drain = () => {};
 * const sink = drainingSink({ write: () => false, once: (event, listener) => event === "drain" && (drain = listener) });
 * const written = sink.write("text");
 * assert.ok(written instanceof Promise);
 * drain();
 * await written;
 * ```
 */
export function drainingSink(
  stream: NodeWritable,
  target: OutputTarget = { name: "standard output" },
): OutputSink {
  const failed = watchFailure(stream);
  const check = () => {
    const failure = failed();
    if (failure !== undefined) throw outputFailure(failure, target);
  };
  return {
    write(text: string): Promise<void> | void {
      check();
      if (writeOrFail(stream, text, target)) return;
      return new Promise((resolve, reject) => {
        const events = ["drain", "close", "error"] as const;
        const settle = (error?: unknown) => {
          for (const event of events) stream.off?.(event, settle);
          try {
            if (error !== undefined) throw outputFailure(error, target);
            check();
            resolve();
          } catch (failure) {
            reject(failure);
          }
        };
        for (const event of events) stream.once(event, settle);
      });
    },
  };
}

/**
 * Wraps a node-style writable used without back-pressure (standard error) so
 * that a write after its failure throws instead of vanishing, and the
 * failure itself is never an uncaught "error" event.
 *
 * @param stream The writable.
 * @param output How the output is named in messages.
 * @returns A {@linkcode TextSink} whose `write` throws once the stream has failed.
 * @throws {ClosedOutputError} From `write`, once the reader has gone.
 *
 * @example A stream that failed
 * ```ts
 * import { checkedTextSink } from "./output_sink.ts";
 * import assert from "node:assert/strict";
 *
 * let fail = (_error: unknown) => {};
 * const sink = checkedTextSink({ write: () => true, once: () => {}, on: (_event, listener) => (fail = listener) }, "standard error");
 * sink.write("fine\n");
 * fail(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
 * assert.throws(() => sink.write("lost\n"), { name: "ClosedOutputError" });
 * ```
 */
export function checkedTextSink(stream: NodeWritable, output: string): TextSink {
  const target = { name: output };
  const failed = watchFailure(stream);
  return {
    write(text: string): void {
      const failure = failed();
      if (failure !== undefined) throw outputFailure(failure, target);
      writeOrFail(stream, text, target);
    },
  };
}
