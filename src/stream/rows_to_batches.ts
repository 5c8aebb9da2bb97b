/**
 * Rows to mini-batches, for ingestion pipelines that read one record at a time.
 *
 * @module
 */

import { z } from "zod";
import { ruleMessage } from "../core/errors.ts";
import { parseOptions } from "../core/parse_options.ts";
import type { Batch } from "./batch.ts";
import { checkSource, mapSource, type Source } from "./source.ts";

/** One row: a record of named values or an array of values. */
export type Row = Readonly<Record<string, number>> | readonly number[];

/** A batch made by {@linkcode rowsToBatches}: dense `(B, F)` features and `(M, B)` confounds. */
export interface RowBatch extends Batch {
  /** Features, `(B, F)`. */
  x: { data: Float64Array; shape: [number, number] };
  /** Confounds, `(M, B)`. */
  n: { data: Float64Array; shape: [number, number] };
}

/** Options of {@linkcode rowsToBatches}. */
export interface RowsToBatchesOptions {
  /** Rows per batch, a positive integer. */
  batchSize: number;
  /**
   * The feature columns, in order: keys of record rows or indices of array
   * rows.
   * @default {every column of the first row that is not a confound, in its order}
   */
  features?: (string | number)[];
  /** The confound columns, in order (at least one). */
  confounds: (string | number)[];
  /**
   * The last batch, when fewer than `batchSize` rows remain: `"emit"` yields
   * it as is (a smaller B), `"drop"` discards those rows.
   * @default {"emit"}
   */
  partial?: "emit" | "drop";
}

const column = z.union([z.string(), z.number().int().nonnegative()]);
const batcherOptionsSchema = z.strictObject({
  batchSize: z.number().int().positive(),
  features: z.array(column).min(1).optional(),
  confounds: z.array(column).min(1),
  partial: z.enum(["emit", "drop"]).default("emit"),
});

const BATCHER_RULES: Readonly<Record<string, string>> = {
  batchSize: "a positive integer",
  features: "a non-empty array of column keys (strings) or indices (non-negative integers)",
  confounds: "a non-empty array of column keys (strings) or indices (non-negative integers)",
  partial: '"emit" or "drop"',
};

interface Columns {
  features: (string | number)[];
  confounds: (string | number)[];
}

function defaultFeatures(row: Row, confounds: readonly (string | number)[]): (string | number)[] {
  const taken = new Set(confounds.map(String));
  const keys = Array.isArray(row) ? row.map((_, i) => i) : Object.keys(row);
  return keys.filter((key) => !taken.has(String(key)));
}

function checkFeatures(
  features: (string | number)[],
  row: Row,
  context: string,
): (string | number)[] {
  if (features.length === 0) {
    throw new TypeError(
      ruleMessage(
        context,
        "the first row",
        "at least one column besides the confounds (or pass options.features)",
        row,
      ),
    );
  }
  return features;
}

function readCell(row: Row, key: string | number, rowIndex: number, context: string): number {
  const value: unknown = Array.isArray(row)
    ? (row as readonly number[])[Number(key)]
    : Object.hasOwn(row, key)
    ? (row as Record<string, unknown>)[key]
    : undefined;
  if (typeof value !== "number") {
    throw new TypeError(
      ruleMessage(context, `row ${rowIndex} column ${JSON.stringify(key)}`, "a number", value),
    );
  }
  return value;
}

/** Rows a batch holds room for at first; it doubles as rows arrive, up to `batchSize`. */
const INITIAL_ROWS = 1024;

/** A `Float64Array` of `length`, or a RangeError naming the batch that needed it. */
function allocate(length: number, rows: number, columns: number, context: string): Float64Array {
  try {
    return new Float64Array(length);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new RangeError(
      `Cannot ${context} as a batch must fit in memory (lower batchSize): current value is room for ${rows} rows × ${columns} columns`,
      { cause: error },
    );
  }
}

class BatchBuilder {
  readonly #batchSize: number;
  readonly #columns: Columns;
  readonly #context: string;
  // Room grows as rows arrive, so a huge batchSize costs only the rows actually given.
  #capacity: number;
  #x: Float64Array;
  #n: Float64Array;
  #filled = 0;

  constructor(batchSize: number, columns: Columns, context: string) {
    this.#batchSize = batchSize;
    this.#columns = columns;
    this.#context = context;
    this.#capacity = Math.min(batchSize, INITIAL_ROWS);
    this.#x = this.#storage(this.#columns.features.length);
    this.#n = this.#storage(this.#columns.confounds.length);
  }

  get filled(): number {
    return this.#filled;
  }

  #storage(columns: number): Float64Array {
    return allocate(this.#capacity * columns, this.#capacity, columns, this.#context);
  }

