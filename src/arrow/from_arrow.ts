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
import {
  type ArrowInput,
  CONTEXT,
  fromBatches,
  openBytes,
  openIterable,
  openPath,
  openReader,
} from "./_open_arrow_input.ts";
import { ColumnarBatcher } from "./columnar_batcher.ts";
import {
  type ColumnarBatch,
  type ColumnarOptions,
  columnarOptionsShape,
  parseColumnarOptions,
  type ResolvedColumnarOptions,
} from "./columnar_options.ts";

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
 * memory, of those bytes). Several feature columns are interleaved into one
 * `Float64Array` per batch, as `(B, F)` row-major must be; several confounds
 * are copied column by column into `(M, B)`.
 *
 * Without `batchSize`, each record batch is one batch (less its skipped
 * rows; a record batch with no row left yields none). With it, rows are
 * regrouped across record batches, and a batch that lies within one record
 * batch is still a view.
 *
 * A path is read through a file handle: an IPC file by random access, an IPC
 * stream message by message, never whole. IPC bytes arriving as a stream are
 * read message by message too, except an IPC *file* (whose footer is at its
 * end), which apache-arrow gathers first. The IPC stream format makes the
 * end-of-stream marker optional, so a stream cut exactly between two messages
 * reads as a shorter stream; every other truncation, and any truncated IPC
 * file, throws. apache-arrow (an optional peer dependency) is imported on first
 * use.
 *
 * @param source The input (see {@linkcode FromArrowSource}).
 * @param options The columns, the null policy and the batching.
 * @returns An async generator of batches; stopping early closes the input.
 * @throws {TypeError} Immediately, for a source of another kind or a bad
 * option. While iterating: a name that is not a column, a column of a type
 * that cannot be read exactly as numbers, a null under `nulls: "error"`
 * (naming column, type and row), or a record batch whose schema changed.
 * @throws {RangeError} Immediately, for a `batchSize` out of range; while
 * iterating, for a 64-bit integer beyond ±2^53.
 * @throws {BatchCorrError} While iterating: `"stream_batch_failed"` for input
 * that is not, or not all, Arrow IPC (truncated, corrupt, empty), with
 * `details.batch` the index of the record batch that failed to decode;
 * `"peer_missing"` when apache-arrow is not installed, naming the
 * install commands.
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

async function openArrow(arrow: ArrowModule, source: FromArrowSource): Promise<ArrowInput> {
  if (typeof source === "string" || source instanceof URL) return await openPath(arrow, source);
  if (isBytes(source)) return await openBytes(arrow, source);
  if (isTable(source)) return fromBatches(source.batches, source.schema);
  if (isRecordBatch(source)) return fromBatches([source], source.schema);
  if (isReader(source)) {
    return await openReader(source as unknown as Arrow.RecordBatchReader, async () => {});
  }
  return await openIterable(arrow, source as Parameters<typeof openSource>[0]);
}

async function* readArrow(
  source: FromArrowSource,
  options: ResolvedColumnarOptions,
): AsyncGenerator<ColumnarBatch, void, undefined> {
  const arrow = await loadArrow();
  const input = await openArrow(arrow, source);
  const settings = { ...options, context: CONTEXT };
  try {
    let plan: ArrowColumnPlan | undefined;
    let batcher: ColumnarBatcher | undefined;
    const start = (schema: Arrow.Schema) => {
      plan = planArrowColumns(arrow, schema, options.features, options.confounds, CONTEXT);
      batcher = new ColumnarBatcher(plan, settings);
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
