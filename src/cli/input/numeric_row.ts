/**
 * One input row as numbers: features, then confounds, with the date-derived
 * confounds computed, or the reason the row is bad.
 *
 * @module
 */

import { quoteInput } from "../output/safe_text.ts";
import type { BadRow } from "./bad_row_log.ts";
import { cellNumber, DATE_SUFFIXES, dateFeatures } from "./_cell_values.ts";
import type { ResolvedColumns } from "./column_selection.ts";
import type { CsvRecord } from "./_csv_record.ts";

/** A row of numbers ready for batching: features then confounds. */
export interface NumericRow {
  /** The values, features first then confounds. */
  values: number[];
  /** The 1-based input line. */
  line: number;
  /** The date cell as written, when a date column is used. */
  date?: string;
}

/** A row to convert: its line and its cell of each column. */
export interface RowCells {
  /** The 1-based line where the row starts. */
  line: number;
  /** The cell of a column (undefined when the row has none). */
  get(column: string): unknown;
  /** The CSV record behind the row, read by position when the reader has the header's. */
  record?: CsvRecord;
}

/** What to read for one output value. */
interface Slot {
  column: string;
  role: "feature" | "confound";
  /** The index in the date's derived values, or -1 for a plain cell. */
  derived: number;
}

/**
 * A reader of one table's rows as numbers, features then confounds, computing
 * the columns derived from the date column. The columns are resolved once,
 * and a CSV record's cells are read by position, as numbers straight from its
 * bytes.
 *
 * @param columns The features and confounds, in output order.
 * @param date The date column, if any.
 * @param positions A CSV header's positions: rows with a `record` are then
 *   read by position; without them every row is read through `get`.
 * @returns A function from a row to its numeric row or the first reason it is bad.
 *
 * @example Two rows through one reader
 * ```ts
 * import { numericRowReader } from "./numeric_row.ts";
 * import assert from "node:assert/strict";
 *
 * const read = numericRowReader({ features: ["a"], confounds: ["c"] }, undefined);
 * assert.deepEqual(read({ line: 2, get: (c) => ({ a: "1", c: " 2" })[c] }), { values: [1, 2], line: 2 });
 * assert.equal((read({ line: 3, get: (c) => ({ a: "x", c: "2" })[c] }) as { kind: string }).kind, "non_numeric");
 * assert.equal((read({ line: 4, get: (c) => ({ a: "", c: "2" })[c] }) as { kind: string }).kind, "missing_value");
 * ```
 */
export function numericRowReader(
  columns: ResolvedColumns,
  date: string | undefined,
  positions?: ReadonlyMap<string, number>,
): (cells: RowCells) => NumericRow | BadRow {
  const slots: Slot[] = [
    ...columns.features.map((column) => slotOf(column, "feature", date)),
    ...columns.confounds.map((column) => slotOf(column, "confound", date)),
  ];
  const at = positions && Int32Array.from(slots, (slot) => positions.get(slot.column) ?? -1);
  return (cells) => {
    let derived: [number, number, number] | undefined;
    if (date !== undefined) {
      const raw = cells.get(date);
      derived = dateFeatures(raw);
      if (!derived) {
        return {
          line: cells.line,
          kind: "invalid_date",
          reason: `invalid date ${quoteInput(raw ?? null)} in column ${quoteInput(date)}`,
        };
      }
    }
    const values: number[] = [];
    const record = at && cells.record;
    for (let k = 0; k < slots.length; k++) {
      const slot = slots[k]!;
      if (derived && slot.derived >= 0) {
        values.push(derived[slot.derived]!);
        continue;
      }
      const value = record ? record.numberAt(at[k]!) : cellNumber(cells.get(slot.column));
      if (value === undefined || Number.isNaN(value)) {
        const raw = record ? record.textAt(at[k]!) : cells.get(slot.column);
        return badCell(cells.line, slot, value, raw);
      }
      values.push(value);
    }
    return date === undefined
      ? { values, line: cells.line }
      : { values, line: cells.line, date: String(cells.get(date)) };
  };
}

/** A column's slot: a date-derived value when it is `<date>.cos`, `.sin` or `.days`. */
function slotOf(column: string, role: Slot["role"], date: string | undefined): Slot {
  const derived = date !== undefined && column.startsWith(`${date}.`)
    ? DATE_SUFFIXES.indexOf(column.slice(date.length + 1) as typeof DATE_SUFFIXES[number])
    : -1;
  return { column, role, derived };
}

/** Why a cell is bad: missing (blank or absent) or not a number. */
function badCell(line: number, slot: Slot, value: number | undefined, raw: unknown): BadRow {
  if (value === undefined) {
    return {
      line,
      kind: "missing_value",
      reason: `missing value in ${slot.role} column ${quoteInput(slot.column)}`,
    };
  }
  return {
    line,
    kind: "non_numeric",
    reason: `non-numeric value ${quoteInput(raw)} in ${slot.role} column ${
      quoteInput(slot.column)
    }`,
  };
}
