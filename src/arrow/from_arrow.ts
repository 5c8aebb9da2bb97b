/**
 * Arrow IPC (stream or file format, or record batches already decoded) into
 * the batches `correlateBatches` takes.
 *
 * @module
 */

import type * as Arrow from "apache-arrow";
import { z } from "zod";
import { describeValue } from "../core/errors.ts";
import type { openSource } from "../stream/source.ts";
import {
  type ArrowColumnPlan,
  checkSameColumns,
  planArrowColumns,
  readArrowChunk,
} from "./_arrow_columns.ts";
import { isBytes, isRecordBatch, isTable } from "./_arrow_guards.ts";
import { type ArrowModule, loadArrow } from "./_load_arrow.ts";
import { FlatArrowReader, type FlatStep } from "./_flat_arrow_reader.ts";
import { IpcFormatError } from "./_ipc_messages.ts";
import {
  type ArrowInput,
  type ByteInput,
  bytesInput,
  CONTEXT,
  fromBatches,
  openIterable,
  openReader,
  pathInput,
  type PositionalFile,
  positionalInput,
  readReplay,
  undecodable,
} from "./_open_arrow_input.ts";
import { ColumnarBatcher, type ColumnChunk } from "./columnar_batcher.ts";
import {
  type ColumnarBatch,
  type ColumnarOptions,
  columnarOptionsShape,
  parseColumnarOptions,
  type ResolvedColumnarOptions,
} from "./columnar_options.ts";

export type { PositionalFile } from "./_open_arrow_input.ts";

/** Options of {@linkcode fromArrow}. */
export type FromArrowOptions = ColumnarOptions;

/**
 * An apache-arrow `RecordBatchReader` (`RecordBatchReader.from(…)`: stream or
 * file, sync or async, opened or not), as far as {@linkcode fromArrow} uses it.
 */
export interface ArrowRecordBatchReader {
  /** Reads the schema (apache-arrow's `open()`; opening an opened reader does nothing). */
  open(): unknown;
  /** Whether the reader is synchronous. */
  isSync(): boolean;
  /** The record batches. */
  [Symbol.asyncIterator](): AsyncIterator<Arrow.RecordBatch>;
}

/**
 * What {@linkcode fromArrow} reads: a file path (IPC file or stream format,
 * read from disk as needed), the bytes of an IPC file or stream, a stream or
 * iterable of IPC byte chunks, an apache-arrow `RecordBatchReader` (sync or
 * async, opened or not), a `Table`, a `RecordBatch`, or a stream or iterable of
 * `RecordBatch`es.
 */
export type FromArrowSource =
  | string
  | URL
  | Uint8Array
  | ArrayBuffer
  | ArrowRecordBatchReader
  | Arrow.Table
  | Arrow.RecordBatch
  | ReadableStream<Uint8Array | Arrow.RecordBatch>
  | AsyncIterable<Uint8Array | Arrow.RecordBatch>
  | Iterable<Uint8Array | Arrow.RecordBatch>;

const SOURCE_RULE =
  "a file path, IPC bytes, a stream or iterable of IPC byte chunks or of RecordBatches, " +
  "a RecordBatchReader, a Table or a RecordBatch";

const fromArrowSchema = z.strictObject(columnarOptionsShape);

