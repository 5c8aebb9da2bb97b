/**
 * Parquet files, one row group at a time, into the batches
 * `correlateBatches` takes.
 *
 * @module
 */

import type { FileMetaData } from "hyparquet";
import { z } from "zod";
import { BatchCorrError } from "../core/errors.ts";
import { describeValue } from "../core/errors.ts";
import { installCommands } from "../core/optional_package.ts";
import {
  ColumnarBatcher,
  type ColumnChunk,
  type ColumnValues,
  type PlannedColumn,
} from "../arrow/columnar_batcher.ts";
import {
  COLUMNAR_RULES,
  type ColumnarBatch,
  type ColumnarOptions,
  columnarOptionsShape,
  parseColumnarOptions,
  type ResolvedColumnarOptions,
} from "../arrow/columnar_options.ts";
import { decodedToColumn } from "../arrow/exact_numbers.ts";
import { isByteSource, openParquetFile, type ParquetByteSource } from "./_file_buffer.ts";
import { HYPARQUET_COMPRESSORS, type HyparquetModule, loadHyparquet } from "./_load_hyparquet.ts";
import { missingCodec, planParquetColumns } from "./_parquet_columns.ts";
import { type FlatChunkRead, flatChunkReader, streamedChunkReader } from "./_flat_chunk_reader.ts";
import type { StreamedFloatColumn } from "./_streamed_float_column.ts";

/** A decompressor: compressed bytes and the uncompressed length to the uncompressed bytes. */
export type ParquetDecompressor = (input: Uint8Array, outputLength: number) => Uint8Array;

/** Options of {@linkcode fromParquet}. */
export interface FromParquetOptions extends ColumnarOptions {
  /**
   * Decompressors by Parquet codec name (`"GZIP"`, `"ZSTD"`, `"BROTLI"`,
   * `"LZ4"`, `"LZ4_RAW"`), for files not compressed with Snappy (built in) or
   * uncompressed; the `hyparquet-compressors` package exports a ready set.
   * @default {undefined}
   */
  compressors?: Readonly<Record<string, ParquetDecompressor>>;
}

/**
 * What {@linkcode fromParquet} reads: a path (read through a file handle, a
 * range at a time), a `Blob` (such as `Bun.file(path)` or a browser `File`),
 * the bytes of a file, or any `{ byteLength, slice(start, end) }` byte source.
 */
export type FromParquetFile = string | URL | Blob | Uint8Array | ArrayBuffer | ParquetByteSource;

export type { ParquetByteSource } from "./_file_buffer.ts";
/** For the CLI, which counts the bytes read (not re-exported by `mod.ts`). */
export { openParquetFile } from "./_file_buffer.ts";

const CONTEXT = "read Parquet";
const CODECS = ["GZIP", "ZSTD", "BROTLI", "LZ4", "LZ4_RAW", "LZO"] as const;

const fromParquetSchema = z.strictObject({
  ...columnarOptionsShape,
  compressors: z.partialRecord(
    z.enum(CODECS),
    z.custom<ParquetDecompressor>((value) => typeof value === "function"),
  ).optional(),
});

const PARQUET_RULES: Record<string, string> = {
  ...COLUMNAR_RULES,
  compressors: `an object of decompressor functions keyed by codec (${CODECS.join(", ")})`,
};

