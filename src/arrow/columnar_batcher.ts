/**
 * Columns of numbers, one chunk (an Arrow record batch, a Parquet row group)
 * at a time, into the `(B, F)` / `(M, B)` batches `correlateBatches` takes:
 * the null policy, regrouping into `batchSize` rows, and views instead of
 * copies wherever the layout allows.
 *
 * @module
 */

import type { ColumnarBatch, ColumnarColumns, NullPolicy, SkippedRow } from "./columnar_options.ts";

/** One selected column of one chunk, as float64-exact values. */
export interface ColumnValues {
  /** Row-major values, `rows * width` of them (null slots hold anything). */
  data: Float64Array | Float32Array;
  /** Per-row validity, 1 for a value and 0 for a null; undefined when no row is null. */
  valid: Uint8Array | undefined;
}

/** A selected column as planned from the schema. */
export interface PlannedColumn {
  /** The column's name in the input. */
  name: string;
  /** Its type as the input names it, for messages ("Float64", "INT64"…). */
  type: string;
  /** Values per row: 1, or the size of a fixed-size list. */
  width: number;
}

/** One chunk of the input: the selected columns for `rows` consecutive rows. */
export interface ColumnChunk {
  /** Rows in the chunk. */
  rows: number;
  /** The feature columns, in plan order. */
  features: ColumnValues[];
  /** The confound columns, in plan order. */
  confounds: ColumnValues[];
}

/** The columns a reader selected. */
export interface ColumnPlan {
  /** Feature columns, in order. */
  features: PlannedColumn[];
  /** Confound columns, in order (each of width 1). */
  confounds: PlannedColumn[];
  /** The names reported on each batch. */
  columns: ColumnarColumns;
}

/** How the batcher groups rows and treats nulls. */
export interface BatcherSettings {
  nulls: NullPolicy;
  batchSize: number | undefined;
  partial: "emit" | "drop";
  onSkippedRow: ((skipped: SkippedRow) => void) | undefined;
  /** Gather copied batches into the same buffers each time. */
  reuseBuffers: boolean;
  /** What was being done, for messages ("read Arrow IPC"). */
  context: string;
}

/** A run of rows of one (null-free) chunk waiting to be batched. */
interface Segment {
  chunk: ColumnChunk;
  /** Row of the uncompacted chunk each row came from, when the chunk was compacted. */
  origin: Float64Array | undefined;
  /** Input row index of the (uncompacted) chunk's row 0. */
  base: number;
  start: number;
  count: number;
}

function rowOf(segment: Segment, index: number): number {
  return segment.base + (segment.origin === undefined ? index : segment.origin[index]!);
}

/** The feature names of a plan: fixed-size lists expanded to `name[k]`. */
export function featureNames(features: readonly PlannedColumn[]): string[] {
  return features.flatMap((column) =>
    column.width === 1
      ? [column.name]
      : Array.from({ length: column.width }, (_, k) => `${column.name}[${k}]`)
  );
}

/**
 * Turns chunks into batches. `push` yields the batches a chunk completes;
 * `finish` yields the last partial one.
 */
export class ColumnarBatcher {
  readonly #plan: ColumnPlan;
  readonly #settings: BatcherSettings;
  readonly #width: number;
  #rowsRead = 0;
  #pending: Segment[] = [];
  #pendingRows = 0;
  /** Input index of the last row of the previous batch (−1 before the first). */
  #previousLast = -1;
  /** With reuseBuffers, the storage gathered batches are written to. */
  #xBuffer: Float64Array | undefined;
  #nBuffer: Float64Array | undefined;

  /**
   * @param plan The selected columns.
   * @param settings Grouping and null policy.
   */
  constructor(plan: ColumnPlan, settings: BatcherSettings) {
    this.#plan = plan;
    this.#settings = settings;
    this.#width = plan.features.reduce((sum, column) => sum + column.width, 0);
  }

