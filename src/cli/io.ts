/**
 * The CLI's connection to the outside: standard streams, file input with byte
 * counting, and an output writer that respects back-pressure.
 *
 * @module
 */

import { createReadStream, statSync } from "node:fs";
import { type ByteSource, iterateChunks } from "./csv.ts";
import { InputError } from "./errors.ts";
import type { TextSink } from "./progress.ts";

/** Text output that may apply back-pressure. */
export interface OutputSink {
  /** Writes text, resolving when more may be written. */
  write(text: string): Promise<void> | void;
}

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
 */
export function drainingSink(stream: NodeWritable): OutputSink {
  return {
    write(text: string): Promise<void> | void {
      if (stream.write(text)) return;
      return new Promise((resolve) => stream.once("drain", () => resolve()));
    },
  };
}

/** An input opened for streaming. */
export interface OpenedInput {
  /** The bytes, counted as they are read. */
  bytes: AsyncIterable<Uint8Array>;
  /** The size when known. */
  totalBytes: number | undefined;
  /** How many bytes were consumed so far. */
  bytesRead(): number;
  /** How the input is named in messages. */
  label: string;
}

/**
 * Opens a file (or "-" for standard input) as a counted byte stream, 64 KiB at
 * a time, without reading it whole.
 *
 * @param path The path or "-".
 * @param io Where standard input comes from.
 * @returns The opened input.
 * @throws {InputError} If the file does not exist or is not a regular file.
 */
export function openInput(path: string, io: Pick<CliIo, "stdin">): OpenedInput {
  let read = 0;
  let source: ByteSource;
  let totalBytes: number | undefined;
  if (path === "-") {
    source = io.stdin();
  } else {
    let size: number;
    try {
      const stat = statSync(path);
      if (!stat.isFile()) throw new Error("not a regular file");
      size = stat.size;
    } catch (error) {
      throw new InputError(`Cannot read the input as it must be a readable file: current value is "${path}" (${(error as Error).message})`);
    }
    totalBytes = size;
    source = createReadStream(path, { highWaterMark: 1 << 16 }) as unknown as AsyncIterable<Uint8Array>;
  }
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of iterateChunks(source)) {
      read += chunk.byteLength;
      yield chunk;
    }
  }
  return { bytes: counted(), totalBytes, bytesRead: () => read, label: path === "-" ? "standard input" : path };
}