/**
 * Reads a Parquet file as batches for {@linkcode correlateBatches}, one row
 * group at a time: `x` holds the `features` columns as `(B, F)` and `n` the
 * `confounds` as `(M, B)`, each batch carrying its rows' place in the file and
 * the column names.
 *
 * The footer is read first, and the selected columns' types are checked
 * before any data: DOUBLE and FLOAT are read as they are; INT32, FLOAT16 and
 * the INTEGER logical types of 8 to 32 bits exactly; INT64 (signed or not)
 * while every value is within ±2^53 (each such integer is exactly a float64),
 * a larger one throwing a `RangeError` naming the column, row and value.
 * Strings, booleans, decimals, dates, times, timestamps and nested columns
 * are refused with a `TypeError` naming the column and its Parquet type.
 * Dictionary-encoded pages are decoded (dictionary encoding is how a column
 * is stored, not a type, in Parquet). Codecs other than Snappy need
 * `options.compressors`.
 *
 * Memory: only the footer and the selected columns of the current row group
 * are held (read by range from a path or Blob; the file is never loaded
 * whole), so the row group size chosen by the writer bounds it. Without
 * `batchSize`, each row group is one batch (less its skipped rows); with it,
 * rows are regrouped across row groups. hyparquet (an optional peer
 * dependency, pure JavaScript) is imported on first use.
 *
 * @param file The file (see {@linkcode FromParquetFile}).
 * @param options The columns, the null policy, the batching and decompressors.
 * @returns An async generator of batches; stopping early closes the file.
 * @throws {TypeError} Immediately, for a file of another kind or a bad option.
 * While iterating: a name that is not a column, a column of a type that
 * cannot be read exactly as numbers, or a null under `nulls: "error"` (naming
 * column, type and row); a path that is not a regular file (a directory, a
 * pipe). A path that cannot be opened rejects with the system's error (its
 * `code`, such as `ENOENT`, kept).
 * @throws {RangeError} Immediately, for a `batchSize` out of range; while
 * iterating, for a 64-bit integer beyond ±2^53.
 * @throws {BatchCorrError} While iterating: `"stream_batch_failed"` for a file
 * that is not, or not all, Parquet (truncated, corrupt), with
 * `details.rowGroup` the row group that failed (−1 for the footer);
 * `"peer_missing"` when hyparquet is not installed (naming the install
 * commands) or a column's codec has no decompressor (naming
 * hyparquet-compressors, which has one).
 *
 * @example Correlating a Parquet file batch by batch
 * ```ts
 * import { correlateBatches } from "@streamcorr/batch-corr";
 * import { fromParquet } from "@streamcorr/batch-corr/parquet";
 * import assert from "node:assert/strict";
 *
 * const file = new URL("../../tests/fixtures/columnar/drift.parquet", import.meta.url);
 * const batches = fromParquet(file, { features: ["f_a", "f_c"], confounds: ["motion"], batchSize: 100 });
 * const sizes = [];
 * for await (const result of correlateBatches(batches, { tol: "auto" })) sizes.push(result.batchSize);
 * assert.deepEqual(sizes, [100, 100, 100, 100]);
 * ```
 */
export function fromParquet(
  file: FromParquetFile,
  options: FromParquetOptions,
): AsyncGenerator<ColumnarBatch, void, undefined> {
  checkParquetFile(file);
  const parsed = parseColumnarOptions(fromParquetSchema, options, CONTEXT, PARQUET_RULES) as
    & ResolvedColumnarOptions
    & { compressors: Record<string, ParquetDecompressor> | undefined };
  return readParquet(file, parsed);
}

function checkParquetFile(file: unknown): void {
  if (
    typeof file === "string" || file instanceof URL || file instanceof Blob ||
    file instanceof Uint8Array ||
    file instanceof ArrayBuffer || isByteSource(file)
  ) return;
  throw new TypeError(
    `Cannot ${CONTEXT} as file must be a path, a URL, a Blob, the file's bytes or a { byteLength, slice } byte source: current value is ${
      describeValue(file)
    }`,
  );
}

function undecodable(cause: unknown, rowGroup: number): BatchCorrError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const where = rowGroup < 0 ? "its footer" : `row group ${rowGroup}`;
  return new BatchCorrError(
    "stream_batch_failed",
    `Cannot ${CONTEXT} as the file must be a complete Parquet file: current value could not be decoded at ${where} ` +
      `(${reason}); the file may be truncated or corrupt`,
    { cause, details: { format: "parquet", rowGroup } },
  );
}

async function readMetadata(
  hyparquet: HyparquetModule,
  buffer: ParquetByteSource,
): Promise<FileMetaData> {
  try {
    return await hyparquet.parquetMetadataAsync(buffer);
  } catch (error) {
    throw undecodable(error, -1);
  }
}

