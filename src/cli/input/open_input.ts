/**
 * The input of `monitor`: a file, a named pipe or standard input, opened as a
 * counted byte stream that refuses binary data.
 *
 * @module
 */

import { createReadStream, statSync } from "node:fs";
import { type ByteSource, iterateChunks } from "./byte_source.ts";
import { InputError } from "../errors.ts";
import type { CliIo } from "../cli_io.ts";
import { quoteInput, safeText } from "../output/safe_text.ts";

/** The most characters of a path shown in a message. */
const PATH_CHARACTERS = 300;

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

/** Why a path cannot be opened, or undefined when it is a regular file or a pipe. */
function unusableKind(path: string): string | undefined {
  let stat;
  try {
    stat = statSync(path);
  } catch (error) {
    return (error as Error).message;
  }
  if (stat.isFile() || stat.isFIFO()) return undefined;
  return stat.isDirectory()
    ? "a directory"
    : stat.isCharacterDevice() || stat.isBlockDevice()
    ? "a device"
    : "a socket or other special file";
}

/** The error for bytes that cannot be CSV or NDJSON text, or undefined. */
function binaryInput(chunk: Uint8Array, offset: number, label: string): InputError | undefined {
  if (
    offset === 0 && chunk.byteLength >= 2 &&
    ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff))
  ) {
    return new InputError(
      `Cannot read ${label} as the input must be UTF-8 text: current value starts with a UTF-16 byte-order mark (convert it to UTF-8, e.g. with iconv -f UTF-16 -t UTF-8)`,
    );
  }
  // A NUL byte never occurs in CSV or NDJSON text; stopping here keeps a binary file's bytes off the terminal.
  // Searched in a plain view: Deno's node:fs Buffers search in JavaScript, typed arrays natively.
  const nul = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength).indexOf(0);
  if (nul === -1) return undefined;
  return new InputError(
    `Cannot read ${label} as the input must be text (CSV or NDJSON in UTF-8): current value has a NUL byte at byte offset ${
      offset + nul
    } (a binary file?)`,
  );
}

/**
 * Opens a file or a named pipe (or "-" for standard input) as a counted byte
 * stream, 64 KiB at a time, without reading it whole. A file is read to the
 * end it has when the reader gets there: rows appended before then are read,
 * rows appended after are not (no waiting for more, unlike `tail -f`).
 *
 * @param path The path or "-".
 * @param io Where standard input comes from.
 * @returns The opened input; its bytes throw an {@linkcode InputError} on a
 *   read failure, a NUL byte or a UTF-16 byte-order mark.
 * @throws {InputError} If the path does not exist or is a directory, a device or a socket.
 */
export function openInput(path: string, io: Pick<CliIo, "stdin">): OpenedInput {
  let read = 0;
  let source: ByteSource;
  let totalBytes: number | undefined;
  // Quoted and escaped: a file name can hold terminal escapes like any other input text.
  const label = path === "-" ? "standard input" : quoteInput(path, PATH_CHARACTERS);
  if (path === "-") {
    source = io.stdin();
  } else {
    const unusable = unusableKind(path);
    if (unusable !== undefined) {
      throw new InputError(
        `Cannot read the input as it must be a readable file or pipe: current value is ${label} (${
          safeText(unusable, PATH_CHARACTERS)
        })`,
      );
    }
    const stat = statSync(path);
    totalBytes = stat.isFile() && stat.size > 0 ? stat.size : undefined;
    source = createReadStream(path, { highWaterMark: 1 << 18 }) as unknown as AsyncIterable<
      Uint8Array
    >;
  }
  async function* counted(): AsyncGenerator<Uint8Array> {
    const chunks = iterateChunks(source);
    while (true) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await chunks.next();
      } catch (error) {
        throw new InputError(
          `Cannot read ${label} as the input must be readable to its end: current value failed after ${read} bytes (${
            safeText((error as Error).message, PATH_CHARACTERS)
          })`,
        );
      }
      if (next.done) return;
      const chunk = next.value;
      const binary = binaryInput(chunk, read, label);
      if (binary) throw binary;
      read += chunk.byteLength;
      yield chunk;
    }
  }
  return {
    bytes: counted(),
    totalBytes,
    bytesRead: () => read,
    label: path === "-" ? "standard input" : safeText(path, PATH_CHARACTERS),
  };
}
