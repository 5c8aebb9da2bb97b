/**
 * Where the CLI writes text: a sink that may apply back-pressure, and the
 * wrapper that gives a node-style writable that behaviour.
 *
 * @module
 */

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
  once(event: "drain", listener: () => void): unknown;
}

/**
 * Wraps a node-style writable so that writers wait for "drain" when its buffer
 * is full, keeping memory flat however much is written.
 *
 * @param stream The writable.
 * @returns An {@linkcode OutputSink}.
 *
 * @example Waiting for a full buffer to drain
 * ```ts
 * import { drainingSink } from "./output_sink.ts";
 * import assert from "node:assert/strict";
 *
 * let drain = () => {};
 * const sink = drainingSink({ write: () => false, once: (_event, listener) => (drain = listener) });
 * const written = sink.write("text");
 * assert.ok(written instanceof Promise);
 * drain();
 * await written;
 * ```
 */
export function drainingSink(stream: NodeWritable): OutputSink {
  return {
    write(text: string): Promise<void> | void {
      if (stream.write(text)) return;
      return new Promise((resolve) => stream.once("drain", () => resolve()));
    },
  };
}