function checkCodecs(
  metadata: FileMetaData,
  columns: readonly PlannedColumn[],
  compressors: Readonly<Record<string, ParquetDecompressor>> | undefined,
): void {
  const missing = missingCodec(
    metadata,
    new Set(columns.map((c) => c.name)),
    new Set(Object.keys(compressors ?? {})),
  );
  if (missing === undefined) return;
  throw new BatchCorrError(
    "peer_missing",
    `Cannot ${CONTEXT} as column "${missing.column}" must be uncompressed, Snappy-compressed, or have a decompressor ` +
      `in options.compressors: current codec is ${missing.codec} (the hyparquet-compressors package has one: ` +
      `"deno add npm:hyparquet-compressors" or "bun add hyparquet-compressors", then pass its compressors)`,
    {
      details: {
        column: missing.column,
        codec: missing.codec,
        package: "hyparquet-compressors",
        install: installCommands(HYPARQUET_COMPRESSORS),
      },
    },
  );
}

async function* readParquet(
  file: FromParquetFile,
  options: ResolvedColumnarOptions & {
    compressors: Record<string, ParquetDecompressor> | undefined;
  },
): AsyncGenerator<ColumnarBatch, void, undefined> {
  const hyparquet = await loadHyparquet();
  const opened = await openParquetFile(file);
  try {
    const metadata = await readMetadata(hyparquet, opened.buffer);
    const plan = planParquetColumns(
      hyparquet.parquetSchema(metadata),
      options.features,
      options.confounds,
      CONTEXT,
    );
    const selected = [...plan.features, ...plan.confounds];
    checkCodecs(metadata, selected, options.compressors);
    let scan: Awaited<ReturnType<HyparquetModule["parquetScan"]>>;
    try {
      scan = await hyparquet.parquetScan({
        file: opened.buffer,
        metadata,
        columns: selected.map((column) => column.name),
        ...(options.compressors === undefined ? {} : { compressors: options.compressors }),
      });
    } catch (error) {
      throw undecodable(error, -1);
    }
    const batcher = new ColumnarBatcher(plan, { ...options, context: CONTEXT });
    const tree = hyparquet.parquetSchema(metadata);
    const groups = rowGroupReader(
      selected,
      scan,
      flatChunkReader(metadata, tree, opened.buffer),
    );
    const openStream = streamedChunkReader(metadata, tree, opened.buffer);
    const features = plan.features.length;
    for (const [group, range] of scan.ranges.entries()) {
      const streams = options.reuseBuffers && options.batchSize !== undefined
        ? selected.map((column) => openStream(group, range, column.name))
        : [];
      const chunks = streams.some((stream) => stream !== undefined)
        ? slicedRowGroup(streams, (index) => groups.column(group, range, index), {
          rows: range.rowEnd - range.rowStart,
          sliceRows: Math.max(options.batchSize!, SLICE_ROWS),
          features,
        })
        : wholeRowGroup(await groups.all(group, range), features);
      for await (const chunk of chunks) yield* batcher.push(chunk);
    }
    yield* batcher.finish();
  } finally {
    await opened.close();
  }
}

/** Rows per slice of a streamed row group, at least (a batch's rows when more). */
const SLICE_ROWS = 1024;

type Scan = Awaited<ReturnType<HyparquetModule["parquetScan"]>>;
type RowRange = { rowStart: number; rowEnd: number };

