/**
 * Random access to a Parquet file without holding it whole: the
 * `{ byteLength, slice }` interface hyparquet reads through, over a file
 * handle, a Blob, or bytes already in memory.
 *
 * @module
 */

import { closeSync, readSync } from "node:fs";
import {
  type OpenContext,
  openRegularFile,
  openRegularFileSync,
} from "../core/open_regular_file.ts";

/**
 * A file that can hand out byte ranges (hyparquet's `AsyncBuffer`):
 * `slice(start, end)` returns bytes `[start, end)` as an `ArrayBuffer`, or a
 * promise of one.
 */
export interface ParquetByteSource {
  /** The file's size in bytes. */
  readonly byteLength: number;
  /** Bytes `[start, end)` (to the end when `end` is undefined). */
  slice(start: number, end?: number): ArrayBuffer | Promise<ArrayBuffer>;
}

/**
 * The key of a byte source's optional in-place range read, for sources this
 * library builds itself (a symbol, so a user's object never matches it by
 * accident). `(start, end, scratch)` returns bytes `[start, end)` valid until
 * the next call: a view of the source's own bytes, or of `scratch.bytes`,
 * grown as needed. Fresh memory costs more than the read on this kind of
 * machine (every page is faulted in), so the fast Parquet path reuses one
 * buffer for every column chunk instead of a new one each.
 */
export const READ_RANGE: unique symbol = Symbol("batch-corr.readRange");

/** Reusable storage for {@linkcode READ_RANGE}. */
export interface RangeScratch {
  bytes: Uint8Array;
}

/** A byte source that can read a range into reused memory. */
export interface RangeReadable extends ParquetByteSource {
  [READ_RANGE](start: number, end: number, scratch: RangeScratch): Promise<Uint8Array>;
}

/**
 * Bytes `[start, end)` of a source: read into `scratch` when the source can,
 * else from its `slice`. The result is valid until the next call with the same
 * scratch.
 *
 * @param file The source.
 * @param start The first byte.
 * @param end One past the last byte.
 * @param scratch Reused storage.
 * @returns The bytes.
 */
export async function readRangeReusing(
  file: ParquetByteSource,
  start: number,
  end: number,
  scratch: RangeScratch,
): Promise<Uint8Array> {
  if (READ_RANGE in file) {
    return await (file as RangeReadable)[READ_RANGE](start, end, scratch);
  }
  return new Uint8Array(await file.slice(start, end));
}

/** `scratch.bytes`, grown to at least `length` bytes, as a view of exactly `length`. */
export function scratchOf(scratch: RangeScratch, length: number): Uint8Array {
  if (scratch.bytes.length < length) scratch.bytes = new Uint8Array(length);
  return scratch.bytes.subarray(0, length);
}

/** Reads into `out` from a file position: how many bytes it read, 0 at the end. */
type PositionalRead = (out: Uint8Array, position: number) => number | Promise<number>;

/**
 * Fills `out` from `position`, looping over short reads.
 *
 * @param read The file's positional read.
 * @param out Where the bytes go.
 * @param position The file offset of `out[0]`.
 * @throws {RangeError} When the file ends first.
 */
async function readFully(read: PositionalRead, out: Uint8Array, position: number): Promise<void> {
  let at = 0;
  while (at < out.length) {
    const bytesRead = await read(out.subarray(at), position + at);
    if (bytesRead === 0) {
      throw new RangeError(
        `the file ended at byte ${position + at}, before byte ${position + out.length}`,
      );
    }
    at += bytesRead;
  }
}

/** How {@linkcode openParquetFile} opens a path. */
export interface OpenParquetFileOptions {
  /** Told how many bytes each read of a path took from the file. */
  onRead?: (bytes: number) => void;
  /**
   * Read a path with blocking reads (`readSync`), for a command-line tool
   * reading a local file: in Deno each asynchronous read waits for a thread
   * of its own, which on thousands of small reads costs more than they do.
   */
  synchronous?: boolean;
}

/** An opened file: its byte source and how to release it. */
export interface OpenedParquetFile {
  buffer: ParquetByteSource;
  close(): Promise<void>;
}

