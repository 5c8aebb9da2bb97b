/**
 * Opens an Arrow input (a path, bytes, a reader, record batches or a stream
 * of chunks) as one {@linkcode ArrowInput}: decoding errors of apache-arrow
 * become BatchCorrErrors, and a cut IPC file is refused.
 *
 * @module
 */

import type * as Arrow from "apache-arrow";
import { BatchCorrError } from "../core/errors.ts";
import { describeValue } from "../core/errors.ts";
import { type OpenContext, openRegularFile } from "../core/open_regular_file.ts";
import { openSource, type SourcePull } from "../stream/source.ts";
import { bytesOf, isBytes, isRecordBatch } from "./_arrow_guards.ts";
import { BufferPool } from "./_buffer_pool.ts";
import { ByteQueue } from "./_ipc_messages.ts";
import type { ArrowModule } from "./_load_arrow.ts";

/** The context of every message of `fromArrow`. */
export const CONTEXT = "read Arrow IPC";
const MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]; // "ARROW1"
/** An IPC file's magic and padding before its first message. */
const FILE_PREFIX = 8;
/** An IPC file's footer length and magic after its footer. */
const FILE_TAIL = 10;

/** An opened input: the schema when known before the first batch, and the batches. */
export interface ArrowInput {
  schema: Arrow.Schema | undefined;
  next(): Promise<IteratorResult<Arrow.RecordBatch, unknown>>;
  close(): Promise<void>;
}

/**
 * A decoding failure of apache-arrow as a BatchCorrError; this module's own
 * errors (a chunk that is not bytes), passed through apache-arrow, stay as
 * they are.
 */
export function undecodable(
  cause: unknown,
  batch: number,
  what = "could not be decoded",
): Error {
  if (cause instanceof Error && cause.message.startsWith(`Cannot ${CONTEXT} as `)) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new BatchCorrError(
    "stream_batch_failed",
    `Cannot ${CONTEXT} as the input must be a complete Arrow IPC stream or file: current value ${what} at record batch ${batch} ` +
      `(${reason}); the input may be truncated or corrupt`,
    { cause, details: { format: "arrow", batch } },
  );
}

function startsWithMagic(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.every((byte, i) => bytes[i] === byte);
}

/** An IPC file starts and ends with "ARROW1"; one that starts but does not end with it was cut. */
function checkFileEnds(head: Uint8Array, tail: Uint8Array, size: number): void {
  if (startsWithMagic(head) && (size < 2 * MAGIC.length + 2 || !startsWithMagic(tail))) {
    throw undecodable(
      new Error(`an IPC file of ${size} bytes must end with its footer and the magic ARROW1`),
      0,
      "is an Arrow IPC file without its end",
    );
  }
}

/** Decoding errors of apache-arrow become BatchCorrErrors; a reader without a schema is an empty or cut input. */
export async function openReader(
  reader: Arrow.RecordBatchReader,
  close: () => Promise<void>,
  firstIndex = 0,
): Promise<ArrowInput> {
  try {
    await reader.open();
  } catch (error) {
    throw undecodable(error, firstIndex);
  }
  const schema = reader.schema as Arrow.Schema | undefined | null;
  if (schema === undefined || schema === null) {
    throw undecodable(
      new Error("no schema message"),
      0,
      "holds no Arrow IPC schema (empty or cut)",
    );
  }
  const iterator = reader[Symbol.asyncIterator]();
  let index = firstIndex;
  return {
    schema,
    async next() {
      try {
        const result = await iterator.next();
        index++;
        return result;
      } catch (error) {
        throw undecodable(error, index);
      }
    },
    async close() {
      await iterator.return?.();
      await close();
    },
  };
}

/** What a refused path is named as. */
const OPEN_CONTEXT: OpenContext = {
  context: CONTEXT,
  subject: "source",
  hint: "a pipe's or a socket's bytes can be passed as a stream instead",
};

export async function openPath(arrow: ArrowModule, path: string | URL): Promise<ArrowInput> {
  const { handle, size } = await openRegularFile(path, OPEN_CONTEXT);
  const closeHandle = () => handle.close().catch(() => {});
  try {
    const head = new Uint8Array(MAGIC.length);
    const tail = new Uint8Array(MAGIC.length);
    await handle.read(head, 0, head.length, 0);
    if (size >= MAGIC.length) await handle.read(tail, 0, tail.length, size - MAGIC.length);
    checkFileEnds(head, tail, size);
    const reader = await arrow.RecordBatchReader.from(
      handle as unknown as Parameters<typeof arrow.RecordBatchReader.from>[0],
    );
    return await openReader(reader as Arrow.RecordBatchReader, closeHandle);
  } catch (error) {
    await closeHandle();
    throw error instanceof BatchCorrError ? error : undecodable(error, 0);
  }
}

