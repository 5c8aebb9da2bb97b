/**
 * Random access to a Parquet file without holding it whole: the
 * `{ byteLength, slice }` interface hyparquet reads through, over a file
 * handle, a Blob, or bytes already in memory.
 *
 * @module
 */

import { open } from "node:fs/promises";

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

/** An opened file: its byte source and how to release it. */
export interface OpenedParquetFile {
  buffer: ParquetByteSource;
  close(): Promise<void>;
}

/** Whether a value is a {@linkcode ParquetByteSource}. */
export function isByteSource(value: unknown): value is ParquetByteSource {
  return typeof value === "object" && value !== null &&
    typeof (value as ParquetByteSource).byteLength === "number" &&
    typeof (value as ParquetByteSource).slice === "function" && !(value instanceof Blob) &&
    !ArrayBuffer.isView(value) &&
    !(value instanceof ArrayBuffer);
}

/** Reads `[start, end)` of a file handle, looping over short reads. */
async function readRange(
  handle: Awaited<ReturnType<typeof open>>,
  start: number,
  end: number,
): Promise<ArrayBuffer> {
  const out = new Uint8Array(end - start);
  let at = 0;
  while (at < out.length) {
    const { bytesRead } = await handle.read(out, at, out.length - at, start + at);
    if (bytesRead === 0) {
      throw new RangeError(`the file ended at byte ${start + at}, before byte ${end}`);
    }
    at += bytesRead;
  }
  return out.buffer;
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
 * @returns The byte source; `close()` closes a handle this function opened.
 */
export async function openParquetFile(
  file: string | URL | Blob | Uint8Array | ArrayBuffer | ParquetByteSource,
): Promise<OpenedParquetFile> {
  if (typeof file === "string" || file instanceof URL) {
    const handle = await open(file, "r");
    try {
      const { size } = await handle.stat();
      return {
        buffer: {
          byteLength: size,
          slice: (start, end) => readRange(handle, ...clampRange(size, start, end)),
        },
        close: () => handle.close().catch(() => {}),
      };
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
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
    return {
      buffer: {
        byteLength: file.byteLength,
        slice: (start, end) => {
          const [from, to] = clampRange(file.byteLength, start, end);
          return file.buffer.slice(file.byteOffset + from, file.byteOffset + to) as ArrayBuffer;
        },
      },
      close: async () => {},
    };
  }
  if (file instanceof ArrayBuffer) return { buffer: file, close: async () => {} };
  return { buffer: file, close: async () => {} };
}