/**
 * Reads Arrow IPC, or Arrow record batches, as batches for
 * {@linkcode correlateBatches}: `x` holds the `features` columns as `(B, F)`
 * and `n` the `confounds` as `(M, B)`, each batch carrying its rows' place in
 * the input and the column names.
 *
 * Columns are chosen by name and their types checked against the schema
 * before any batch is read. Float64 and Float32 are read as they are; Float16,
 * 8- to 32-bit integers and dictionaries of those are converted exactly;
 * 64-bit integers are accepted while every value is within ±2^53 (each such
 * integer is exactly a float64) and a larger one throws a `RangeError` naming
 * the column, row and value. A `FixedSizeList` feature column (an embedding)
 * contributes one feature per element. Strings, booleans, decimals, dates,
 * timestamps and other types are refused with a `TypeError` naming the
 * column and its Arrow type.
 *
 * **No copy** where the layout allows: with one feature column (a Float64 or
 * Float32 column, or a FixedSizeList of them, which is row-major `(B, F)`
 * already) and one Float64/Float32 confound, without nulls, `x.data` and
 * `n.data` are views of the record batch's buffers (and, for IPC bytes held in
 * memory, of those bytes, wherever they are aligned). Several feature columns are interleaved into one
 * `Float64Array` per batch, as `(B, F)` row-major must be; several confounds
 * are copied column by column into `(M, B)`.
 *
 * Without `batchSize`, each record batch is one batch (less its skipped
 * rows; a record batch with no row left yields none). With it, rows are
 * regrouped across record batches, and a batch that lies within one record
 * batch is still a view.
 *
 * IPC bytes (a path, bytes in memory, a stream or iterable of chunks) are read
 * message by message, never whole, by this library's own reader wherever the
 * selected columns are uncompressed Float64 or Float32 and every column has a
 * flat layout (numbers, booleans, dates, strings): apache-arrow is then not
 * even imported. Anything else (a selected integer, Float16, dictionary or
 * list column, dictionaries anywhere, nested columns, compression, big-endian
 * or pre-1.0 IPC) goes to apache-arrow (an optional peer dependency, imported
 * then), from the start or, for a record batch found compressed midway, from
 * that batch on. An IPC *file* arriving as a stream of chunks goes to
 * apache-arrow whole, as it needs the footer at its end. The IPC stream format
 * makes the end-of-stream marker optional, so a stream cut exactly between
 * two messages reads as a shorter stream; every other truncation, and any
 * truncated IPC file, throws.
 *
 * @param source The input (see {@linkcode FromArrowSource}).
 * @param options The columns, the null policy and the batching.
 * @returns An async generator of batches; stopping early closes the input.
 * @throws {TypeError} Immediately, for a source of another kind or a bad
 * option. While iterating: a name that is not a column, a column of a type
 * that cannot be read exactly as numbers, a null under `nulls: "error"`
 * (naming column, type and row), or a record batch whose schema changed; a
 * path that is not a regular file (a directory, a pipe: pass its bytes as a
 * stream). A path that cannot be opened rejects with the system's error (its
 * `code`, such as `ENOENT`, kept).
 * @throws {RangeError} Immediately, for a `batchSize` out of range; while
 * iterating, for a 64-bit integer beyond ±2^53.
 * @throws {BatchCorrError} While iterating: `"stream_batch_failed"` for input
 * that is not, or not all, Arrow IPC (truncated, corrupt, empty), with
 * `details.batch` the index of the record batch that failed to decode;
 * `"peer_missing"` when the input needs apache-arrow and it is not installed,
 * naming the install commands.
 *
 * @example Correlating record batches
 * ```ts
 * import { correlateBatches } from "@streamcorr/batch-corr";
 * import { fromArrow } from "@streamcorr/batch-corr/arrow";
 * import { tableFromArrays, tableToIPC } from "apache-arrow";
 * import assert from "node:assert/strict";
 *
 * const table = tableFromArrays({
 *   signal: new Float64Array([0.1, 0.4, 0.2, 0.9, 0.7, 1.1]),
 *   motion: new Float64Array([0.0, 0.2, 0.1, 0.5, 0.4, 0.6]),
 * });
 * const ipc = tableToIPC(table, "stream"); // bytes, as a file, a socket or a pipe would carry them
 * const losses = [];
 * for await (const result of correlateBatches(fromArrow(ipc, { confounds: ["motion"], batchSize: 3 }))) {
 *   losses.push(result.loss);
 * }
 * assert.equal(losses.length, 2);
 * assert.ok(losses.every((loss) => loss > 0.5));
 * ```
 */
export function fromArrow(
  source: FromArrowSource,
  options: FromArrowOptions,
): AsyncGenerator<ColumnarBatch, void, undefined> {
  checkArrowSource(source);
  const parsed = parseColumnarOptions(fromArrowSchema, options, CONTEXT) as ResolvedColumnarOptions;
  return readArrow(source, parsed);
}

function isReader(value: unknown): value is ArrowRecordBatchReader {
  return typeof value === "object" && value !== null &&
    typeof (value as ArrowRecordBatchReader).open === "function" &&
    typeof (value as ArrowRecordBatchReader).isSync === "function";
}

function checkArrowSource(source: unknown): void {
  if (typeof source === "string" || source instanceof URL || isBytes(source)) return;
  if (
    source instanceof ReadableStream || isTable(source) || isRecordBatch(source) || isReader(source)
  ) return;
  if (typeof source === "object" && source !== null) {
    const candidate = source as Record<symbol, unknown>;
    if (
      typeof candidate[Symbol.asyncIterator] === "function" ||
      typeof candidate[Symbol.iterator] === "function"
    ) return;
  }
  throw new TypeError(
    `Cannot ${CONTEXT} as source must be ${SOURCE_RULE}: current value is ${describeValue(source)}`,
  );
}

/** An input to read: IPC bytes (for the flat reader first), or what only apache-arrow reads. */
type OpenedArrow = { kind: "bytes"; input: ByteInput } | {
  kind: "arrow";
  open(arrow: ArrowModule): Promise<ArrowInput>;
};

async function openArrow(source: FromArrowSource): Promise<OpenedArrow> {
  if (typeof source === "string" || source instanceof URL) {
    return { kind: "bytes", input: await pathInput(source) };
  }
  if (isBytes(source)) return { kind: "bytes", input: bytesInput(source) };
  if (isTable(source)) {
    return {
      kind: "arrow",
      open: () => Promise.resolve(fromBatches(source.batches, source.schema)),
    };
  }
  if (isRecordBatch(source)) {
    return { kind: "arrow", open: () => Promise.resolve(fromBatches([source], source.schema)) };
  }
  if (isReader(source)) {
    const reader = source as unknown as Arrow.RecordBatchReader;
    return { kind: "arrow", open: () => openReader(reader, async () => {}) };
  }
  const opened = await openIterable(source as Parameters<typeof openSource>[0]);
  return opened.kind === "bytes"
    ? opened
    : { kind: "arrow", open: () => Promise.resolve(opened.input) };
}