export function openBytes(
  arrow: ArrowModule,
  value: Uint8Array | ArrayBuffer,
): Promise<ArrowInput> {
  const bytes = bytesOf(value);
  checkFileEnds(bytes, bytes.subarray(bytes.length - MAGIC.length), bytes.length);
  let reader: Arrow.RecordBatchReader;
  try {
    reader = arrow.RecordBatchReader.from(bytes);
  } catch (error) {
    throw undecodable(error, 0);
  }
  return openReader(reader, async () => {});
}

export function fromBatches(
  batches: readonly Arrow.RecordBatch[],
  schema: Arrow.Schema | undefined,
): ArrowInput {
  let index = 0;
  return {
    schema,
    next: () =>
      Promise.resolve(
        index < batches.length
          ? { done: false, value: batches[index++]! }
          : { done: true, value: undefined },
      ),
    close: async () => {},
  };
}

/** A pull that remembers whether the source ended, so that only an unfinished source is cancelled. */
function trackedPull(pull: SourcePull<unknown>): SourcePull<unknown> & { ended: boolean } {
  const tracked = {
    ended: false,
    async next() {
      try {
        const result = await pull.next();
        if (result.done) tracked.ended = true;
        return result;
      } catch (error) {
        tracked.ended = true;
        throw error;
      }
    },
    async cancel() {
      if (tracked.ended) return;
      tracked.ended = true;
      await pull.cancel();
    },
  };
  return tracked;
}

/** Byte chunks after a first one, checked, as apache-arrow reads them. */
async function* byteChunks(first: unknown, pull: SourcePull<unknown>): AsyncGenerator<Uint8Array> {
  let value = first;
  for (let index = 0;; index++) {
    if (!isBytes(value)) {
      throw new TypeError(
        `Cannot ${CONTEXT} as chunk ${index} of the source must be a Uint8Array of IPC bytes, as the first one was: current value is ${
          describeValue(value)
        }`,
      );
    }
    yield bytesOf(value);
    const next = await pull.next();
    if (next.done) return;
    value = next.value;
  }
}

/** IPC bytes to be read message by message, with how apache-arrow would read them instead. */
export interface ByteInput {
  /** The bytes, from the first message (an IPC file's leading magic skipped). */
  queue: ByteQueue;
  /**
   * apache-arrow's reading of the whole input, for one the flat reader hands
   * back at its schema; `replay` holds the bytes the queue gave out and the rest.
   */
  restart(arrow: ArrowModule, replay: AsyncIterable<Uint8Array>): Promise<ArrowInput>;
  close(): Promise<void>;
  /**
   * Hands back the buffer under a message body the caller has finished with,
   * for the input to read a later message into; absent where the bytes are
   * not the input's own (the caller's bytes, a stream's chunks).
   */
  release?(buffer: ArrayBufferLike): void;
}

/** An opened iterable source: record batches, or IPC bytes. */
export type OpenedIterable = { kind: "batches"; input: ArrowInput } | {
  kind: "bytes";
  input: ByteInput;
};

/** Reads a replay (the schema message first) through apache-arrow's stream reader. */
export async function readReplay(
  arrow: ArrowModule,
  replay: AsyncIterable<Uint8Array>,
  close: () => Promise<void>,
  firstIndex = 0,
): Promise<ArrowInput> {
  let reader: Arrow.RecordBatchReader;
  try {
    reader = await arrow.RecordBatchReader.from(replay) as Arrow.RecordBatchReader;
  } catch (error) {
    await close();
    throw undecodable(error, firstIndex);
  }
  return await openReader(reader, close, firstIndex);
}

function recordBatchesAfter(
  first: IteratorResult<unknown, unknown>,
  pull: SourcePull<unknown>,
): ArrowInput {
  let pending: IteratorResult<unknown, unknown> | undefined = first;
  let index = 0;
  return {
    schema: undefined,
    async next() {
      const result = pending ?? await pull.next();
      pending = undefined;
      if (result.done) return { done: true, value: undefined };
      if (!isRecordBatch(result.value)) {
        throw new TypeError(
          `Cannot ${CONTEXT} as item ${index} of the source must be a RecordBatch, as the first one was: current value is ${
            describeValue(result.value)
          }`,
        );
      }
      index++;
      return { done: false, value: result.value };
    },
    close: () => pull.cancel(),
  };
}

/**
 * Opens a stream or iterable: record batches as they are, byte chunks as a
 * {@linkcode ByteInput} (an IPC file among them goes whole to apache-arrow,
 * which needs its footer first).
 */
export async function openIterable(
  source: Parameters<typeof openSource>[0],
): Promise<OpenedIterable> {
  const pull = trackedPull(openSource(source as Parameters<typeof openSource<unknown>>[0]));
  const first = await pull.next();
  if (first.done) return { kind: "batches", input: fromBatches([], undefined) };
  if (isRecordBatch(first.value)) {
    return { kind: "batches", input: recordBatchesAfter(first, pull) };
  }
  if (!isBytes(first.value)) {
    await pull.cancel();
    throw new TypeError(
      `Cannot ${CONTEXT} as the items of the source must be Uint8Arrays of IPC bytes or RecordBatches: current value is ${
        describeValue(first.value)
      }`,
    );
  }
  const chunks = byteChunks(first.value, pull);
  const close = () => pull.cancel();
  const queue = new ByteQueue(async () => {
    const next = await chunks.next();
    return next.done ? undefined : next.value;
  });
  return {
    kind: "bytes",
    input: { queue, restart: (arrow, replay) => readReplay(arrow, replay, close), close },
  };
}

