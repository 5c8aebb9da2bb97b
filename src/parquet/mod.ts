/**
 * Parquet input for batch-corr: {@linkcode fromParquet} reads a Parquet file
 * one row group at a time (with `hyparquet`, pure JavaScript, an optional peer
 * dependency: `deno add npm:hyparquet` / `bun add hyparquet`) into the batches
 * `correlateBatches` takes, the file never loaded whole.
 *
 * @example Drift of a Parquet file's features against a confound
 * ```ts
 * import { correlateBatches } from "@streamcorr/batch-corr";
 * import { fromParquet } from "@streamcorr/batch-corr/parquet";
 * import assert from "node:assert/strict";
 *
 * const file = new URL("../../tests/fixtures/columnar/drift.parquet", import.meta.url);
 * let last;
 * for await (const result of correlateBatches(fromParquet(file, { confounds: ["motion", "age"], batchSize: 200 }))) {
 *   last = result;
 * }
 * assert.equal(last?.count, 400);
 * assert.deepEqual(last?.running.correlations?.shape, [5, 2]);
 * ```
 *
 * @module
 */

export {
  fromParquet,
  type FromParquetFile,
  type FromParquetOptions,
  type ParquetByteSource,
  type ParquetDecompressor,
} from "./from_parquet.ts";
export type {
  ColumnarBatch,
  ColumnarColumns,
  ColumnarOptions,
  SkippedRow,
} from "../arrow/columnar_options.ts";