/** Reads a row group's selected columns whole: the fast path where it applies, else hyparquet. */
function rowGroupReader(
  selected: readonly PlannedColumn[],
  scan: Scan,
  fastChunk: FlatChunkRead,
) {
  const hyparquetColumn = (range: RowRange, index: number) =>
    scan.readColumn({
      column: selected[index]!.name,
      rowStart: range.rowStart,
      rowEnd: range.rowEnd,
    });
  const lengthError = (group: number, range: RowRange, index: number, length: number) =>
    undecodable(
      new Error(
        `column "${selected[index]!.name}" decoded to ${length} of ${
          range.rowEnd - range.rowStart
        } rows`,
      ),
      group,
    );
  const toColumn = (range: RowRange, index: number, values: ArrayLike<unknown>) =>
    decodedToColumn(values, selected[index]!, range.rowStart, CONTEXT);
  const rowsOf = (range: RowRange) => range.rowEnd - range.rowStart;
  return {
    /** Every selected column of a row group. */
    async all(group: number, range: RowRange): Promise<ColumnValues[]> {
      let decoded: ArrayLike<unknown>[];
      try {
        // The fast path reads one chunk at a time (it reuses one buffer); hyparquet's reads overlap.
        const fast: (Float64Array | Float32Array | undefined)[] = [];
        for (const column of selected) fast.push(await fastChunk(group, range, column.name));
        decoded = await Promise.all(
          selected.map(async (_, i) => fast[i] ?? await hyparquetColumn(range, i)),
        );
      } catch (error) {
        throw undecodable(error, group);
      }
      const bad = decoded.findIndex((values) => values.length !== rowsOf(range));
      if (bad !== -1) throw lengthError(group, range, bad, decoded[bad]!.length);
      return decoded.map((values, i) => toColumn(range, i, values));
    },
    /** One selected column of a row group. */
    async column(group: number, range: RowRange, index: number): Promise<ColumnValues> {
      let decoded: ArrayLike<unknown>;
      try {
        decoded = await fastChunk(group, range, selected[index]!.name) ??
          await hyparquetColumn(range, index);
      } catch (error) {
        throw undecodable(error, group);
      }
      if (decoded.length !== rowsOf(range)) throw lengthError(group, range, index, decoded.length);
      return toColumn(range, index, decoded);
    },
  };
}

/** A row group read whole, as one chunk. */
async function* wholeRowGroup(
  columns: ColumnValues[],
  features: number,
): AsyncGenerator<ColumnChunk> {
  yield {
    rows: columns[0]?.data.length ?? 0,
    features: columns.slice(0, features),
    confounds: columns.slice(features),
  };
}

/**
 * A row group as chunks of `sliceRows` rows, the streamed columns written into
 * two buffers each in turn. That is safe for a batcher that batches every
 * chunk's rows by the end of the next (a slice is at least a batch) feeding a
 * consumer that finishes each batch before the next (`reuseBuffers`). A
 * column that is not streamed, or whose stream stops at a page it does not
 * take, is read whole and sliced.
 */
async function* slicedRowGroup(
  streams: readonly (StreamedFloatColumn | undefined)[],
  whole: (index: number) => Promise<ColumnValues>,
  shape: { rows: number; sliceRows: number; features: number },
): AsyncGenerator<ColumnChunk> {
  const { rows, features } = shape;
  const sliceRows = Math.min(shape.sliceRows, rows);
  const eager: (ColumnValues | undefined)[] = [];
  for (const [i, stream] of streams.entries()) {
    if (stream === undefined) eager[i] = await whole(i);
  }
  const buffers = streams.map((stream) => {
    if (stream === undefined) return [];
    const make = () => stream.double ? new Float64Array(sliceRows) : new Float32Array(sliceRows);
    return [make(), make()];
  });
  for (let from = 0, slice = 0; from < rows; from += sliceRows, slice++) {
    const count = Math.min(sliceRows, rows - from);
    const columns: ColumnValues[] = [];
    for (const [i, stream] of streams.entries()) {
      if (stream !== undefined && eager[i] === undefined) {
        const out = buffers[i]![slice % 2]!.subarray(0, count);
        if (await stream.fill(out, count)) {
          columns.push({ data: out, valid: undefined });
          continue;
        }
        eager[i] = await whole(i);
      }
      const values = eager[i]!;
      columns.push({
        data: values.data.subarray(from, from + count),
        valid: values.valid?.subarray(from, from + count),
      });
    }
    yield { rows: count, features: columns.slice(0, features), confounds: columns.slice(features) };
  }
}