  /** Doubles the room (at most batchSize rows), keeping the (M, capacity) layout of n. */
  #grow(): void {
    const F = this.#columns.features.length, M = this.#columns.confounds.length;
    const old = this.#capacity;
    this.#capacity = Math.min(this.#batchSize, old * 2);
    const x = this.#storage(F);
    x.set(this.#x);
    const n = this.#storage(M);
    for (let m = 0; m < M; m++) n.set(this.#n.subarray(m * old, m * old + old), m * this.#capacity);
    this.#x = x;
    this.#n = n;
  }

  add(row: Row, rowIndex: number, context: string): void {
    if (this.#filled === this.#capacity) this.#grow();
    const { features, confounds } = this.#columns;
    const F = features.length, B = this.#capacity, b = this.#filled;
    for (let f = 0; f < F; f++) this.#x[b * F + f] = readCell(row, features[f]!, rowIndex, context);
    // (M, capacity) layout: confound m of sample b at m * capacity + b; compacted on take.
    for (let m = 0; m < confounds.length; m++) {
      this.#n[m * B + b] = readCell(row, confounds[m]!, rowIndex, context);
    }
    this.#filled++;
  }

  take(): RowBatch {
    const F = this.#columns.features.length, M = this.#columns.confounds.length;
    const B = this.#filled, capacity = this.#capacity;
    let x = this.#x, n = this.#n;
    if (B < capacity) {
      x = x.slice(0, B * F);
      const compact = new Float64Array(M * B);
      for (let m = 0; m < M; m++) compact.set(n.subarray(m * capacity, m * capacity + B), m * B);
      n = compact;
    }
    // Fresh storage for the next batch: the emitted arrays belong to the consumer.
    this.#x = this.#storage(F);
    this.#n = this.#storage(M);
    this.#filled = 0;
    return { x: { data: x, shape: [B, F] }, n: { data: n, shape: [M, B] } };
  }
}

/** Refuses a column named twice among the features and confounds (`0` and `"0"` are the same column). */
function checkDistinctColumns(
  features: readonly (string | number)[] | undefined,
  confounds: readonly (string | number)[],
  context: string,
): void {
  const seen = new Map<string, string>();
  const chosen: [string | number, string][] = [
    ...(features ?? []).map((key): [string | number, string] => [key, "features"]),
    ...confounds.map((key): [string | number, string] => [key, "confounds"]),
  ];
  for (const [key, role] of chosen) {
    const earlier = seen.get(String(key));
    if (earlier !== undefined) {
      const where = earlier === role
        ? `twice in options.${role}`
        : "in both features and confounds";
      throw new RangeError(
        `Cannot ${context} as each column must be named once among features and confounds: current value has ${
          JSON.stringify(key)
        } ${where}`,
      );
    }
    seen.set(String(key), role);
  }
}

/**
 * Groups a stream of rows into mini-batches of `batchSize` rows for
 * {@linkcode correlateBatches} or {@linkcode BatchCorrStream}: `x` is
 * `{ data: Float64Array, shape: [B, F] }` and `n` is `{ data, shape: [M, B] }`.
 *
 * The last batch, when fewer than `batchSize` rows remain, is emitted as is by
 * default (so every row is used; with `tol: "auto"` a final batch of fewer
 * than 3 rows is then an invalid batch for the stream), or discarded with
 * `partial: "drop"`. Columns are fixed by `features` and `confounds` (by
 * default every column of the first row that is not a confound); other keys
 * of later rows are ignored. A row missing a column, or with a value that is
 * not a number, throws. Stopping early releases the source.
 *
 * @param rows Records or arrays, as an AsyncIterable, an Iterable or a ReadableStream.
 * @param options Batch size, columns and the treatment of the last partial batch.
 * @returns An async generator of batches.
 * @throws {TypeError} Immediately, for a bad source or option; while iterating,
 * for a row missing a column or holding a non-number (naming the row index).
 * @throws {RangeError} Immediately, if `batchSize` is not a positive integer or a column is
 * named twice (or as both feature and confound); while iterating, if a batch is too large to
 * allocate. Room for a batch grows as its rows arrive, so a large `batchSize` costs only the rows given.
 *
 * @example Records into batches of two
 * ```ts
 * import { rowsToBatches } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * const rows = [
 *   { a: 1, b: 2, motion: 0.1 },
 *   { a: 3, b: 4, motion: 0.2 },
 *   { a: 5, b: 6, motion: 0.3 },
 * ];
 * const batches = [];
 * for await (const batch of rowsToBatches(rows, { batchSize: 2, confounds: ["motion"] })) batches.push(batch);
 * assert.deepEqual(batches.map((b) => b.x.shape), [[2, 2], [1, 2]]);
 * assert.deepEqual(Array.from(batches[0]!.n.data), [0.1, 0.2]);
 * ```
 */
export function rowsToBatches(
  rows: Source<Row>,
  options: RowsToBatchesOptions,
): AsyncGenerator<RowBatch, void, undefined> {
  const context = "group rows into batches";
  checkSource(rows, "rows", context);
  const parsed = parseOptions(batcherOptionsSchema, options, context, BATCHER_RULES);
  checkDistinctColumns(parsed.features, parsed.confounds, context);
  return batchRows(rows, parsed, context);
}

async function* batchRows(
  rows: Source<Row>,
  options: z.output<typeof batcherOptionsSchema>,
  context: string,
): AsyncGenerator<RowBatch, void, undefined> {
  let builder: BatchBuilder | undefined;
  const complete: RowBatch[] = [];
  const checked = mapSource(rows, (row, rowIndex) => {
    if (typeof row !== "object" || row === null) {
      throw new TypeError(
        ruleMessage(context, `row ${rowIndex}`, "a record of numbers or an array of numbers", row),
      );
    }
    builder ??= new BatchBuilder(options.batchSize, {
      features: options.features ??
        checkFeatures(defaultFeatures(row, options.confounds), row, context),
      confounds: options.confounds,
    }, context);
    builder.add(row, rowIndex, context);
    if (builder.filled === options.batchSize) complete.push(builder.take());
  });
  for await (const _ of checked) {
    // Yielding inside the loop keeps `checked` suspended, so breaking out of this generator releases the rows.
    const batch = complete.pop();
    if (batch) yield batch;
  }
  if (builder && builder.filled > 0 && options.partial === "emit") yield builder.take();
}