  /**
   * Whether rows of a chunk pushed earlier still wait for a batch, so that its
   * memory must stay as it is (a compacted chunk is a copy: its rows never do).
   *
   * @param chunk A chunk given to {@linkcode push}.
   * @returns True while a pending batch will read from it.
   */
  holds(chunk: ColumnChunk): boolean {
    return this.#pending.some((segment) => segment.chunk === chunk);
  }

  /** Rows of the input seen so far. */
  get rowsRead(): number {
    return this.#rowsRead;
  }

  /**
   * Adds a chunk.
   *
   * @param chunk The next rows of the input.
   * @returns The batches it completes.
   * @throws {TypeError} Under `nulls: "error"`, for the first null, naming the column, its type and the row.
   */
  *push(chunk: ColumnChunk): Generator<ColumnarBatch, void, undefined> {
    const base = this.#rowsRead;
    this.#rowsRead += chunk.rows;
    if (chunk.rows === 0) return;
    const keep = this.#keepMask(chunk, base);
    let segment: Segment;
    if (keep === undefined) {
      segment = { chunk, origin: undefined, base, start: 0, count: chunk.rows };
    } else {
      const compacted = compactChunk(chunk, keep, this.#plan);
      if (compacted.chunk.rows === 0) return;
      segment = {
        chunk: compacted.chunk,
        origin: compacted.origin,
        base,
        start: 0,
        count: compacted.chunk.rows,
      };
    }
    const size = this.#settings.batchSize;
    if (size === undefined) {
      yield this.#emit([segment]);
      return;
    }
    while (segment.count > 0) {
      const take = Math.min(size - this.#pendingRows, segment.count);
      this.#pending.push({ ...segment, count: take });
      this.#pendingRows += take;
      segment = { ...segment, start: segment.start + take, count: segment.count - take };
      if (this.#pendingRows === size) yield this.#takePending();
    }
  }

  /**
   * Ends the input.
   *
   * @returns The last partial batch, unless `partial` is "drop" or none is left.
   */
  *finish(): Generator<ColumnarBatch, void, undefined> {
    if (this.#pendingRows > 0 && this.#settings.partial === "emit") yield this.#takePending();
    this.#pending = [];
    this.#pendingRows = 0;
  }

  #takePending(): ColumnarBatch {
    const batch = this.#emit(this.#pending);
    this.#pending = [];
    this.#pendingRows = 0;
    return batch;
  }

  /** The rows to keep, or undefined when every row is kept; throws under nulls "error". */
  #keepMask(chunk: ColumnChunk, base: number): Uint8Array | undefined {
    const columns = [...chunk.features, ...chunk.confounds];
    if (columns.every((column) => column.valid === undefined)) return undefined;
    const planned = [...this.#plan.features, ...this.#plan.confounds];
    const { nulls, onSkippedRow, context } = this.#settings;
    const keep = new Uint8Array(chunk.rows).fill(1);
    for (let row = 0; row < chunk.rows; row++) {
      for (let c = 0; c < columns.length; c++) {
        const valid = columns[c]!.valid;
        if (valid === undefined || valid[row] === 1) continue;
        const column = planned[c]!;
        if (nulls === "error") throw nullError(context, column, base + row);
        keep[row] = 0;
        onSkippedRow?.({ row: base + row, column: column.name });
        break;
      }
    }
    return keep;
  }

  #emit(segments: readonly Segment[]): ColumnarBatch {
    const first = segments[0]!;
    const last = segments[segments.length - 1]!;
    const B = segments.reduce((sum, segment) => sum + segment.count, 0);
    const firstRow = rowOf(first, first.start);
    const lastRow = rowOf(last, last.start + last.count - 1);
    const skippedRows = lastRow - this.#previousLast - B;
    this.#previousLast = lastRow;
    return {
      x: { data: this.#features(segments, B), shape: [B, this.#width] },
      n: { data: this.#confounds(segments, B), shape: [this.#plan.confounds.length, B] },
      firstRow,
      lastRow,
      skippedRows,
      columns: this.#plan.columns,
    };
  }

  /** `(B, F)`: a view of the one feature column's rows when there is one column in one segment. */
  #features(segments: readonly Segment[], B: number): Float64Array | Float32Array {
    const F = this.#width;
    const planned = this.#plan.features;
    if (planned.length === 1 && segments.length === 1) {
      const { chunk, start, count } = segments[0]!;
      return chunk.features[0]!.data.subarray(start * F, (start + count) * F);
    }
    const out = this.#settings.reuseBuffers
      ? (this.#xBuffer = reusable(this.#xBuffer, B * F))
      : new Float64Array(B * F);
    let row = 0;
    for (const { chunk, start, count } of segments) {
      let offset = 0;
      for (let c = 0; c < planned.length; c++) {
        const width = planned[c]!.width;
        const data = chunk.features[c]!.data;
        if (width === 1) {
          for (let i = 0; i < count; i++) out[(row + i) * F + offset] = data[start + i]!;
        } else {
          for (let i = 0; i < count; i++) {
            out.set(
              data.subarray((start + i) * width, (start + i + 1) * width),
              (row + i) * F + offset,
            );
          }
        }
        offset += width;
      }
      row += count;
    }
    return out;
  }

  /** `(M, B)`: a view of the one confound column's rows when there is one column in one segment. */
  #confounds(segments: readonly Segment[], B: number): Float64Array | Float32Array {
    const M = this.#plan.confounds.length;
    if (M === 1 && segments.length === 1) {
      const { chunk, start, count } = segments[0]!;
      return chunk.confounds[0]!.data.subarray(start, start + count);
    }
    const out = this.#settings.reuseBuffers
      ? (this.#nBuffer = reusable(this.#nBuffer, M * B))
      : new Float64Array(M * B);
    let row = 0;
    for (const { chunk, start, count } of segments) {
      for (let m = 0; m < M; m++) {
        out.set(chunk.confounds[m]!.data.subarray(start, start + count), m * B + row);
      }
      row += count;
    }
    return out;
  }
}

/** A buffer of at least `length` values (the one given when large enough), viewed at exactly `length`. */
function reusable(buffer: Float64Array | undefined, length: number): Float64Array {
  const storage = buffer !== undefined && buffer.buffer.byteLength >= length * 8
    ? new Float64Array(buffer.buffer)
    : new Float64Array(length);
  return storage.subarray(0, length);
}

function nullError(context: string, column: PlannedColumn, row: number): TypeError {
  return new TypeError(
    `Cannot ${context} as column "${column.name}" (${column.type}) must hold no null with options.nulls "error": ` +
      `current value is null at row ${row} (pass nulls: "skip-row" to drop such rows)`,
  );
}

function compactColumn(
  values: ColumnValues,
  keep: Uint8Array,
  kept: number,
  width: number,
): ColumnValues {
  const out = new Float64Array(kept * width);
  let at = 0;
  for (let row = 0; row < keep.length; row++) {
    if (keep[row] === 0) continue;
    if (width === 1) out[at] = values.data[row]!;
    else out.set(values.data.subarray(row * width, (row + 1) * width), at * width);
    at++;
  }
  return { data: out, valid: undefined };
}

function compactChunk(
  chunk: ColumnChunk,
  keep: Uint8Array,
  plan: ColumnPlan,
): { chunk: ColumnChunk; origin: Float64Array } {
  let kept = 0;
  for (const flag of keep) kept += flag;
  return {
    chunk: {
      rows: kept,
      features: chunk.features.map((values, c) =>
        compactColumn(values, keep, kept, plan.features[c]!.width)
      ),
      confounds: chunk.confounds.map((values) => compactColumn(values, keep, kept, 1)),
    },
    origin: originOf(keep, kept),
  };
}

/** Chunk-relative indices of the kept rows. */
function originOf(keep: Uint8Array, kept: number): Float64Array {
  const out = new Float64Array(kept);
  let at = 0;
  for (let row = 0; row < keep.length; row++) if (keep[row] === 1) out[at++] = row;
  return out;
}
