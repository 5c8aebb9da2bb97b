/**
 * Arrow IPC in and out for batch-corr, with `apache-arrow` (an optional peer
 * dependency: `deno add npm:apache-arrow` / `bun add apache-arrow`):
 * {@linkcode fromArrow} turns an Arrow IPC stream or file (bytes, a file, a
 * stream of chunks, or decoded record batches) into the batches
 * `correlateBatches` takes, without copying Float64/Float32 columns where the
 * layout allows; {@linkcode toArrowIpc} writes per-batch results as an Arrow
 * IPC stream for DuckDB, polars or pandas.
 *
 * @example From Arrow record batches to correlations and back to Arrow
 * ```ts
 * import { correlateBatches } from "@streamcorr/batch-corr";
 * import { fromArrow, toArrowIpc } from "@streamcorr/batch-corr/arrow";
 * import { tableFromArrays, tableFromIPC } from "apache-arrow";
 * import assert from "node:assert/strict";
 *
 * const table = tableFromArrays({
 *   a: new Float64Array([1, 2, 3, 4, 5, 6, 7, 8]),
 *   b: new Float32Array([2, 1, 4, 3, 6, 5, 8, 7]),
 *   motion: new Float64Array([0.1, 0.3, 0.2, 0.4, 0.6, 0.5, 0.8, 0.7]),
 * });
 * async function* records() {
 *   for await (const result of correlateBatches(fromArrow(table, { confounds: ["motion"], batchSize: 4 }))) {
 *     yield { index: result.index, loss: result.loss, running: result.running.loss };
 *   }
 * }
 * const ipc = toArrowIpc(records(), {
 *   columns: [{ name: "index", type: "int64" }, { name: "loss", type: "float64" }, { name: "running", type: "float64" }],
 * });
 * const out = tableFromIPC(new Uint8Array(await new Response(ipc).arrayBuffer()));
 * assert.equal(out.numRows, 2);
 * ```
 *
 * @module
 */

export {
  type ArrowRecordBatchReader,
  fromArrow,
  type FromArrowOptions,
  type FromArrowSource,
} from "./from_arrow.ts";
export {
  type ArrowIpcColumn,
  type ArrowIpcColumnType,
  type ArrowIpcRecord,
  type ArrowIpcValue,
  toArrowIpc,
  type ToArrowIpcOptions,
} from "./to_arrow_ipc.ts";
export type {
  ColumnarBatch,
  ColumnarColumns,
  ColumnarOptions,
  SkippedRow,
} from "./columnar_options.ts";
