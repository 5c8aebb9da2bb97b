/**
 * The options and the batch type shared by the columnar readers
 * ({@linkcode fromArrow} and `fromParquet`), and their validation.
 *
 * @module
 */

import { z } from "zod";
import type { Batch } from "../stream/batch.ts";
import { parseOptions } from "../core/parse_options.ts";
import { describeValue } from "../core/errors.ts";

/** A row dropped under `nulls: "skip-row"`. */
export interface SkippedRow {
  /** 0-based index of the row in the whole input. */
  row: number;
  /** The first selected column (in feature, then confound order) that is null in it. */
  column: string;
}

/** Options shared by the columnar readers. */
export interface ColumnarOptions {
  /**
   * The feature columns, by name, in order. A fixed-size list column (Arrow
   * only) contributes one feature per element, named `name[0]`, `name[1]`…
   * @default {every column that is not a confound, in schema order}
   */
  features?: readonly string[];
  /** The confound columns, by name, in order (at least one). */
  confounds: readonly string[];
  /**
   * What a null in a selected column does: `"error"` throws a `TypeError`
   * naming the column and the row; `"skip-row"` drops the row (every selected
   * column of it), reports it to `onSkippedRow` and counts it in the next
   * batch's `skippedRows`. NaN is a value, not a null: it reaches the
   * correlator, whose `onInvalid` option decides.
   * @default {"error"}
   */
  nulls?: "error" | "skip-row";
  /**
   * Rows per batch. Without it, each record batch (Arrow) or row group
   * (Parquet) is one batch, less its skipped rows; with it, rows are regrouped
   * across them into batches of exactly `batchSize` rows (but the last).
   * @default {undefined}
   */
  batchSize?: number;
  /**
   * With `batchSize`, the last batch when fewer rows remain: `"emit"` yields
   * it as is, `"drop"` discards those rows.
   * @default {"emit"}
   */
  partial?: "emit" | "drop";
  /**
   * Called for each row dropped under `nulls: "skip-row"`, in row order.
   * @default {undefined}
   */
  onSkippedRow?: (skipped: SkippedRow) => void;
  /**
   * Gather the batches that need a copy (several feature columns, several
   * confounds, rows from two chunks) into the same two buffers each time, so
   * that a long input does not touch fresh memory for every batch (several
   * times faster on wide inputs); `fromArrow` on a file path likewise reads
   * each record batch into the memory of one whose rows are all batched, and
   * `fromParquet` with a `batchSize` streams each row group a slice of rows
   * at a time instead of decoding it whole. Each batch's `x.data` and
   * `n.data` are then only valid until the next batch is requested: use it
   * with consumers
   * that finish a batch before pulling the next, as `correlateBatches` does,
   * and not with a `BatchCorrStream` (which may pull ahead) or code that keeps
   * batches.
   * @default {false}
   */
  reuseBuffers?: boolean;
}

/** The names of a batch's columns: `x`'s columns and `n`'s rows, in order. */
export interface ColumnarColumns {
  /** The feature names, one per column of `x` (fixed-size lists expanded). */
  readonly features: readonly string[];
  /** The confound names, one per row of `n`. */
  readonly confounds: readonly string[];
}

/**
 * One batch from a columnar reader: dense `(B, F)` features and `(M, B)`
 * confounds, with where it came from. `x.data` and `n.data` are views of the
 * input's buffers when that costs no copy (see the reader), so treat them as
 * read-only.
 */
export interface ColumnarBatch extends Batch {
  /** Features, row-major `(B, F)`. */
  x: { data: Float64Array | Float32Array; shape: [number, number] };
  /** Confounds, row-major `(M, B)`. */
  n: { data: Float64Array | Float32Array; shape: [number, number] };
  /** 0-based index, in the whole input, of the batch's first row. */
  firstRow: number;
  /** 0-based index, in the whole input, of the batch's last row. */
  lastRow: number;
  /**
   * Rows dropped for a null after the previous batch's last row and before
   * this batch's last row (so the B rows of the batch and these span
   * `firstRow`…`lastRow` with the previous batch's gap).
   */
  skippedRows: number;
  /** The column names (the same object for every batch of one reader). */
  columns: ColumnarColumns;
}

/** What a null in a selected column does. */
export type NullPolicy = "error" | "skip-row";

const columnNames = z.array(z.string().min(1)).min(1).refine(
  (names) => new Set(names).size === names.length,
  { message: "duplicate column name" },
);

/** The zod shape of {@linkcode ColumnarOptions}, for readers to extend. */
export const columnarOptionsShape = {
  features: columnNames.optional(),
  confounds: columnNames,
  nulls: z.enum(["error", "skip-row"]).default("error"),
  batchSize: z.number().int().positive().max(2 ** 31 - 1).optional(),
  partial: z.enum(["emit", "drop"]).default("emit"),
  onSkippedRow: z.custom<(skipped: SkippedRow) => void>((value) => typeof value === "function")
    .optional(),
  reuseBuffers: z.boolean().default(false),
};

/** The rule of each option, for messages. */
export const COLUMNAR_RULES: Record<string, string> = {
  features: "a non-empty array of distinct column names (non-empty strings)",
  confounds: "a non-empty array of distinct column names (non-empty strings)",
  nulls: '"error" or "skip-row"',
  batchSize: "a positive integer below 2^31",
  partial: '"emit" or "drop"',
  onSkippedRow: "a function ({ row, column }) => void",
  reuseBuffers: "a boolean",
};

/** {@linkcode ColumnarOptions} after validation, defaults applied. */
export interface ResolvedColumnarOptions {
  features: readonly string[] | undefined;
  confounds: readonly string[];
  nulls: NullPolicy;
  batchSize: number | undefined;
  partial: "emit" | "drop";
  onSkippedRow: ((skipped: SkippedRow) => void) | undefined;
  reuseBuffers: boolean;
}

/**
 * Validates the shared options (own properties only, unknown keys refused).
 *
 * @param schema The reader's zod object schema, built on {@linkcode columnarOptionsShape}.
 * @param options The options as given.
 * @param context What was being done, for messages.
 * @param rules The rule text of each option.
 * @returns The parsed options.
 * @throws {TypeError} For a wrong type, an unknown key, a duplicate name, or
 *   a name among both the features and the confounds.
 * @throws {RangeError} For a `batchSize` out of range.
 */
export function parseColumnarOptions<T extends z.ZodType>(
  schema: T,
  options: unknown,
  context: string,
  rules: Record<string, string> = COLUMNAR_RULES,
): z.output<T> {
  // parseOptions reads own properties only.
  const parsed = parseOptions(schema, options, context, rules);
  checkDisjointRoles(parsed as ResolvedColumnarOptions, context);
  return parsed;
}

/** A column is a feature or a confound, never both (it would be correlated with itself). */
function checkDisjointRoles(options: ResolvedColumnarOptions, context: string): void {
  const confounds = new Set(options.confounds);
  const both = options.features?.find((name) => confounds.has(name));
  if (both === undefined) return;
  throw new TypeError(
    `Cannot ${context} as options.features and options.confounds must not share a column: current value names ${
      describeValue(both)
    } in both`,
  );
}