/** Where an IPC file's stream of messages ends: at its footer. */
function streamEnd(tail: Uint8Array, size: number): number {
  const footer = new DataView(tail.buffer, tail.byteOffset, tail.length).getInt32(0, true);
  const end = size - FILE_TAIL - footer;
  return footer >= 0 && end >= FILE_PREFIX ? end : size;
}

/** The bytes of an IPC file or stream in memory, as a {@linkcode ByteInput}. */
export function bytesInput(value: Uint8Array | ArrayBuffer): ByteInput {
  const bytes = bytesOf(value);
  const tail = bytes.subarray(Math.max(0, bytes.length - FILE_TAIL));
  checkFileEnds(bytes, tail.subarray(tail.length - MAGIC.length), bytes.length);
  const file = startsWithMagic(bytes);
  const messages = file ? bytes.subarray(FILE_PREFIX, streamEnd(tail, bytes.length)) : bytes;
  let given = false;
  const queue = new ByteQueue(() => {
    const chunk = given ? undefined : messages;
    given = true;
    return Promise.resolve(chunk);
  });
  return { queue, restart: (arrow) => openBytes(arrow, bytes), close: async () => {} };
}

/** Read size of a file's chunks where the reader does not say how much it needs. */
const CHUNK = 1 << 20;

/** The most one read takes, so that a corrupt length cannot ask for the whole of a large file at once. */
const MAX_READ = 1 << 26;

/** A file read by position (through a handle, or synchronously by the CLI). */
export interface PositionalFile {
  /** Its size in bytes. */
  readonly size: number;
  /** Reads into `buffer` from `position`; the bytes read, 0 at the end. */
  read(buffer: Uint8Array, position: number): number | Promise<number>;
  /** Closes it (idempotent). */
  close(): Promise<void>;
}

async function readAt(
  file: PositionalFile,
  position: number,
  length: number,
  pool?: BufferPool,
): Promise<Uint8Array> {
  const bytes = pool?.acquire(length) ?? new Uint8Array(length);
  let at = 0;
  while (at < length) {
    const read = await file.read(bytes.subarray(at), position + at);
    if (read === 0) break;
    at += read;
  }
  return bytes.subarray(0, at);
}

/**
 * A file of IPC bytes as a {@linkcode ByteInput}: each read is exactly what
 * the reader asks for, so every message body lands in a buffer of its own,
 * uncopied. An IPC file's leading magic is skipped, and its messages end at
 * its footer; a file that does not end with its footer is refused here.
 *
 * @param file The file.
 * @param path Its path, for apache-arrow should the input not be flat.
 * @returns The input.
 * @throws {BatchCorrError} `"stream_batch_failed"` for an IPC file without its end.
 */
export async function positionalInput(
  file: PositionalFile,
  path: string | URL,
): Promise<ByteInput> {
  try {
    const { size } = file;
    const head = await readAt(file, 0, Math.min(size, FILE_PREFIX));
    const tail = await readAt(file, size - Math.min(size, FILE_TAIL), Math.min(size, FILE_TAIL));
    checkFileEnds(head, tail.subarray(tail.length - MAGIC.length), size);
    const isFile = startsWithMagic(head);
    let at = isFile ? FILE_PREFIX : 0;
    const end = isFile ? streamEnd(tail, size) : size;
    const pool = new BufferPool();
    const queue = new ByteQueue(async (wanted) => {
      if (at >= end) return undefined;
      // Only exact reads (a message's parts) are pooled; a replay's chunks go to apache-arrow.
      const length = Math.min(wanted ?? CHUNK, end - at, MAX_READ);
      const chunk = await readAt(file, at, length, wanted === undefined ? undefined : pool);
      at = chunk.length === 0 ? end : at + chunk.length;
      return chunk.length === 0 ? undefined : chunk;
    });
    const restart = async (arrow: ArrowModule) => {
      await file.close();
      return await openPath(arrow, path);
    };
    return {
      queue,
      restart,
      close: () => file.close(),
      release: (buffer) => pool.release(buffer),
    };
  } catch (error) {
    await file.close();
    throw error instanceof BatchCorrError ? error : undecodable(error, 0);
  }
}

/** A file of IPC bytes, read through a handle, as a {@linkcode ByteInput}. */
export async function pathInput(path: string | URL): Promise<ByteInput> {
  const { handle, size } = await openRegularFile(path, OPEN_CONTEXT);
  let closed = false;
  const file: PositionalFile = {
    size,
    read: async (buffer, position) =>
      (await handle.read(buffer, 0, buffer.length, position)).bytesRead,
    close: async () => {
      if (closed) return;
      closed = true;
      await handle.close().catch(() => {});
    },
  };
  return await positionalInput(file, path);
}