async function* readArrow(
  source: FromArrowSource,
  options: ResolvedColumnarOptions,
): AsyncGenerator<ColumnarBatch, void, undefined> {
  const opened = await openArrow(source);
  if (opened.kind === "arrow") {
    const arrow = await loadArrow();
    yield* readDecoded(arrow, await opened.open(arrow), options, undefined);
    return;
  }
  yield* readByteInput(opened.input, options);
}

async function* readByteInput(
  input: ByteInput,
  options: ResolvedColumnarOptions,
): AsyncGenerator<ColumnarBatch, void, undefined> {
  try {
    yield* readFlat(input, options);
  } finally {
    await input.close();
  }
}

/**
 * {@linkcode fromArrow} over a file the caller reads by position (the CLI,
 * which counts the bytes for its progress line): the same options, checks
 * and batches as for a path.
 *
 * @param file The file.
 * @param path Its path, for apache-arrow should the input not be flat.
 * @param options As for fromArrow.
 * @returns The batches; stopping early closes the file.
 * @throws {TypeError} As fromArrow, for a bad option.
 */
export function fromArrowFile(
  file: PositionalFile,
  path: string,
  options: FromArrowOptions,
): AsyncGenerator<ColumnarBatch, void, undefined> {
  const parsed = parseColumnarOptions(fromArrowSchema, options, CONTEXT) as ResolvedColumnarOptions;
  return (async function* () {
    yield* readByteInput(await positionalInput(file, path), parsed);
  })();
}

/**
 * IPC bytes through the flat reader, handed to apache-arrow where they are
 * not flat: from the start (with the flat reader's bytes replayed), or from
 * the record batch it could not read.
 */
async function* readFlat(
  input: ByteInput,
  options: ResolvedColumnarOptions,
): AsyncGenerator<ColumnarBatch, void, undefined> {
  const flat = await FlatArrowReader.open(
    input.queue,
    options.features,
    options.confounds,
    CONTEXT,
  );
  if (!(flat instanceof FlatArrowReader)) {
    const arrow = await loadArrow();
    yield* readDecoded(arrow, await input.restart(arrow, flat.replay), options, undefined);
    return;
  }
  const batcher = new ColumnarBatcher(flat.plan, { ...options, context: CONTEXT });
  const recycle = options.reuseBuffers ? input.release : undefined;
  let viewed: { chunk: ColumnChunk; body: Uint8Array }[] = [];
  for (let index = 0;; index++) {
    let step: FlatStep;
    try {
      step = await flat.next();
    } catch (error) {
      throw error instanceof IpcFormatError ? undecodable(error, index) : error;
    }
    if (step.kind === "end") break;
    if (step.kind === "fallback") {
      const arrow = await loadArrow();
      const rest = await readReplay(arrow, step.replay, () => input.close(), index);
      yield* readDecoded(arrow, rest, options, batcher);
      return;
    }
    yield* batcher.push(step.chunk);
    if (recycle !== undefined) {
      // The consumer has asked for the batch after this chunk's last, so with reuseBuffers it is done
      // with every batch that viewed a body; a body stays only while pending rows still read it.
      viewed.push({ chunk: step.chunk, body: step.body });
      viewed = viewed.filter(({ chunk, body }) => {
        if (batcher.holds(chunk)) return true;
        recycle(body.buffer);
        return false;
      });
    }
  }
  yield* batcher.finish();
}

/** Record batches decoded by apache-arrow, into a batcher (one already fed, when given). */
async function* readDecoded(
  arrow: ArrowModule,
  input: ArrowInput,
  options: ResolvedColumnarOptions,
  fed: ColumnarBatcher | undefined,
): AsyncGenerator<ColumnarBatch, void, undefined> {
  const settings = { ...options, context: CONTEXT };
  try {
    let plan: ArrowColumnPlan | undefined;
    let batcher = fed;
    const start = (schema: Arrow.Schema) => {
      plan = planArrowColumns(arrow, schema, options.features, options.confounds, CONTEXT);
      batcher ??= new ColumnarBatcher(plan, settings);
    };
    if (input.schema !== undefined) start(input.schema);
    for (;;) {
      const next = await input.next();
      if (next.done) break;
      const batch = next.value;
      if (plan === undefined) start(batch.schema);
      else if (batch.schema !== plan.schema) checkSameColumns(batch.schema, plan, CONTEXT);
      yield* batcher!.push(readArrowChunk(arrow, batch, plan!, batcher!.rowsRead, CONTEXT));
    }
    if (batcher !== undefined) yield* batcher.finish();
  } finally {
    await input.close();
  }
}
