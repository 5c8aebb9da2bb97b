/**
 * The numeric rows of a monitor run on their way into batches, with where
 * each batch starts, so that a batch's result can name its first line.
 *
 * @module
 */

import { type RowBatch, rowsToBatches } from "../../stream/rows_to_batches.ts";
import type { ResolvedColumns } from "../input/column_selection.ts";
import type { NumericRow } from "../input/numeric_row.ts";
import type { BatchStart } from "../output/batch_table.ts";
import type { RowCounts } from "../row_counts.ts";

/** Rows passed on to the batches, counted, with the start of each batch queued. */
export class BatchedRows {
  #rows: AsyncIterable<NumericRow>;
  #batchSize: number;
  #counts: RowCounts;
  // Queued as rows are batched and taken as results come out.
  #starts: BatchStart[] = [];
  #used = 0;

  /**
   * Wraps the rows.
   *
   * @param rows The numeric rows.
   * @param batchSize Rows per batch.
   * @param counts The run's row counts, whose `used` follows the rows passed on.
   */
  constructor(rows: AsyncIterable<NumericRow>, batchSize: number, counts: RowCounts) {
    this.#rows = rows;
    this.#batchSize = batchSize;
    this.#counts = counts;
  }

  /** How many rows were passed on. */
  get used(): number {
    return this.#used;
  }

  /** The values of each row, for `rowsToBatches`. */
  async *values(): AsyncGenerator<number[]> {
    for await (const row of this.#rows) {
      if (this.#used % this.#batchSize === 0) this.#starts.push({ line: row.line, date: row.date });
      this.#used++;
      this.#counts.used = this.#used;
      yield row.values;
    }
  }

  /** Where the next batch to come out of the stream starts. */
  nextStart(): BatchStart {
    return this.#starts.shift() ?? { line: 0 };
  }
}

/**
 * The rows in batches: features are the first F values of a row, confounds
 * the rest (`monitor` and `publish`).
 *
 * @param args The batch size.
 * @param run The columns and the rows.
 * @returns The batches.
 */
export function batchesOf(
  args: { batchSize: number },
  run: { columns: ResolvedColumns; rows: Pick<BatchedRows, "values"> },
): AsyncGenerator<RowBatch, void, undefined> {
  const F = run.columns.features.length;
  return rowsToBatches(run.rows.values(), {
    batchSize: args.batchSize,
    features: Array.from({ length: F }, (_, i) => i),
    confounds: run.columns.confounds.map((_, m) => F + m),
  });
}