/** A file of `size` bytes read by position, as a byte source with in-place range reads. */
function positionalSource(
  size: number,
  read: PositionalRead,
  onRead: ((bytes: number) => void) | undefined,
): RangeReadable {
  const readInto = async (out: Uint8Array, position: number) => {
    await readFully(read, out, position);
    onRead?.(out.length);
    return out;
  };
  return {
    byteLength: size,
    slice: async (start, end) => {
      const [from, to] = clampRange(size, start, end);
      return (await readInto(new Uint8Array(to - from), from)).buffer as ArrayBuffer;
    },
    [READ_RANGE]: (start, end, scratch) => {
      const [from, to] = clampRange(size, start, end);
      return readInto(scratchOf(scratch, to - from), from);
    },
  };
}

/** What a refused path is named as. */
const OPEN_CONTEXT: OpenContext = { context: "read Parquet", subject: "file" };

async function openHandle(
  path: string | URL,
  options: OpenParquetFileOptions,
): Promise<OpenedParquetFile> {
  const { handle, size } = await openRegularFile(path, OPEN_CONTEXT);
  const read = async (out: Uint8Array, position: number) =>
    (await handle.read(out, 0, out.length, position)).bytesRead;
  return {
    buffer: positionalSource(size, read, options.onRead),
    close: () => handle.close().catch(() => {}),
  };
}

function openSynchronously(path: string | URL, options: OpenParquetFileOptions): OpenedParquetFile {
  const { fd, size } = openRegularFileSync(path, OPEN_CONTEXT);
  let closed = false;
  const read = (out: Uint8Array, position: number) => readSync(fd, out, 0, out.length, position);
  return {
    buffer: positionalSource(size, read, options.onRead),
    close: () => {
      if (!closed) {
        closed = true;
        closeSync(fd);
      }
      return Promise.resolve();
    },
  };
}

/** Whether a value is a {@linkcode ParquetByteSource}. */
export function isByteSource(value: unknown): value is ParquetByteSource {
  return typeof value === "object" && value !== null &&
    typeof (value as ParquetByteSource).byteLength === "number" &&
    typeof (value as ParquetByteSource).slice === "function" && !(value instanceof Blob) &&
    !ArrayBuffer.isView(value) &&
    !(value instanceof ArrayBuffer);
}

function clampRange(size: number, start: number, end: number | undefined): [number, number] {
  const from = Math.max(0, Math.min(size, start < 0 ? size + start : start));
  const to = end === undefined ? size : Math.max(from, Math.min(size, end < 0 ? size + end : end));
  return [from, to];
}

/**
 * Opens a path, a Blob, bytes or a byte source for ranged reads.
 *
 * @param file The file.
 * @param options How a path is read.
 * @returns The byte source; `close()` closes a handle this function opened.
 * @throws {TypeError} For a path that is not a regular file (a directory, a pipe).
 * @throws {Error} The system's error (its `code`, such as `ENOENT`) for a path that cannot be opened.
 */
export async function openParquetFile(
  file: string | URL | Blob | Uint8Array | ArrayBuffer | ParquetByteSource,
  options: OpenParquetFileOptions = {},
): Promise<OpenedParquetFile> {
  if (typeof file === "string" || file instanceof URL) {
    return options.synchronous ? openSynchronously(file, options) : await openHandle(file, options);
  }
  if (file instanceof Blob) {
    return {
      buffer: {
        byteLength: file.size,
        slice: (start, end) => file.slice(start, end).arrayBuffer(),
      },
      close: async () => {},
    };
  }
  if (file instanceof Uint8Array) {
    const buffer: RangeReadable = {
      byteLength: file.byteLength,
      slice: (start, end) => {
        const [from, to] = clampRange(file.byteLength, start, end);
        return file.buffer.slice(file.byteOffset + from, file.byteOffset + to) as ArrayBuffer;
      },
      // The caller's own bytes, as a view: nothing is copied or allocated.
      [READ_RANGE]: (start, end) =>
        Promise.resolve(file.subarray(...clampRange(file.byteLength, start, end))),
    };
    return {
      buffer,
      close: async () => {},
    };
  }
  if (file instanceof ArrayBuffer) return openParquetFile(new Uint8Array(file));
  return { buffer: file, close: async () => {} };
}
